// MessageRouter.publish in-process, measured in CPU time (steadier than wall time on a shared
// machine): a plain subscriber, a wildcard subscriber, a queue group, then the same with another
// server's interest in the router. Pass another checkout's Router.ts to compare two versions:
//
//   npx tsx bench/cluster/router.bench.mts [path/to/src/core/Router.ts]
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const target = path.resolve(process.argv[2] ?? path.join(here, "../../src/core/Router.ts"))
const { MessageRouter, Subscription } = await import(target)
const N = Number(process.env.N ?? 5_000_000)

const owner = { cid: 1, echo: true, deliver() {}, autoUnsubscribed() {} }
const router = new MessageRouter()
router.subscribe(new Subscription(owner, "bench.data", undefined, "1"))
router.subscribe(new Subscription(owner, "_INBOX.abc.*", undefined, "2"))
router.subscribe(new Subscription(owner, "svc", "q", "3"))
router.subscribe(new Subscription(owner, "svc", "q", "4"))
const msg = new Uint8Array(128)
const cpuMs = () => process.cpuUsage().user / 1000
const rate = (f: () => void) => {
  const t = cpuMs()
  for (let i = 0; i < N; i++) f()
  return (N / (cpuMs() - t) / 1000).toFixed(1)
}
const round = (label: string) => {
  const plain = rate(() => router.publish(undefined, "bench.data", undefined, -1, msg))
  const wild = rate(() => router.publish(undefined, "_INBOX.abc.x", undefined, -1, msg))
  const queue = rate(() => router.publish(undefined, "svc", "_INBOX.abc.y", -1, msg))
  console.log(`${label.padEnd(16)} plain ${plain} M/s  wildcard ${wild} M/s  queue ${queue} M/s`)
}
console.log(`router: ${target}, ${N} publishes per figure`)
for (let i = 0; i < 3; i++) round("local only")
const remote = new Subscription(owner, "other.server", undefined, "r")
// Another server's interest elsewhere in the trie: publishes take the cluster-aware path.
remote.remote = { forward() {} }
router.subscribe(remote)
for (let i = 0; i < 3; i++) round("with a route")
