/**
 * Stream `republish` through the official clients: what a core subscriber on the destination
 * receives (subject, headers in order, payload) for plain, header-carrying and headers-only
 * republishes, plus the stream config as created. Compared with nats-server 2.9.10 by
 * Republish.spec.ts.
 */
import { jetstream } from "@nats-io/jetstream"
import { headers, type Msg } from "@nats-io/transport-node"
import { failure, withJs } from "../../support/Js.ts"

const dc = new TextDecoder()

const seen = (m: Msg) => ({
  subject: m.subject,
  headers: m.headers === undefined ? [] : [...m.headers.keys()].map((k) => [k, m.headers!.get(k)]),
  data: dc.decode(m.data)
})

const until = async (got: Array<unknown>, n: number) => {
  const deadline = Date.now() + 3000
  while (got.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
}

export const republishScenarios = {
  async republishFull(url: string) {
    return withJs(url, async (nc, jsm) => {
      const info = await jsm.streams.add({
        name: "RP",
        subjects: ["rp.>"],
        storage: "memory" as never,
        republish: { src: "rp.*", dest: "out.{{wildcard(1)}}" }
      })
      const got: Array<ReturnType<typeof seen>> = []
      const sub = nc.subscribe("out.>", { callback: (_e, m) => void got.push(seen(m)) })
      await nc.flush()
      const js = jetstream(nc)
      await js.publish("rp.a", "one")
      await js.publish("rp.b", "two")
      const h = headers()
      h.set("X-Mine", "kept")
      await js.publish("rp.a", "three", { headers: h, msgID: "id-3" })
      await js.publish("rp.deep.not", "not republished: src is rp.*")
      await until(got, 3)
      sub.unsubscribe()
      const changed = await failure(
        jsm.streams.update("RP", { republish: { src: "rp.*", dest: "out.$1", headers_only: true } } as never)
      )
      await jsm.streams.delete("RP")
      return { config: info.config.republish, got, changed }
    })
  },

  async republishHeadersOnly(url: string) {
    return withJs(url, async (nc, jsm) => {
      await jsm.streams.add({
        name: "RH",
        subjects: ["rh.*"],
        storage: "memory" as never,
        republish: { dest: "hdrs.>", headers_only: true } as never
      })
      const got: Array<ReturnType<typeof seen>> = []
      const sub = nc.subscribe("hdrs.>", { callback: (_e, m) => void got.push(seen(m)) })
      await nc.flush()
      const js = jetstream(nc)
      await js.publish("rh.x", "payload-of-17-bytes")
      const h = headers()
      h.set("A", "1")
      await js.publish("rh.x", "xy", { headers: h })
      await until(got, 2)
      sub.unsubscribe()
      const info = await jsm.streams.info("RH")
      await jsm.streams.delete("RH")
      return { config: info.config.republish, got }
    })
  }
}
