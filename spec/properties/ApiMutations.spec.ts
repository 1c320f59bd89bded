/**
 * Request decoding as a property: for every `$JS.API` subject, a valid body with a random mutation
 * (a value of the wrong type, negative, fractional, exponent or past the range; an unknown or
 * case-folded or duplicate key; truncation; an invalid UTF-8 byte; a different document) gets
 * either an error or the operation's documented success, and after an error the stream's messages,
 * sequences, consumers and their progress are exactly as before. Over a real socket against an
 * in-process broker. API_MUTATION_RUNS sets the number of runs (a few seconds by default).
 */
import { fc } from "@fast-check/vitest"
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ask, seed, snapshot } from "../jetstream/RequestBodyScenarios.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

const RUNS = Number(process.env.API_MUTATION_RUNS ?? "25")
const S = "P"
const dc = new TextDecoder()
const sc = new TextEncoder()

type Json = Record<string, unknown>
type Verdict = "error" | "success" | "invalid"

interface Operation {
  readonly subject: string
  /** Valid bodies; a mutation starts from one of them. */
  readonly bodies: ReadonlyArray<Json | "">
  /** How the reply is read: JSON API reply, a direct get, or a pull. */
  readonly kind: "api" | "direct" | "pull"
  /** The documented success of the operation, for a JSON reply without `error`. */
  readonly success?: (r: Json) => boolean
  /** The Go types of the request struct's fields, for the bodies decoded strictly (the oracle below). */
  readonly fields?: Record<string, GoType>
}

type GoType = "uint64" | "int" | "string" | "bool"

/** Would Go's encoding/json put this literal into a field of this type? (null always: the zero value.) */
const goAccepts = (t: GoType, literal: string): boolean => {
  if (literal === "null") return true
  if (t === "string") return literal.startsWith("\"")
  if (t === "bool") return literal === "true" || literal === "false"
  if (!/^-?\d+$/.test(literal)) return false
  const n = BigInt(literal)
  return t === "uint64" ? n >= 0n && n < 2n ** 64n : n >= -(2n ** 63n) && n < 2n ** 63n
}

const isObj = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const streamInfo = (r: Json) => isObj(r.config) && r.config.name === S && isObj(r.state)
const consumerInfo = (r: Json) => typeof r.name === "string" && isObj(r.config) && isObj(r.delivered)
const deleted = (r: Json) => r.success === true

const operations: ReadonlyArray<Operation> = [
  { subject: "INFO", bodies: [""], kind: "api", success: (r) => isObj(r.limits) && typeof r.streams === "number" },
  {
    subject: `STREAM.INFO.${S}`,
    bodies: ["", { deleted_details: true, subjects_filter: `${S}.1`, offset: 0 }],
    kind: "api",
    success: streamInfo,
    fields: { deleted_details: "bool", subjects_filter: "string", offset: "int" }
  },
  {
    subject: `STREAM.UPDATE.${S}`,
    bodies: [{ name: S, subjects: [`${S}.>`], allow_direct: true, max_msgs: 100 }],
    kind: "api",
    success: streamInfo
  },
  {
    subject: `STREAM.CREATE.${S}`,
    bodies: [{ name: S, subjects: [`${S}.>`], allow_direct: true }],
    kind: "api",
    success: streamInfo
  },
  {
    subject: "STREAM.NAMES",
    bodies: ["", { offset: 0, subject: `${S}.1` }],
    kind: "api",
    success: (r) => typeof r.total === "number" && (r.streams === null || Array.isArray(r.streams)),
    fields: { offset: "int", subject: "string" }
  },
  {
    subject: "STREAM.LIST",
    bodies: [{ offset: 0, subject: `${S}.2` }],
    kind: "api",
    success: (r) => typeof r.total === "number" && Array.isArray(r.streams),
    fields: { offset: "int", subject: "string" }
  },
  {
    subject: `STREAM.PURGE.${S}`,
    bodies: ["", { seq: 4 }, { filter: `${S}.1`, keep: 1 }],
    kind: "api",
    success: (r) => r.success === true && typeof r.purged === "number",
    fields: { seq: "uint64", filter: "string", keep: "uint64" }
  },
  {
    subject: `STREAM.MSG.GET.${S}`,
    bodies: [{ seq: 3 }, { last_by_subj: `${S}.1` }, { next_by_subj: `${S}.2`, seq: 2 }],
    kind: "api",
    success: (r) => isObj(r.message) && typeof r.message.seq === "number",
    fields: { seq: "uint64", last_by_subj: "string", next_by_subj: "string" }
  },
  {
    subject: `STREAM.MSG.DELETE.${S}`,
    bodies: [{ seq: 3, no_erase: true }],
    kind: "api",
    success: deleted,
    fields: { seq: "uint64", no_erase: "bool" }
  },
  { subject: `STREAM.DELETE.${S}`, bodies: [""], kind: "api", success: deleted },
  {
    subject: `CONSUMER.CREATE.${S}`,
    bodies: [{ stream_name: S, config: { ack_policy: "explicit", filter_subject: `${S}.1` } }],
    kind: "api",
    success: consumerInfo
  },
  {
    subject: `CONSUMER.DURABLE.CREATE.${S}.D`,
    bodies: [{ stream_name: S, config: { durable_name: "D", ack_policy: "explicit", max_deliver: 3 } }],
    kind: "api",
    success: consumerInfo
  },
  { subject: `CONSUMER.INFO.${S}.C`, bodies: [""], kind: "api", success: consumerInfo },
  { subject: `CONSUMER.DELETE.${S}.C`, bodies: [""], kind: "api", success: deleted },
  {
    subject: `CONSUMER.NAMES.${S}`,
    bodies: [{ offset: 0 }],
    kind: "api",
    success: (r) => Array.isArray(r.consumers),
    fields: { offset: "int" }
  },
  {
    subject: `CONSUMER.LIST.${S}`,
    bodies: [{ offset: 0 }],
    kind: "api",
    success: (r) => Array.isArray(r.consumers),
    fields: { offset: "int" }
  },
  {
    subject: `DIRECT.GET.${S}`,
    bodies: [{ seq: 2 }, { last_by_subj: `${S}.0` }],
    kind: "direct",
    fields: { seq: "uint64", last_by_subj: "string", next_by_subj: "string" }
  },
  {
    subject: `CONSUMER.MSG.NEXT.${S}.C`,
    bodies: [{ batch: 1, no_wait: true }, { batch: 2, expires: 50_000_000 }],
    kind: "pull",
    fields: { batch: "int", expires: "int", no_wait: "bool", max_bytes: "int", idle_heartbeat: "int" }
  }
]

/** Raw JSON literals that Go would refuse or accept for some field types and not others. */
const oddValue = fc.constantFrom(
  "\"5\"",
  "-1",
  "1.5",
  "1e2",
  "0",
  "18446744073709551616",
  "18446744073709551615",
  "-9223372036854775809",
  "9007199254740993",
  "null",
  "true",
  "{}",
  "[]",
  "\"\"",
  "\"P.*\"",
  "\"a\\u0000b\""
)

type Mutation =
  | { readonly m: "none" }
  | { readonly m: "value"; readonly pick: number; readonly value: string }
  | { readonly m: "unknown"; readonly key: string }
  | { readonly m: "duplicate"; readonly pick: number; readonly value: string }
  | { readonly m: "truncate"; readonly at: number }
  | { readonly m: "utf8"; readonly at: number; readonly byte: number }
  | { readonly m: "document"; readonly text: string }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ m: "none" as const }),
  fc.record({ m: fc.constant("value" as const), pick: fc.nat(), value: oddValue }),
  fc.record({ m: fc.constant("value" as const), pick: fc.nat(), value: oddValue }),
  fc.record({
    m: fc.constant("unknown" as const),
    key: fc.constantFrom("x", "SEQ", "Offset", "seq2", "__proto__", "constructor", "batch", "filter")
  }),
  fc.record({ m: fc.constant("duplicate" as const), pick: fc.nat(), value: oddValue }),
  fc.record({ m: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ m: fc.constant("utf8" as const), at: fc.nat(), byte: fc.constantFrom(0xff, 0xc3, 0x80, 0xed) }),
  fc.record({
    m: fc.constant("document" as const),
    text: fc.constantFrom("", " ", "null", "[]", "5", "\"x\"", "{}", "{\"\":1}", "{}{}", "\ufeff{}")
  })
)

/** The (top-level and `config.`) members of a body, as JSON text with one member's value or key replaced. */
const members = (body: Json): Array<{ readonly path: ReadonlyArray<string> }> => {
  const out: Array<{ path: ReadonlyArray<string> }> = []
  for (const [k, v] of Object.entries(body)) {
    out.push({ path: [k] })
    if (isObj(v)) { for (const k2 of Object.keys(v)) out.push({ path: [k, k2] }) }
  }
  return out
}

const PLACEHOLDER = "\u0001ODD\u0001"

const mutate = (body: Json | "", mut: Mutation): Uint8Array => {
  const text = body === "" ? "" : JSON.stringify(body)
  switch (mut.m) {
    case "none":
      return sc.encode(text)
    case "document":
      return sc.encode(mut.text)
    case "truncate":
      return sc.encode(text.slice(0, text.length === 0 ? 0 : mut.at % text.length))
    case "utf8": {
      const bytes = sc.encode(text)
      const at = bytes.length === 0 ? 0 : mut.at % bytes.length
      return Uint8Array.from([...bytes.subarray(0, at), mut.byte, ...bytes.subarray(at)])
    }
    case "unknown":
      return sc.encode(body === "" ? `{"${mut.key}":1}` : `{"${mut.key}":1,${text.slice(1)}`)
    case "value":
    case "duplicate": {
      if (body === "") return sc.encode(`{"seq":${mut.value}}`)
      const all = members(body)
      const { path } = all[mut.pick % all.length]!
      const copy = structuredClone(body)
      let into: Json = copy
      for (const k of path.slice(0, -1)) into = into[k] as Json
      const last = path[path.length - 1]!
      if (mut.m === "value") {
        into[last] = PLACEHOLDER
        return sc.encode(JSON.stringify(copy).replace(JSON.stringify(PLACEHOLDER), mut.value))
      }
      // The same key again after the valid one: Go applies both, in order.
      const s = JSON.stringify(copy)
      const keyText = JSON.stringify(last)
      const at = s.indexOf(keyText + ":")
      return sc.encode(s.slice(0, at) + `${keyText}:${mut.value},` + s.slice(at))
    }
  }
}

/**
 * The oracle for strictly decoded bodies: a mutation Go's decoder refuses (a value its field type
 * cannot hold; a key the struct does not have, strict mode) must be answered with an error.
 */
const mustFail = (op: Operation, body: Json | "", mut: Mutation): boolean => {
  const fields = op.fields
  if (fields === undefined) return false
  const fold = (k: string) => Object.keys(fields).find((f) => f === k.toLowerCase())
  if (mut.m === "unknown") return fold(mut.key) === undefined
  if (mut.m !== "value" && mut.m !== "duplicate") return false
  if (body === "") return fields.seq !== undefined && !goAccepts(fields.seq, mut.value)
  const all = members(body)
  const { path } = all[mut.pick % all.length]!
  const type = path.length === 1 ? fields[path[0]!] : undefined
  return type !== undefined && !goAccepts(type, mut.value)
}

const verdict = (op: Operation, m: Msg | undefined): Verdict => {
  if (op.kind === "pull") {
    if (m === undefined) return "success" // a waiting pull request
    if (m.headers === undefined || m.data.length > 0) return "success" // a delivery
    const code = m.headers.code
    if (code === 404 || (code === 408 && m.headers.description === "Request Timeout")) return "success"
    return code === 400 || code === 409 ? "error" : "invalid"
  }
  if (m === undefined) return "invalid" // every other request must be answered
  if (op.kind === "direct") {
    if (m.headers === undefined) return "invalid"
    if (m.data.length > 0 || m.headers.get("Nats-Sequence") !== "") return "success"
    if (m.headers.code === 404) return "success" // no such message: a read, nothing to change
    return m.headers.code === 408 ? "error" : "invalid"
  }
  let r: unknown
  try {
    r = JSON.parse(dc.decode(m.data))
  } catch {
    return "invalid"
  }
  if (!isObj(r) || typeof r.type !== "string" || !r.type.startsWith("io.nats.jetstream.api.v1.")) return "invalid"
  if (r.error !== undefined) {
    const e = r.error
    return isObj(e) && typeof e.code === "number" && typeof e.err_code === "number" && typeof e.description === "string"
      ? "error"
      : "invalid"
  }
  return op.success!(r) ? "success" : "invalid"
}

describe("API request mutations (property, over the wire)", () => {
  let broker: RunningBroker
  let nc: NatsConnection
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true })
    nc = await connect({ servers: broker.url, reconnect: false })
  })
  afterAll(async () => {
    await nc.close()
    await broker.stop()
  })

  it("every answer is an error or the documented success; an error changes nothing", async () => {
    const counts = { error: 0, success: 0 }
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), mutation, async (opPick, bodyPick, mut) => {
        const op = operations[opPick % operations.length]!
        const valid = op.bodies[bodyPick % op.bodies.length]!
        const body = mutate(valid, mut)
        await seed(nc, S)
        const before = await snapshot(nc, S)
        const reply = await ask(nc, `$JS.API.${op.subject}`, body, op.kind === "pull" ? 300 : 2000)
        const v = verdict(op, reply)
        const shown = reply === undefined ? "no reply" : `${reply.headers?.code ?? ""} ${dc.decode(reply.data)}`
        expect(v, `${op.subject} ${JSON.stringify(dc.decode(body))} → ${shown}`).not.toBe("invalid")
        if (mustFail(op, valid, mut)) {
          expect(v, `${op.subject} ${JSON.stringify(dc.decode(body))} → ${shown}`).toBe("error")
        }
        if (v === "error") {
          counts.error++
          expect(await snapshot(nc, S), `${op.subject} ${JSON.stringify(dc.decode(body))} → ${shown}`).toEqual(before)
        } else {
          counts.success++
        }
      }),
      // No shrinking: every attempt is a dozen round trips, and the failure message names the body already.
      { numRuns: RUNS, endOnFailure: true }
    )
    // Both outcomes are exercised (the mutations are not all harmless, nor all fatal).
    expect(counts.error).toBeGreaterThan(0)
    expect(counts.success).toBeGreaterThan(0)
  }, 60_000 + RUNS * 500)
})
