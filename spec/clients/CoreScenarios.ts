/**
 * Core NATS scenarios driven through the official client. Each returns plain data describing what
 * the client observed, so the same scenario can be asserted against our broker (spec/clients) and
 * compared against nats-server (spec/differential).
 */
import { connect, headers, type NatsConnection } from "@nats-io/transport-node"

const sc = new TextEncoder()
const dc = new TextDecoder()

const open = (url: string, opts: Parameters<typeof connect>[0] = {}) =>
  connect({ servers: url, ...opts, reconnect: opts.reconnect ?? false })

const collect = async (nc: NatsConnection, subject: string, n: number, opts: { queue?: string } = {}) => {
  const got: Array<string> = []
  const sub = nc.subscribe(subject, { ...opts, max: n })
  const done = (async () => {
    for await (const m of sub) got.push(`${m.subject}:${dc.decode(m.data)}`)
  })()
  return { got, sub, done }
}

export const scenarios = {
  /** Plain publish/subscribe, ordered delivery, payload bytes intact. */
  async pubsub(url: string) {
    const nc = await open(url)
    const { got, done } = await collect(nc, "greet.joe", 3)
    await nc.flush()
    for (const p of ["a", "bb", "ccc"]) nc.publish("greet.joe", sc.encode(p))
    await done
    const binary = new Uint8Array(256).map((_, i) => i)
    const bin = nc.subscribe("bin", { max: 1 })
    await nc.flush()
    nc.publish("bin", binary)
    let same = false
    for await (const m of bin) same = Buffer.compare(Buffer.from(m.data), Buffer.from(binary)) === 0
    await nc.close()
    return { got, binaryIntact: same }
  },

  /** `*` matches one token, `>` one or more; each subscription sees what it matches. */
  async wildcards(url: string) {
    const nc = await open(url)
    const patterns = ["a.*", "a.>", "*.b", ">", "a.*.c"]
    const seen: Record<string, Array<string>> = {}
    for (const p of patterns) {
      seen[p] = []
      nc.subscribe(p, { callback: (_e, m) => void seen[p]!.push(m.subject) })
    }
    await nc.flush()
    for (const s of ["a.b", "a.b.c", "x.b", "a", "b.c.d"]) nc.publish(s)
    await nc.flush()
    await nc.close()
    return seen
  },

  /** Each message goes to exactly one member of a queue group; plain subscribers get all. */
  async queueGroups(url: string) {
    const nc = await open(url)
    const members = [0, 1, 2].map(() => [] as Array<number>)
    for (const m of members) {
      nc.subscribe("work", { queue: "workers", callback: (_e, msg) => void m.push(Number(dc.decode(msg.data))) })
    }
    const plain: Array<number> = []
    nc.subscribe("work", { callback: (_e, msg) => void plain.push(Number(dc.decode(msg.data))) })
    await nc.flush()
    for (let i = 0; i < 60; i++) nc.publish("work", sc.encode(String(i)))
    await nc.flush()
    await nc.close()
    const all = members.flat().sort((a, b) => a - b)
    return { groupTotal: all.length, groupDistinct: new Set(all).size, plainTotal: plain.length }
  },

  /** Request/reply through the client's muxed inbox, sequential and concurrent. */
  async requestReply(url: string) {
    const svc = await open(url)
    svc.subscribe("upper", { callback: (_e, m) => void m.respond(sc.encode(dc.decode(m.data).toUpperCase())) })
    await svc.flush()
    const nc = await open(url)
    const sequential: Array<string> = []
    for (const w of ["one", "two"]) sequential.push(dc.decode((await nc.request("upper", sc.encode(w))).data))
    const concurrent = await Promise.all(
      ["x", "y", "z"].map(async (w) => dc.decode((await nc.request("upper", sc.encode(w))).data))
    )
    await nc.close()
    await svc.close()
    return { sequential, concurrent }
  },

  /** Headers on publish, on request and on the reply; repeated keys kept. */
  async headers(url: string) {
    const nc = await open(url)
    nc.subscribe("h.svc", {
      callback: (_e, m) => {
        const h = headers()
        h.set("Echo-Id", m.headers?.get("Id") ?? "none")
        m.respond(sc.encode("ok"), { headers: h })
      }
    })
    const sub = nc.subscribe("h.pub", { max: 1 })
    await nc.flush()
    const h = headers()
    h.set("Id", "42")
    h.append("Multi", "x")
    h.append("Multi", "y")
    nc.publish("h.pub", sc.encode("body"), { headers: h })
    let seen: { id: string | undefined; multi: Array<string>; body: string } | undefined
    for await (const m of sub) {
      seen = { id: m.headers?.get("Id"), multi: m.headers?.values("Multi") ?? [], body: dc.decode(m.data) }
    }
    const reply = await nc.request("h.svc", sc.encode("q"), { headers: h, timeout: 5_000 })
    const result = { seen, replyEcho: reply.headers?.get("Echo-Id"), replyBody: dc.decode(reply.data) }
    await nc.close()
    return result
  },

  /** A request nobody listens to fails fast with the 503 no-responders status. */
  async noResponders(url: string) {
    const nc = await open(url)
    const started = Date.now()
    let error = ""
    try {
      await nc.request("nobody.home", sc.encode("?"), { timeout: 5_000 })
    } catch (e) {
      error = `${(e as Error).name}/${(e as { cause?: Error }).cause?.name}`
    }
    const fast = Date.now() - started < 2_000
    await nc.close()
    return { error, fast }
  },

  /** `subscribe({max})` and `unsubscribe(max)` stop after exactly max messages in total. */
  async unsubscribeMax(url: string) {
    const nc = await open(url)
    const a = nc.subscribe("u.a", { max: 3 })
    let bCount = 0
    const b = nc.subscribe("u.b", { callback: () => void bCount++ })
    let aCount = 0
    const aDone = (async () => {
      for await (const _ of a) aCount++
    })()
    await nc.flush()
    nc.publish("u.b")
    await nc.flush()
    // One delivered so far; allow three in total.
    b.unsubscribe(3)
    for (let i = 0; i < 5; i++) {
      nc.publish("u.a")
      nc.publish("u.b")
    }
    await nc.flush()
    await aDone
    const result = { aCount, bCount, aClosed: a.isClosed(), bClosed: b.isClosed() }
    await nc.close()
    return result
  },

  /** drain delivers what is in flight, then closes; flush is a full round trip. */
  async drainAndFlush(url: string) {
    const nc = await open(url)
    const pub = await open(url)
    let received = 0
    const sub = nc.subscribe("d", { callback: () => void received++ })
    await nc.flush()
    for (let i = 0; i < 1000; i++) pub.publish("d")
    await pub.flush()
    await sub.drain()
    const afterSubDrain = received
    const closed = nc.closed()
    await nc.drain()
    await closed
    await pub.close()
    return { afterSubDrain, isClosed: nc.isClosed() }
  },

  /** With echo off a connection does not receive its own messages; others do. */
  async echoOff(url: string) {
    const quiet = await open(url, { noEcho: true })
    const other = await open(url)
    let own = 0
    let theirs = 0
    quiet.subscribe("echo", { callback: () => void own++ })
    other.subscribe("echo", { callback: () => void theirs++ })
    await quiet.flush()
    await other.flush()
    quiet.publish("echo")
    quiet.publish("echo")
    await quiet.flush()
    await other.flush()
    await quiet.close()
    await other.close()
    return { own, theirs }
  },

  /** The client refuses payloads over the INFO max_payload before sending them. */
  async maxPayload(url: string) {
    const nc = await open(url)
    let error = ""
    try {
      nc.publish("big", new Uint8Array(nc.info!.max_payload + 1))
    } catch (e) {
      error = (e as Error).name
    }
    const info = nc.info!
    await nc.close()
    return { error, maxPayload: info.max_payload, headers: info.headers, proto: info.proto, version: info.version }
  }
}

export type ScenarioName = keyof typeof scenarios
