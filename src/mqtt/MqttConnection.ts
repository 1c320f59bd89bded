/**
 * One MQTT 3.1.1 client: packets decoded by `mqtt-packet`, messages routed as NATS messages on the
 * broker's router (an `InternalClient` per connection), QoS 1 and 2 subscriptions fed by durable JetStream
 * consumers (see MqttStore.ts). Plain callbacks per packet; Effects only for session and consumer
 * management.
 *
 * Closing follows MQTT 3.1.1: a malformed packet, a first packet other than CONNECT, a second
 * CONNECT, a wildcard in a PUBLISH topic or a keepalive miss closes the socket without a reply
 * (MQTT-4.8.0-1), and the will is published unless the client sent DISCONNECT.
 */
import { Effect } from "effect"
import * as mqtt from "mqtt-packet"
import { randomBytes } from "node:crypto"
import type * as net from "node:net"
import type { Authenticator } from "../auth/Authenticator.ts"
import type { ClientPermissions } from "../auth/Permissions.ts"
import { InternalClient } from "../core/InternalClient.ts"
import type { MessageRouter, Subscription } from "../core/Router.ts"
import { headerValue } from "../protocol/Headers.ts"
import { fromWire, matches, toWire } from "../subject/Subject.ts"
import { authenticateMqtt } from "./MqttAuth.ts"
import {
  background,
  hash,
  type MqttStore,
  MSGS_PREFIX,
  type PersistedSession,
  PUB_HEADERS,
  SUB_PREFIX
} from "./MqttStore.ts"
import { filterSubjects, filterToSubject, subjectToTopic, topicToSubject } from "./Topic.ts"

/** What the connection needs from the listener: the session table and the store. */
export interface MqttContext {
  readonly router: MessageRouter
  readonly store: MqttStore
  readonly serverHash: string
  /** The connection holding a client id now; a new CONNECT with that id takes it over (MQTT-3.1.4-2). */
  readonly sessions: Map<string, MqttConnection>
  readonly debug: (message: string) => void
  /** The server's max_payload: a bigger PUBLISH closes the connection, as a NATS client's would. */
  readonly maxPayload: number
  /** Undefined when MQTT clients need no credentials (MqttAuth.ts). */
  readonly auth: Authenticator | undefined
  /** Authentication and permission violations, logged as errors as nats-server does. */
  readonly error: (message: string) => void
}

/** nats-server `mqttMaxAckTotalLimit`: the max_ack_pending of one session's QoS 1 and 2 subscriptions added up. */
const MAX_ACK_TOTAL = 0xffff

type QoS = 0 | 1 | 2

interface Sub {
  /** Granted QoS; a repeated SUBSCRIBE between 1 and 2 changes it in place (same consumer). */
  qos: QoS
  readonly plain: Subscription | undefined
  /** QoS 1 and 2: the durable consumer and its deliver subscription. */
  readonly durable?: string
  readonly deliver?: string
  js?: Subscription | undefined
}

interface Pending {
  /** JetStream ack subject; undefined for a retained message sent at SUBSCRIBE. */
  readonly ack: string | undefined
  readonly seq: number
  /** 1: answered by PUBACK; 2: by PUBREC, then PUBREL/PUBCOMP. */
  readonly qos: 1 | 2
}

const EMPTY = new Uint8Array(0)
const nuid = () => randomBytes(11).toString("base64url")

export class MqttConnection {
  private readonly parser = mqtt.parser({ protocolVersion: 4 })
  private readonly internal: InternalClient
  private clientId = ""
  private clean = true
  private state: "new" | "connecting" | "open" | "closed" = "new"
  /** What arrived while CONNECT was being served, answered in order after the CONNACK. */
  private queued: Array<mqtt.Packet | Error> = []
  private will: mqtt.IConnectPacket["will"]
  private readonly subs = new Map<string, Sub>()
  /** Outbound QoS 1 and 2 in flight (until PUBACK or PUBREC): packet id -> what acknowledges it. */
  private readonly pending = new Map<number, Pending>()
  /** Stream sequence -> packet id, so a JetStream redelivery reuses its id with DUP set. */
  private readonly seqToPi = new Map<number, number>()
  private nextPi = 0
  /** Inbound QoS 2 ids between PUBREC and PUBREL (MQTT-4.3.3-2): a resent PUBLISH is not routed twice. */
  private readonly qos2 = new Set<number>()
  /** Outbound QoS 2 ids between PUBREC and PUBCOMP: acked in JetStream, PUBREL sent (resent on resume). */
  private readonly released = new Set<number>()
  private lastSeen = Date.now()
  private keepalive: ReturnType<typeof setInterval> | undefined
  /** Until CONNECT when credentials are required (nats-server's auth timer). */
  private authTimer: ReturnType<typeof setTimeout> | undefined
  /** The authenticated user's; undefined = unrestricted. */
  private perms: ClientPermissions | undefined
  private who: string | undefined

  private readonly socket: net.Socket
  private readonly ctx: MqttContext

  constructor(socket: net.Socket, ctx: MqttContext) {
    this.socket = socket
    this.ctx = ctx
    this.internal = new InternalClient(ctx.router)
    this.parser.on("packet", (p) => this.onPacket(p))
    this.parser.on("error", (e) => this.onError(e))
    socket.on("data", (chunk) => {
      this.lastSeen = Date.now()
      if (this.state !== "closed") this.parser.parse(chunk)
    })
    socket.on("error", () => this.close("socket error"))
    socket.on("close", () => this.close("connection closed"))
    if (ctx.auth !== undefined) {
      this.authTimer = setTimeout(() => this.close("Authentication Timeout"), ctx.auth.timeoutMs)
      this.authTimer.unref()
    }
  }

  private corked = false

  private send(p: mqtt.Packet): void {
    if (this.state === "closed" || this.socket.destroyed) return
    // Packets written in one turn of the event loop leave in one write, not one syscall each.
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(() => {
        if (!this.corked) return
        this.corked = false
        this.socket.uncork()
      })
    }
    this.socket.write(mqtt.generate(p, { protocolVersion: 4 }))
  }

  private onError(e: Error): void {
    if (this.state === "connecting") this.queued.push(e)
    else this.close(`malformed packet: ${e.message}`)
  }

  private onPacket(p: mqtt.Packet): void {
    if (this.state === "closed") return
    if (this.state === "connecting") {
      this.queued.push(p)
      return
    }
    if (this.state === "new") {
      if (p.cmd !== "connect") return this.close(`the first packet should be a CONNECT, got ${p.cmd}`)
      return this.connect(p)
    }
    switch (p.cmd) {
      case "publish":
        return this.publish(p)
      case "puback":
        return this.acked(p.messageId ?? 0)
      case "pubrel":
        return this.releasedIn(p.messageId ?? 0)
      case "pubrec":
        return this.received(p.messageId ?? 0)
      case "pubcomp":
        return this.completed(p.messageId ?? 0)
      case "subscribe":
        return this.subscribe(p)
      case "unsubscribe":
        return this.unsubscribe(p)
      case "pingreq":
        return this.send({ cmd: "pingresp" })
      case "disconnect":
        // MQTT-3.14.4-3: a clean DISCONNECT discards the will.
        this.will = undefined
        return this.close("client disconnected")
      case "connect":
        return this.close("received a second CONNECT packet")
      default:
        // Server-to-client packets.
        return this.close(`unexpected ${p.cmd} packet`)
    }
  }

  private connect(p: mqtt.IConnectPacket): void {
    if (p.protocolId !== "MQTT") return this.close(`older protocol ${JSON.stringify(p.protocolId)} not supported`)
    if (p.protocolVersion !== 4) {
      this.send({ cmd: "connack", returnCode: 1, sessionPresent: false })
      return this.close(`unacceptable protocol version of ${p.protocolVersion}`)
    }
    const clean = p.clean !== false
    if (p.clientId === "" && !clean) {
      this.send({ cmd: "connack", returnCode: 2, sessionPresent: false })
      return this.close("when client ID is empty, clean session flag must be set to 1")
    }
    if (p.will !== undefined) {
      const w = topicToSubject(p.will.topic)
      if (!w.ok) return this.close(`will topic: ${w.error}`)
    }
    if (this.authTimer !== undefined) clearTimeout(this.authTimer)
    const authed = authenticateMqtt(this.ctx.auth, p.username, p.password, this.socket.remoteAddress ?? "")
    if (!authed.ok) {
      this.ctx.error(`MQTT ${p.clientId === "" ? "client" : p.clientId}: ${authed.log}`)
      this.send({ cmd: "connack", returnCode: authed.returnCode, sessionPresent: false })
      return this.close(authed.log)
    }
    this.perms = authed.permissions
    this.who = authed.who
    this.clientId = p.clientId === "" ? nuid() : p.clientId
    this.clean = clean
    this.will = p.will
    this.state = "connecting"
    const previous = this.ctx.sessions.get(this.clientId)
    if (previous !== undefined) previous.takenOver(this.clientId)
    this.ctx.sessions.set(this.clientId, this)
    const ka = p.keepalive ?? 0
    if (ka > 0) {
      // MQTT-3.1.2-24: one and a half keepalive periods without a packet close the connection.
      const limit = ka * 1500
      this.keepalive = setInterval(() => {
        if (Date.now() - this.lastSeen > limit) this.close("keepalive timeout")
      }, Math.min(limit, 1000))
    }
    const store = this.ctx.store
    background(
      Effect.gen({ self: this }, function*() {
        const saved = yield* store.loadSession(this.clientId)
        if (saved !== undefined && clean) yield* store.dropSession(saved)
        if (this.state !== "connecting") return
        const present = !clean && saved !== undefined
        this.send({ cmd: "connack", returnCode: 0, sessionPresent: present })
        if (present) this.restore(saved)
        else if (!clean) yield* store.persistSession(this.record())
        this.state = "open"
        const queued = this.queued
        this.queued = []
        for (const q of queued) {
          if (q instanceof Error) this.onError(q)
          else this.onPacket(q)
        }
      }),
      this.ctx.debug
    )
  }

  private restore(saved: PersistedSession): void {
    for (const id of saved.qos2in ?? []) this.qos2.add(id)
    // MQTT-4.4.0-1: PUBRELs not yet completed are sent again on a resumed session.
    for (const id of saved.qos2out ?? []) {
      this.released.add(id)
      this.send({ cmd: "pubrel", messageId: id })
    }
    for (const [subject, qos] of Object.entries(saved.subs ?? {})) {
      const c = saved.cons?.[subject]
      const q: QoS = c === undefined ? 0 : qos >= 2 ? 2 : qos >= 1 ? 1 : 0
      const sub: Sub = {
        qos: q,
        plain: this.subscribePlain(subject, q),
        ...(q > 0 ? { durable: c!.durable_name, deliver: c!.deliver_subject } : {})
      }
      if (q > 0) sub.js = this.subscribeDeliver(c!.deliver_subject, sub)
      this.subs.set(subject, sub)
    }
  }

  private record(): PersistedSession {
    const subs: Record<string, number> = {}
    const cons: Record<string, { durable_name: string; deliver_subject: string }> = {}
    for (const [subject, s] of this.subs) {
      subs[subject] = s.qos
      if (s.durable !== undefined) cons[subject] = { durable_name: s.durable, deliver_subject: s.deliver! }
    }
    return {
      origin: this.ctx.serverHash,
      id: this.clientId,
      clean: this.clean,
      subs,
      cons,
      ...(this.qos2.size > 0 ? { qos2in: [...this.qos2] } : {}),
      ...(this.released.size > 0 ? { qos2out: [...this.released] } : {})
    }
  }

  private persist(): Effect.Effect<void> {
    return this.clean ? Effect.void : this.ctx.store.persistSession(this.record())
  }

  /** Routes an MQTT PUBLISH (or the will) as a NATS message; QoS 1/2 are stored in `$MQTT_msgs` too. */
  private route(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean, done?: () => void): boolean {
    const converted = topicToSubject(topic)
    if (!converted.ok) {
      this.close(converted.error)
      return false
    }
    const subject = toWire(converted.subject)
    if (this.perms !== undefined && !this.perms.canPublish(subject)) {
      // nats-server drops it (not routed, stored nor retained) and still acknowledges a QoS 1 PUBLISH.
      this.ctx.error(
        `MQTT ${this.clientId}: Publish Violation - User ${JSON.stringify(this.who ?? "")}, Subject ${
          JSON.stringify(subject)
        }`
      )
      done?.()
      return true
    }
    const hdr = PUB_HEADERS[qos]
    const msg = new Uint8Array(hdr.length + payload.length)
    msg.set(hdr, 0)
    msg.set(payload, hdr.length)
    if (retain) this.ctx.store.retain(subject, topic, payload, qos)
    this.internal.publish(subject, undefined, hdr.length, msg)
    if (qos > 0) this.ctx.store.store(MSGS_PREFIX + subject, hdr.length, msg, () => done?.())
    return true
  }

  private publish(p: mqtt.IPublishPacket): void {
    const payload = typeof p.payload === "string" ? Buffer.from(p.payload) : p.payload
    if (payload.length > this.ctx.maxPayload) return this.close("maximum payload exceeded")
    const id = p.messageId ?? 0
    if (p.qos > 0 && id === 0) return this.close(`with QoS=${p.qos}, packet identifier cannot be 0`)
    if (p.qos === 2 && this.qos2.has(id)) return this.send({ cmd: "pubrec", messageId: id })
    if (p.qos === 2) this.qos2.add(id)
    this.route(p.topic, payload, p.qos, p.retain, () => {
      if (p.qos === 1) this.send({ cmd: "puback", messageId: id })
      // A persistent session keeps the id in its record before PUBREC (MQTT-4.3.3-2), so a PUBLISH
      // resent after a reconnect or a restart is not routed twice.
      else if (p.qos === 2) {
        if (this.clean) this.send({ cmd: "pubrec", messageId: id })
        else background(Effect.map(this.persist(), () => this.send({ cmd: "pubrec", messageId: id })), this.ctx.debug)
      }
    })
  }

  private releasedIn(id: number): void {
    const known = this.qos2.delete(id)
    if (!known || this.clean) return this.send({ cmd: "pubcomp", messageId: id })
    background(Effect.map(this.persist(), () => this.send({ cmd: "pubcomp", messageId: id })), this.ctx.debug)
  }

  private subscribePlain(subject: string, qos: QoS): Subscription | undefined {
    return this.internal.subscribe(toWire(subject), (s, _reply, hdrLen, msg) => {
      if (hdrLen > 0 && qos > 0) {
        // A QoS 1/2 MQTT publish reaches a QoS 1/2 subscription through its consumer instead.
        const q = headerValue(msg.subarray(0, hdrLen), "Nmqtt-Pub")
        if (q === "1" || q === "2") return
      }
      const payload = Buffer.from(msg.buffer, msg.byteOffset + Math.max(hdrLen, 0), msg.length - Math.max(hdrLen, 0))
      this.send({ cmd: "publish", topic: subjectToTopic(fromWire(s)), payload, qos: 0, retain: false, dup: false })
    })
  }

  private subscribeDeliver(deliver: string, sub: Sub): Subscription | undefined {
    return this.internal.subscribe(deliver, (s, reply, hdrLen, msg) => {
      if (reply === undefined || !s.startsWith(MSGS_PREFIX) || s.length === MSGS_PREFIX.length) return
      // $JS.ACK.[<domain>.<account hash>.]<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
      const tokens = reply.split(".")
      // The v2 form (11+ tokens, `js_ack_fc_v2`) has the domain and account hash before the stream.
      const o = tokens.length >= 11 ? 4 : 2
      const seq = Number(tokens[o + 3])
      let pi = this.seqToPi.get(seq)
      // A second delivery by JetStream (after ack_wait, or to a resumed session) is a resend (MQTT-3.3.1-1).
      const dup = pi !== undefined || Number(tokens[o + 2]) > 1
      if (pi === undefined) {
        pi = this.allocate()
        if (pi === 0) return // 65535 in flight: JetStream redelivers after ack_wait.
        this.seqToPi.set(seq, pi)
      }
      // The lower of the subscription's and the publisher's QoS (MQTT-3.8.4-6).
      const published = hdrLen > 0 ? headerValue(msg.subarray(0, hdrLen), "Nmqtt-Pub") : undefined
      const qos: 1 | 2 = sub.qos === 2 && published === "2" ? 2 : 1
      this.pending.set(pi, { ack: reply, seq, qos })
      const payload = Buffer.from(msg.buffer, msg.byteOffset + Math.max(hdrLen, 0), msg.length - Math.max(hdrLen, 0))
      const topic = subjectToTopic(fromWire(s.slice(MSGS_PREFIX.length)))
      this.send({ cmd: "publish", topic, payload, qos, messageId: pi, retain: false, dup })
    })
  }

  private allocate(): number {
    for (let i = 0; i < 0xffff; i++) {
      this.nextPi = (this.nextPi % 0xffff) + 1
      if (!this.pending.has(this.nextPi) && !this.released.has(this.nextPi)) return this.nextPi
    }
    return 0
  }

  private acked(pi: number): void {
    const p = this.pending.get(pi)
    if (p === undefined || p.qos !== 1) return
    this.settle(pi, p)
  }

  private settle(pi: number, p: Pending): void {
    this.pending.delete(pi)
    if (p.ack !== undefined) {
      this.seqToPi.delete(p.seq)
      this.internal.publish(p.ack, undefined, -1, EMPTY)
    }
  }

  /**
   * PUBREC of an outbound QoS 2 message: JetStream's copy is acknowledged (it is delivered), and the
   * id stays taken until PUBCOMP, recorded in a persistent session so PUBREL is resent on resume.
   */
  private received(pi: number): void {
    const p = this.pending.get(pi)
    if (p !== undefined && p.qos === 2) {
      this.settle(pi, p)
      this.released.add(pi)
    }
    if (!this.released.has(pi)) return
    if (this.clean) return this.send({ cmd: "pubrel", messageId: pi })
    background(Effect.map(this.persist(), () => this.send({ cmd: "pubrel", messageId: pi })), this.ctx.debug)
  }

  private completed(pi: number): void {
    if (!this.released.delete(pi) || this.clean) return
    background(this.persist(), this.ctx.debug)
  }

  private subscribe(p: mqtt.ISubscribePacket): void {
    const granted: Array<number> = []
    const work: Array<Effect.Effect<void>> = []
    const fresh: Array<{ readonly subject: string; readonly qos: QoS }> = []
    for (const { topic, qos } of p.subscriptions) {
      const converted = filterToSubject(topic)
      if (!converted.ok) {
        this.ctx.debug(`MQTT ${this.clientId}: invalid topic filter ${JSON.stringify(topic)}: ${converted.error}`)
        granted.push(0x80)
        continue
      }
      const q: QoS = qos >= 2 ? 2 : qos >= 1 ? 1 : 0
      const subjects = filterSubjects(converted.subject)
      const denied = this.perms === undefined ? undefined : subjects.find((s) => !this.perms!.canSubscribe(toWire(s)))
      if (denied !== undefined) {
        this.ctx.error(
          `MQTT ${this.clientId}: Subscription Violation - User ${JSON.stringify(this.who ?? "")}, Subject ${
            JSON.stringify(toWire(denied))
          }`
        )
        granted.push(0x80)
        continue
      }
      if (q > 0) {
        const consumers = [...this.subs.values()].filter((s) => s.durable !== undefined).length
        const added = subjects.filter((s) => this.subs.get(s)?.durable === undefined).length
        const total = (consumers + added) * this.ctx.store.settings.maxAckPending
        if (total > MAX_ACK_TOTAL) {
          this.ctx.debug(
            `MQTT ${this.clientId}: max_ack_pending for all consumers would be ${total} which exceeds the limit of ${MAX_ACK_TOTAL}`
          )
          granted.push(0x80)
          continue
        }
      }
      granted.push(q)
      for (const subject of subjects) {
        fresh.push({ subject, qos: q })
        const old = this.subs.get(subject)
        // MQTT-3.8.4-3: a repeated filter replaces the subscription; a QoS 1/2 one keeps its consumer.
        if (old !== undefined && old.qos > 0 && q > 0) {
          old.qos = q
          continue
        }
        if (old !== undefined) this.drop(subject, old, work)
        if (q === 0) {
          this.subs.set(subject, { qos: 0, plain: this.subscribePlain(subject, 0) })
          continue
        }
        const id = nuid()
        const deliver = SUB_PREFIX + id
        const durable = `${hash(this.clientId)}_${id}`
        const sub: Sub = { qos: q, plain: this.subscribePlain(subject, q), durable, deliver }
        sub.js = this.subscribeDeliver(deliver, sub)
        this.subs.set(subject, sub)
        work.push(this.ctx.store.createConsumer(durable, deliver, subject).pipe(Effect.catch(() => Effect.void)))
      }
    }
    background(
      Effect.gen({ self: this }, function*() {
        for (const w of work) yield* w
        yield* this.persist()
        this.send({ cmd: "suback", messageId: p.messageId ?? 0, granted })
        this.sendRetained(fresh)
      }),
      this.ctx.debug
    )
  }

  /** MQTT-3.3.1-6: retained messages matching a new subscription, with the retain flag set. */
  private sendRetained(subs: ReadonlyArray<{ readonly subject: string; readonly qos: QoS }>): void {
    for (const rm of this.ctx.store.retained.values()) {
      let qos = -1
      for (const s of subs) if (matches(toWire(s.subject), rm.subject)) qos = Math.max(qos, Math.min(s.qos, rm.qos))
      if (qos < 0) continue
      if (qos === 0) {
        this.send({
          cmd: "publish",
          topic: rm.topic,
          payload: Buffer.from(rm.payload),
          qos: 0,
          retain: true,
          dup: false
        })
        continue
      }
      const pi = this.allocate()
      if (pi === 0) continue
      const q: 1 | 2 = qos === 2 ? 2 : 1
      this.pending.set(pi, { ack: undefined, seq: 0, qos: q })
      this.send({
        cmd: "publish",
        topic: rm.topic,
        payload: Buffer.from(rm.payload),
        qos: q,
        messageId: pi,
        retain: true,
        dup: false
      })
    }
  }

  private drop(subject: string, s: Sub, work: Array<Effect.Effect<void>>): void {
    if (s.plain !== undefined) this.internal.unsubscribe(s.plain)
    if (s.js !== undefined) this.internal.unsubscribe(s.js)
    if (s.durable !== undefined) work.push(this.ctx.store.deleteConsumer(s.durable))
    this.subs.delete(subject)
  }

  private unsubscribe(p: mqtt.IUnsubscribePacket): void {
    const work: Array<Effect.Effect<void>> = []
    for (const topic of p.unsubscriptions) {
      const converted = filterToSubject(topic)
      if (!converted.ok) continue
      for (const subject of filterSubjects(converted.subject)) {
        const s = this.subs.get(subject)
        if (s !== undefined) this.drop(subject, s, work)
      }
    }
    background(
      Effect.gen({ self: this }, function*() {
        for (const w of work) yield* w
        yield* this.persist()
        this.send({ cmd: "unsuback", messageId: p.messageId ?? 0, granted: [] })
      }),
      this.ctx.debug
    )
  }

  /** A new CONNECT with this client id: closed without its will, as nats-server 2.9.10 does. */
  takenOver(clientId: string): void {
    this.will = undefined
    this.close(`another session is in use with client ID ${JSON.stringify(clientId)}`)
  }

  /** Ends the connection once; publishes the will unless DISCONNECT discarded it. */
  close(reason: string): void {
    if (this.state === "closed") return
    const wasConnected = this.state !== "new"
    this.state = "closed"
    this.ctx.debug(`MQTT ${this.clientId === "" ? "client" : this.clientId}: ${reason}`)
    if (this.keepalive !== undefined) clearInterval(this.keepalive)
    if (this.authTimer !== undefined) clearTimeout(this.authTimer)
    const will = this.will
    this.will = undefined
    if (wasConnected && will !== undefined) {
      const payload = typeof will.payload === "string" ? Buffer.from(will.payload) : will.payload
      this.route(will.topic, payload, will.qos ?? 0, will.retain === true)
    }
    this.internal.unsubscribeAll()
    if (this.ctx.sessions.get(this.clientId) === this) this.ctx.sessions.delete(this.clientId)
    if (wasConnected && this.clean) {
      // A clean session ends with its connection (MQTT-3.1.2-6): its consumers go too.
      const durables = [...this.subs.values()].flatMap((s) => (s.durable === undefined ? [] : [s.durable]))
      background(Effect.forEach(durables, (d) => this.ctx.store.deleteConsumer(d), { discard: true }), this.ctx.debug)
    }
    // The last reply (a refusing CONNACK) may still sit corked: flush it, end, and give a peer that
    // does not read one second before the socket is dropped.
    if (this.corked) {
      this.corked = false
      this.socket.uncork()
    }
    this.socket.end()
    setTimeout(() => this.socket.destroy(), 1000).unref()
  }
}
