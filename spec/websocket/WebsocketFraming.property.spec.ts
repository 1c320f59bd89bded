/**
 * Property: WebSocket frame boundaries mean nothing to the NATS protocol. Any sequence of PUBs
 * (arbitrary payload bytes), cut into frames at arbitrary points, each frame binary or text,
 * compressed or not, reaches a TCP subscriber as exactly those messages in order, as one TCP
 * write would.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { rawWs, startBrokerFrom, type WsServer } from "./WsServers.ts"

describe("WebSocket framing", () => {
  let s: WsServer
  let tcp: NatsConnection
  beforeAll(async () => {
    s = await startBrokerFrom(`websocket { port: -1, no_tls: true, compression: true }`)
    tcp = await connect({ servers: `127.0.0.1:${s.port}` })
  })
  afterAll(async () => {
    await tcp.close()
    await s.stop()
  })

  it("any cut into frames delivers the same messages in order", async () => {
    let run = 0
    const scenario = fc.record({
      payloads: fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 20 }),
      cuts: fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 30 }),
      text: fc.array(fc.boolean(), { minLength: 1, maxLength: 30 }),
      deflate: fc.boolean()
    })
    await fc.assert(
      fc.asyncProperty(scenario, async ({ payloads, cuts, text, deflate }) => {
        const subject = `frames.${run++}`
        const got: Array<Buffer> = []
        const sub = tcp.subscribe(subject, { callback: (_e, m) => void got.push(Buffer.from(m.data)) })
        await tcp.flush()
        const c = await rawWs(`ws://127.0.0.1:${s.wsPort}`, { perMessageDeflate: deflate })
        const parts = [Buffer.from(`CONNECT {"verbose":false}\r\n`)]
        for (const p of payloads) {
          parts.push(Buffer.from(`PUB ${subject} ${p.length}\r\n`), Buffer.from(p), Buffer.from("\r\n"))
        }
        parts.push(Buffer.from("PING\r\n"))
        const bytes = Buffer.concat(parts)
        let at = 0
        for (let i = 0; at < bytes.length; i++) {
          const end = Math.min(bytes.length, at + cuts[i % cuts.length]!)
          c.ws.send(bytes.subarray(at, end), { binary: !text[i % text.length]! })
          at = end
        }
        await c.waitFor(/PONG\r\n/)
        await tcp.flush()
        c.ws.close()
        sub.unsubscribe()
        expect(got.length).toBe(payloads.length)
        for (const [i, p] of payloads.entries()) expect(got[i]!.equals(Buffer.from(p))).toBe(true)
      }),
      { numRuns: 30 }
    )
  }, 60_000)
})
