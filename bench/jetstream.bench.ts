/**
 * JetStream benchmark: effect-jetstream against nats-server (both with `-js -sd <tmpdir>`) under the same load.
 *
 *   npx tsx bench/jetstream.bench.ts [--phases pub,consume,kv,obj] [--only KIND] [--json] ...   (--help)
 *
 * The load generator is this process, using the official nats.js clients (@nats-io/transport-node,
 * @nats-io/jetstream, @nats-io/kv, @nats-io/obj) against both servers. Phases:
 *   pub      per storage (memory, file) x payload (128 B, 1 KiB, 16 KiB): sequential `js.publish` awaiting each
 *            ack (p50/p99 latency) and pipelined `js.publish` with at most `--window` acks outstanding (msgs/s)
 *   consume  a stream pre-filled with `--fill` x 128 B (file storage), drained by: a pull consumer with
 *            ack explicit (`consume()`, ack each), one with ack none, a push consumer (deliver_subject, ack each),
 *            and four pull consumers (ack explicit, one connection each) in parallel, each draining the whole stream
 *   kv       KV bucket (file): put and get, sequential (latency) and concurrent (`--kv-concurrency` in flight)
 *   obj      object store (file): put and get of one `--obj-mib` MiB object
 *   memory   VmRSS idle after start, sampled peak, VmHWM
 * Each case is set up on both servers, then its measured runs alternate between them (ejs, nats, ejs, ...),
 * waiting (bounded) for the machine to be quiet before each run. Throughput rows report the median run;
 * latency rows pool the samples of all runs. Every run has a deadline. Data directories are temp dirs, removed
 * at the end; all traffic goes to 127.0.0.1.
 */
import {
  AckPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  StorageType
} from "@nats-io/jetstream"
import { type KV, Kvm } from "@nats-io/kv"
import { type ObjectStore, Objm } from "@nats-io/obj"
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { interleaved, type InterleaveOptions, machineInfo, runBench, type Session } from "./Interleave.ts"
import {
  errorText,
  fail,
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
  toCount,
  versionOf,
  waitForQuietMachine
} from "./support.ts"

// ---------------------------------------------------------------------------------------------
// options

const PHASES = ["pub", "consume", "kv", "obj"] as const
type Phase = typeof PHASES[number]

interface Options {
  readonly runs: number
  readonly syncMsgs: number
  readonly asyncMsgs: number
  readonly asyncBytes: number
  readonly window: number
  readonly sizes: ReadonlyArray<number>
  readonly fill: number
  readonly ackPending: number
  readonly consumeRuns: number
  readonly kvOps: number
  readonly kvConcurrentOps: number
  readonly kvConcurrency: number
  readonly objMib: number
  readonly maxSeconds: number
  readonly settleMs: number
  readonly quietWaitSeconds: number
  readonly phases: ReadonlyArray<Phase>
  readonly json: boolean
  readonly servers: ReadonlyArray<ServerKind>
}

const USAGE = `usage: npx tsx bench/jetstream.bench.ts [options]

  --runs N              measured runs per publish/KV/object case, alternating servers (default 3)
  --sync-msgs N         sequential js.publish per run (latency)                 (default 1000)
  --async-msgs N        pipelined js.publish per run (throughput)               (default 15000)
  --async-bytes N       ...but at most this many payload bytes per run          (default 64 MiB)
  --window N            pipelined publish: max acks outstanding                 (default 2000)
  --sizes A,B,C         publish payload sizes in bytes                          (default 128,1024,16384)
  --fill N              messages (128 B) pre-filled for the consumer phase      (default 100000)
  --ack-pending N       max_ack_pending of the ack-explicit consumers           (default 10000)
  --consume-runs N      measured runs per consumer case                         (default 2)
  --kv-ops N            sequential KV puts and gets per run                     (default 2000)
  --kv-concurrent N     concurrent KV puts and gets per run                     (default 10000)
  --kv-concurrency N    KV operations in flight in the concurrent runs          (default 100)
  --obj-mib N           object size for the object store, MiB                   (default 16)
  --max-seconds N       deadline per measured run                               (default 30)
  --settle-ms N         wait after start before reading idle RSS                (default 1500)
  --quiet-wait S        wait up to S s before each run for other CPU load to stop (default 1)
  --phases LIST         any of pub,consume,kv,obj                               (default all)
  --only KIND           effect-jetstream | nats-server
  --json                print the results as JSON instead of the table
`

const parseOptions = (argv: ReadonlyArray<string>): Options => {
  const args = parseArgs(argv, USAGE, ["--json"], [
    "--runs",
    "--sync-msgs",
    "--async-msgs",
    "--async-bytes",
    "--window",
    "--sizes",
    "--fill",
    "--ack-pending",
    "--consume-runs",
    "--kv-ops",
    "--kv-concurrent",
    "--kv-concurrency",
    "--obj-mib",
    "--max-seconds",
    "--settle-ms",
    "--quiet-wait",
    "--phases",
    "--only"
  ])
  const num = (flag: string, dflt: number): number => flagCount(args, flag, dflt)
  const servers = serversOf(args)
  const phasesRaw = args.flags.get("--phases")
  const phases = phasesRaw === undefined
    ? [...PHASES]
    : phasesRaw.split(",").map((p) => p.trim()).filter((p) => p !== "")
  for (const p of phases) if (!(PHASES as ReadonlyArray<string>).includes(p)) fail(`--phases: unknown phase ${p}`)
  const sizesRaw = args.flags.get("--sizes")
  const sizes = sizesRaw === undefined
    ? [128, 1024, 16384]
    : sizesRaw.split(",").map((s) => toCount("--sizes", s.trim()))
  return {
    runs: Math.max(1, num("--runs", 3)),
    syncMsgs: Math.max(1, num("--sync-msgs", 1000)),
    asyncMsgs: Math.max(1, num("--async-msgs", 15_000)),
    asyncBytes: Math.max(1, num("--async-bytes", 64 * 1024 * 1024)),
    window: Math.max(1, num("--window", 2000)),
    sizes,
    fill: Math.max(1, num("--fill", 100_000)),
    ackPending: Math.max(1, num("--ack-pending", 10_000)),
    consumeRuns: Math.max(1, num("--consume-runs", 2)),
    kvOps: Math.max(1, num("--kv-ops", 2000)),
    kvConcurrentOps: Math.max(1, num("--kv-concurrent", 10_000)),
    kvConcurrency: Math.max(1, num("--kv-concurrency", 100)),
    objMib: Math.max(1, num("--obj-mib", 16)),
    maxSeconds: Math.max(1, num("--max-seconds", 30)),
    settleMs: num("--settle-ms", 1500),
    quietWaitSeconds: num("--quiet-wait", 1),
    phases: phases as ReadonlyArray<Phase>,
    json: args.bools.has("--json"),
    servers
  }
}

const MiB = 1024 * 1024

// ---------------------------------------------------------------------------------------------
// servers under test

interface Target {
  readonly kind: ServerKind
  readonly version: string
  readonly server: ServerProcess
  readonly dir: string
  readonly nc: NatsConnection
  readonly js: JetStreamClient
  readonly jsm: JetStreamManager
  /** Problems seen: client status events, errors, mismatches. */
  readonly events: Array<string>
  idle: MemReading | undefined
  sampler: RssSampler | undefined
}

const tempDirs: Array<string> = []
const removeTempDirs = (): void => {
  for (const d of tempDirs.splice(0)) {
    try {
      fs.rmSync(d, { recursive: true, force: true, maxRetries: 3 })
    } catch {
      // best effort on exit paths
    }
  }
}
// registered after support.ts's own exit hook (installed by the first startServer), so children die first
let rmHookInstalled = false

const openClient = async (port: number, name: string, events: Array<string>): Promise<NatsConnection> => {
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
      if (s.type !== "close") events.push(`${name}: ${s.type}${detail}`)
    }
  })()
  return nc
}

const pacing = (opts: Options): InterleaveOptions => ({
  quietWaitMs: opts.quietWaitSeconds * 1000,
  pauseMs: 100
})

const startTarget = async (kind: ServerKind, natsPath: string | undefined): Promise<Target> => {
  const version = versionOf(kind, natsPath)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `js-bench-${kind === "nats-server" ? "nats" : "ejs"}-`))
  tempDirs.push(dir)
  progress(`${kind} (${version}): starting with -js -sd ${dir}`)
  const server = await startServer(kind, {
    extraArgs: ["-js", "-sd", dir],
    ...(natsPath === undefined ? {} : { natsServerPath: natsPath })
  })
  if (!rmHookInstalled) {
    rmHookInstalled = true
    process.on("exit", removeTempDirs)
  }
  progress(`  pid ${server.pid}, listening on ${HOST}:${server.port}`)
  const events: Array<string> = []
  const nc = await openClient(server.port, "bench-main", events)
  const js = jetstream(nc, { timeout: 15_000 })
  const jsm = await jetstreamManager(nc, { timeout: 15_000 })
  return { kind, version, server, dir, nc, js, jsm, events, idle: undefined, sampler: undefined }
}

// ---------------------------------------------------------------------------------------------
// interleaved runs

interface RunCpu {
  readonly seconds: number
  readonly serverCpuPct: number
  readonly loadgenCpuPct: number
  readonly machineCpuPct: number
}

/** Times `f` and reads server / load generator / machine CPU over it. */
const timed = async <A>(
  server: ServerProcess,
  f: () => Promise<A>
): Promise<{ readonly value: A; readonly cpu: RunCpu }> => {
  const cpu0 = readCpuMs(server.pid) ?? 0
  const mc0 = readMachineCpu()
  const me0 = process.cpuUsage()
  const t0 = nowMs()
  const value = await f()
  const seconds = (nowMs() - t0) / 1000
  const me = process.cpuUsage(me0)
  const mc1 = readMachineCpu()
  const cpu1 = readCpuMs(server.pid) ?? cpu0
  return {
    value,
    cpu: {
      seconds,
      serverCpuPct: ((cpu1 - cpu0) / (seconds * 1000)) * 100,
      loadgenCpuPct: ((me.user + me.system) / 1000 / (seconds * 1000)) * 100,
      machineCpuPct: ((mc1.busy - mc0.busy) / (mc1.total - mc0.total)) * 100
    }
  }
}

/** Share of the whole machine used by processes other than the server and this one, %. */
const otherLoadPct = (c: RunCpu): number => c.machineCpuPct - (c.serverCpuPct + c.loadgenCpuPct) / os.cpus().length

// ---------------------------------------------------------------------------------------------
// pipelining

/**
 * Runs `op(0..n-1)` keeping at most `window` in flight; stops issuing at `deadline` (Date.now() ms).
 * Returns how many completed and failed, and the first error.
 */
const pipelined = async (
  n: number,
  window: number,
  deadline: number,
  op: (i: number) => Promise<unknown>
): Promise<
  { readonly ok: number; readonly failed: number; readonly firstError: string | undefined; readonly timedOut: boolean }
> => {
  let inflight = 0
  let ok = 0
  let failed = 0
  let firstError: string | undefined
  let wake: (() => void) | undefined
  let timedOut = false
  const settle = () => {
    inflight--
    const w = wake
    wake = undefined
    w?.()
  }
  for (let i = 0; i < n; i++) {
    while (inflight >= window) await new Promise<void>((resolve) => (wake = resolve))
    if (failed > 0 && failed >= 20) break // the server is refusing: do not queue thousands of timeouts
    if ((i & 255) === 0 && Date.now() > deadline) {
      timedOut = true
      break
    }
    inflight++
    op(i).then(
      () => {
        ok++
        settle()
      },
      (e: unknown) => {
        failed++
        firstError ??= errorText(e)
        settle()
      }
    )
  }
  while (inflight > 0) await new Promise<void>((resolve) => (wake = resolve))
  return { ok, failed, firstError, timedOut }
}

const latencyOf = async (op: () => Promise<unknown>): Promise<number> => {
  const s = process.hrtime.bigint()
  await op()
  return Number(process.hrtime.bigint() - s) / 1000
}

// ---------------------------------------------------------------------------------------------
// result shapes

interface RateRun {
  /** operations (messages, KV ops) or MiB completed */
  readonly count: number
  readonly rate: number
  readonly cpu: RunCpu
  readonly error?: string
}

interface LatRun {
  readonly lat: Float64Array
  readonly error?: string
}

interface RateSummary {
  readonly median: number
  readonly runs: ReadonlyArray<number>
  readonly serverCpuPct: number
  readonly otherLoadPct: ReadonlyArray<number>
  readonly errors: ReadonlyArray<string>
}

interface LatSummary {
  readonly count: number
  readonly p50Us: number
  readonly p99Us: number
  readonly maxUs: number
  readonly runsP50Us: ReadonlyArray<number>
  readonly errors: ReadonlyArray<string>
}

const summarizeRate = (runs: ReadonlyArray<RateRun> | undefined): RateSummary | undefined => {
  if (runs === undefined || runs.length === 0) return undefined
  const sorted = [...runs].sort((a, b) => a.rate - b.rate)
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!
  return {
    median: mid.rate,
    runs: runs.map((r) => r.rate),
    serverCpuPct: mid.cpu.serverCpuPct,
    otherLoadPct: runs.map((r) => otherLoadPct(r.cpu)),
    errors: runs.flatMap((r) => (r.error === undefined ? [] : [r.error]))
  }
}

const summarizeLat = (runs: ReadonlyArray<LatRun> | undefined): LatSummary | undefined => {
  if (runs === undefined || runs.length === 0) return undefined
  const count = runs.reduce((a, r) => a + r.lat.length, 0)
  const all = new Float64Array(count)
  let off = 0
  for (const r of runs) {
    all.set(r.lat, off)
    off += r.lat.length
  }
  all.sort()
  const r1 = (x: number) => Math.round(x * 10) / 10
  return {
    count,
    p50Us: r1(percentile(all, 50)),
    p99Us: r1(percentile(all, 99)),
    maxUs: r1(count > 0 ? all[count - 1]! : Number.NaN),
    runsP50Us: runs.map((r) => r1(percentile(Float64Array.from(r.lat).sort(), 50))),
    errors: runs.flatMap((r) => (r.error === undefined ? [] : [r.error]))
  }
}

// ---------------------------------------------------------------------------------------------
// phase 1: publish

interface PubRun {
  readonly sync: LatRun
  readonly async: RateRun
}

const sizeLabel = (n: number): string => (n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : `${n} B`)

const publishSession = async (
  t: Target,
  opts: Options,
  storage: StorageType,
  size: number
): Promise<Session<PubRun>> => {
  const name = `PUB_${storage.toUpperCase()}_${size}`
  const subject = `pub.${storage}.${size}`
  await t.jsm.streams.add({ name, subjects: [subject], storage, num_replicas: 1 })
  const payload = new Uint8Array(size).fill(0x61)
  const asyncCount = Math.max(100, Math.min(opts.asyncMsgs, Math.floor(opts.asyncBytes / size)))
  // warm-up, uncounted
  for (let i = 0; i < 100; i++) await t.js.publish(subject, payload)
  await pipelined(
    Math.min(2000, asyncCount),
    opts.window,
    Date.now() + opts.maxSeconds * 1000,
    () => t.js.publish(subject, payload)
  )
  await t.jsm.streams.purge(name)
  return {
    measure: async () => {
      const deadline = Date.now() + opts.maxSeconds * 1000
      const lat = new Float64Array(opts.syncMsgs)
      let n = 0
      let syncError: string | undefined
      let lastSeq = 0
      let seqErrors = 0
      try {
        while (n < opts.syncMsgs) {
          if (Date.now() > deadline) {
            syncError = `deadline: ${n} of ${opts.syncMsgs} sync publishes done`
            break
          }
          const s = process.hrtime.bigint()
          const ack = await t.js.publish(subject, payload)
          lat[n++] = Number(process.hrtime.bigint() - s) / 1000
          if (ack.seq !== lastSeq + 1 && lastSeq !== 0) seqErrors++
          lastSeq = ack.seq
        }
      } catch (e) {
        syncError = `sync publish #${n + 1}: ${errorText(e)}`
      }
      if (seqErrors > 0) t.events.push(`${name}: ${seqErrors} sync acks with non-consecutive stream sequence`)
      await t.jsm.streams.purge(name)
      await waitForQuietMachine(opts.quietWaitSeconds * 1000, progress)
      const { value: res, cpu } = await timed(
        t.server,
        () =>
          pipelined(asyncCount, opts.window, Date.now() + opts.maxSeconds * 1000, () => t.js.publish(subject, payload))
      )
      const info = await t.jsm.streams.info(name)
      const asyncErrors: Array<string> = []
      if (res.failed > 0) {
        asyncErrors.push(`${res.failed} of ${asyncCount} async publishes failed (first: ${res.firstError})`)
      }
      if (res.timedOut) asyncErrors.push(`deadline: ${res.ok} of ${asyncCount} async publishes acked`)
      if (info.state.messages !== res.ok) {
        asyncErrors.push(`stream holds ${info.state.messages} messages after ${res.ok} acked publishes`)
      }
      await t.jsm.streams.purge(name)
      return {
        sync: { lat: lat.subarray(0, n), ...(syncError === undefined ? {} : { error: syncError }) },
        async: {
          count: res.ok,
          rate: res.ok / cpu.seconds,
          cpu,
          ...(asyncErrors.length === 0 ? {} : { error: asyncErrors.join("; ") })
        }
      }
    },
    close: async () => {
      await t.jsm.streams.delete(name)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// phase 2: consumers

const DRAIN_STREAM = "DRAIN"
const DRAIN_SUBJECT = "drain.data"

interface FillResult {
  readonly seconds: number
  readonly rate: number
  readonly error?: string
}

const fillDrainStream = async (t: Target, opts: Options): Promise<FillResult> => {
  await t.jsm.streams.add({ name: DRAIN_STREAM, subjects: ["drain.>"], storage: StorageType.File, num_replicas: 1 })
  const payload = new Uint8Array(128).fill(0x64)
  const t0 = nowMs()
  const res = await pipelined(
    opts.fill,
    opts.window,
    Date.now() + 4 * opts.maxSeconds * 1000,
    () => t.js.publish(DRAIN_SUBJECT, payload)
  )
  const seconds = (nowMs() - t0) / 1000
  const info = await t.jsm.streams.info(DRAIN_STREAM)
  const errs: Array<string> = []
  if (res.failed > 0 || res.timedOut) {
    errs.push(`fill: ${res.ok} of ${opts.fill} publishes acked (${res.failed} failed, first: ${res.firstError})`)
  }
  if (info.state.messages !== opts.fill) {
    errs.push(`fill: stream holds ${info.state.messages} messages, expected ${opts.fill}`)
  }
  return { seconds, rate: res.ok / seconds, ...(errs.length === 0 ? {} : { error: errs.join("; ") }) }
}

/** Tracks stream sequences a consumer saw: duplicates, out-of-range, missing. */
class SeqTracker {
  private readonly seen: Uint8Array
  count = 0
  dups = 0
  outOfRange = 0
  redelivered = 0
  readonly n: number
  constructor(n: number) {
    this.n = n
    this.seen = new Uint8Array(n + 1)
  }
  add(seq: number, redelivered: boolean): void {
    this.count++
    if (redelivered) this.redelivered++
    if (!(seq >= 1 && seq <= this.n)) this.outOfRange++
    else if (this.seen[seq] === 1) this.dups++
    else this.seen[seq] = 1
  }
  problems(label: string): Array<string> {
    const out: Array<string> = []
    if (this.dups > 0) out.push(`${label}: ${this.dups} duplicate stream sequences`)
    if (this.redelivered > 0) out.push(`${label}: ${this.redelivered} redelivered messages`)
    if (this.outOfRange > 0) out.push(`${label}: ${this.outOfRange} stream sequences outside 1..${this.n}`)
    const unique = this.count - this.dups - this.outOfRange
    if (unique < this.n) out.push(`${label}: ${this.n - unique} of ${this.n} messages never delivered`)
    return out
  }
}

type DrainKind = "pull-explicit" | "pull-none" | "push-explicit" | "pull-explicit-x4"

/** After a drain with acks, the consumer should have nothing pending. */
const checkConsumerSettled = async (t: Target, durable: string, explicit: boolean): Promise<Array<string>> => {
  const until = Date.now() + 3000
  let last = ""
  while (Date.now() < until) {
    const ci = await t.jsm.consumers.info(DRAIN_STREAM, durable)
    const ackPending = ci.num_ack_pending
    last =
      `num_pending=${ci.num_pending} num_ack_pending=${ackPending} delivered.stream_seq=${ci.delivered.stream_seq} ack_floor.stream_seq=${ci.ack_floor.stream_seq}`
    if (
      ci.num_pending === 0 && (!explicit || (ackPending === 0 && ci.ack_floor.stream_seq === ci.delivered.stream_seq))
    ) return []
    await sleep(200)
  }
  return [`consumer ${durable} not settled 3 s after the drain: ${last}`]
}

/** Drains the whole stream with a pull consumer `consume()`; resolves with the tracker. */
const pullDrain = async (
  js: JetStreamClient,
  durable: string,
  n: number,
  ack: boolean,
  deadline: number
): Promise<{ readonly tracker: SeqTracker; readonly error?: string }> => {
  const tracker = new SeqTracker(n)
  const c = await js.consumers.get(DRAIN_STREAM, durable)
  const iter = await c.consume({ max_messages: 1000 })
  const timer = setTimeout(() => void iter.stop(), Math.max(0, deadline - Date.now()))
  try {
    for await (const m of iter) {
      tracker.add(m.seq, m.redelivered)
      if (ack) m.ack()
      if (tracker.count - tracker.dups - tracker.outOfRange >= n) break
    }
  } finally {
    clearTimeout(timer)
    await iter.close().catch(() => undefined)
  }
  const done = tracker.count - tracker.dups - tracker.outOfRange
  return {
    tracker,
    ...(done < n
      ? { error: `stopped at the run deadline: ${done} of ${n} messages consumed (the rate is over the partial drain)` }
      : {})
  }
}

const consumerSession = async (t: Target, opts: Options, kind: DrainKind): Promise<Session<RateRun>> => {
  const extra: Array<NatsConnection> = []
  if (kind === "pull-explicit-x4") {
    for (let i = 0; i < 4; i++) extra.push(await openClient(t.server.port, `bench-pull-${i}`, t.events))
  }
  const n = opts.fill
  const explicit = kind !== "pull-none"
  const consumerConfig = (durable: string) => ({
    durable_name: durable,
    ack_policy: explicit ? AckPolicy.Explicit : AckPolicy.None,
    ...(explicit ? { max_ack_pending: opts.ackPending } : {}),
    ack_wait: 60_000_000_000 // 60 s in ns: no redelivery inside a run
  })
  return {
    measure: async (run) => {
      const base = `${kind.replaceAll("-", "_")}_${run}`
      const deadline = Date.now() + opts.maxSeconds * 1000
      const problems: Array<string> = []
      let result: RateRun
      if (kind === "push-explicit") {
        const inbox = createInbox()
        const tracker = new SeqTracker(n)
        let resolveDone: () => void = () => undefined
        const done = new Promise<void>((resolve) => (resolveDone = resolve))
        const sub = t.nc.subscribe(inbox, {
          callback: (err, m) => {
            if (err !== null) {
              problems.push(`push subscription: ${err.message}`)
              return
            }
            // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
            const tok = (m.reply ?? "").split(".")
            tracker.add(Number(tok[5]), Number(tok[4]) > 1)
            if (m.reply !== undefined) t.nc.publish(m.reply)
            if (tracker.count - tracker.dups - tracker.outOfRange >= n) resolveDone()
          }
        })
        await t.nc.flush()
        const { cpu } = await timed(t.server, async () => {
          await t.jsm.consumers.add(DRAIN_STREAM, { ...consumerConfig(base), deliver_subject: inbox })
          await Promise.race([done, sleep(Math.max(0, deadline - Date.now()))])
        })
        sub.unsubscribe()
        const got = tracker.count - tracker.dups - tracker.outOfRange
        if (got < n) {
          problems.push(
            `stopped at the run deadline: ${got} of ${n} messages delivered (the rate is over the partial drain)`
          )
        } else problems.push(...tracker.problems(base), ...(await checkConsumerSettled(t, base, true)))
        await t.jsm.consumers.delete(DRAIN_STREAM, base)
        result = { count: tracker.count, rate: got / cpu.seconds, cpu }
      } else if (kind === "pull-explicit-x4") {
        const names = extra.map((_, i) => `${base}_${i}`)
        for (const d of names) await t.jsm.consumers.add(DRAIN_STREAM, consumerConfig(d))
        const { value, cpu } = await timed(
          t.server,
          () =>
            Promise.all(
              extra.map((nc, i) => pullDrain(jetstream(nc, { timeout: 15_000 }), names[i]!, n, true, deadline))
            )
        )
        let got = 0
        for (const [i, r] of value.entries()) {
          got += r.tracker.count - r.tracker.dups - r.tracker.outOfRange
          if (r.error !== undefined) problems.push(`${names[i]}: ${r.error}`)
          else problems.push(...r.tracker.problems(names[i]!), ...(await checkConsumerSettled(t, names[i]!, true)))
        }
        for (const d of names) await t.jsm.consumers.delete(DRAIN_STREAM, d)
        result = { count: got, rate: got / cpu.seconds, cpu }
      } else {
        await t.jsm.consumers.add(DRAIN_STREAM, consumerConfig(base))
        const { value, cpu } = await timed(t.server, () => pullDrain(t.js, base, n, explicit, deadline))
        const got = value.tracker.count - value.tracker.dups - value.tracker.outOfRange
        if (value.error !== undefined) problems.push(value.error)
        else problems.push(...value.tracker.problems(base), ...(await checkConsumerSettled(t, base, explicit)))
        await t.jsm.consumers.delete(DRAIN_STREAM, base)
        result = { count: got, rate: got / cpu.seconds, cpu }
      }
      return problems.length === 0 ? result : { ...result, error: problems.join("; ") }
    },
    close: async () => {
      await Promise.allSettled(extra.map((nc) => nc.close()))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// phase 3: KV and object store

interface KvRun {
  readonly putLat: LatRun
  readonly getLat: LatRun
  readonly putSeq: RateRun
  readonly getSeq: RateRun
  readonly putConc: RateRun
  readonly getConc: RateRun
}

const KV_KEYS = 1000

const kvSession = async (t: Target, opts: Options): Promise<Session<KvRun> & { readonly direct: boolean }> => {
  const kvm = new Kvm(t.nc)
  const kv: KV = await kvm.create("bench", { storage: StorageType.File, history: 1 })
  const status = await kv.status()
  const value = new Uint8Array(128).fill(0x6b)
  const key = (i: number) => `k.${i % KV_KEYS}`
  for (let i = 0; i < KV_KEYS; i++) await kv.put(key(i), value)
  for (let i = 0; i < 200; i++) await kv.get(key(i))
  let mismatches = 0
  const checkedGet = async (i: number): Promise<void> => {
    const e = await kv.get(key(i))
    if (e === null || e.value.length !== value.length || e.key !== key(i)) mismatches++
  }
  const seqLoop = async (
    op: (i: number) => Promise<unknown>,
    deadline: number
  ): Promise<{ lat: Float64Array; error?: string; cpu: RunCpu }> => {
    const lat = new Float64Array(opts.kvOps)
    let n = 0
    let error: string | undefined
    const { cpu } = await timed(t.server, async () => {
      try {
        while (n < opts.kvOps) {
          if (Date.now() > deadline) {
            error = `deadline: ${n} of ${opts.kvOps} done`
            break
          }
          lat[n] = await latencyOf(() => op(n))
          n++
        }
      } catch (e) {
        error = `op #${n + 1}: ${errorText(e)}`
      }
    })
    return { lat: lat.subarray(0, n), cpu, ...(error === undefined ? {} : { error }) }
  }
  const concLoop = async (op: (i: number) => Promise<unknown>, deadline: number): Promise<RateRun> => {
    const { value: res, cpu } = await timed(
      t.server,
      () => pipelined(opts.kvConcurrentOps, opts.kvConcurrency, deadline, op)
    )
    const errs: Array<string> = []
    if (res.failed > 0) errs.push(`${res.failed} failed (first: ${res.firstError})`)
    if (res.timedOut) errs.push(`deadline: ${res.ok} of ${opts.kvConcurrentOps} done`)
    return { count: res.ok, rate: res.ok / cpu.seconds, cpu, ...(errs.length === 0 ? {} : { error: errs.join("; ") }) }
  }
  const toRate = (r: { lat: Float64Array; error?: string; cpu: RunCpu }): RateRun => ({
    count: r.lat.length,
    rate: r.lat.length / r.cpu.seconds,
    cpu: r.cpu,
    ...(r.error === undefined ? {} : { error: r.error })
  })
  const toLat = (r: { lat: Float64Array; error?: string }): LatRun => ({
    lat: r.lat,
    ...(r.error === undefined ? {} : { error: r.error })
  })
  return {
    direct: status.streamInfo.config.allow_direct === true,
    measure: async () => {
      const deadline = () => Date.now() + opts.maxSeconds * 1000
      const before = mismatches
      const puts = await seqLoop((i) => kv.put(key(i), value), deadline())
      const gets = await seqLoop(checkedGet, deadline())
      await waitForQuietMachine(opts.quietWaitSeconds * 1000, progress)
      const putConc = await concLoop((i) => kv.put(key(i), value), deadline())
      const getConc = await concLoop(checkedGet, deadline())
      if (mismatches > before) t.events.push(`KV: ${mismatches - before} gets returned no entry or a wrong value`)
      return { putLat: toLat(puts), getLat: toLat(gets), putSeq: toRate(puts), getSeq: toRate(gets), putConc, getConc }
    },
    close: async () => {
      await kv.destroy()
    }
  }
}

interface ObjRun {
  readonly put: RateRun
  readonly get: RateRun
}

const objSession = async (t: Target, opts: Options): Promise<Session<ObjRun>> => {
  const objm = new Objm(t.nc)
  const store: ObjectStore = await objm.create("benchobj", { storage: StorageType.File })
  const size = opts.objMib * MiB
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >>> 13)) & 0xff
  // warm-up with a 1 MiB object
  await store.putBlob({ name: "warm" }, data.subarray(0, MiB))
  await store.getBlob("warm")
  await store.delete("warm")
  return {
    measure: async (run) => {
      const name = `obj-${run}`
      const withDeadline = <A>(p: Promise<A>, what: string): Promise<A> =>
        Promise.race([
          p,
          sleep(opts.maxSeconds * 1000).then(() =>
            Promise.reject(new Error(`${what}: deadline of ${opts.maxSeconds} s passed`))
          )
        ])
      const { cpu: putCpu } = await timed(t.server, () => withDeadline(store.putBlob({ name }, data), "object put"))
      let got: Uint8Array | null = null
      const { cpu: getCpu } = await timed(t.server, async () => {
        got = await withDeadline(store.getBlob(name), "object get")
      })
      const back = got as Uint8Array | null
      const error = back === null
        ? "object get returned null"
        : back.length !== size
        ? `object get returned ${back.length} bytes of ${size}`
        : Buffer.compare(Buffer.from(back.buffer, back.byteOffset, back.length), Buffer.from(data.buffer)) !== 0
        ? "object get returned different bytes"
        : undefined
      await store.delete(name)
      return {
        put: { count: opts.objMib, rate: opts.objMib / putCpu.seconds, cpu: putCpu },
        get: {
          count: opts.objMib,
          rate: opts.objMib / getCpu.seconds,
          cpu: getCpu,
          ...(error === undefined ? {} : { error })
        }
      }
    },
    close: async () => {
      await store.destroy()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// main

interface Row extends TableRow {
  readonly detail?: string
}

const main = async (): Promise<void> => {
  const opts = parseOptions(process.argv.slice(2))
  const natsPath = findNatsServer()
  const kinds = opts.servers.filter((k) => k !== "nats-server" || natsPath !== undefined)
  if (natsPath === undefined && opts.servers.includes("nats-server")) {
    progress("nats-server not found on PATH (or $NATS_SERVER): measuring effect-jetstream only")
  }
  const started = nowMs()
  const targets: Array<Target> = []
  const rows: Array<Row> = []
  const runLines: Array<string> = []
  const notes: Array<string> = []
  const json: Record<string, unknown> = {}
  const ejsOf = <A>(m: Map<ServerKind, A>) => m.get("effect-jetstream")
  const natsOf = <A>(m: Map<ServerKind, A>) => m.get("nats-server")
  const fmtRuns = (xs: ReadonlyArray<number>, digits = 0) =>
    xs.map((x) => x.toLocaleString("en-US", { maximumFractionDigits: digits })).join(", ")

  const rateRows = (
    metric: string,
    res: Map<ServerKind, Array<RateRun>>,
    target: string | undefined,
    digits = 0
  ): void => {
    const s = new Map<ServerKind, RateSummary>()
    for (const [k, v] of res) {
      const sum = summarizeRate(v)
      if (sum !== undefined) s.set(k, sum)
    }
    rows.push({
      metric,
      ejs: ejsOf(s)?.median,
      nats: natsOf(s)?.median,
      digits,
      ...(target === undefined ? {} : { target })
    })
    json[metric] = Object.fromEntries(s)
    for (const [k, v] of s) {
      const other = v.otherLoadPct.map((x) => x.toFixed(0)).join(", ")
      runLines.push(
        `${metric} | ${k}: runs ${fmtRuns(v.runs, digits)}; server CPU ${
          v.serverCpuPct.toFixed(0)
        }% (median run); other load ${other}% of machine`
      )
      for (const e of v.errors) notes.push(`${k}: ${metric}: ${e}`)
      totalRuns += v.otherLoadPct.length
      disturbedRuns += v.otherLoadPct.filter((x) => x > 25).length
    }
  }
  let totalRuns = 0
  let disturbedRuns = 0
  const latRows = (
    metric: string,
    res: Map<ServerKind, Array<LatRun>>,
    target50: string | undefined,
    target99?: string
  ): void => {
    const s = new Map<ServerKind, LatSummary>()
    for (const [k, v] of res) {
      const sum = summarizeLat(v)
      if (sum !== undefined) s.set(k, sum)
    }
    rows.push({
      metric: `${metric} p50, us`,
      ejs: ejsOf(s)?.p50Us,
      nats: natsOf(s)?.p50Us,
      digits: 1,
      ...(target50 === undefined ? {} : { target: target50 })
    })
    rows.push({
      metric: `${metric} p99, us`,
      ejs: ejsOf(s)?.p99Us,
      nats: natsOf(s)?.p99Us,
      digits: 1,
      ...(target99 === undefined ? {} : { target: target99 })
    })
    json[metric] = Object.fromEntries(s)
    for (const [k, v] of s) {
      runLines.push(
        `${metric} | ${k}: ${v.count} samples, p50 per run ${fmtRuns(v.runsP50Us, 1)} us, max ${v.maxUs} us`
      )
      for (const e of v.errors) notes.push(`${k}: ${metric}: ${e}`)
    }
  }
  type Mem = {
    readonly idleRssMb: number
    readonly peakRssMb: number
    readonly hwmMb: number
    readonly endRssMb: number
  }
  const mems = new Map<ServerKind, Mem>()
  const mapPick = <A, B>(m: Map<ServerKind, Array<A>>, f: (a: A) => B): Map<ServerKind, Array<B>> =>
    new Map([...m].map(([k, v]) => [k, v.map(f)]))

  try {
    for (const kind of kinds) targets.push(await startTarget(kind, natsPath))
    await sleep(opts.settleMs)
    await waitForQuietMachine(opts.quietWaitSeconds * 1000, progress)
    for (const t of targets) {
      t.idle = readMem(t.server.pid)
      t.sampler = new RssSampler(t.server.pid)
    }

    if (opts.phases.includes("pub")) {
      for (const storage of [StorageType.Memory, StorageType.File]) {
        for (const size of opts.sizes) {
          const label = `${storage} ${sizeLabel(size)}`
          const res = await interleaved(
            `publish ${label}`,
            targets,
            pacing(opts),
            opts.runs,
            (t) => publishSession(t, opts, storage, size)
          )
          latRows(
            `js.publish sync ${label}`,
            mapPick(res, (r) => r.sync),
            storage === StorageType.File ? "<= 1.3x" : undefined
          )
          rateRows(
            `js.publish async ${label}, msgs/s`,
            mapPick(res, (r) => r.async),
            storage === StorageType.File ? ">= 1.0x" : undefined
          )
        }
      }
    }

    if (opts.phases.includes("consume")) {
      const fills = new Map<ServerKind, FillResult>()
      for (const t of targets) {
        if (!t.server.alive) continue
        await waitForQuietMachine(opts.quietWaitSeconds * 1000, progress)
        progress(`consume: ${t.kind}: filling ${DRAIN_STREAM} with ${opts.fill} x 128 B (file)`)
        try {
          const f = await fillDrainStream(t, opts)
          fills.set(t.kind, f)
          if (f.error !== undefined) notes.push(`${t.kind}: ${f.error}`)
          runLines.push(
            `consumer stream fill | ${t.kind}: ${opts.fill} x 128 B in ${f.seconds.toFixed(2)} s (${
              Math.round(f.rate).toLocaleString("en-US")
            } msgs/s pipelined js.publish)`
          )
        } catch (e) {
          notes.push(`${t.kind}: fill of ${DRAIN_STREAM} failed: ${errorText(e)}`)
        }
      }
      const ready = targets.filter((t) => fills.has(t.kind))
      const cases: ReadonlyArray<readonly [DrainKind, string]> = [
        ["pull-explicit", "pull consume(), ack explicit (ack each)"],
        ["pull-none", "pull consume(), ack none"],
        ["push-explicit", "push deliver_subject, ack explicit (ack each)"],
        ["pull-explicit-x4", "4 pull consumers in parallel, ack explicit, total"]
      ]
      for (const [kind, label] of cases) {
        const res = await interleaved(
          `consume ${kind}`,
          ready,
          pacing(opts),
          opts.consumeRuns,
          (t) => consumerSession(t, opts, kind)
        )
        rateRows(`drain ${opts.fill.toLocaleString("en-US")} x 128 B: ${label}, msgs/s`, res, ">= 1.0x")
      }
      for (const t of ready) {
        await t.jsm.streams.delete(DRAIN_STREAM).catch((e: unknown) =>
          notes.push(`${t.kind}: delete ${DRAIN_STREAM}: ${errorText(e)}`)
        )
      }
    }

    if (opts.phases.includes("kv")) {
      const direct = new Map<ServerKind, boolean>()
      const res = await interleaved("kv", targets, pacing(opts), opts.runs, async (t) => {
        const s = await kvSession(t, opts)
        direct.set(t.kind, s.direct)
        return s
      })
      rateRows(`KV put 128 B sequential, ops/s`, mapPick(res, (r) => r.putSeq), undefined)
      rateRows(`KV get sequential, ops/s`, mapPick(res, (r) => r.getSeq), ">= 1.0x")
      rateRows(`KV put concurrent (${opts.kvConcurrency} in flight), ops/s`, mapPick(res, (r) => r.putConc), undefined)
      rateRows(`KV get concurrent (${opts.kvConcurrency} in flight), ops/s`, mapPick(res, (r) => r.getConc), ">= 1.0x")
      latRows("KV put sequential", mapPick(res, (r) => r.putLat), undefined)
      latRows("KV get sequential", mapPick(res, (r) => r.getLat), undefined)
      for (const [k, d] of direct) {
        runLines.push(
          `KV | ${k}: bucket allow_direct=${d} (get via ${d ? "$JS.API.DIRECT.GET" : "$JS.API.STREAM.MSG.GET"})`
        )
      }
    }

    if (opts.phases.includes("obj")) {
      const res = await interleaved("object store", targets, pacing(opts), opts.runs, (t) => objSession(t, opts))
      rateRows(`object put ${opts.objMib} MiB, MiB/s`, mapPick(res, (r) => r.put), undefined, 1)
      rateRows(`object get ${opts.objMib} MiB, MiB/s`, mapPick(res, (r) => r.get), undefined, 1)
    }
  } finally {
    for (const t of targets) {
      const peak = t.sampler?.stop() ?? Number.NaN
      const end = readMem(t.server.pid)
      const mem = {
        idleRssMb: mb(t.idle?.rssKb ?? Number.NaN),
        peakRssMb: mb(peak),
        hwmMb: mb(end?.hwmKb ?? Number.NaN),
        endRssMb: mb(end?.rssKb ?? Number.NaN)
      }
      json[`memory ${t.kind}`] = mem
      mems.set(t.kind, mem)
      if (!t.server.alive) notes.push(`${t.kind}: server exited during the run (${JSON.stringify(t.server.exited)})`)
      await t.nc.close().catch(() => undefined)
      await t.server.stop()
      for (const e of t.events) notes.push(`${t.kind}: ${e}`)
      for (const l of t.server.notable) notes.push(`${t.kind}: server log: ${l}`)
    }
    removeTempDirs()
  }
  const memRow = (metric: string, pick: (m: Mem) => number, target?: string): Row => ({
    metric,
    ejs: ((m) => (m === undefined ? undefined : pick(m)))(mems.get("effect-jetstream")),
    nats: ((m) => (m === undefined ? undefined : pick(m)))(mems.get("nats-server")),
    digits: 1,
    ...(target === undefined ? {} : { target })
  })
  rows.push(memRow("server RSS idle (after start), MB", (m) => m.idleRssMb))
  rows.push(memRow("server RSS peak (sampled every 100 ms), MB", (m) => m.peakRssMb))
  rows.push(memRow("server VmHWM (peak since start), MB", (m) => m.hwmMb))
  rows.push(memRow("server RSS at end, MB", (m) => m.endRssMb))

  const machine = machineInfo()
  const totalSeconds = (nowMs() - started) / 1000
  if (opts.json) {
    const ratios: Record<string, number | null> = {}
    for (const r of rows) {
      ratios[r.metric] = r.ejs !== undefined && r.nats !== undefined && r.nats > 0 ? r.ejs / r.nats : null
    }
    process.stdout.write(
      `${JSON.stringify({ machine, options: opts, totalSeconds, results: json, rows, ratios, notes }, null, 2)}\n`
    )
    return
  }
  const out: Array<string> = []
  out.push("")
  out.push(`JetStream benchmark: ${targets.map((t) => t.version).join("  vs  ")}`)
  out.push(
    `machine: ${machine.cpus} CPU (${machine.cpuModel}), node ${machine.node}. Load generator: this process (one thread) using the ` +
      `official nats.js clients (@nats-io/transport-node, @nats-io/jetstream, @nats-io/kv, @nats-io/obj) against both servers; ` +
      `it runs on the same machine and competes with the server for the CPUs, so client-bound rows understate both servers.`
  )
  out.push(
    `load: publish ${opts.syncMsgs} sync + up to ${opts.asyncMsgs} async msgs/run (<= ${
      Math.round(opts.asyncBytes / MiB)
    } MiB), window ${opts.window}; ` +
      `consumers drain ${opts.fill} x 128 B (file), max_ack_pending ${opts.ackPending}; KV ${opts.kvOps} sequential + ${opts.kvConcurrentOps} ` +
      `concurrent ops/run (128 B, ${KV_KEYS} keys, file); object ${opts.objMib} MiB (file). ${opts.runs} runs per publish/KV/object case, ` +
      `${opts.consumeRuns} per consumer case, alternating servers; rates are the median run, latencies pool all runs. ` +
      `Total ${totalSeconds.toFixed(0)} s.`
  )
  out.push("")
  out.push(renderTable(rows))
  out.push("")
  out.push("per-run values (other load = machine CPU not used by the server or the load generator, % of all cores):")
  for (const l of runLines) out.push(`  ${l}`)
  if (disturbedRuns > 0) {
    out.push(
      `noise: in ${disturbedRuns} of ${totalRuns} measured throughput runs other processes used > 25% of the machine's CPU; ` +
        `compare ratios with care (the runs alternate between servers, so the noise is spread over both sides).`
    )
  }
  out.push(
    notes.length === 0
      ? "no errors, disconnects, slow consumers or mismatches observed."
      : `observed problems:\n  ${notes.join("\n  ")}`
  )
  process.stdout.write(`${out.join("\n")}\n`)
}

await runBench(main, () => {
  killAllNow()
  removeTempDirs()
})
