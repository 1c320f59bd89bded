/**
 * R1 publishing in a 3-node cluster: async `js.publish` (128 B, `--window` acks outstanding, file
 * storage) into a stream owned by n1, through n1 itself and through n2 (over a route), ours
 * (three brokers + PostgreSQL cluster store) beside a 3-node nats-server 2.9.10 cluster.
 *
 *   npx tsx bench/cluster-publish.bench.ts [--count 20000] [--window 512]
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { startJetStreamCluster } from "../spec/support/JsCluster.ts"
import { type BenchNode, benchNodesOf, startNatsCluster, waitFor } from "./natsCluster.ts"
import { findNatsServer } from "./support.ts"

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? dflt : Number(process.argv[i + 1]) || dflt
}
const count = arg("--count", 20_000)
const window = arg("--window", 512)
const payload = new Uint8Array(128).fill(97)

const publishRate = async (url: string, stream: string): Promise<number> => {
  const nc = await connect({ servers: url, reconnect: false })
  const js = jetstream(nc)
  let inflight = 0
  let wake: (() => void) | undefined
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    while (inflight >= window) await new Promise<void>((r) => (wake = r))
    inflight++
    void js.publish(`${stream.toLowerCase()}.x`, payload).then(() => {
      inflight--
      wake?.()
    })
  }
  while (inflight > 0) await new Promise<void>((r) => (wake = r))
  const rate = count / ((performance.now() - t0) / 1000)
  await nc.close()
  return rate
}

const run = async (label: string, nodes: ReadonlyArray<BenchNode>) => {
  const nc = await connect({ servers: nodes[0]!.url(), reconnect: false })
  const jsm = await jetstreamManager(nc)
  const out: Array<string> = []
  for (const [via, node] of [["owner", nodes[0]!], ["non-owner", nodes[1]!]] as const) {
    const stream = via === "owner" ? "POWN" : "PROUTE"
    await waitFor(() =>
      jsm.streams.add({
        name: stream,
        subjects: [`${stream.toLowerCase()}.>`],
        placement: { cluster: "", tags: ["node:n1"] }
      })
        .then(() => true, () => undefined)
    )
    // The first run is mostly JIT warm-up on our side (about half the steady rate): the median
    // of three after one unmeasured run.
    await publishRate(node.url(), stream)
    const runs = [
      await publishRate(node.url(), stream),
      await publishRate(node.url(), stream),
      await publishRate(node.url(), stream)
    ]
    const median = runs.sort((a, b) => a - b)[1]!
    out.push(`${via} ${Math.round(median)} msgs/s`)
  }
  await nc.close()
  console.log(`${label}: R1 async publish 128 B, window ${window}, ${count} msgs: ${out.join(", ")}`)
}

const c = await startJetStreamCluster([["node:n1"], ["node:n2"], ["node:n3"]])
try {
  await run(
    "effect-jetstream",
    benchNodesOf(c)
  )
} finally {
  await c.stop()
}
const bin = findNatsServer()
if (bin === undefined) console.log("nats-server not on PATH: no comparison")
else {
  const n = await startNatsCluster(bin, 32600)
  try {
    await run("nats-server 2.9.10", n.nodes)
  } finally {
    await n.stop()
  }
}
