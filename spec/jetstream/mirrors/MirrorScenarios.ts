/**
 * Stream mirrors through the official `@nats-io/jetstream` client: what a client observes of a
 * mirror (its config, state, every message with its sequence, subject, headers and payload, the
 * `mirror` info) for a plain mirror, a mirror created before its origin, a filtered mirror with a
 * start sequence, and the config errors. Compared with nats-server 2.9.10 by Mirror.spec.ts.
 */
import { jetstream, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream"
import { headers } from "@nats-io/transport-node"
import { failure, sleep, withJs } from "../../support/Js.ts"

const dc = new TextDecoder()

/** Polls stream info until `done` holds (nats-server follows asynchronously, and so do we). */
export const waitFor = async (
  jsm: JetStreamManager,
  name: string,
  done: (si: StreamInfo) => boolean,
  ms = 15_000
): Promise<StreamInfo> => {
  const deadline = Date.now() + ms
  while (true) {
    const si = await jsm.streams.info(name).catch(() => undefined)
    if (si !== undefined && done(si)) return si
    if (Date.now() > deadline) throw new Error(`${name}: timed out waiting (${JSON.stringify(si?.state)})`)
    await sleep(50)
  }
}

/** Every message of a stream by sequence, as the client sees it (gaps are where none is stored). */
export const contents = async (jsm: JetStreamManager, name: string) => {
  const si = await jsm.streams.info(name)
  const out: Array<unknown> = []
  for (let seq = si.state.first_seq; seq <= si.state.last_seq && seq > 0; seq++) {
    const m = await jsm.streams.getMessage(name, { seq }).catch(() => undefined)
    if (m === undefined || m === null) continue
    out.push({
      seq: m.seq,
      subject: m.subject,
      headers: m.header === undefined ? [] : [...m.header.keys()].map((k) => [k, m.header.get(k)]),
      data: dc.decode(m.data)
    })
  }
  return out
}

const stateOf = (si: StreamInfo) => ({
  messages: si.state.messages,
  first_seq: si.state.first_seq,
  last_seq: si.state.last_seq,
  num_subjects: si.state.num_subjects,
  num_deleted: si.state.num_deleted
})

/** The mirror info without its clock: `active` is "heard from recently" or never (-1). */
const mirrorOf = (si: StreamInfo) => {
  const m = si.mirror
  if (m === undefined) return undefined
  return {
    name: m.name,
    lag: m.lag,
    active: m.active < 0 ? "never" : m.active < 10e9 ? "recent" : "stale",
    error: m.error
  }
}

export const mirrorScenarios = {
  async mirrorFollowsOrigin(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "MO", subjects: ["mo.>"], storage: "memory" as never, allow_direct: true })
      const js = jetstream(nc)
      for (let i = 1; i <= 4; i++) {
        const h = headers()
        h.set("X-I", String(i))
        await js.publish(`mo.${i % 2 === 0 ? "even" : "odd"}`, `m${i}`, { headers: h, msgID: `id-${i}` })
      }
      const created = await jsm.streams.add({ name: "MM", mirror: { name: "MO" }, storage: "memory" as never })
      await waitFor(jsm, "MM", (si) => si.state.last_seq === 4)
      for (let i = 5; i <= 7; i++) await js.publish("mo.late", `m${i}`)
      await waitFor(jsm, "MM", (si) => si.state.last_seq === 7)
      // Deletes in the origin do not travel: the mirror keeps its copy.
      await jsm.streams.deleteMessage("MO", 6)
      await js.publish("mo.last", "m8")
      const caught = await waitFor(jsm, "MM", (si) => si.state.last_seq === 8)
      const toMirror = await failure(js.publish("MM", "x"))
      const changed = await failure(jsm.streams.update("MM", { mirror: { name: "OTHER" } } as never))
      const same = await failure(jsm.streams.update("MM", { mirror: { name: "MO" }, storage: "memory" } as never))
      const messages = await contents(jsm, "MM")
      await jsm.streams.delete("MM")
      await jsm.streams.delete("MO")
      return {
        config: created.config,
        createdMirror: mirrorOf(created) === undefined ? "none" : "present",
        state: stateOf(caught),
        mirror: mirrorOf(caught),
        messages,
        toMirror,
        changed,
        same
      }
    })
  },

  async mirrorBeforeOrigin(url: string) {
    return withJs(url, async (nc, jsm) => {
      const created = await jsm.streams.add({ name: "EARLY", mirror: { name: "LATE" }, storage: "memory" as never })
      await sleep(300)
      const waiting = await jsm.streams.info("EARLY")
      await jsm.streams.add({ name: "LATE", subjects: ["late.*"], storage: "memory" as never })
      const js = jetstream(nc)
      for (let i = 1; i <= 3; i++) await js.publish("late.x", `l${i}`)
      const caught = await waitFor(jsm, "EARLY", (si) => si.state.last_seq === 3)
      const messages = await contents(jsm, "EARLY")
      await jsm.streams.delete("EARLY")
      await jsm.streams.delete("LATE")
      return {
        mirrorDirect: created.config.mirror_direct,
        waiting: { ...mirrorOf(waiting), active: undefined },
        waitingState: stateOf(waiting),
        state: stateOf(caught),
        mirror: mirrorOf(caught),
        messages
      }
    })
  },

  async mirrorFilteredFromSeq(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "FO", subjects: ["fo.*"], storage: "memory" as never })
      const js = jetstream(nc)
      for (let i = 1; i <= 10; i++) await js.publish(i % 3 === 0 ? "fo.c" : "fo.ab", `f${i}`)
      const created = await jsm.streams.add({
        name: "FM",
        mirror: { name: "FO", filter_subject: "fo.ab", opt_start_seq: 4 },
        storage: "memory" as never
      })
      // 4 5 7 8 10 match (10 is the last).
      const caught = await waitFor(jsm, "FM", (si) => si.state.last_seq === 10)
      await js.publish("fo.c", "f11")
      await js.publish("fo.ab", "f12")
      const later = await waitFor(jsm, "FM", (si) => si.state.last_seq === 12)
      const messages = await contents(jsm, "FM")
      await jsm.streams.delete("FM")
      await jsm.streams.delete("FO")
      return {
        config: created.config.mirror,
        state: stateOf(caught),
        later: stateOf(later),
        mirror: mirrorOf(later),
        messages
      }
    })
  },

  async mirrorDirect(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "DO", subjects: ["do.*"], storage: "memory" as never, allow_direct: true })
      const js = jetstream(nc)
      for (let i = 1; i <= 3; i++) await js.publish("do.k", `v${i}`)
      const created = await jsm.streams.add({ name: "DM", mirror: { name: "DO" }, storage: "memory" as never })
      await waitFor(jsm, "DM", (si) => si.state.last_seq === 3)
      // The origin and its mirror now share the origin's direct get subjects (one queue group).
      const answeredBy = new Set<string>()
      const values = new Set<string>()
      for (let i = 0; i < 24; i++) {
        const m = await nc.request("$JS.API.DIRECT.GET.DO", JSON.stringify({ last_by_subj: "do.k" }))
        answeredBy.add(m.headers?.get("Nats-Stream") ?? "?")
        values.add(`${m.headers?.get("Nats-Sequence")}:${dc.decode(m.data)}`)
      }
      await jsm.streams.delete("DM")
      await jsm.streams.delete("DO")
      return { mirrorDirect: created.config.mirror_direct, answeredBy: [...answeredBy].sort(), values: [...values] }
    })
  },

  async mirrorConfigErrors(url: string) {
    return withJs(url, async (_nc, jsm) => {
      await jsm.streams.add({ name: "EO", subjects: ["eo.*"], storage: "memory" as never, max_msg_size: 1000 })
      const add = (cfg: Record<string, unknown>) => failure(jsm.streams.add({ storage: "memory", ...cfg } as never))
      const result = {
        withSubjects: await add({ name: "E1", subjects: ["e1"], mirror: { name: "EO" } }),
        smallMsgSize: await add({ name: "E2", mirror: { name: "EO" }, max_msg_size: 10 }),
        filterOutside: await add({ name: "E3", mirror: { name: "EO", filter_subject: "zz.>" } }),
        self: await add({ name: "E4", mirror: { name: "E4" } }),
        withSources: await add({ name: "E5", mirror: { name: "EO" }, sources: [{ name: "EO" }] })
      }
      await jsm.streams.add({ name: "CA", mirror: { name: "CB" }, storage: "memory" as never })
      const cycle = await add({ name: "CB", mirror: { name: "CA" } })
      for (const n of ["CA", "EO"]) await jsm.streams.delete(n).catch(() => undefined)
      return { ...result, cycle }
    })
  }
}
