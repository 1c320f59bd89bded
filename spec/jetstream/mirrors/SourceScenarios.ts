/**
 * Stream sources through the official client: fan-in from several streams (one filtered), the
 * `Nats-Stream-Source` header each copy carries, `sources` info, adding and removing a source on
 * update, and the config errors. Interleaving between sources is not ordered, so messages are
 * compared as a sorted set. Compared with nats-server 2.9.10 by Sources.spec.ts.
 */
import { jetstream, type StreamInfo } from "@nats-io/jetstream"
import { failure, withJs } from "../../support/Js.ts"
import { contents, waitFor } from "./MirrorScenarios.ts"

const sourcesOf = (si: StreamInfo) =>
  (si.sources ?? []).map((s) => ({ name: s.name, lag: s.lag, active: s.active >= 0, error: s.error }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))

const sorted = (ms: Array<unknown>) =>
  (ms as Array<{ subject: string; data: string; headers: Array<[string, string]> }>)
    .map((m) => ({ subject: m.subject, data: m.data, headers: m.headers }))
    .sort((a, b) => (`${a.subject}/${a.data}` < `${b.subject}/${b.data}` ? -1 : 1))

export const sourceScenarios = {
  /** A consumer filter is checked against the subjects of the streams sourced or mirrored, recursively. */
  async consumerFilterOnSourcedStream(url: string) {
    return withJs(url, async (_nc, jsm) => {
      await jsm.streams.add({ name: "FO", subjects: ["fo.*"], storage: "memory" as never })
      await jsm.streams.add({ name: "FM", mirror: { name: "FO" }, storage: "memory" as never })
      await jsm.streams.add({ name: "FS", sources: [{ name: "FM" }], storage: "memory" as never })
      let n = 0
      const add = (stream: string, filter: string) =>
        failure(
          jsm.consumers.add(stream, {
            durable_name: `d${n++}`,
            ack_policy: "explicit" as never,
            filter_subject: filter
          })
        )
      return {
        sourcedInside: await add("FS", "fo.b"),
        sourcedOutside: await add("FS", "zz.b"),
        mirrorInside: await add("FM", "fo.*")
      }
    })
  },

  async sourcesFanIn(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({ name: "SA", subjects: ["sa.*"], storage: "memory" as never })
      await jsm.streams.add({ name: "SB", subjects: ["sb.*"], storage: "memory" as never })
      await jsm.streams.add({ name: "SC", subjects: ["sc.*"], storage: "memory" as never })
      const js = jetstream(nc)
      for (let i = 1; i <= 3; i++) {
        await js.publish("sa.x", `a${i}`)
        await js.publish(i === 2 ? "sb.y" : "sb.x", `b${i}`)
        await js.publish("sc.x", `c${i}`)
      }
      const created = await jsm.streams.add({
        name: "AGG",
        storage: "memory" as never,
        sources: [{ name: "SA" }, { name: "SB", filter_subject: "sb.x" }]
      })
      const first = await waitFor(jsm, "AGG", (si) => si.state.messages === 5)
      const firstMessages = sorted(await contents(jsm, "AGG"))
      // Swap SB for SC: SC's existing messages come in, SB's new ones do not.
      const updated = await jsm.streams.update("AGG", { sources: [{ name: "SA" }, { name: "SC" }] } as never)
      await js.publish("sb.x", "b4")
      await js.publish("sa.x", "a4")
      const second = await waitFor(jsm, "AGG", (si) => si.state.messages === 9)
      const all = sorted(await contents(jsm, "AGG"))
      const toAgg = await failure(js.publish("AGG", "x"))
      for (const n of ["AGG", "SA", "SB", "SC"]) await jsm.streams.delete(n)
      return {
        config: created.config,
        firstState: { messages: first.state.messages, last_seq: first.state.last_seq },
        firstSources: sourcesOf(first),
        firstMessages,
        updatedSources: updated.config.sources,
        secondSources: sourcesOf(second),
        all,
        toAgg
      }
    })
  },

  async sourceConfigErrors(url: string) {
    return withJs(url, async (_nc, jsm) => {
      await jsm.streams.add({ name: "XO", subjects: ["xo.*"], storage: "memory" as never, max_msg_size: 1000 })
      const add = (cfg: Record<string, unknown>) => failure(jsm.streams.add({ storage: "memory", ...cfg } as never))
      const result = {
        smallMsgSize: await add({ name: "X1", sources: [{ name: "XO" }], max_msg_size: 10 }),
        filterOutside: await add({ name: "X2", sources: [{ name: "XO", filter_subject: "zz" }] }),
        self: await add({ name: "X3", sources: [{ name: "X3" }] }),
        withSubjects: await add({ name: "X4", subjects: ["x4.*"], sources: [{ name: "XO" }] })
      }
      await jsm.streams.add({ name: "YA", sources: [{ name: "YB" }], storage: "memory" as never })
      const cycle = await add({ name: "YB", sources: [{ name: "YA" }] })
      for (const n of ["YA", "XO", "X4"]) await jsm.streams.delete(n).catch(() => undefined)
      return { ...result, cycle }
    })
  }
}
