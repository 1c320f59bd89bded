/**
 * Mirrors and sources through `external`: account B follows account A's stream ORDERS through the
 * import of A's consumer API under `JS.A.API` and of A's delivery subjects `A.DELIVER.>` (as
 * nats-server's own cross-account tests configure it, flow control import included); account C has
 * no imports, D only the API one (its deliveries never come back); the server's domain is HUB. Each scenario returns plain values, compared between
 * nats-server 2.9.10 and us and asserted in the specs.
 */
import { type JetStreamManager, jetstreamManager, type StreamInfo } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"

export const crossAccountConf = (storeDir: string) => `
jetstream { store_dir: "${storeDir}", domain: HUB }
accounts {
  A: {
    users: [ { user: a, password: a } ]
    jetstream: enabled
    exports: [
      { service: "$JS.API.CONSUMER.>" }
      { stream: "A.DELIVER.>" }
      { service: "$JS.FC.>" }
    ]
  }
  B: {
    users: [ { user: b, password: b } ]
    jetstream: enabled
    imports: [
      { service: { account: A, subject: "$JS.API.CONSUMER.>" }, to: "JS.A.API.CONSUMER.>" }
      { stream: { account: A, subject: "A.DELIVER.>" } }
      { service: { account: A, subject: "$JS.FC.>" } }
    ]
  }
  C: { users: [ { user: c, password: c } ], jetstream: enabled }
  D: {
    users: [ { user: d, password: d } ]
    jetstream: enabled
    imports: [ { service: { account: A, subject: "$JS.API.CONSUMER.>" }, to: "JS.A.API.CONSUMER.>" } ]
  }
}
`

const sc = new TextEncoder()

export const withUser = async <T>(
  url: string,
  user: string,
  f: (nc: NatsConnection, jsm: JetStreamManager) => Promise<T>
): Promise<T> => {
  const nc = await connect({ servers: url, reconnect: false, user, pass: user })
  try {
    return await f(nc, await jetstreamManager(nc))
  } finally {
    await nc.close()
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls the stream's info until `done` holds (bounded: 15 s), returning the last info. */
export const infoUntil = async (
  jsm: JetStreamManager,
  stream: string,
  done: (i: StreamInfo) => boolean
): Promise<StreamInfo> => {
  let info = await jsm.streams.info(stream)
  for (let i = 0; i < 150 && !done(info); i++) {
    await sleep(100)
    info = await jsm.streams.info(stream)
  }
  return info
}

/** The stream's messages: sequence, subject, payload and the `Nats-Stream-Source` header. */
export const contents = async (jsm: JetStreamManager, stream: string) => {
  const info = await jsm.streams.info(stream)
  const out: Array<unknown> = []
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null)
    if (m === null) continue
    out.push({
      seq: m.seq,
      subject: m.subject,
      data: m.string(),
      source: m.header.get("Nats-Stream-Source") || undefined
    })
  }
  return out
}

/** The follower's info without the time since contact (only whether there was one). */
const followerInfo = (f: { active: number } & Record<string, unknown> | undefined) =>
  f === undefined ? undefined : { ...f, active: f.active < 0 ? "never" : "contacted" }

const failed = (e: unknown) => {
  const x = e as { status?: number; code?: number; message: string }
  return typeof x.status === "number" ? `${x.status} ${x.code} ${x.message}` : x.message
}

const publishOrders = async (nc: NatsConnection, from: number, to: number) => {
  for (let i = from; i <= to; i++) await nc.request(`orders.${i % 2 === 0 ? "even" : "odd"}`, sc.encode(`o${i}`))
}

export const EXT_MIRROR = { api: "JS.A.API", deliver: "A.DELIVER.M" }
export const EXT_SOURCE = { api: "JS.A.API", deliver: "A.DELIVER.S" }

export const crossAccountScenarios = {
  /** B mirrors and sources A's ORDERS; A publishes before and after; both followers catch up. */
  mirrorAndSourceAcross: async (url: string) => {
    await withUser(url, "a", async (nc, jsm) => {
      await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
      await publishOrders(nc, 1, 5)
      await jsm.streams.deleteMessage("ORDERS", 2)
    })
    const created = await withUser(url, "b", async (_nc, jsm) => {
      const m = await jsm.streams.add({ name: "M", mirror: { name: "ORDERS", external: EXT_MIRROR } })
      const s = await jsm.streams.add({
        name: "S",
        subjects: ["local.>"],
        sources: [{ name: "ORDERS", external: EXT_SOURCE }]
      })
      return { mirror: m.config.mirror, sources: s.config.sources }
    })
    const first = await withUser(url, "b", async (_nc, jsm) => {
      const m = await infoUntil(jsm, "M", (i) => i.state.last_seq === 5)
      const s = await infoUntil(jsm, "S", (i) => i.state.messages === 4)
      return { m: m.state.messages, s: s.state.messages }
    })
    await withUser(url, "a", (nc) => publishOrders(nc, 6, 7))
    const after = await withUser(url, "b", async (nc, jsm) => {
      await nc.request("local.x", sc.encode("mine"))
      const m = await infoUntil(jsm, "M", (i) => i.state.last_seq === 7)
      const s = await infoUntil(jsm, "S", (i) => i.state.messages === 7)
      return {
        mirrorConfig: m.config.mirror,
        mirrorInfo: followerInfo(m.mirror as never),
        mirrorState: { messages: m.state.messages, first: m.state.first_seq, last: m.state.last_seq },
        mirrorContents: await contents(jsm, "M"),
        sourceConfig: s.config.sources,
        sourceInfo: (s.sources ?? []).map((x) => followerInfo(x as never)),
        sourceState: { messages: s.state.messages, first: s.state.first_seq, last: s.state.last_seq },
        sourceContents: await contents(jsm, "S")
      }
    })
    // A sees its stream unchanged.
    const origin = await withUser(url, "a", async (_nc, jsm) => (await jsm.streams.info("ORDERS")).state.messages)
    return { created, first, after, origin }
  },

  /** C imports nothing: the prefix reaches nothing, so the mirror is created and never fills. */
  unreachableExternal: async (url: string) => {
    await withUser(url, "a", async (nc, jsm) => {
      await jsm.streams.add({ name: "SHOP", subjects: ["shop.>"] })
      await nc.request("shop.1", sc.encode("s1"))
    })
    return withUser(url, "c", async (_nc, jsm) => {
      const created = await jsm.streams.add({ name: "CM", mirror: { name: "SHOP", external: EXT_MIRROR } })
      const cs = await jsm.streams.add({
        name: "CS",
        subjects: ["cs"],
        sources: [{ name: "SHOP", external: EXT_SOURCE }]
      })
      await sleep(2500)
      const m = await jsm.streams.info("CM")
      const s = await jsm.streams.info("CS")
      return {
        mirrorConfig: created.config.mirror,
        sourceConfig: cs.config.sources,
        mirrorInfo: followerInfo(m.mirror as never),
        sourceInfo: (s.sources ?? []).map((x) => followerInfo(x as never)),
        messages: [m.state.messages, s.state.messages]
      }
    })
  },

  /**
   * D reaches A's API but imports no deliveries: nothing arrives and no error shows (nats-server
   * creates its consumer on A and retries; how long since it did is not compared).
   */
  deliveriesNotImported: async (url: string) => {
    await withUser(url, "a", async (nc, jsm) => {
      await jsm.streams.add({ name: "GOODS", subjects: ["goods.>"] })
      await nc.request("goods.1", sc.encode("g1"))
    })
    return withUser(url, "d", async (_nc, jsm) => {
      await jsm.streams.add({ name: "DM", mirror: { name: "GOODS", external: EXT_MIRROR } })
      await sleep(2000)
      const m = await jsm.streams.info("DM")
      const { active: _active, ...rest } = m.mirror as unknown as Record<string, unknown>
      return { mirror: rest, messages: m.state.messages }
    })
  },

  /**
   * `$JS.HUB.API`, the server's own domain: the domain mapping is for clients' requests, and the
   * server's own consumer create is none, so on one server nothing connects.
   */
  ownDomain: async (url: string) =>
    withUser(url, "b", async (nc, jsm) => {
      await jsm.streams.add({ name: "LOCAL", subjects: ["loc.>"] })
      for (let i = 1; i <= 3; i++) await nc.request(`loc.${i}`, sc.encode(`l${i}`))
      // A client's request through the domain prefix does reach the account's JetStream.
      const viaDomain = (await nc.request("$JS.HUB.API.STREAM.NAMES", sc.encode(""))).json<{ streams: Array<string> }>()
      await jsm.streams.add({ name: "DM", mirror: { name: "LOCAL", external: { api: "$JS.HUB.API", deliver: "" } } })
      await jsm.streams.add({
        name: "DS",
        subjects: ["ds"],
        sources: [{ name: "LOCAL", external: { api: "$JS.HUB.API", deliver: "" } }]
      })
      await sleep(2500)
      const m = await jsm.streams.info("DM")
      const s = await jsm.streams.info("DS")
      return {
        viaDomain: viaDomain.streams.includes("LOCAL"),
        mirrorInfo: followerInfo(m.mirror as never),
        sourceInfo: (s.sources ?? []).map((x) => followerInfo(x as never)),
        messages: [m.state.messages, s.state.messages]
      }
    }),

  /** The prefixes are checked at create, as nats-server checks them. */
  prefixErrors: async (url: string) =>
    withUser(url, "b", async (_nc, jsm) => {
      const tryMirror = (external: { api: string; deliver: string }, name = "BAD") =>
        jsm.streams.add({ name, mirror: { name: "ORDERS", external } }).then(() => "ok", failed)
      const out: Record<string, string> = {
        jsApi: await tryMirror({ api: "$JS.API", deliver: "" }),
        jsApiSub: await tryMirror({ api: "$JS.API.CONSUMER", deliver: "" }),
        wildApi: await tryMirror({ api: "JS.*.API", deliver: "" }),
        wildDeliver: await tryMirror({ api: "JS.A.API", deliver: "A.>" }),
        sourceWildDeliver: await jsm.streams.add({
          name: "BADS",
          subjects: ["bads"],
          sources: [{ name: "ORDERS", external: { api: "JS.A.API", deliver: "A.*" } }]
        }).then(() => "ok", failed)
      }
      return out
    })
}
