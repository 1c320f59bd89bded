/**
 * Message tracing's cost on the untraced path, measured in-process (no sockets):
 *   1. MessageRouter.publish to one subscriber, this branch's router against another checkout's
 *      (`--baseline /work/main`: the router before tracing), with and without a header block;
 *   2. findTraceHeaders on typical header blocks without trace headers (the scan every publish with
 *      headers now pays), against the whole publish cost.
 *
 *   npx tsx bench/trace.bench.ts [--baseline DIR] [--msgs N]
 */
import { Buffer } from "node:buffer"
import * as path from "node:path"
import * as Ours from "../src/core/Router.ts"
import { findTraceHeaders } from "../src/core/TraceHeaders.ts"

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1]! : dflt
}
const N = Number(arg("--msgs", "2000000"))
const baselineDir = arg("--baseline", "/work/main")

type RouterModule = typeof Ours
const Base: RouterModule = await import(path.join(baselineDir, "src/core/Router.ts"))

const plain = Buffer.from("hello world payload 32 bytes....")
const withHdr = Buffer.concat([Buffer.from("NATS/1.0\r\nNats-Msg-Id: 0123456789abcdef\r\n\r\n"), plain])
const hdrLen = withHdr.length - plain.length

const routerRun = (M: RouterModule, hdr: boolean): number => {
  const r = new M.MessageRouter()
  let got = 0
  const owner = { cid: 1, echo: true, deliver: () => void got++, autoUnsubscribed: () => {} }
  r.subscribe(new M.Subscription(owner, "bench.subject", undefined, "1"))
  const msg = hdr ? withHdr : plain
  const h = hdr ? hdrLen : -1
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) r.publish(undefined, "bench.subject", undefined, h, msg)
  const ns = Number(process.hrtime.bigint() - t0)
  if (got !== N) throw new Error("lost deliveries")
  return ns / N
}

const scanRun = (block: Uint8Array, len: number): number => {
  let found = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) if (findTraceHeaders(block, len) !== undefined) found++
  const ns = Number(process.hrtime.bigint() - t0)
  if (found !== 0) throw new Error("unexpected trace headers")
  return ns / N
}

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const rounds = 7
const results: Record<string, Array<number>> = {}
const add = (k: string, v: number) => (results[k] ??= []).push(v)
for (let round = 0; round < rounds; round++) {
  // Alternated so machine noise hits both sides.
  add("router, no headers: baseline", routerRun(Base, false))
  add("router, no headers: tracing", routerRun(Ours, false))
  add("router, Nats-Msg-Id header: baseline", routerRun(Base, true))
  add("router, Nats-Msg-Id header: tracing", routerRun(Ours, true))
  add("findTraceHeaders, 1 header (Nats-Msg-Id)", scanRun(withHdr, hdrLen))
  const js = Buffer.from(
    "NATS/1.0\r\nNats-Msg-Id: 0123456789abcdef\r\nNats-Expected-Last-Sequence: 41\r\nContent-Type: application/json\r\n\r\n"
  )
  add("findTraceHeaders, 3 headers", scanRun(js, js.length))
}
console.log(`${N} messages per run, median of ${rounds} runs (ns per message)`)
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(44)} ${median(v).toFixed(1)}`)
