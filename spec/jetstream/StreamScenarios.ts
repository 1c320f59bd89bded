/**
 * JetStream stream scenarios through the official `@nats-io/jetstream` client. Each returns what
 * the client observed (timestamps and ids removed) so it can be asserted against our broker and
 * compared with nats-server.
 */
import { jetstream } from "@nats-io/jetstream"
import { headers } from "@nats-io/transport-node"
import { failure, withJs } from "../support/Js.ts"

const sc = new TextEncoder()
const dc = new TextDecoder()

/**
 * Stream state as the client sees it. `bytes` is compared only for memory storage: for file storage
 * nats-server counts its on-disk record framing (30-34 bytes per message), we count the memory-store
 * formula (subject + headers + data + 16) for both storage types.
 */
const stateOf = (
  s: {
    messages: number
    bytes: number
    first_seq: number
    last_seq: number
    num_subjects?: number
    num_deleted?: number
    consumer_count: number
  },
  withBytes = false
) => ({
  messages: s.messages,
  ...(withBytes ? { bytes: s.bytes } : {}),
  first_seq: s.first_seq,
  last_seq: s.last_seq,
  num_subjects: s.num_subjects,
  num_deleted: s.num_deleted,
  consumer_count: s.consumer_count
})

export const streamScenarios = {
  async createInfoDelete(url: string) {
    return withJs(url, async (_nc, jsm) => {
      const created = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
      const again = await failure(jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] }))
      const different = await failure(jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"], max_msgs: 5 }))
      const overlap = await failure(jsm.streams.add({ name: "OTHER", subjects: ["orders.eu"] }))
      const info = await jsm.streams.info("ORDERS")
      const missing = await failure(jsm.streams.info("NOPE"))
      const names: Array<string> = []
      for await (const n of jsm.streams.names()) names.push(n)
      const deleted = await jsm.streams.delete("ORDERS")
      const deletedAgain = await failure(jsm.streams.delete("ORDERS"))
      return {
        config: created.config,
        state: stateOf(created.state),
        again,
        different,
        overlap,
        infoConfig: info.config,
        missing,
        names,
        deleted,
        deletedAgain
      }
    })
  },

  async publishAcks(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "PUB", subjects: ["pub.*"], storage: "memory" as never })
      const js = jetstream(nc)
      const acks = []
      for (let i = 0; i < 3; i++) acks.push(await js.publish("pub.a", sc.encode(`m${i}`)))
      const noStream = await failure(js.publish("nostream.x", sc.encode("x")))
      const info = await jsm.streams.info("PUB")
      await jsm.streams.delete("PUB")
      return {
        acks: acks.map((a) => ({ stream: a.stream, seq: a.seq, duplicate: a.duplicate })),
        noStream,
        state: stateOf(info.state, true)
      }
    })
  },

  async dedupAndExpectations(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "DD", subjects: ["dd.>"] })
      const js = jetstream(nc)
      const a = await js.publish("dd.a", sc.encode("1"), { msgID: "id-1" })
      const dup = await js.publish("dd.a", sc.encode("1 again"), { msgID: "id-1" })
      const b = await js.publish("dd.b", sc.encode("2"), {
        msgID: "id-2",
        expect: { lastMsgID: "id-1", lastSequence: 1 }
      })
      const wrongSeq = await failure(js.publish("dd.c", sc.encode("x"), { expect: { lastSequence: 1 } }))
      const wrongId = await failure(js.publish("dd.c", sc.encode("x"), { expect: { lastMsgID: "nope" } }))
      const wrongStream = await failure(js.publish("dd.c", sc.encode("x"), { expect: { streamName: "OTHER" } }))
      const subjSeqOk = await js.publish("dd.b", sc.encode("3"), { expect: { lastSubjectSequence: 2 } })
      const subjSeqBad = await failure(js.publish("dd.b", sc.encode("4"), { expect: { lastSubjectSequence: 2 } }))
      const newSubj = await js.publish("dd.new", sc.encode("5"), { expect: { lastSubjectSequence: 0 } })
      const info = await jsm.streams.info("DD")
      await jsm.streams.delete("DD")
      return {
        a: [a.seq, a.duplicate],
        dup: [dup.seq, dup.duplicate],
        b: [b.seq, b.duplicate],
        wrongSeq,
        wrongId,
        wrongStream,
        subjSeqOk: subjSeqOk.seq,
        subjSeqBad,
        newSubj: newSubj.seq,
        state: stateOf(info.state)
      }
    })
  },

  async limitsDiscardOld(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "LIM", subjects: ["lim.>"], max_msgs: 5, max_msgs_per_subject: 2 })
      const js = jetstream(nc)
      for (let i = 0; i < 4; i++) await js.publish("lim.a", sc.encode(`a${i}`))
      for (let i = 0; i < 6; i++) await js.publish(`lim.${i}`, sc.encode(`n${i}`))
      const info = await jsm.streams.info("LIM", { subjects_filter: ">" })
      const first = await jsm.streams.getMessage("LIM", { seq: info.state.first_seq })
      await jsm.streams.delete("LIM")
      return {
        state: stateOf(info.state),
        subjects: info.state.subjects,
        first: first ? [first.subject, first.seq, dc.decode(first.data)] : null
      }
    })
  },

  async discardNew(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "DN", subjects: ["dn"], max_msgs: 2, discard: "new" as never })
      const js = jetstream(nc)
      const ok1 = (await js.publish("dn", sc.encode("1"))).seq
      const ok2 = (await js.publish("dn", sc.encode("2"))).seq
      const full = await failure(js.publish("dn", sc.encode("3")))
      await jsm.streams.delete("DN")
      return { ok1, ok2, full }
    })
  },

  async purgeGetDelete(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "PG", subjects: ["pg.>"] })
      const js = jetstream(nc)
      for (const s of ["pg.a", "pg.b", "pg.a", "pg.c", "pg.a", "pg.b"]) {
        const h = headers()
        h.set("X-Subj", s)
        await js.publish(s, sc.encode(s), { headers: h })
      }
      const bySeq = await jsm.streams.getMessage("PG", { seq: 2 })
      const lastA = await jsm.streams.getMessage("PG", { last_by_subj: "pg.a" })
      const nextB = await jsm.streams.getMessage("PG", { next_by_subj: "pg.b", seq: 3 } as never)
      const none = await jsm.streams.getMessage("PG", { seq: 99 })
      const del = await jsm.streams.deleteMessage("PG", 3)
      const delAgain = await failure(jsm.streams.deleteMessage("PG", 3))
      const afterDelete = await jsm.streams.info("PG", { deleted_details: true })
      const purgeKeep = await jsm.streams.purge("PG", { filter: "pg.a", keep: 1 })
      const purgeSeq = await jsm.streams.purge("PG", { seq: 5 })
      const mid = await jsm.streams.info("PG")
      const purgeAll = await jsm.streams.purge("PG")
      const end = await jsm.streams.info("PG")
      await jsm.streams.delete("PG")
      const msg = (m: Awaited<ReturnType<typeof jsm.streams.getMessage>>) =>
        m === null ? null : { subject: m.subject, seq: m.seq, data: dc.decode(m.data), hdr: m.header.get("X-Subj") }
      return {
        bySeq: msg(bySeq),
        lastA: msg(lastA),
        nextB: msg(nextB),
        none,
        del,
        delAgain,
        deleted: afterDelete.state.deleted,
        afterDelete: stateOf(afterDelete.state),
        purgeKeep: purgeKeep.purged,
        purgeSeq: purgeSeq.purged,
        mid: stateOf(mid.state),
        purgeAll: purgeAll.purged,
        end: stateOf(end.state)
      }
    })
  },

  async directGet(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "DG", subjects: ["dg.>"], allow_direct: true })
      const js = jetstream(nc)
      await js.publish("dg.a", sc.encode("one"))
      await js.publish("dg.b", sc.encode("two"))
      await js.publish("dg.a", sc.encode("three"))
      const bySeq = await jsm.direct.getMessage("DG", { seq: 2 })
      const last = await jsm.direct.getMessage("DG", { last_by_subj: "dg.a" })
      const next = await jsm.direct.getMessage("DG", { next_by_subj: "dg.a", seq: 2 } as never)
      const missing = await jsm.direct.getMessage("DG", { seq: 50 })
      const raw = await nc.request("$JS.API.DIRECT.GET.DG.dg.b", undefined, { timeout: 2000 })
      const h = raw.headers!
      await jsm.streams.delete("DG")
      const m = (
        x: typeof bySeq
      ) => (x === null
        ? null
        : {
          subject: x.subject,
          seq: x.seq,
          data: dc.decode(x.data),
          stream: (x as unknown as { stream?: string }).stream
        })
      return {
        bySeq: m(bySeq),
        last: m(last),
        next: m(next),
        missing,
        raw: {
          stream: h.get("Nats-Stream"),
          subject: h.get("Nats-Subject"),
          seq: h.get("Nats-Sequence"),
          data: dc.decode(raw.data),
          hasTime: h.get("Nats-Time-Stamp").length > 0
        }
      }
    })
  },

  async rollup(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "RU", subjects: ["ru.>"], allow_rollup_hdrs: true })
      const js = jetstream(nc)
      for (const s of ["ru.a", "ru.a", "ru.b"]) await js.publish(s, sc.encode(s))
      const h = headers()
      h.set("Nats-Rollup", "sub")
      const r1 = await js.publish("ru.a", sc.encode("rolled"), { headers: h })
      const afterSub = await jsm.streams.info("RU")
      const h2 = headers()
      h2.set("Nats-Rollup", "all")
      const r2 = await js.publish("ru.c", sc.encode("all"), { headers: h2 })
      const afterAll = await jsm.streams.info("RU")
      await jsm.streams.add({ name: "NORU", subjects: ["noru"] })
      const refused = await failure(js.publish("noru", sc.encode("x"), { headers: h }))
      await jsm.streams.delete("RU")
      await jsm.streams.delete("NORU")
      return { r1: r1.seq, afterSub: stateOf(afterSub.state), r2: r2.seq, afterAll: stateOf(afterAll.state), refused }
    })
  },

  async updateAndList(url: string) {
    return withJs(url, async (_nc, jsm) => {
      await jsm.streams.add({ name: "UP", subjects: ["up.a"] })
      await jsm.streams.add({ name: "UP2", subjects: ["up2"] })
      const updated = await jsm.streams.update("UP", {
        subjects: ["up.a", "up.b"],
        max_msgs: 10,
        description: "changed"
      })
      const badStorage = await failure(jsm.streams.update("UP", { storage: "memory" } as never))
      const overlap = await failure(jsm.streams.update("UP2", { subjects: ["up.b"] }))
      const listed: Array<string> = []
      for await (const si of jsm.streams.list()) listed.push(si.config.name)
      const filtered: Array<string> = []
      for await (const n of jsm.streams.names("up.b")) filtered.push(n)
      const account = await jsm.getAccountInfo()
      await jsm.streams.delete("UP")
      await jsm.streams.delete("UP2")
      return {
        subjects: updated.config.subjects,
        max_msgs: updated.config.max_msgs,
        description: updated.config.description,
        badStorage,
        overlap,
        listed,
        filtered,
        accountStreams: account.streams
      }
    })
  }
}

export type StreamScenarioName = keyof typeof streamScenarios
