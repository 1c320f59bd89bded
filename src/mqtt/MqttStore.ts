/**
 * MQTT state in JetStream, in the streams nats-server 2.9.10 creates for it (mqtt.go
 * `mqttCreateAccountSessionManager`), so it survives a restart and can be inspected with any
 * JetStream tool:
 *
 * - `$MQTT_sess` (`$MQTT.sess.>`, one message per subject): one JSON record per persistent session,
 *   on `$MQTT.sess.<hash of the client id>`;
 * - `$MQTT_msgs` (`$MQTT.msgs.>`, interest retention): QoS 1/2 publishes, read by one durable push
 *   consumer per QoS 1 or 2 subscription;
 * - `$MQTT_rmsgs` (`$MQTT.rmsgs`): retained messages as JSON, the newest per topic kept in memory.
 *
 * Stores on the publish path go out as plain router publishes with a reply subject answered
 * synchronously (no Effect per message); stream and consumer management uses the in-process
 * JetStream client.
 */
import { Cause, Effect, Exit } from "effect"
import { createHash } from "node:crypto"
import type { MqttSettings } from "../config/MqttConfigFile.ts"
import type { InternalClient } from "../core/InternalClient.ts"
import type { JetStreamClientShape } from "../embed/JetStreamClient.ts"
import { nanos } from "../embed/JetStreamClient.ts"

export const SESS_STREAM = "$MQTT_sess"
export const SESS_PREFIX = "$MQTT.sess."
export const MSGS_STREAM = "$MQTT_msgs"
export const MSGS_PREFIX = "$MQTT.msgs."
export const RMSGS_STREAM = "$MQTT_rmsgs"
export const RMSGS_SUBJECT = "$MQTT.rmsgs"
/** Deliver subjects of the QoS 1 and 2 consumers. */
export const SUB_PREFIX = "$MQTT.sub."
/** The header that tells MQTT subscribers a NATS message came from an MQTT PUBLISH, with its QoS. */
export const PUB_HEADER = "Nmqtt-Pub"

/** nats-server `getHash`: SHA-256, URL-safe base64 without padding, first 8 characters. */
export const hash = (s: string): string => createHash("sha256").update(s).digest("base64url").slice(0, 8)

export interface RetainedMessage {
  readonly seq: number
  /** The NATS subject (wire form). */
  readonly subject: string
  readonly topic: string
  readonly payload: Uint8Array
  readonly qos: 0 | 1 | 2
}

/** The persisted session (`$MQTT.sess.<hash>`), field names as nats-server writes them. */
export interface PersistedSession {
  readonly origin: string
  readonly id: string
  readonly clean?: boolean
  /** NATS subject of each subscription -> granted QoS. */
  readonly subs?: Record<string, number>
  /** NATS subject of each QoS 1 or 2 subscription -> its durable consumer. */
  readonly cons?: Record<string, { readonly durable_name: string; readonly deliver_subject: string }>
  /** Our addition: QoS 2 PUBLISH ids received and not yet released (PUBREL). */
  readonly qos2in?: ReadonlyArray<number>
  /** Our addition: outbound QoS 2 ids released (PUBREL sent) and not yet completed (PUBCOMP). */
  readonly qos2out?: ReadonlyArray<number>
}

const utf8 = new TextEncoder()
const header = (qos: number) => utf8.encode(`NATS/1.0\r\n${PUB_HEADER}:${qos}\r\n\r\n`)
/** The header blocks of QoS 0, 1 and 2 publishes, built once. */
export const PUB_HEADERS = [header(0), header(1), header(2)] as const

let replies = 0

/**
 * Runs session and consumer management off the packet path. A failure or defect is reported, never
 * left as an unhandled rejection (which would end the process).
 */
export const background = (effect: Effect.Effect<unknown, unknown>, report: (message: string) => void): void => {
  void Effect.runPromiseExit(effect).then((exit) => {
    if (Exit.isFailure(exit)) report(`MQTT: ${Cause.pretty(exit.cause)}`)
  })
}

export class MqttStore {
  readonly retained = new Map<string, RetainedMessage>()
  /** Reply subject -> what to do with the ack (undefined: not stored). */
  private readonly waiting = new Map<string, (seq: number | undefined) => void>()
  private readonly replyPrefix: string

  readonly internal: InternalClient
  readonly js: JetStreamClientShape
  readonly settings: MqttSettings
  readonly serverHash: string

  constructor(internal: InternalClient, js: JetStreamClientShape, settings: MqttSettings, serverHash: string) {
    this.internal = internal
    this.js = js
    this.settings = settings
    this.serverHash = serverHash
    this.replyPrefix = `$MQTT.JSA.${serverHash}.MS.`
    internal.subscribe(`${this.replyPrefix}*`, (subject, _reply, hdrLen, msg) => {
      const done = this.waiting.get(subject)
      if (done === undefined) return
      this.waiting.delete(subject)
      // A PubAck is small JSON with `seq`; an error reply has `error` instead (and a status header has neither).
      const at = Math.max(hdrLen, 0)
      const text = Buffer.from(msg.buffer, msg.byteOffset + at, msg.length - at).toString("latin1")
      const m = /"seq":(\d+)/.exec(text)
      done(m === null || text.includes("\"error\"") ? undefined : Number(m[1]))
    })
  }

  /** Stores a message in whichever MQTT stream captures `subject`; `done` hears whether it was acked. */
  store(subject: string, hdrLen: number, msg: Uint8Array, done: (seq: number | undefined) => void): void {
    const reply = this.replyPrefix + (++replies).toString(36)
    this.waiting.set(reply, done)
    if (this.internal.publish(subject, reply, hdrLen, msg) === 0) {
      this.waiting.delete(reply)
      done(undefined)
    }
  }

  /** Creates the three streams unless they exist, and loads the retained messages. */
  readonly setup = Effect.gen({ self: this }, function*() {
    const replicas = Math.max(this.settings.streamReplicas, 1)
    const ensure = (config: Parameters<JetStreamClientShape["streams"]["add"]>[0]) =>
      this.js.streams.info(config.name).pipe(Effect.catch(() => this.js.streams.add(config)))
    yield* ensure({
      name: SESS_STREAM,
      subjects: [`${SESS_PREFIX}>`],
      storage: "file",
      retention: "limits",
      num_replicas: replicas,
      max_msgs_per_subject: 1
    })
    yield* ensure({
      name: MSGS_STREAM,
      subjects: [`${MSGS_PREFIX}>`],
      storage: "file",
      retention: "interest",
      num_replicas: replicas
    })
    const info = yield* ensure({
      name: RMSGS_STREAM,
      subjects: [RMSGS_SUBJECT],
      storage: "file",
      retention: "limits",
      num_replicas: replicas
    })
    const { first_seq, last_seq, messages } = info.state
    if (messages === 0) return
    for (let seq = first_seq; seq <= last_seq; seq++) {
      const m = yield* Effect.option(this.js.streams.getMessage(RMSGS_STREAM, { seq }))
      if (m._tag === "None") continue
      const rm = decodeRetained(seq, m.value.data)
      if (rm === undefined) continue
      const old = this.retained.get(rm.subject)
      this.retained.set(rm.subject, rm)
      if (old !== undefined) this.deleteSeq(old.seq)
    }
  })

  /** A retained PUBLISH: an empty payload clears the topic (MQTT-3.3.1-10/11). */
  retain(subject: string, topic: string, payload: Uint8Array, qos: 0 | 1 | 2): void {
    if (payload.length === 0) {
      const old = this.retained.get(subject)
      if (old === undefined) return
      this.retained.delete(subject)
      this.deleteSeq(old.seq)
      return
    }
    const record = {
      origin: this.serverHash,
      subject,
      topic,
      msg: Buffer.from(payload).toString("base64"),
      // nats-server keeps the PUBLISH flags: retain bit and QoS bits.
      flags: 1 | (qos << 1)
    }
    const copy = payload.slice()
    this.store(RMSGS_SUBJECT, -1, utf8.encode(JSON.stringify(record)), (seq) => {
      if (seq === undefined) return
      const old = this.retained.get(subject)
      // Acks of two quick retained publishes on one topic may cross: the higher sequence wins.
      if (old !== undefined && old.seq >= seq) return this.deleteSeq(seq)
      this.retained.set(subject, { seq, subject, topic, payload: copy, qos })
      if (old !== undefined) this.deleteSeq(old.seq)
    })
  }

  private deleteSeq(seq: number): void {
    background(Effect.ignore(this.js.streams.deleteMessage(RMSGS_STREAM, seq)), () => undefined)
  }

  loadSession = (clientId: string) =>
    this.js.streams.getMessage(SESS_STREAM, { lastBySubject: SESS_PREFIX + hash(clientId) }).pipe(
      Effect.map((m): PersistedSession | undefined => {
        try {
          const s = JSON.parse(Buffer.from(m.data).toString("utf8")) as PersistedSession
          return s.id === clientId ? s : undefined
        } catch {
          return undefined
        }
      }),
      Effect.catch(() => Effect.succeed(undefined))
    )

  persistSession = (session: PersistedSession) =>
    Effect.ignore(this.js.publish(SESS_PREFIX + hash(session.id), JSON.stringify(session)))

  /** Removes the record and every durable consumer it names. */
  dropSession = (session: PersistedSession) =>
    Effect.gen({ self: this }, function*() {
      for (const c of Object.values(session.cons ?? {})) {
        yield* Effect.ignore(this.js.consumers.delete(MSGS_STREAM, c.durable_name))
      }
      yield* Effect.ignore(this.js.streams.purge(SESS_STREAM, { filter: SESS_PREFIX + hash(session.id) }))
    })

  /** The durable push consumer behind one QoS 1 or 2 subscription (nats-server `processJSConsumer`). */
  createConsumer = (durable: string, deliver: string, subject: string) => {
    const s = this.settings
    // nats-server asks for deliver_policy "new"; a start sequence pinned now says the same, and keeps
    // saying it when a consumer that has delivered nothing yet is recovered after a crash (where "new"
    // would be resolved again, past the messages queued for an offline session).
    return Effect.flatMap(this.js.streams.info(MSGS_STREAM), (info) =>
      this.js.consumers.add(MSGS_STREAM, {
        durable_name: durable,
        deliver_subject: deliver,
        ack_policy: "explicit",
        deliver_policy: "by_start_sequence",
        opt_start_seq: info.state.last_seq + 1,
        filter_subject: MSGS_PREFIX + subject,
        ack_wait: nanos(s.ackWaitMs),
        max_ack_pending: s.maxAckPending,
        ...(s.consumerMemoryStorage ? { mem_storage: true } : {}),
        ...(s.consumerReplicas > 0 ? { num_replicas: s.consumerReplicas } : {}),
        ...(s.consumerInactiveThresholdMs > 0 ? { inactive_threshold: nanos(s.consumerInactiveThresholdMs) } : {})
      })).pipe(Effect.asVoid)
  }

  deleteConsumer = (durable: string) => Effect.ignore(this.js.consumers.delete(MSGS_STREAM, durable))
}

const decodeRetained = (seq: number, data: Uint8Array): RetainedMessage | undefined => {
  try {
    const r = JSON.parse(Buffer.from(data).toString("utf8")) as {
      subject?: string
      topic?: string
      msg?: string
      flags?: number
    }
    if (typeof r.subject !== "string" || typeof r.topic !== "string") return undefined
    const qos = (((r.flags ?? 0) >> 1) & 3) as 0 | 1 | 2
    return { seq, subject: r.subject, topic: r.topic, payload: Buffer.from(r.msg ?? "", "base64"), qos }
  } catch {
    return undefined
  }
}
