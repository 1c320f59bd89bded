/**
 * The header block of a republished message at each level: 2.9.10's (what we advertise, checked
 * against nats-server in Republish.spec.ts) and 2.10's, which adds `Nats-Time-Stamp` after
 * `Nats-Sequence` (stream.go processJetStreamMsg: RFC 3339 with nanoseconds, trailing zeros cut).
 */
import { describe, expect, it } from "vitest"
import { Republisher } from "../../../src/jetstream/stream/Republish.ts"

const sent = (timestamps: boolean, headersOnly: boolean) => {
  const rp = Republisher.make(
    "RP",
    { src: "a.*", dest: "out.$1", ...(headersOnly ? { headers_only: true } : {}) },
    timestamps
  )!
  const to = rp.destination("a.x")!
  rp.queue(to, "a.x", 7, 3, undefined, new TextEncoder().encode("hello"), 1795306963454420000n)
  const out: Array<[string, string]> = []
  rp.flush(7, (subject, _hdrLen, msg) => out.push([subject, Buffer.from(msg).toString("latin1")]))
  expect(out.length).toBe(1)
  return out[0]!
}

describe("republished headers", () => {
  it("2.9.10: no Nats-Time-Stamp", () => {
    expect(sent(false, false)).toEqual([
      "out.x",
      "NATS/1.0\r\nNats-Stream: RP\r\nNats-Subject: a.x\r\nNats-Sequence: 7\r\nNats-Last-Sequence: 3\r\n\r\nhello"
    ])
  })
  it("2.10: Nats-Time-Stamp after Nats-Sequence, also headers-only", () => {
    const stamp = "Nats-Time-Stamp: 2026-11-22T00:22:43.45442Z\r\n"
    expect(sent(true, false)).toEqual([
      "out.x",
      `NATS/1.0\r\nNats-Stream: RP\r\nNats-Subject: a.x\r\nNats-Sequence: 7\r\n${stamp}Nats-Last-Sequence: 3\r\n\r\nhello`
    ])
    expect(sent(true, true)).toEqual([
      "out.x",
      `NATS/1.0\r\nNats-Stream: RP\r\nNats-Subject: a.x\r\nNats-Sequence: 7\r\n${stamp}Nats-Last-Sequence: 3\r\nNats-Msg-Size: 5\r\n\r\n`
    ])
  })
})
