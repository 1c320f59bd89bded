/**
 * Mirror lag under publish load: effect-jetstream against nats-server (both `-js -sd <tmpdir>`).
 *
 *   npx tsx bench/mirror.bench.ts [--msgs N] [--size BYTES] [--window N] [--only effect-jetstream|nats-server]
 *
 * Per server: a file stream ORIGIN and a file stream MIRROR (`mirror: { name: "ORIGIN" }`), then the
 * js-pub-async-file load: pipelined `js.publish` (at most `--window` acks outstanding) of `--msgs`
 * messages of `--size` bytes. While it runs, every 20 ms the origin's and the mirror's last sequences
 * are read (stream info); the lag is their difference in messages. Reported: publish rate, lag p50 /
 * p99 / max during the load, and how long after the last PubAck the mirror held every message.
 */
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  findNatsServer,
  flagCount,
  HOST,
  nowMs,
  parseArgs,
  percentile,
  renderTable,
  type ServerKind,
  serversOf,
  sleep,
  startServer,
  type TableRow
} from "./support.ts"

const USAGE = "npx tsx bench/mirror.bench.ts [--msgs N] [--size BYTES] [--window N] [--only KIND]\n"
const args = parseArgs(process.argv.slice(2), USAGE, [], ["--msgs", "--size", "--window", "--only"])
const MSGS = flagCount(args, "--msgs", 50_000)
const SIZE = flagCount(args, "--size", 128)
const WINDOW = flagCount(args, "--window", 2000)
const natsPath = findNatsServer()

const runOne = async (kind: ServerKind) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mirror-bench-${kind}-`))
  const server = await startServer(kind, {
    extraArgs: ["-js", "-sd", dir],
    ...(natsPath !== undefined ? { natsServerPath: natsPath } : {})
  })
  const nc = await connect({ servers: `${HOST}:${server.port}` })
  const probe = await connect({ servers: `${HOST}:${server.port}` })
  try {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "ORIGIN", subjects: ["origin.>"], storage: StorageType.File })
    await jsm.streams.add({ name: "MIRROR", mirror: { name: "ORIGIN" }, storage: StorageType.File })
    const pjsm = await jetstreamManager(probe)
    const js = jetstream(nc)
    const payload = Buffer.alloc(SIZE, 120)
    const lags: Array<number> = []
    let publishing = true
    const sampler = (async () => {
      while (publishing) {
        const [o, m] = await Promise.all([pjsm.streams.info("ORIGIN"), pjsm.streams.info("MIRROR")])
        lags.push(Math.max(0, o.state.last_seq - m.state.last_seq))
        await sleep(20)
      }
    })()
    const t0 = nowMs()
    let issued = 0
    let inflight = 0
    let wake: (() => void) | undefined
    const acks: Array<Promise<unknown>> = []
    while (issued < MSGS) {
      while (inflight >= WINDOW) await new Promise<void>((r) => (wake = r))
      inflight++
      issued++
      acks.push(
        js.publish("origin.x", payload).finally(() => {
          inflight--
          wake?.()
        })
      )
    }
    await Promise.all(acks)
    const tAcked = nowMs()
    publishing = false
    await sampler
    // Caught up: the mirror holds the origin's last sequence.
    while ((await pjsm.streams.info("MIRROR")).state.last_seq < MSGS) await sleep(2)
    const tCaught = nowMs()
    const sorted = Float64Array.from(lags).sort()
    return {
      kind,
      rate: MSGS / ((tAcked - t0) / 1000),
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.length > 0 ? sorted[sorted.length - 1]! : 0,
      samples: sorted.length,
      catchUpMs: tCaught - tAcked
    }
  } finally {
    await nc.close()
    await probe.close()
    await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const main = async () => {
  const results: Array<Awaited<ReturnType<typeof runOne>>> = []
  for (const kind of serversOf(args)) {
    if (kind === "nats-server" && natsPath === undefined) {
      console.log("nats-server not on PATH: skipped")
      continue
    }
    results.push(await runOne(kind))
  }
  const by = (k: ServerKind) => results.find((r) => r.kind === k)
  const ejs = by("effect-jetstream")
  const nats = by("nats-server")
  const row = (
    metric: string,
    f: (r: (typeof results)[number]) => number,
    digits: number,
    target?: string
  ): TableRow => ({
    metric,
    ejs: ejs === undefined ? undefined : f(ejs),
    nats: nats === undefined ? undefined : f(nats),
    digits,
    ...(target !== undefined ? { target } : {})
  })
  console.log(
    `mirror lag, js-pub-async-file: ${MSGS} x ${SIZE} B, window ${WINDOW}; lag = origin last_seq - mirror last_seq`
  )
  console.log(renderTable([
    row("publish msgs/s", (r) => r.rate, 0),
    row("lag p50 (msgs)", (r) => r.p50, 0),
    row("lag p99 (msgs)", (r) => r.p99, 0),
    row("lag max (msgs)", (r) => r.max, 0, "<= one batch (2048)"),
    row("lag samples", (r) => r.samples, 0),
    row("caught up after last ack (ms)", (r) => r.catchUpMs, 1)
  ]))
}

void main()
