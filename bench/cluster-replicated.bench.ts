/**
 * R3 beside R1 in a 3-node cluster: async `js.publish` (128 B, `--window` acks outstanding) into a
 * stream (R1 on n1; R3 led by whichever node placement picks), published through its leader, then a pull drain of everything (fetch batches of 500,
 * AckNone), ours (three brokers + a PostgreSQL cluster store: an R3 stream's every PubAck follows a
 * committed group commit) beside a 3-node nats-server 2.9.10 cluster (R3 = its Raft group).
 *
 *   npx tsx bench/cluster-replicated.bench.ts [--count 50000] [--window 512]
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { startJetStreamCluster } from "../spec/support/JsCluster.ts"
import { type BenchNode, benchNodesOf, startNatsCluster, waitFor } from "./natsCluster.ts"
import { findNatsServer } from "./support.ts"

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? dflt : Number(process.argv[i + 1]) || dflt
}
const count = arg("--count", 50_000)
const window = arg("--window", 512)
const payload = new Uint8Array(128).fill(97)

const publishRate = async (url: string, subject: string): Promise<number> => {
  const nc = await connect({ servers: url, reconnect: false })
  const js = jetstream(nc)
  let inflight = 0
  let failed = 0
  let wake: (() => void) | undefined
  const t0 = performance.now()
  for (let i = 0; i < count; i++) {
    while (inflight >= window) await new Promise<void>((r) => (wake = r))
    inflight++
    void js.publish(subject, payload, { timeout: 30_000 }).then(
      () => {
        inflight--
        wake?.()
      },
      () => {
        failed++
        inflight--
        wake?.()
      }
    )
  }
  while (inflight > 0) await new Promise<void>((r) => (wake = r))
  const rate = count / ((performance.now() - t0) / 1000)
  await nc.close()
  if (failed > 0) throw new Error(`${failed} publishes failed`)
  return rate
}

const drainRate = async (url: string, stream: string, expected: number): Promise<number> => {
  const nc = await connect({ servers: url, reconnect: false })
  const jsm = await jetstreamManager(nc)
  const name = `d${Date.now()}`
  await jsm.consumers.add(stream, { name, ack_policy: AckPolicy.None, inactive_threshold: 60_000_000_000 })
  const consumer = await jetstream(nc).consumers.get(stream, name)
  const t0 = performance.now()
  let got = 0
  while (got < expected) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 5000 })
    for await (const _m of batch) got++
  }
  const rate = got / ((performance.now() - t0) / 1000)
  await nc.close()
  return rate
}

const run = async (label: string, nodes: ReadonlyArray<BenchNode>) => {
  const nc = await connect({ servers: nodes[0]!.url(), reconnect: false })
  const jsm = await jetstreamManager(nc)
  const out: Array<string> = []
  for (const replicas of [1, 3]) {
    const stream = `R${replicas}BENCH`
    const created = await waitFor(() =>
      jsm.streams.add({
        name: stream,
        subjects: [`r${replicas}bench.>`],
        num_replicas: replicas,
        // R1 on n1; an R3 group spans all three nodes, led by whichever placement picks.
        ...(replicas === 1 ? { placement: { cluster: "", tags: ["node:n1"] } } : {})
      }).then((i) => i, () => undefined)
    )
    // Published and drained through the stream's leader.
    const url = (nodes.find((n) => n.name === created.cluster?.leader) ?? nodes[0]!).url()
    // One unmeasured run (JIT warm-up, first commits), then the median of three.
    const subject = `r${replicas}bench.x`
    await publishRate(url, subject)
    const runs = [
      await publishRate(url, subject),
      await publishRate(url, subject),
      await publishRate(url, subject)
    ].sort((a, b) => a - b)
    const drain = await drainRate(url, stream, count * 4)
    out.push(`R${replicas} publish ${Math.round(runs[1]!)} msgs/s, drain ${Math.round(drain)} msgs/s`)
    await jsm.streams.delete(stream)
  }
  await nc.close()
  console.log(`${label}: async publish 128 B, window ${window}, ${count} msgs x 4: ${out.join("; ")}`)
}

const c = await startJetStreamCluster([["node:n1"], ["node:n2"], ["node:n3"]])
try {
  await run("effect-jetstream", benchNodesOf(c))
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
