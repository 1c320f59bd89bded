/**
 * Durability across a crash: with `--restart-cmd` (kill -9 the server, start it again), no
 * acknowledged publish and no confirmed ack (ackAck) is lost.
 */
import { AckPolicy } from "@nats-io/jetstream"
import * as fc from "fast-check"
import { exec } from "node:child_process"
import { define, expectEqual, violation } from "./Property.ts"
import { addStream, dc, fetchBatch, fetchEach, nanos, open, sc, type Session, sleep, withSession } from "./Wire.ts"

const runShell = (cmd: string, timeoutMs: number) =>
  new Promise<void>((resolve, reject) => {
    exec(cmd, { timeout: timeoutMs }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`restart command failed (${err.message.trim()}): ${stderr.trim()}`))
      else resolve()
    })
  })

/** Reconnects until the server answers and knows the stream again (recovery may take a moment). */
const reopen = async (url: string, stream: string, timeoutMs: number): Promise<Session> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const s = await open(url)
      try {
        await s.jsm.streams.info(stream)
        return s
      } catch (e) {
        await s.nc.close().catch(() => undefined)
        throw e
      }
    } catch (e) {
      if (Date.now() > deadline) {
        throw new Error(`server did not come back with stream ${stream} within ${timeoutMs}ms: ${String(e)}`)
      }
      await sleep(200)
    }
  }
}

const ACK_WAIT_MS = 1000

interface RestartCase {
  readonly acks: ReadonlyArray<boolean>
  readonly extra: number
}

export const restartDurability = define({
  name: "restart-durability",
  description:
    "after kill -9 and restart (--restart-cmd), every acknowledged publish is still stored with its data, and no message whose ack was confirmed (ackAck) is delivered again",
  cost: "slow",
  needsRestart: true,
  differences:
    "nats-server (2.9) persists consumer ack state asynchronously (the consumer store's flusher), so after kill -9 it can redeliver messages whose ack was confirmed (seen: ackAck'ed seq 1 of 2 redelivered). Against nats-server only the publish half is enforced and redelivered acked messages are tolerated; against any other server (this broker writes the ack before confirming it) both halves are enforced.",
  arbitrary: fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc.record({ acks: fc.array(fc.boolean(), { minLength: n, maxLength: n }), extra: fc.nat(3) })
  ),
  render: (c: RestartCase) => [
    `add stream storage=file; publish ${c.acks.length} messages (wait for each ack)`,
    `add consumer ack_policy=explicit ack_wait=${ACK_WAIT_MS}ms; fetch all; ackAck seqs ${
      c.acks.flatMap((b, i) => (b ? [i + 1] : [])).join(",") || "none"
    }`,
    `publish ${c.extra} more messages`,
    "run --restart-cmd (kill -9 + start); reconnect",
    "every published message must be stored; fetch until all unacked seqs are redelivered; no confirmed-acked seq may appear"
  ],
  check: async (ctx, c) => {
    const name = ctx.name("DUR")
    const acksAsync = ctx.implementation.startsWith("nats-server ")
    const n = c.acks.length
    const published: Array<string> = []
    const s = await open(ctx.url)
    try {
      await addStream(s, { name, subjects: [`${name}.>`], storage: "file" as never })
      for (let i = 0; i < n; i++) {
        const ack = await s.js.publish(`${name}.a`, sc.encode(`m${i + 1}`))
        expectEqual(`publish #${i + 1} ack seq`, ack.seq, i + 1)
        published.push(`m${i + 1}`)
      }
      await s.jsm.consumers.add(name, {
        durable_name: "dur",
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(ACK_WAIT_MS)
      })
      const consumer = await s.js.consumers.get(name, "dur")
      let got = 0
      while (got < n) {
        const batch = await fetchBatch(consumer, n - got, 2000)
        if (batch.length === 0) violation(`only ${got} of ${n} messages delivered before the restart`)
        for (const m of batch) {
          got++
          if (c.acks[m.info.streamSequence - 1] === true) {
            if (!(await m.ackAck({ timeout: 3000 }))) violation(`seq ${m.info.streamSequence}: ackAck not confirmed`)
          }
        }
      }
      for (let i = 0; i < c.extra; i++) {
        await s.js.publish(`${name}.a`, sc.encode(`m${n + i + 1}`))
        published.push(`m${n + i + 1}`)
      }
    } finally {
      await s.nc.close().catch(() => undefined)
    }
    await runShell(ctx.restartCmd!, 60_000)
    const after = await reopen(ctx.url, name, 30_000)
    await after.nc.close()
    await withSession(ctx.url, [name], async (s2) => {
      const st = (await s2.jsm.streams.info(name)).state
      expectEqual("stream state after restart", { messages: st.messages, last_seq: st.last_seq }, {
        messages: published.length,
        last_seq: published.length
      })
      for (const [i, data] of published.entries()) {
        const m = await s2.jsm.streams.getMessage(name, { seq: i + 1 })
        expectEqual(`message ${i + 1} after restart`, m === null ? null : dc.decode(m.data), data)
      }
      const unacked = [
        ...c.acks.flatMap((b, i) => (b ? [] : [i + 1])),
        ...Array.from({ length: c.extra }, (_, i) => n + i + 1)
      ]
      const consumer = await s2.js.consumers.get(name, "dur")
      const seen = new Set<number>()
      const deadline = Date.now() + 10_000
      while (seen.size < unacked.length && Date.now() < deadline) {
        await fetchEach(consumer, published.length, 1500, (m) => {
          const seq = m.info.streamSequence
          if (c.acks[seq - 1] === true) {
            if (!acksAsync) violation(`seq ${seq} delivered again after restart although its ack was confirmed`)
            m.ack()
            return
          }
          seen.add(seq)
          m.ack()
        })
      }
      expectEqual("redelivered after restart", [...seen].sort((a, b) => a - b), unacked)
    })
  }
})
