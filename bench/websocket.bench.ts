/**
 * WebSocket benchmark: the same loads over WebSocket (Node's built-in `WebSocket` client, through
 * `wsconnect` of @nats-io/nats-core) and over TCP (@nats-io/transport-node), on effect-jetstream and
 * on nats-server.
 *
 *   npx tsx bench/websocket.bench.ts [--msgs N] [--fetch-msgs N] [--runs N] [--payload B] [--only KIND] [--json]
 *
 * Both servers run as child processes with `websocket { port, no_tls: true }` (no compression:
 * the payloads are random, and a browser on a LAN gains nothing from deflate) and JetStream on.
 * Phases, each on both transports:
 *   1. pub/sub: one publisher and one subscriber connection of the same transport, windowed (at most
 *      `window` messages published and not yet received), messages/s over the whole run;
 *   2. JetStream fetch: a stream holding `fetch-msgs` messages, a pull consumer (ack none) read in
 *      batches of 500, messages/s.
 * Runs alternate between the servers (Interleave.ts), the median run is reported.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { type NatsConnection, wsconnect } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { interleaved, machineInfo, runBench, type Session } from "./Interleave.ts"
import {
  Counter,
  findNatsServer,
  flagCount,
  freePort,
  HOST,
  killAllNow,
  nowMs,
  parseArgs,
  progress,
  renderTable,
  type ServerKind,
  type ServerProcess,
  serversOf,
  startServer,
  type TableRow,
  versionOf
} from "./support.ts"

const USAGE = `usage: npx tsx bench/websocket.bench.ts [options]

  --msgs N        pub/sub messages per run            (default 200000)
  --fetch-msgs N  messages fetched per run            (default 100000)
  --runs N        measured runs per phase, median     (default 3)
  --payload B     message size in bytes               (default 128)
  --window N      pub/sub messages in flight at most  (default 5000)
  --only KIND     effect-jetstream or nats-server
  --json          print the results as JSON
`

type Transport = "tcp" | "websocket"

interface Target {
  readonly kind: ServerKind
  readonly server: ServerProcess
  readonly wsPort: number
  readonly events: Array<string>
  readonly dir: string
}

const args = parseArgs(process.argv.slice(2), USAGE, ["--json"], [
  "--msgs",
  "--fetch-msgs",
  "--runs",
  "--payload",
  "--window",
  "--only"
])
const opts = {
  msgs: flagCount(args, "--msgs", 200_000),
  fetchMsgs: flagCount(args, "--fetch-msgs", 100_000),
  runs: Math.max(1, flagCount(args, "--runs", 3)),
  payload: flagCount(args, "--payload", 128),
  window: Math.max(1, flagCount(args, "--window", 5000)),
  json: args.bools.has("--json"),
  servers: serversOf(args)
}

const dial = (t: Target, transport: Transport): Promise<NatsConnection> =>
  transport === "tcp"
    ? connect({ servers: `${HOST}:${t.server.port}` })
    : wsconnect({ servers: `ws://${HOST}:${t.wsPort}` })

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!
}

const pubSub = (transport: Transport) => async (t: Target): Promise<Session<number>> => {
  const pub = await dial(t, transport)
  const sub = await dial(t, transport)
  const received = new Counter()
  sub.subscribe("bench.ws", { callback: () => received.inc() })
  await sub.flush()
  const payload = randomBytes(opts.payload)
  const run = async (n: number) => {
    const start = received.value
    const t0 = nowMs()
    for (let i = 0; i < n; i++) {
      pub.publish("bench.ws", payload)
      if ((i + 1) % opts.window === 0) {
        await pub.flush()
        await received.waitFor(start + i + 1 - opts.window, Date.now() + 60_000)
      }
    }
    await pub.flush()
    await received.waitFor(start + n, Date.now() + 60_000)
    return n / ((nowMs() - t0) / 1000)
  }
  await run(Math.min(20_000, opts.msgs))
  return {
    measure: () => run(opts.msgs),
    close: async () => {
      await pub.close()
      await sub.close()
    }
  }
}

const fetching = (transport: Transport) => async (t: Target): Promise<Session<number>> => {
  // The stream is filled over TCP once per server; only the reading side uses `transport`.
  const filler = await dial(t, "tcp")
  const jsm = await jetstreamManager(filler)
  const stream = `WSB_${transport.toUpperCase()}`
  await jsm.streams.add({ name: stream, subjects: [`wsb.${transport}`] })
  const js = jetstream(filler)
  const payload = randomBytes(opts.payload)
  for (let i = 0; i < opts.fetchMsgs; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, opts.fetchMsgs - i) }, () => js.publish(`wsb.${transport}`, payload))
    )
  }
  const reader = await dial(t, transport)
  let n = 0
  const run = async () => {
    const name = `c${n++}`
    await jsm.consumers.add(stream, { name, ack_policy: AckPolicy.None })
    const c = await jetstream(reader).consumers.get(stream, name)
    const t0 = nowMs()
    let got = 0
    while (got < opts.fetchMsgs) {
      const batch = await c.fetch({ max_messages: Math.min(500, opts.fetchMsgs - got), expires: 5000 })
      for await (const _m of batch) got++
    }
    const rate = got / ((nowMs() - t0) / 1000)
    await jsm.consumers.delete(stream, name)
    return rate
  }
  await run()
  return {
    measure: () => run(),
    close: async () => {
      await jsm.streams.delete(stream)
      await reader.close()
      await filler.close()
    }
  }
}

const start = async (kind: ServerKind, natsPath: string | undefined): Promise<Target> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wsbench-${kind}-`))
  const wsPort = await freePort()
  const conf = path.join(dir, "server.conf")
  fs.writeFileSync(conf, `websocket { host: "${HOST}", port: ${wsPort}, no_tls: true }\n`)
  const server = await startServer(kind, {
    ...(natsPath === undefined ? {} : { natsServerPath: natsPath }),
    extraArgs: ["-c", conf, "-js", "-sd", path.join(dir, "store")]
  })
  return { kind, server, wsPort, events: [], dir }
}

const main = async () => {
  const natsPath = findNatsServer()
  const kinds = opts.servers.filter((k) => k !== "nats-server" || natsPath !== undefined)
  if (kinds.length < opts.servers.length) progress("nats-server not found: measuring effect-jetstream only")
  const targets: Array<Target> = []
  for (const k of kinds) targets.push(await start(k, natsPath))
  const interleave = { quietWaitMs: 3000, pauseMs: 200 }
  const results: Array<{ phase: string; transport: Transport; kind: ServerKind; rate: number }> = []
  try {
    for (const [phase, make] of [["pub/sub", pubSub], ["fetch", fetching]] as const) {
      for (const transport of ["tcp", "websocket"] as const) {
        const out = await interleaved(`${phase} ${transport}`, targets, interleave, opts.runs, make(transport))
        for (const [kind, rates] of out) results.push({ phase, transport, kind, rate: median(rates) })
      }
    }
  } finally {
    for (const t of targets) {
      await t.server.stop()
      fs.rmSync(t.dir, { recursive: true, force: true })
    }
  }
  const info = {
    machine: machineInfo(),
    versions: kinds.map((k) => versionOf(k, natsPath)),
    payload: opts.payload,
    msgs: opts.msgs,
    fetchMsgs: opts.fetchMsgs
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...info, results }, null, 2)}\n`)
    return
  }
  process.stdout.write(`${JSON.stringify(info)}\n`)
  const rate = (phase: string, transport: Transport, kind: ServerKind) =>
    results.find((r) => r.phase === phase && r.transport === transport && r.kind === kind)?.rate
  const rows: Array<TableRow> = []
  for (const phase of ["pub/sub", "fetch"]) {
    for (const transport of ["tcp", "websocket"] as const) {
      rows.push({
        metric: `${phase} over ${transport}, msg/s`,
        ejs: rate(phase, transport, "effect-jetstream"),
        nats: rate(phase, transport, "nats-server"),
        digits: 0
      })
    }
  }
  process.stdout.write(`${renderTable(rows)}\n`)
  for (const t of targets) for (const e of [...t.events, ...t.server.notable]) process.stdout.write(`${t.kind}: ${e}\n`)
}

void runBench(main, killAllNow)
