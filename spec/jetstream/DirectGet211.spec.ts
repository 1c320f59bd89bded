/**
 * 2.11 direct get on the wire: nats.js `jsm.direct.getBatch` / `getLastMessagesFor` (gated on the
 * server version: we advertise 2.11), then raw requests for the exact status lines and
 * headers nats-server 2.11 sends (stream.go getDirectRequest / getDirectMulti), and the
 * `Nats-Required-Api-Level` header. 2.9.10 has no batch direct get: expected values are from the Go source.
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream"
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

let broker: RunningBroker
let nc: NatsConnection
let jsm: JetStreamManager
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
  jsm = await jetstreamManager(nc)
  await jsm.streams.add({ name: "DG", subjects: ["dg.>"], allow_direct: true })
  const js = jsm.jetstream()
  // 1 dg.a, 2 dg.b, 3 dg.a, 4 dg.c (deleted), 5 dg.b, 6 dg.a.x
  // Apart by more than a millisecond: nats.js reads a message's time as a Date (ms), and the
  // start_time spec asks from message 3's time, which must not also be message 2's millisecond.
  for (const s of ["dg.a", "dg.b", "dg.a", "dg.c", "dg.b", "dg.a.x"]) {
    await js.publish(s, `m-${s}`)
    await new Promise((r) => setTimeout(r, 3))
  }
  await jsm.streams.deleteMessage("DG", 4)
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

interface Seen {
  readonly status: string
  readonly headers: Record<string, string>
  readonly data: string
}

const view = (m: Msg): Seen => {
  const headers: Record<string, string> = {}
  for (const k of m.headers?.keys() ?? []) headers[k] = m.headers!.get(k)
  const code = m.headers?.code ?? 0
  return { status: code === 0 ? "" : `${code} ${m.headers?.description ?? ""}`, headers, data: m.string() }
}

/**
 * Every reply to one direct get, up to the first status (the EOB, or an error); a single get has
 * none, so the collection also ends once no reply came for a while.
 */
const raw = (subject: string, body: string, hdrs?: Record<string, string>): Promise<Array<Seen>> =>
  new Promise((resolve, reject) => {
    const inbox = createInbox()
    const out: Array<Seen> = []
    let timer: ReturnType<typeof setTimeout> | undefined
    const finish = () => {
      clearTimeout(timer)
      sub.unsubscribe()
      resolve(out)
    }
    const idle = () => {
      clearTimeout(timer)
      timer = setTimeout(finish, 500)
    }
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (err !== null) return reject(err)
        const v = view(m)
        out.push(v)
        if (v.status !== "") finish()
        else idle()
      }
    })
    const h = natsHeaders()
    for (const [k, v] of Object.entries(hdrs ?? {})) h.set(k, v)
    nc.publish(subject, body, { reply: inbox, ...(hdrs === undefined ? {} : { headers: h }) })
    idle()
  })

const batchHeaders = (m: Seen) => [
  m.headers["Nats-Sequence"],
  m.headers["Nats-Subject"],
  m.headers["Nats-Num-Pending"],
  m.headers["Nats-Last-Sequence"]
]

describe("nats.js direct batch API against us", () => {
  it("getBatch pages from a sequence and by subject, with pending and last sequence", async () => {
    const all = []
    for await (const m of await jsm.direct.getBatch("DG", { seq: 1, batch: 3 })) {
      all.push([m.seq, m.subject, m.pending, m.lastSequence, m.string()])
    }
    expect(all).toEqual([
      [1, "dg.a", 4, 0, "m-dg.a"],
      [2, "dg.b", 3, 1, "m-dg.b"],
      [3, "dg.a", 2, 2, "m-dg.a"]
    ])
    const bySubject = []
    for await (const m of await jsm.direct.getBatch("DG", { next_by_subj: "dg.b", seq: 0, batch: 10 })) {
      bySubject.push([m.seq, m.pending, m.lastSequence])
    }
    expect(bySubject).toEqual([[2, 1, 0], [5, 0, 2]])
  })

  it("getBatch with start_time starts at the first message stored at or after it", async () => {
    const third = await jsm.direct.getMessage("DG", { seq: 3 })
    const seqs = []
    for await (const m of await jsm.direct.getBatch("DG", { start_time: third!.time, batch: 10 })) seqs.push(m.seq)
    expect(seqs).toEqual([3, 5, 6])
  })

  it("getLastMessagesFor: the last message of each matching subject, in sequence order", async () => {
    const got = []
    for await (const m of await jsm.direct.getLastMessagesFor("DG", { multi_last: ["dg.a", "dg.b", "dg.*.x"] })) {
      got.push([m.seq, m.subject])
    }
    expect(got).toEqual([[3, "dg.a"], [5, "dg.b"], [6, "dg.a.x"]])
    const upTo = []
    for await (const m of await jsm.direct.getLastMessagesFor("DG", { multi_last: ["dg.*"], up_to_seq: 2 })) {
      upTo.push(m.seq)
    }
    expect(upTo).toEqual([1, 2])
  })
})

describe("batched direct get, raw (nats-server 2.11 stream.go)", () => {
  it("a batch: per-message Num-Pending / Last-Sequence, then 204 EOB with both", async () => {
    const r = await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ seq: 2, batch: 2 }))
    expect(r.map(batchHeaders)).toEqual([
      ["2", "dg.b", "3", "0"],
      ["3", "dg.a", "2", "2"],
      [undefined, undefined, "2", "3"]
    ])
    expect(r[0]!.headers["Nats-Stream"]).toBe("DG")
    expect(r[2]!.status).toBe("204 EOB")
    expect(r[2]!.data).toBe("")
  })

  it("max_bytes stops after the message that reaches it; past the end a batch ends early", async () => {
    // Each message counts subject + headers + data: "dg.a" + "m-dg.a" = 10 bytes.
    const r = await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ seq: 1, batch: 10, max_bytes: 11 }))
    expect(r.map((m) => m.status || m.headers["Nats-Sequence"])).toEqual(["1", "2", "204 EOB"])
    const tail = await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ seq: 5, batch: 10 }))
    expect(tail.map(batchHeaders)).toEqual([["5", "dg.b", "1", "0"], ["6", "dg.a.x", "0", "5"], [
      undefined,
      undefined,
      "0",
      "6"
    ]])
  })

  it("nothing at the start: 404 Message Not Found without EOB; multi_last with no match: 404 No Results", async () => {
    expect(await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ seq: 7, batch: 2 }))).toEqual([
      { status: "404 Message Not Found", headers: {}, data: "" }
    ])
    expect(await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ multi_last: ["nope.>"] }))).toEqual([
      { status: "404 No Results", headers: {}, data: "" }
    ])
  })

  it("multi_last: EOB names the ceiling (Nats-UpTo-Sequence), up_to_time before the first message is No Results", async () => {
    const r = await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ multi_last: [">"] }))
    expect(r.map(batchHeaders)).toEqual([
      ["3", "dg.a", "2", "0"],
      ["5", "dg.b", "1", "3"],
      ["6", "dg.a.x", "0", "5"],
      [undefined, undefined, "0", "6"]
    ])
    expect(r[3]!.headers["Nats-UpTo-Sequence"]).toBe("6")
    const capped = await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ multi_last: [">"], up_to_seq: 4, batch: 1 }))
    expect(capped.map((m) => [m.status, m.headers["Nats-Sequence"], m.headers["Nats-UpTo-Sequence"]])).toEqual([
      ["", "2", undefined],
      ["204 EOB", undefined, "4"]
    ])
    expect(capped[1]!.headers["Nats-Num-Pending"]).toBe("1")
    expect(
      await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ multi_last: [">"], up_to_time: "2000-01-01T00:00:00Z" }))
    )
      .toEqual([{ status: "404 No Results", headers: {}, data: "" }])
  })

  it("more than 1024 subjects for multi_last is 413 Too Many Results; 1024 are answered", async () => {
    await jsm.streams.add({ name: "MANY", subjects: ["many.>"], allow_direct: true })
    const js = jsm.jetstream()
    const acks = []
    for (let i = 0; i < 1025; i++) acks.push(js.publish(`many.${i}`))
    await Promise.all(acks)
    expect(await raw("$JS.API.DIRECT.GET.MANY", JSON.stringify({ multi_last: ["many.*"] }))).toEqual([
      { status: "413 Too Many Results", headers: {}, data: "" }
    ])
    const r = await raw("$JS.API.DIRECT.GET.MANY", JSON.stringify({ multi_last: ["many.*"], up_to_seq: 1024 }))
    expect(r.length).toBe(1025)
    expect(r[1024]!.status).toBe("204 EOB")
    expect(r[1024]!.headers["Nats-UpTo-Sequence"]).toBe("1024")
  })

  it("request errors are 408 status lines", async () => {
    const one = async (body: string) => (await raw("$JS.API.DIRECT.GET.DG", body)).map((m) => m.status)
    expect(await one("")).toEqual(["408 Empty Request"])
    expect(await one(`{"batch":3}`)).toEqual(["408 Empty Request"])
    expect(await one(`{"last_by_subj":"dg.a","batch":3}`)).toEqual(["408 Bad Request"])
    expect(await one(`{"seq":1,"start_time":"2024-01-01T00:00:00Z"}`)).toEqual(["408 Bad Request"])
    expect(await one(`{"multi_last":["dg.a"],"up_to_seq":1,"up_to_time":"2024-01-01T00:00:00Z"}`)).toEqual([
      "408 Bad Request"
    ])
    // no_hdr (2.12) is a field now (Features214.spec.ts); a wrong type is still malformed.
    expect(await one(`{"seq":1,"no_hdr":"yes"}`)).toEqual(["408 Malformed Request"])
    const bySubject = async (body: string) => (await raw("$JS.API.DIRECT.GET.DG.dg.a", body)).map((m) => m.status)
    expect(await bySubject(`{"batch":2}`)).toEqual(["408 Bad Request"])
    // The subject form takes a JSON body now (2.9.10 refused any body).
    const last = await raw("$JS.API.DIRECT.GET.DG.dg.a", `{}`)
    expect(last.map((m) => m.headers["Nats-Sequence"])).toEqual(["3"])
  })

  it("Nats-Required-Api-Level above ours is 412 Required Api Level; at or below it is answered", async () => {
    expect(await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ seq: 1 }), { "Nats-Required-Api-Level": "99" })).toEqual(
      [
        { status: "412 Required Api Level", headers: {}, data: "" }
      ]
    )
    expect(await raw("$JS.API.DIRECT.GET.DG.dg.a", "", { "Nats-Required-Api-Level": "x" })).toEqual([
      { status: "412 Required Api Level", headers: {}, data: "" }
    ])
    const ok = await raw("$JS.API.DIRECT.GET.DG", JSON.stringify({ seq: 1 }), { "Nats-Required-Api-Level": "0" })
    expect(ok.map((m) => m.headers["Nats-Sequence"])).toEqual(["1"])
  })
})
