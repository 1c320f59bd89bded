/**
 * Core NATS scenarios driven through the official client. Each returns plain data describing what
 * the client observed, so the same scenario can be asserted against our broker (spec/clients) and
 * compared against nats-server (spec/differential).
 *
 * Given a second URL (`pubUrl`, another node of a cluster), the publishing and requesting side
 * connects there while the subscribers stay on `url` (spec/cluster/WireAcrossNodes.spec.ts): the
 * same observations must then hold across routes.
 */
import { connect, headers, type NatsConnection } from "@nats-io/transport-node"

const sc = new TextEncoder()
const dc = new TextDecoder()

const open = (url: string, opts: Parameters<typeof connect>[0] = {}) =>
  connect({ servers: url, ...opts, reconnect: opts.reconnect ?? false })

let barriers = 0
/**
 * Returns once `pub` has seen every subscription `sub` made before, and `sub` has received every
 * message `pub` published before: a request from `pub` answered by a fresh subscription of `sub`
 * travels behind both (one connection and one route are each one ordered stream). A no-op when
 * both sides are one connection.
 */
const barrier = async (sub: NatsConnection, pub: NatsConnection): Promise<void> => {
  if (sub === pub) return
  const subject = `_barrier.${++barriers}`
  const responder = sub.subscribe(subject, { callback: (_e, m) => void m.respond() })
  await sub.flush()
  for (let tries = 0;; tries++) {
    try {
      await pub.request(subject, undefined, { timeout: 1_000 })
      break
    } catch (e) {
      if (tries > 200) throw e
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  responder.unsubscribe()
  await sub.flush()
}

/** The publishing side: the same connection on a single server, its own one on another node. */
const publisherFor = async (nc: NatsConnection, url: string, pubUrl: string) => pubUrl === url ? nc : await open(pubUrl)

const closeBoth = async (nc: NatsConnection, pub: NatsConnection) => {
  if (pub !== nc) await pub.close()
  await nc.close()
}

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
  async pubsub(url: string, pubUrl = url) {
    const nc = await open(url)
    const pub = await publisherFor(nc, url, pubUrl)
    const { got, done } = await collect(nc, "greet.joe", 3)
    await nc.flush()
    await barrier(nc, pub)
    for (const p of ["a", "bb", "ccc"]) pub.publish("greet.joe", sc.encode(p))
    await done
    const binary = new Uint8Array(256).map((_, i) => i)
    const bin = nc.subscribe("bin", { max: 1 })
    await nc.flush()
    await barrier(nc, pub)
    pub.publish("bin", binary)
    let same = false
    for await (const m of bin) same = Buffer.compare(Buffer.from(m.data), Buffer.from(binary)) === 0
    await closeBoth(nc, pub)
    return { got, binaryIntact: same }
  },

  /** `*` matches one token, `>` one or more; each subscription sees what it matches. */
  async wildcards(url: string, pubUrl = url) {
    const nc = await open(url)
    const pub = await publisherFor(nc, url, pubUrl)
    const patterns = ["a.*", "a.>", "*.b", ">", "a.*.c"]
    const seen: Record<string, Array<string>> = {}
    for (const p of patterns) {
      seen[p] = []
      nc.subscribe(p, {
        callback: (_e, m) => {
          if (!m.subject.startsWith("_barrier.") && !m.subject.startsWith("_INBOX.")) seen[p]!.push(m.subject)
        }
      })
    }
    await nc.flush()
    await barrier(nc, pub)
    for (const s of ["a.b", "a.b.c", "x.b", "a", "b.c.d"]) pub.publish(s)
    await pub.flush()
    await barrier(nc, pub)
    await nc.flush()
    await closeBoth(nc, pub)
    return seen
  },

  /** Each message goes to exactly one member of a queue group; plain subscribers get all. */
  async queueGroups(url: string, pubUrl = url) {
    const nc = await open(url)
    const pub = await publisherFor(nc, url, pubUrl)
    const members = [0, 1, 2].map(() => [] as Array<number>)
    for (const m of members) {
      nc.subscribe("work", { queue: "workers", callback: (_e, msg) => void m.push(Number(dc.decode(msg.data))) })
    }
    const plain: Array<number> = []
    nc.subscribe("work", { callback: (_e, msg) => void plain.push(Number(dc.decode(msg.data))) })
    await nc.flush()
    await barrier(nc, pub)
    for (let i = 0; i < 60; i++) pub.publish("work", sc.encode(String(i)))
    await pub.flush()
    await barrier(nc, pub)
    await nc.flush()
    await closeBoth(nc, pub)
    const all = members.flat().sort((a, b) => a - b)
    return { groupTotal: all.length, groupDistinct: new Set(all).size, plainTotal: plain.length }
  },

  /** Request/reply through the client's muxed inbox, sequential and concurrent. */
  async requestReply(url: string, pubUrl = url) {
    const svc = await open(url)
    svc.subscribe("upper", { callback: (_e, m) => void m.respond(sc.encode(dc.decode(m.data).toUpperCase())) })
    await svc.flush()
    const nc = await open(pubUrl)
    if (pubUrl !== url) await barrier(svc, nc)
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
  async headers(url: string, pubUrl = url) {
    const nc = await open(url)
    const pub = await publisherFor(nc, url, pubUrl)
    nc.subscribe("h.svc", {
      callback: (_e, m) => {
        const h = headers()
        h.set("Echo-Id", m.headers?.get("Id") ?? "none")
        m.respond(sc.encode("ok"), { headers: h })
      }
    })
    const sub = nc.subscribe("h.pub", { max: 1 })
    await nc.flush()
    await barrier(nc, pub)
    const h = headers()
    h.set("Id", "42")
    h.append("Multi", "x")
    h.append("Multi", "y")
    pub.publish("h.pub", sc.encode("body"), { headers: h })
    let seen: { id: string | undefined; multi: Array<string>; body: string } | undefined
    for await (const m of sub) {
      seen = { id: m.headers?.get("Id"), multi: m.headers?.values("Multi") ?? [], body: dc.decode(m.data) }
    }
    const reply = await pub.request("h.svc", sc.encode("q"), { headers: h, timeout: 5_000 })
    const result = { seen, replyEcho: reply.headers?.get("Echo-Id"), replyBody: dc.decode(reply.data) }
    await closeBoth(nc, pub)
    return result
  },

  /** A request nobody listens to fails fast with the 503 no-responders status. */
  async noResponders(url: string, pubUrl = url) {
    const nc = await open(pubUrl)
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
  async unsubscribeMax(url: string, pubUrl = url) {
    const nc = await open(url)
    const pub = await publisherFor(nc, url, pubUrl)
    const a = nc.subscribe("u.a", { max: 3 })
    let bCount = 0
    const b = nc.subscribe("u.b", { callback: () => void bCount++ })
    let aCount = 0
    const aDone = (async () => {
      for await (const _ of a) aCount++
    })()
    await nc.flush()
    await barrier(nc, pub)
    pub.publish("u.b")
    await pub.flush()
    await barrier(nc, pub)
    // One delivered so far; allow three in total.
    b.unsubscribe(3)
    if (pub !== nc) await nc.flush()
    for (let i = 0; i < 5; i++) {
      pub.publish("u.a")
      pub.publish("u.b")
    }
    await pub.flush()
    await barrier(nc, pub)
    await aDone
    const result = { aCount, bCount, aClosed: a.isClosed(), bClosed: b.isClosed() }
    await closeBoth(nc, pub)
    return result
  },

  /** drain delivers what is in flight, then closes; flush is a full round trip. */
  async drainAndFlush(url: string, pubUrl = url) {
    const nc = await open(url)
    const pub = await open(pubUrl)
    let received = 0
    const sub = nc.subscribe("d", { callback: () => void received++ })
    await nc.flush()
    if (pubUrl !== url) await barrier(nc, pub)
    for (let i = 0; i < 1000; i++) pub.publish("d")
    await pub.flush()
    // Across a route, flush is a round trip to the publisher's node only.
    if (pubUrl !== url) await barrier(nc, pub)
    await sub.drain()
    const afterSubDrain = received
    const closed = nc.closed()
    await nc.drain()
    await closed
    await pub.close()
    return { afterSubDrain, isClosed: nc.isClosed() }
  },

  /** With echo off a connection does not receive its own messages; others do. */
  async echoOff(url: string, pubUrl = url) {
    const quiet = await open(url, { noEcho: true })
    const other = await open(pubUrl)
    let own = 0
    let theirs = 0
    quiet.subscribe("echo", { callback: () => void own++ })
    other.subscribe("echo", { callback: () => void theirs++ })
    await quiet.flush()
    await other.flush()
    if (pubUrl !== url) await barrier(other, quiet)
    quiet.publish("echo")
    quiet.publish("echo")
    await quiet.flush()
    if (pubUrl !== url) await barrier(other, quiet)
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
