/**
 * Core NATS benchmark: effect-jetstream against nats-server under the same load.
 *
 *   npx tsx bench/core.bench.ts [--msgs N] [--raw-msgs N] [--requests N] [--json] ...   (--help)
 *
 * Both servers run as child processes on free 127.0.0.1 ports (nats-server only when it is on PATH or
 * $NATS_SERVER) and get the same phases, in order:
 *   1. pub/sub throughput, 1 publisher + 1 subscriber connection, nats.js client (@nats-io/transport-node)
 *   2. the same with raw sockets (pre-built PUB batches, a byte scanner counting MSG frames), so the
 *      server rather than the nats.js client is the limit
 *   3. request/reply latency: one responder connection, one requester doing sequential request()
 *   4. memory: VmRSS right after start (idle), sampled VmRSS peak under load, VmHWM at the end
 * Each phase first connects and warms up on every server (nothing counted), then its measured runs
 * alternate between the servers (ejs, nats, ejs, nats, ...; only one server is loaded at a time),
 * so unrelated load on a shared machine hits both sides; before each run the benchmark waits
 * (bounded) for the machine to be idle. Pub/sub reports the median run; request/reply pools the
 * samples of all runs. Publishers are windowed (at most `window` messages published but not yet
 * received) so no phase measures buffering or trips the slow-consumer limit, and every run has a
 * deadline so the benchmark always ends.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Buffer } from "node:buffer"
import * as os from "node:os"
import { interleaved, type InterleaveOptions, machineInfo, runBench, type Session } from "./Interleave.ts"
import {
  Counter,
  errorText,
  findNatsServer,
  flagCount,
  HOST,
  killAllNow,
  mb,
  type MemReading,
  nowMs,
  parseArgs,
  percentile,
  progress,
  pubBatch,
  RawConnection,
  readCpuMs,
  readMachineCpu,
  readMem,
  renderTable,
  RssSampler,
  type ServerKind,
  type ServerProcess,
  serversOf,
  sleep,
  startServer,
  type TableRow,
  versionOf,
  waitForQuietMachine,
  yieldToIo
} from "./support.ts"

// ---------------------------------------------------------------------------------------------
// options

interface Options {
  readonly msgs: number
  readonly rawMsgs: number
  readonly runs: number
  readonly requests: number
  readonly warmupRequests: number
  readonly payload: number
  readonly maxSeconds: number
  readonly window: number
  readonly settleMs: number
  readonly quietWaitSeconds: number
  readonly raw: boolean
  readonly json: boolean
  readonly servers: ReadonlyArray<ServerKind>
}

const USAGE = `usage: npx tsx bench/core.bench.ts [options]     (npm run bench -- [options])

  --msgs N             pub/sub messages with the nats.js client   (env BENCH_MSGS, default 1000000)
  --raw-msgs N         pub/sub messages with raw sockets          (env BENCH_RAW_MSGS, default 2000000)
  --runs N             measured pub/sub runs per phase, median kept (env BENCH_RUNS, default 3)
  --requests N         measured request/reply round trips         (env BENCH_REQUESTS, default 20000)
  --warmup-requests N  unmeasured round trips before those        (default 2000)
  --payload N          payload bytes                              (default 128)
  --max-seconds N      deadline per measured phase                (env BENCH_MAX_SECONDS, default 60)
  --window N           max messages in flight per publisher       (default 100000)
  --settle-ms N        wait after start before reading idle RSS   (default 1500)
  --quiet-wait S       wait up to S s for other CPU load to stop    (default 30)
  --no-raw             skip the raw-socket pub/sub phase
  --only KIND          effect-jetstream | nats-server
  --json               print the results as JSON instead of the table
`

const parseOptions = (argv: ReadonlyArray<string>): Options => {
  const args = parseArgs(argv, USAGE, ["--json", "--no-raw"], [
    "--msgs",
    "--raw-msgs",
    "--runs",
    "--requests",
    "--warmup-requests",
    "--payload",
    "--max-seconds",
    "--window",
    "--settle-ms",
    "--quiet-wait",
    "--only"
  ])
  const num = (flag: string, env: string | undefined, dflt: number): number => flagCount(args, flag, dflt, env)
  const servers = serversOf(args)
  return {
    msgs: num("--msgs", "BENCH_MSGS", 1_000_000),
    rawMsgs: num("--raw-msgs", "BENCH_RAW_MSGS", 2_000_000),
    runs: Math.max(1, num("--runs", "BENCH_RUNS", 3)),
    requests: Math.max(1, num("--requests", "BENCH_REQUESTS", 20_000)),
    warmupRequests: num("--warmup-requests", undefined, 2_000),
    payload: num("--payload", undefined, 128),
    maxSeconds: Math.max(1, num("--max-seconds", "BENCH_MAX_SECONDS", 60)),
    window: Math.max(100, num("--window", undefined, 100_000)),
    settleMs: num("--settle-ms", undefined, 1500),
    quietWaitSeconds: num("--quiet-wait", undefined, 30),
    raw: !args.bools.has("--no-raw"),
    json: args.bools.has("--json"),
    servers
  }
}

// ---------------------------------------------------------------------------------------------
// results

interface PubSubResult {
  readonly msgs: number
  readonly seconds: number
  readonly msgsPerSec: number
  /** Server CPU over the measured interval, % of one core. */
  readonly serverCpuPct: number
  /** This process (publisher + subscriber) CPU over the measured interval, % of one core. */
  readonly loadgenCpuPct: number
  /** Whole machine over the measured interval, % of all cores (100 = every core busy). */
  readonly machineCpuPct: number
  readonly complete: boolean
  readonly error?: string
  /** msgs/s of every measured run; the fields above are those of the median run. */
  readonly runsMsgsPerSec: ReadonlyArray<number>
}

interface LatencyResult {
  readonly count: number
  readonly p50Us: number
  readonly p90Us: number
  readonly p99Us: number
  readonly p999Us: number
  readonly maxUs: number
  readonly meanUs: number
  readonly reqPerSec: number
  readonly failures: number
  readonly error?: string
}

interface ServerResult {
  readonly kind: ServerKind
  readonly version: string
  readonly port: number
  readonly idleRssMb: number
  readonly peakRssUnderLoadMb: number
  readonly hwmMb: number
  readonly endRssMb: number
  readonly pubsubClient: PubSubResult | undefined
  readonly pubsubRaw: PubSubResult | undefined
  readonly requestReply: LatencyResult | undefined
  /** Server log lines that look like trouble (slow consumer, errors, warnings). */
  readonly serverLog: ReadonlyArray<string>
  /** Non-routine client status events (disconnects, errors, slow consumer). */
  readonly clientEvents: ReadonlyArray<string>
  readonly exitedEarly: boolean
}

// ---------------------------------------------------------------------------------------------
// interleaving: every phase is prepared (connections + uncounted warm-up) on each server, then the
// measured runs alternate between servers, so a burst of unrelated load on this shared machine
// lands on both sides instead of skewing one of them.

/** A server under test, started once and kept for the whole benchmark. */
interface Target {
  readonly kind: ServerKind
  readonly version: string
  readonly server: ServerProcess
  readonly events: Array<string>
  idle: MemReading | undefined
  sampler: RssSampler | undefined
}

/**
 * support.ts's `waitForQuietMachine`, except that `--quiet-wait 0` does not sample the machine at
 * all (as this script always did).
 */
const waitForQuiet = async (maxMs: number): Promise<void> => {
  if (maxMs > 0) await waitForQuietMachine(maxMs, progress)
}

// ---------------------------------------------------------------------------------------------
// pub/sub measurement loop

interface Driver {
  /** Publishes `n` messages (may wait for socket backpressure). */
  readonly publish: (n: number) => void | Promise<void>
  /** Counts messages the subscriber received. */
  readonly received: Counter
}

/**
 * Publishes `total` messages in batches, keeping at most `window` in flight (published, not yet
 * received), and resolves when the subscriber has them all.
 */
const pump = async (d: Driver, total: number, batch: number, window: number, deadline: number): Promise<void> => {
  const base = d.received.value
  let sent = 0
  while (sent < total) {
    if (Date.now() > deadline) throw new Error(`deadline passed after publishing ${sent}`)
    const n = Math.min(batch, total - sent)
    await d.publish(n)
    sent += n
    if (sent - (d.received.value - base) > window) await d.received.waitFor(base + sent - window / 2, deadline)
    else await yieldToIo()
  }
  await d.received.waitFor(base + total, deadline)
}

type PubSubRun = Omit<PubSubResult, "runsMsgsPerSec">

const measurePubSubRun = async (
  server: ServerProcess,
  d: Driver,
  total: number,
  batch: number,
  opts: Options
): Promise<PubSubRun> => {
  const base = d.received.value
  const cpu0 = readCpuMs(server.pid) ?? 0
  const mc0 = readMachineCpu()
  const me0 = process.cpuUsage()
  const t0 = nowMs()
  let error: string | undefined
  try {
    await pump(d, total, batch, opts.window, Date.now() + opts.maxSeconds * 1000)
  } catch (e) {
    error = errorText(e)
  }
  const seconds = (nowMs() - t0) / 1000
  const got = d.received.value - base
  const me = process.cpuUsage(me0)
  const mc1 = readMachineCpu()
  const cpu1 = readCpuMs(server.pid) ?? cpu0
  return {
    msgs: got,
    seconds,
    msgsPerSec: got / seconds,
    serverCpuPct: ((cpu1 - cpu0) / (seconds * 1000)) * 100,
    loadgenCpuPct: ((me.user + me.system) / 1000 / (seconds * 1000)) * 100,
    machineCpuPct: ((mc1.busy - mc0.busy) / (mc1.total - mc0.total)) * 100,
    complete: got >= total,
    ...(error === undefined ? {} : { error })
  }
}

/** The median run by rate (or the failed run, if any), plus every run's rate. */
const medianRun = (runs: ReadonlyArray<PubSubRun> | undefined): PubSubResult | undefined => {
  if (runs === undefined || runs.length === 0) return undefined
  const sorted = [...runs].sort((a, b) => a.msgsPerSec - b.msgsPerSec)
  const chosen = runs.find((r) => r.error !== undefined) ?? sorted[Math.floor((sorted.length - 1) / 2)]!
  return { ...chosen, runsMsgsPerSec: runs.map((r) => Math.round(r.msgsPerSec)) }
}

// ---------------------------------------------------------------------------------------------
// nats.js client phases

const SUBJECT = "bench.core"
const RR_SUBJECT = "bench.rr"

const openClient = async (port: number, name: string, counter: Counter | undefined, events: Array<string>) => {
  // reconnect off: a server that drops us must show up as a failure, not as a silent stall
  const nc = await connect({ servers: `${HOST}:${port}`, name, reconnect: false, timeout: 10_000 })
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "ping") continue
      const detail = s.type === "error"
        ? `: ${s.error.message}`
        : s.type === "slowConsumer"
        ? ` pending=${s.pending}`
        : ""
      events.push(`${name}: ${s.type}${detail}`)
    }
  })()
  void nc.closed().then((err) => {
    counter?.abort(new Error(`${name} connection closed${err ? `: ${err.message}` : ""}`))
  })
  return nc
}

const closeAll = async (conns: ReadonlyArray<NatsConnection>): Promise<void> => {
  await Promise.allSettled(conns.map((nc) => (nc.isClosed() ? Promise.resolve() : nc.close())))
}

/** Opens connections with `f`; if anything after the first open fails, closes what was opened. */
const withCleanupOnFailure = async <A>(
  f: (opened: Array<NatsConnection>) => Promise<A>
): Promise<A> => {
  const opened: Array<NatsConnection> = []
  try {
    return await f(opened)
  } catch (e) {
    await closeAll(opened)
    throw e
  }
}

const clientPubSubSession = (t: Target, opts: Options): Promise<Session<PubSubRun>> =>
  withCleanupOnFailure(async (opened) => {
    const received = new Counter()
    const sub = await openClient(t.server.port, "bench-sub", received, t.events)
    opened.push(sub)
    const pub = await openClient(t.server.port, "bench-pub", received, t.events)
    opened.push(pub)
    sub.subscribe(SUBJECT, {
      callback: (err) => {
        if (err === null) received.inc()
        else t.events.push(`bench-sub: subscription error: ${err.message}`)
      }
    })
    await sub.flush()
    const payload = new Uint8Array(opts.payload).fill(0x61)
    const driver: Driver = {
      publish: (n) => {
        for (let k = 0; k < n; k++) pub.publish(SUBJECT, payload)
      },
      received
    }
    const batch = 500
    await pump(
      driver,
      Math.min(100_000, Math.ceil(opts.msgs / 10)),
      batch,
      opts.window,
      Date.now() + opts.maxSeconds * 1000
    )
    return {
      measure: () => measurePubSubRun(t.server, driver, opts.msgs, batch, opts),
      close: () => closeAll(opened)
    }
  })

interface LatencyRun {
  readonly lat: Float64Array
  readonly seconds: number
  readonly failures: number
  readonly error?: string
}

const requestReplySession = (t: Target, opts: Options): Promise<Session<LatencyRun>> =>
  withCleanupOnFailure(async (opened) => {
    const responder = await openClient(t.server.port, "bench-responder", undefined, t.events)
    opened.push(responder)
    const requester = await openClient(t.server.port, "bench-requester", undefined, t.events)
    opened.push(requester)
    const payload = new Uint8Array(opts.payload).fill(0x62)
    responder.subscribe(RR_SUBJECT, {
      callback: (err, m) => {
        if (err === null) m.respond(payload)
      }
    })
    await responder.flush()
    for (let i = 0; i < opts.warmupRequests; i++) await requester.request(RR_SUBJECT, payload, { timeout: 5000 })
    const perRun = Math.ceil(opts.requests / opts.runs)
    return {
      measure: async (run) => {
        const want = Math.min(perRun, opts.requests - run * perRun)
        const lat = new Float64Array(Math.max(0, want))
        let n = 0
        let failures = 0
        let consecutive = 0
        let error: string | undefined
        const deadline = Date.now() + opts.maxSeconds * 1000
        const t0 = nowMs()
        while (n < want) {
          if (Date.now() > deadline) {
            error = `deadline: ${n} of ${want} requests done`
            break
          }
          const s = process.hrtime.bigint()
          try {
            await requester.request(RR_SUBJECT, payload, { timeout: 5000 })
            lat[n++] = Number(process.hrtime.bigint() - s) / 1000
            consecutive = 0
          } catch (e) {
            failures++
            if (++consecutive >= 5) {
              error = `${errorText(e)} (5 consecutive failures, after ${n} requests)`
              break
            }
          }
        }
        const seconds = (nowMs() - t0) / 1000
        return { lat: lat.subarray(0, n), seconds, failures, ...(error === undefined ? {} : { error }) }
      },
      close: () => closeAll(opened)
    }
  })

const summarize = (runs: ReadonlyArray<LatencyRun> | undefined): LatencyResult | undefined => {
  if (runs === undefined || runs.length === 0) return undefined
  let count = 0
  for (const r of runs) count += r.lat.length
  const sorted = new Float64Array(count)
  let off = 0
  for (const r of runs) {
    sorted.set(r.lat, off)
    off += r.lat.length
  }
  sorted.sort()
  let sum = 0
  for (const v of sorted) sum += v
  const seconds = runs.reduce((a, r) => a + r.seconds, 0)
  const failures = runs.reduce((a, r) => a + r.failures, 0)
  const error = runs.find((r) => r.error !== undefined)?.error
  const r1 = (x: number) => Math.round(x * 10) / 10
  return {
    count,
    p50Us: r1(percentile(sorted, 50)),
    p90Us: r1(percentile(sorted, 90)),
    p99Us: r1(percentile(sorted, 99)),
    p999Us: r1(percentile(sorted, 99.9)),
    maxUs: r1(count > 0 ? sorted[count - 1]! : Number.NaN),
    meanUs: r1(sum / count),
    reqPerSec: Math.round(count / seconds),
    failures,
    ...(error === undefined ? {} : { error })
  }
}

// ---------------------------------------------------------------------------------------------
// raw-socket phase

const rawPubSubSession = async (t: Target, opts: Options): Promise<Session<PubSubRun>> => {
  const sub = await RawConnection.open(t.server.port, "bench-raw-sub")
  let pub: RawConnection | undefined
  let watch: NodeJS.Timeout | undefined
  const close = async () => {
    if (watch !== undefined) clearInterval(watch)
    pub?.close()
    sub.close()
  }
  try {
    const p = await RawConnection.open(t.server.port, "bench-raw-pub")
    pub = p
    await sub.write(`SUB ${SUBJECT} 1\r\n`)
    await sub.ping(10_000) // the SUB is in place once the PONG is back
    // a dropped publisher must end the wait on the subscriber's counter too
    watch = setInterval(() => {
      if (p.closed) {
        clearInterval(watch)
        sub.msgs.abort(
          new Error(`raw publisher connection closed${p.errors.length > 0 ? ` (${p.errors.join("; ")})` : ""}`)
        )
      }
    }, 100)
    watch.unref()
    const batchMsgs = 1000
    const batch = pubBatch(SUBJECT, Buffer.alloc(opts.payload, 0x63), batchMsgs)
    const frame = batch.length / batchMsgs
    const driver: Driver = {
      publish: (n) => p.write(n === batchMsgs ? batch : batch.subarray(0, n * frame)),
      received: sub.msgs
    }
    const warmup = Math.min(200_000, Math.ceil(opts.rawMsgs / 10))
    await pump(driver, warmup, batchMsgs, opts.window, Date.now() + opts.maxSeconds * 1000)
    return {
      measure: async () => {
        const r = await measurePubSubRun(t.server, driver, opts.rawMsgs, batchMsgs, opts)
        const errs = [...sub.errors, ...p.errors]
        return errs.length > 0 && r.error === undefined ? { ...r, error: errs.join("; ") } : r
      },
      close
    }
  } catch (e) {
    await close()
    throw e
  }
}

// ---------------------------------------------------------------------------------------------
// servers

const pacing = (opts: Options): InterleaveOptions => ({
  quietWaitMs: opts.quietWaitSeconds * 1000,
  pauseMs: 200
})

const startTarget = async (kind: ServerKind, natsPath: string | undefined): Promise<Target> => {
  const version = versionOf(kind, natsPath)
  progress(`${kind} (${version}): starting`)
  const server = await startServer(kind, natsPath === undefined ? {} : { natsServerPath: natsPath })
  progress(`  pid ${server.pid}, listening on ${HOST}:${server.port}`)
  return { kind, version, server, events: [], idle: undefined, sampler: undefined }
}

const resultOf = (
  t: Target,
  pubsubClient: PubSubResult | undefined,
  pubsubRaw: PubSubResult | undefined,
  requestReply: LatencyResult | undefined
): ServerResult => {
  const peak = t.sampler?.stop() ?? Number.NaN
  const end = readMem(t.server.pid)
  return {
    kind: t.kind,
    version: t.version,
    port: t.server.port,
    idleRssMb: mb(t.idle?.rssKb ?? Number.NaN),
    peakRssUnderLoadMb: mb(peak),
    hwmMb: mb(end?.hwmKb ?? Number.NaN),
    endRssMb: mb(end?.rssKb ?? Number.NaN),
    pubsubClient,
    pubsubRaw,
    requestReply,
    serverLog: [...t.server.notable],
    clientEvents: t.events,
    exitedEarly: !t.server.alive
  }
}

// ---------------------------------------------------------------------------------------------
// report

type Row = TableRow

const rowsOf = (e: ServerResult | undefined, n: ServerResult | undefined, opts: Options): Array<Row> => {
  const ps = (label: string, pick: (r: ServerResult) => PubSubResult | undefined, extra: Partial<Row> = {}) => [
    {
      metric: `${label} msgs/s received`,
      ejs: e && pick(e)?.msgsPerSec,
      nats: n && pick(n)?.msgsPerSec,
      digits: 0,
      ...extra
    },
    {
      metric: `  server CPU, % of one core`,
      ejs: e && pick(e)?.serverCpuPct,
      nats: n && pick(n)?.serverCpuPct,
      digits: 0
    },
    {
      metric: `  load generator CPU, % of one core`,
      ejs: e && pick(e)?.loadgenCpuPct,
      nats: n && pick(n)?.loadgenCpuPct,
      digits: 0
    },
    {
      metric: `  machine CPU busy, % of all cores`,
      ejs: e && pick(e)?.machineCpuPct,
      nats: n && pick(n)?.machineCpuPct,
      digits: 0
    }
  ]
  const rr = (label: string, pick: (l: LatencyResult) => number, extra: Partial<Row> = {}): Row => ({
    metric: label,
    ejs: e?.requestReply && pick(e.requestReply),
    nats: n?.requestReply && pick(n.requestReply),
    digits: 1,
    ...extra
  })
  const mem = (label: string, pick: (r: ServerResult) => number, extra: Partial<Row> = {}): Row => ({
    metric: label,
    ejs: e && pick(e),
    nats: n && pick(n),
    digits: 1,
    ...extra
  })
  return [
    ...ps(`pub/sub ${opts.payload} B, nats.js client,`, (r) => r.pubsubClient, { target: ">= 0.5x" }),
    ...(opts.raw ? ps(`pub/sub ${opts.payload} B, raw sockets,`, (r) => r.pubsubRaw, { target: ">= 0.5x" }) : []),
    rr("request/reply p50, us", (l) => l.p50Us, { target: "<= 1.5x" }),
    rr("request/reply p90, us", (l) => l.p90Us),
    rr("request/reply p99, us", (l) => l.p99Us),
    rr("request/reply p99.9, us", (l) => l.p999Us),
    rr("request/reply max, us", (l) => l.maxUs),
    rr("request/reply sequential req/s", (l) => l.reqPerSec),
    mem("server RSS idle (after start), MB", (r) => r.idleRssMb, { target: "ejs <= 80 MB" }),
    mem("server RSS peak under load (sampled), MB", (r) => r.peakRssUnderLoadMb),
    mem("server VmHWM (peak since start), MB", (r) => r.hwmMb),
    mem("server RSS at end, MB", (r) => r.endRssMb)
  ]
}

const problems = (r: ServerResult): Array<string> => {
  const out: Array<string> = []
  const phase = (name: string, p: { readonly error?: string; readonly complete?: boolean } | undefined) => {
    if (p?.error !== undefined) out.push(`${name}: ${p.error}`)
  }
  const ncpu = os.cpus().length
  for (const [name, p] of [["pub/sub nats.js", r.pubsubClient], ["pub/sub raw", r.pubsubRaw]] as const) {
    if (p === undefined || p.error !== undefined) continue
    const other = p.machineCpuPct - (p.serverCpuPct + p.loadgenCpuPct) / ncpu
    if (other > 15) {
      out.push(
        `${name}: other processes used ~${
          other.toFixed(0)
        }% of the machine's CPU during the median run (machine busy ` +
          `${p.machineCpuPct.toFixed(0)}% vs server + load generator ${
            ((p.serverCpuPct + p.loadgenCpuPct) / ncpu).toFixed(0)
          }%); ` +
          `treat this row as disturbed`
      )
    }
  }
  phase("pub/sub nats.js", r.pubsubClient)
  phase("pub/sub raw", r.pubsubRaw)
  phase("request/reply", r.requestReply)
  if ((r.requestReply?.failures ?? 0) > 0) out.push(`request/reply: ${r.requestReply?.failures} failed requests`)
  for (const e of r.clientEvents) if (!/: close$/.test(e)) out.push(e)
  for (const l of r.serverLog) out.push(`server log: ${l}`)
  if (r.exitedEarly) out.push("server exited before the end of the run")
  return out
}

// ---------------------------------------------------------------------------------------------
// main

const main = async (): Promise<void> => {
  const opts = parseOptions(process.argv.slice(2))
  const natsPath = findNatsServer()
  const kinds = opts.servers.filter((k) => k !== "nats-server" || natsPath !== undefined)
  if (natsPath === undefined && opts.servers.includes("nats-server")) {
    progress("nats-server not found on PATH (or $NATS_SERVER): measuring effect-jetstream only")
  }
  const targets: Array<Target> = []
  const results = new Map<ServerKind, ServerResult>()
  try {
    for (const kind of kinds) targets.push(await startTarget(kind, natsPath))
    await sleep(opts.settleMs)
    await waitForQuiet(opts.quietWaitSeconds * 1000)
    for (const t of targets) {
      t.idle = readMem(t.server.pid)
      t.sampler = new RssSampler(t.server.pid)
    }
    const client = await interleaved(
      "pub/sub nats.js",
      targets,
      pacing(opts),
      opts.runs,
      (t) => clientPubSubSession(t, opts)
    )
    const raw = opts.raw
      ? await interleaved("pub/sub raw", targets, pacing(opts), opts.runs, (t) => rawPubSubSession(t, opts))
      : new Map<ServerKind, Array<PubSubRun>>()
    const rr = await interleaved("request/reply", targets, pacing(opts), opts.runs, (t) => requestReplySession(t, opts))
    for (const t of targets) {
      results.set(
        t.kind,
        resultOf(t, medianRun(client.get(t.kind)), medianRun(raw.get(t.kind)), summarize(rr.get(t.kind)))
      )
    }
  } finally {
    for (const t of targets) await t.server.stop()
  }
  const ejs = results.get("effect-jetstream")
  const nats = results.get("nats-server")
  const rows = rowsOf(ejs, nats, opts)
  const machine = machineInfo()

  if (opts.json) {
    const ratios: Record<string, number | null> = {}
    for (const r of rows) {
      ratios[r.metric.trim()] = r.ejs !== undefined && r.nats !== undefined && r.nats > 0 ? r.ejs / r.nats : null
    }
    process.stdout.write(
      `${JSON.stringify({ machine, options: opts, results: Object.fromEntries(results), ratios }, null, 2)}\n`
    )
    return
  }

  const out: Array<string> = []
  out.push("")
  out.push(`core benchmark: ${[...results.values()].map((r) => r.version).join("  vs  ")}`)
  out.push(
    `machine: ${machine.cpus} CPU (${machine.cpuModel}), node ${machine.node}. The load generator (this process, one thread: ` +
      `publisher + subscriber or requester + responder) runs on the same machine and competes with the server for the CPUs.`
  )
  out.push(
    `load: pub/sub ${opts.msgs.toLocaleString("en-US")} msgs (nats.js)` +
      (opts.raw ? ` / ${opts.rawMsgs.toLocaleString("en-US")} msgs (raw)` : "") +
      ` of ${opts.payload} B, 1 pub + 1 sub connection, <= ${opts.window.toLocaleString("en-US")} in flight, ` +
      `median of ${opts.runs} runs after an uncounted warm-up; runs alternate between the servers; ` +
      `request/reply ${opts.requests.toLocaleString("en-US")} sequential requests after ${
        opts.warmupRequests.toLocaleString("en-US")
      } warm-up.`
  )
  out.push("")
  out.push(renderTable(rows))
  const issues = [...results.values()].flatMap((r) => problems(r).map((p) => `${r.kind}: ${p}`))
  for (const r of results.values()) {
    for (const [name, p] of [["nats.js", r.pubsubClient], ["raw", r.pubsubRaw]] as const) {
      if (p !== undefined) {
        out.push(
          `${r.kind} pub/sub ${name}: median run ${p.msgs.toLocaleString("en-US")} msgs in ${p.seconds.toFixed(2)} s` +
            `${p.complete ? "" : " (INCOMPLETE)"}; msgs/s of each run: ` +
            p.runsMsgsPerSec.map((x) => x.toLocaleString("en-US")).join(", ")
        )
      }
    }
  }
  if (nats !== undefined && ejs !== undefined && nats.pubsubClient !== undefined && nats.pubsubRaw !== undefined) {
    if (nats.pubsubRaw.msgsPerSec > nats.pubsubClient.msgsPerSec * 1.5) {
      out.push(
        `note: with nats-server the raw-socket generator moves ${
          (nats.pubsubRaw.msgsPerSec / nats.pubsubClient.msgsPerSec).toFixed(1)
        }x ` +
          `the messages of the nats.js client, so the nats.js row is bounded by the client; compare the raw row for the server.`
      )
    }
  }
  out.push(
    issues.length === 0
      ? "no errors, disconnects or slow consumers observed."
      : `observed problems:\n  ${issues.join("\n  ")}`
  )
  process.stdout.write(`${out.join("\n")}\n`)
}

await runBench(main, () => {
  killAllNow()
})
