/**
 * Counter streams (ADR-49) as a property: random BigInt increments (small ones and ones far beyond
 * 2^53 and 2^64), sent concurrently from several connections over several subjects, give PubAck
 * totals that are the running sums in stream order, stored totals that are the exact sums, and an
 * aggregate counter stream (sourcing the first) that reaches the same totals — also after a broker
 * restart (file storage), with more increments afterwards.
 */
import { fc } from "@fast-check/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, headers, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()
const CONNECTIONS = 3
const SUBJECTS = 3

interface Incr {
  readonly conn: number
  readonly subject: number
  readonly by: bigint
}

const BIG = 2n ** 80n
const incrArb: fc.Arbitrary<Incr> = fc.record({
  conn: fc.integer({ min: 0, max: CONNECTIONS - 1 }),
  subject: fc.integer({ min: 0, max: SUBJECTS - 1 }),
  by: fc.oneof(fc.bigInt({ min: -5n, max: 5n }), fc.bigInt({ min: -BIG, max: BIG }))
})
const batchArb = fc.array(incrArb, { minLength: 1, maxLength: 40 })

/** `+n` or `-n`, as ADR-49 writes increments (nats-server also takes an unsigned `n`). */
const signed = (n: bigint): string => (n < 0n ? `${n}` : `+${n}`)

/** Sends every increment at once (each connection in its order, the connections in parallel). */
const sendAll = async (
  ncs: ReadonlyArray<NatsConnection>,
  prefix: string,
  batch: ReadonlyArray<Incr>
): Promise<Array<{ readonly incr: Incr; readonly seq: number; readonly val: bigint }>> =>
  Promise.all(batch.map(async (incr) => {
    const h = headers()
    h.set("Nats-Incr", signed(incr.by))
    const r = await ncs[incr.conn]!.request(`${prefix}.s${incr.subject}`, sc.encode(""), {
      headers: h,
      timeout: 10_000
    })
    const ack = JSON.parse(dc.decode(r.data)) as { seq: number; val: string; error?: unknown }
    expect(ack.error).toBeUndefined()
    return { incr, seq: ack.seq, val: BigInt(ack.val) }
  }))

/** The stored total of each subject (0 for a subject never counted). */
const totals = async (nc: NatsConnection, stream: string, prefix: string): Promise<Array<bigint>> => {
  const jsm = await jetstreamManager(nc)
  const out: Array<bigint> = []
  for (let s = 0; s < SUBJECTS; s++) {
    const m = await jsm.streams.getMessage(stream, { last_by_subj: `${prefix}.s${s}` }).catch(() => null)
    out.push(m === null ? 0n : BigInt((JSON.parse(dc.decode(m.data)) as { val: string }).val))
  }
  return out
}

const sums = (batch: ReadonlyArray<Incr>): Array<bigint> => {
  const out = Array.from({ length: SUBJECTS }, () => 0n)
  for (const i of batch) out[i.subject]! += i.by
  return out
}

/** Waits (up to 10 s) until the aggregate shows `want`; returns what it shows last. */
const settle = async (nc: NatsConnection, stream: string, prefix: string, want: ReadonlyArray<bigint>) => {
  let have: Array<bigint> = []
  for (let i = 0; i < 200; i++) {
    have = await totals(nc, stream, prefix)
    if (have.every((v, j) => v === want[j])) break
    await sleep(50)
  }
  return have
}

let run = 0

describe("counters (property, concurrent connections, restart, source)", () => {
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-counters-"))
  let broker: RunningBroker
  let ncs: Array<NatsConnection> = []
  const open = async () => {
    broker = await startBroker({ jetstream: true, storeDir })
    ncs = await Promise.all(Array.from({ length: CONNECTIONS }, () => connect({ servers: broker.url })))
  }
  const close = async () => {
    await Promise.all(ncs.map((nc) => nc.close()))
    await broker.stop()
  }
  beforeAll(open)
  afterAll(async () => {
    await close()
    fs.rmSync(storeDir, { recursive: true, force: true })
  })

  it("acks are running sums in stream order; stored and aggregated totals are exact, before and after a restart", async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, batchArb, async (before, after) => {
        const n = ++run
        const stream = `PC${n}`
        const agg = `PA${n}`
        const prefix = `pc${n}`
        const jsm = await jetstreamManager(ncs[0]!)
        await jsm.streams.add({ name: stream, subjects: [`${prefix}.*`], allow_msg_counter: true })
        await jsm.streams.add({ name: agg, allow_msg_counter: true, sources: [{ name: stream }] })

        const acks = await sendAll(ncs, prefix, before)
        // Per subject, in sequence order, each ack's total is the sum of the increments up to it.
        for (let s = 0; s < SUBJECTS; s++) {
          let running = 0n
          for (const a of acks.filter((x) => x.incr.subject === s).sort((x, y) => x.seq - y.seq)) {
            running += a.incr.by
            expect(a.val).toBe(running)
          }
        }
        const want = sums(before)
        expect(await totals(ncs[0]!, stream, prefix)).toEqual(want)
        expect(await settle(ncs[0]!, agg, prefix, want)).toEqual(want)

        await close()
        await open()
        expect(await totals(ncs[0]!, stream, prefix)).toEqual(want)
        expect(await totals(ncs[0]!, agg, prefix)).toEqual(want)

        await sendAll(ncs, prefix, after)
        const all = sums([...before, ...after])
        expect(await totals(ncs[0]!, stream, prefix)).toEqual(all)
        // The aggregate resumed from its stored Nats-Counter-Sources: nothing counted twice or lost.
        expect(await settle(ncs[0]!, agg, prefix, all)).toEqual(all)
      }),
      { numRuns: 6, endOnFailure: true }
    )
  })
})
