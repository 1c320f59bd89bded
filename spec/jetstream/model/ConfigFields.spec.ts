/**
 * Field coverage of the stream and consumer config tables (ConfigFields.ts), over a real socket:
 * for every field of nats-server's current StreamConfig / ConsumerConfig (and the request-level
 * `pedantic`), a create with a non-zero value either round-trips in STREAM.INFO / CONSUMER.INFO
 * (honoured) or is refused with the documented error and changes nothing, and a create with the
 * field's zero value succeeds. Plus: unknown keys are 10025 naming the key, a nats.go-shaped body
 * (zero values for everything, `"consumer_limits":{}`) is accepted, and `filter_subjects` (2.10,
 * honoured) is reported back instead of being dropped.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../../src/config/BrokerConfig.ts"
import { API_LEVEL } from "../../../src/jetstream/model/ApiLevel.ts"
import {
  CONSUMER_CONFIG_FIELDS,
  CONSUMER_REQUEST_FIELDS,
  type FieldTable,
  type GoType,
  STREAM_CONFIG_FIELDS,
  STREAM_REQUEST_FIELDS,
  STREAM_SOURCE_FIELDS
} from "../../../src/jetstream/model/ConfigFields.ts"
import { CONFIG_FIELDS as CONSUMER_DECODED } from "../../../src/jetstream/model/ConsumerConfigDecode.ts"
import { CONFIG_FIELDS as STREAM_DECODED } from "../../../src/jetstream/model/StreamConfigDecode.ts"
import { type RunningBroker, startBroker } from "../../support/Broker.ts"

type Json = unknown
type Reply = { error?: { code: number; err_code: number; description: string }; config?: Record<string, Json> }

/**
 * A non-zero value per field. `with`: other keys the value needs to be valid; `echo`: what INFO
 * reports when it differs from the value; `update`: only settable by STREAM.UPDATE.
 */
interface Sample {
  readonly value: Json
  readonly with?: Record<string, Json>
  readonly echo?: Json
  readonly update?: boolean
  /** For `validated` fields: the error the validation answers with. */
  readonly error?: string
  /** A zero value besides `null` for honoured fields (unsupported ones derive theirs from the Go type). */
  readonly zero?: Json
  /** An enum type: Go refuses `null` for it (invalid JSON), so only `zero` is sent. */
  readonly enumType?: true
  /** The path the refusal names when it is not the field itself (a nested field). */
  readonly refusedAs?: string
}

const S = "CF" // stream name used by the consumer cases

/** `{ a: "b" }` as INFO shows it at 2.11: with ADR-44's required level and the server's version and level. */
const METADATA_ECHO = {
  "_nats.level": String(API_LEVEL),
  "_nats.req.level": "0",
  "_nats.ver": ADVERTISED_NATS_VERSION,
  a: "b"
}

const STREAM_SAMPLES: Record<string, Sample> = {
  name: { value: "@" },
  description: { value: "d", zero: "" },
  subjects: { value: ["@.x", "@.y"], zero: [] },
  retention: { value: "workqueue", zero: "limits", enumType: true },
  max_consumers: { value: 5, zero: 0 },
  max_msgs: { value: 10, zero: 0 },
  max_bytes: { value: 1000, zero: 0 },
  max_age: { value: 60_000_000_000, zero: 0 },
  max_msgs_per_subject: { value: 3, zero: 0 },
  max_msg_size: { value: 100, zero: 0 },
  discard: { value: "new", zero: "old", enumType: true },
  storage: { value: "memory", zero: "file", enumType: true },
  num_replicas: { value: 1, zero: 0 },
  no_ack: { value: true, zero: false },
  template_owner: { value: "T", zero: "", error: "stream not owned by template" },
  duplicate_window: { value: 5_000_000_000, zero: 0 },
  placement: { value: { tags: ["a"] } },
  mirror: { value: { name: "X" } },
  sources: { value: [{ name: "X" }], zero: [] },
  compression: { value: "s2", zero: "none", enumType: true },
  first_seq: { value: 5, zero: 0 },
  subject_transform: { value: { src: ">", dest: "t.>" } },
  republish: { value: { src: ">", dest: "r.>" } },
  allow_direct: { value: true, zero: false },
  mirror_direct: { value: true, zero: false, with: { mirror: { name: "X" } } },
  discard_new_per_subject: { value: true, zero: false, with: { discard: "new", max_msgs_per_subject: 1 } },
  sealed: { value: true, zero: false, update: true },
  deny_delete: { value: true, zero: false },
  deny_purge: { value: true, zero: false },
  allow_rollup_hdrs: { value: true, zero: false },
  consumer_limits: { value: { inactive_threshold: 60_000_000_000, max_ack_pending: 5 }, zero: {} },
  allow_msg_ttl: { value: true },
  subject_delete_marker_ttl: { value: 1_000_000_000 },
  allow_msg_counter: { value: true },
  allow_atomic: { value: true },
  allow_msg_schedules: { value: true },
  // 2.12, honoured (PersistModeConfig.ts): "async" round-trips, "default" is the zero (omitted).
  persist_mode: { value: "async", zero: "default", enumType: true },
  allow_batched: { value: true },
  metadata: { value: { a: "b" }, echo: METADATA_ECHO, zero: {} },
  pedantic: { value: true }
}

const CONSUMER_SAMPLES: Record<string, Sample> = {
  durable_name: { value: "@", zero: "" },
  name: { value: "@" },
  description: { value: "d", zero: "" },
  deliver_policy: { value: "new", zero: "all", enumType: true },
  opt_start_seq: { value: 5, zero: 0, with: { deliver_policy: "by_start_sequence" } },
  opt_start_time: { value: "2024-01-02T03:04:05Z", with: { deliver_policy: "by_start_time" } },
  ack_policy: { value: "all", zero: "explicit", enumType: true },
  ack_wait: { value: 5_000_000_000, zero: 0 },
  max_deliver: { value: 5, zero: 0 },
  backoff: { value: [1_000_000_000, 2_000_000_000], zero: [], with: { max_deliver: 5 } },
  filter_subject: { value: `${S}.a`, zero: "" },
  filter_subjects: { value: [`${S}.a`, `${S}.b`], zero: [] },
  replay_policy: { value: "original", zero: "instant", enumType: true },
  rate_limit_bps: { value: 1000, zero: 0, with: { deliver_subject: "dx" } },
  sample_freq: { value: "50%", zero: "" },
  max_waiting: { value: 10, zero: 0 },
  max_ack_pending: { value: 10, zero: 0 },
  flow_control: { value: true, zero: false, with: { deliver_subject: "dx", idle_heartbeat: 1_000_000_000 } },
  headers_only: { value: true, zero: false },
  max_batch: { value: 5, zero: 0 },
  max_expires: { value: 1_000_000_000, zero: 0 },
  max_bytes: { value: 100, zero: 0 },
  deliver_subject: { value: "dx", zero: "" },
  deliver_group: { value: "g", zero: "", with: { deliver_subject: "dx" } },
  idle_heartbeat: { value: 1_000_000_000, zero: 0, with: { deliver_subject: "dx" } },
  inactive_threshold: { value: 5_000_000_000, zero: 0 },
  num_replicas: { value: 1, zero: 0 },
  mem_storage: { value: true, zero: false },
  direct: { value: true, zero: false, with: { deliver_subject: "dx" } },
  sourcing: { value: true },
  metadata: { value: { a: "b" }, echo: METADATA_ECHO, zero: {} },
  // An offset is stored in UTC, as nats-server does.
  pause_until: { value: "2030-01-02T04:04:05+01:00", echo: "2030-01-02T03:04:05Z" },
  priority_groups: { value: ["g"], zero: [], with: { priority_policy: "overflow" } },
  // Go's enum decoder takes "none" but refuses null (invalid JSON: unknown priority policy: null).
  priority_policy: { value: "overflow", zero: "none", enumType: true, with: { priority_groups: ["g"] } },
  priority_timeout: {
    value: 1_000_000_000,
    zero: 0,
    with: { priority_policy: "pinned_client", priority_groups: ["g"] }
  },
  stream_name: { value: S },
  config: { value: {} },
  action: { value: "create", zero: "", enumType: true },
  pedantic: { value: true }
}

/** The zero values a client may send for an unsupported field of this Go type. */
const zerosOf = (t: GoType): ReadonlyArray<Json> => {
  switch (t.kind) {
    case "bool":
      return [null, false]
    case "int":
    case "uint":
      return [null, 0]
    case "string":
      return [null, ""]
    case "strings":
      return [null, []]
    case "time":
      return [null]
    case "enum":
      return t.zero // Go's enum decoders refuse null
    case "objects":
      return [null, []]
    case "object":
      return [
        null,
        {},
        Object.fromEntries(
          Object.entries(t.fields).map(([k, f]) => [k, f.support === "unsupported" ? zerosOf(f.type).at(-1) : null])
        )
      ]
  }
}

// `@` stands for the case's own name, so every case gets a fresh stream or consumer.
const named = (v: Json, name: string): Json => JSON.parse(JSON.stringify(v).replaceAll("@", name))

const enc = new TextEncoder()
const dec = new TextDecoder()

let broker: RunningBroker
let nc: NatsConnection
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

const api = async (subject: string, body: Json | string): Promise<Reply> => {
  const data = typeof body === "string" ? body : JSON.stringify(body)
  const m = await nc.request(`$JS.API.${subject}`, enc.encode(data), { timeout: 5000 })
  return JSON.parse(dec.decode(m.data)) as Reply
}

const fieldsOfTables = (...tables: ReadonlyArray<FieldTable>): ReadonlyArray<string> =>
  tables.flatMap((t) => Object.keys(t))

/**
 * The json keys of nats-server's current structs, in struct order (server/stream.go StreamConfig and
 * StreamSource, server/consumer.go ConsumerConfig and CreateConsumerRequest, main at 2.15-dev, commit
 * 1787eee03). `template_owner` is gone from them since 2.11; we keep it (2.9.10) and refuse it when set.
 */
const CURRENT_STREAM_CONFIG = [
  "name",
  "description",
  "subjects",
  "retention",
  "max_consumers",
  "max_msgs",
  "max_bytes",
  "max_age",
  "max_msgs_per_subject",
  "max_msg_size",
  "discard",
  "storage",
  "num_replicas",
  "no_ack",
  "duplicate_window",
  "placement",
  "mirror",
  "sources",
  "compression",
  "first_seq",
  "subject_transform",
  "republish",
  "allow_direct",
  "mirror_direct",
  "discard_new_per_subject",
  "sealed",
  "deny_delete",
  "deny_purge",
  "allow_rollup_hdrs",
  "consumer_limits",
  "allow_msg_ttl",
  "subject_delete_marker_ttl",
  "allow_msg_counter",
  "allow_atomic",
  "allow_msg_schedules",
  "persist_mode",
  "allow_batched",
  "metadata"
]
const CURRENT_STREAM_SOURCE = [
  "name",
  "opt_start_seq",
  "opt_start_time",
  "filter_subject",
  "subject_transforms",
  "external",
  "consumer"
]
const CURRENT_CONSUMER_CONFIG = [
  "durable_name",
  "name",
  "description",
  "deliver_policy",
  "opt_start_seq",
  "opt_start_time",
  "ack_policy",
  "ack_wait",
  "max_deliver",
  "backoff",
  "filter_subject",
  "filter_subjects",
  "replay_policy",
  "rate_limit_bps",
  "sample_freq",
  "max_waiting",
  "max_ack_pending",
  "flow_control",
  "headers_only",
  "max_batch",
  "max_expires",
  "max_bytes",
  "deliver_subject",
  "deliver_group",
  "idle_heartbeat",
  "inactive_threshold",
  "num_replicas",
  "mem_storage",
  "direct",
  "sourcing",
  "metadata",
  "pause_until",
  "priority_groups",
  "priority_policy",
  "priority_timeout"
]
const CURRENT_CONSUMER_REQUEST = ["stream_name", "config", "action", "pedantic"]

describe("the tables", () => {
  it("list every field of nats-server's current structs, and nothing else", () => {
    expect(Object.keys(STREAM_CONFIG_FIELDS).filter((k) => k !== "template_owner")).toEqual(CURRENT_STREAM_CONFIG)
    expect(Object.keys(STREAM_SOURCE_FIELDS)).toEqual(CURRENT_STREAM_SOURCE)
    expect(Object.keys(CONSUMER_CONFIG_FIELDS)).toEqual(CURRENT_CONSUMER_CONFIG)
    expect(Object.keys(CONSUMER_REQUEST_FIELDS)).toEqual(CURRENT_CONSUMER_REQUEST)
  })

  it("the fields after 2.10 we do not build are refused (unsupported); every stream config field up to 2.14 is honoured", () => {
    const unsupported = (t: FieldTable) =>
      Object.entries(t).filter(([, f]) => f.support === "unsupported").map(([k, f]) =>
        `${k}@${(f as { since: string }).since}`
      )
    expect(unsupported({ ...STREAM_CONFIG_FIELDS, ...STREAM_REQUEST_FIELDS })).toEqual([])
    // 2.14 durable sourcing (`consumer`, model/DurableSourcing.ts) is honoured now.
    expect(unsupported(STREAM_SOURCE_FIELDS)).toEqual([])
    // pause_until, the priority group fields and pedantic (2.11), and sourcing (2.14 durable sourcing) are honoured now.
    expect(unsupported({ ...CONSUMER_CONFIG_FIELDS, ...CONSUMER_REQUEST_FIELDS })).toEqual([])
  })

  it("every field has a sample, and the decoders fill exactly the honoured and validated rows", () => {
    expect(Object.keys(STREAM_SAMPLES).sort()).toEqual(
      [...fieldsOfTables(STREAM_CONFIG_FIELDS, STREAM_REQUEST_FIELDS)].sort()
    )
    expect(Object.keys(CONSUMER_SAMPLES).sort()).toEqual(
      [...fieldsOfTables(CONSUMER_CONFIG_FIELDS, CONSUMER_REQUEST_FIELDS)].sort()
    )
    const decodedRows = (t: FieldTable) =>
      Object.entries(t).filter(([, f]) => f.support !== "unsupported").map(([k]) => k).sort()
    expect([...STREAM_DECODED].sort()).toEqual(decodedRows(STREAM_CONFIG_FIELDS))
    expect([...CONSUMER_DECODED].sort()).toEqual(decodedRows(CONSUMER_CONFIG_FIELDS))
  })
})

describe("stream config fields", () => {
  const table = { ...STREAM_CONFIG_FIELDS, ...STREAM_REQUEST_FIELDS }
  let n = 0
  const fresh = () => `SF${n++}`
  const create = (name: string, extra: Record<string, Json>) => api(`STREAM.CREATE.${name}`, { name, ...extra })

  for (const [field, f] of Object.entries(table)) {
    const sample = STREAM_SAMPLES[field]!
    it(`${field} (${f.support}) with a non-zero value`, async () => {
      const name = fresh()
      const value = named(sample.value, name)
      const extra = { ...sample.with, [field]: value }
      if (f.support === "honoured") {
        if (sample.update === true) {
          expect((await create(name, sample.with ?? {})).error).toBeUndefined()
          expect((await api(`STREAM.UPDATE.${name}`, { name, ...extra })).error).toBeUndefined()
        } else {
          expect((await create(name, extra)).error).toBeUndefined()
        }
        // A request key (pedantic) is no part of the config: the create itself is the round trip.
        if (Object.hasOwn(STREAM_REQUEST_FIELDS, field)) return
        const info = await api(`STREAM.INFO.${name}`, "")
        expect(info.config?.[field]).toEqual(sample.echo ?? value)
        return
      }
      const reply = await create(name, extra)
      const description = f.support === "validated"
        ? sample.error
        : `stream configuration field "${sample.refusedAs ?? field}" is not supported`
      expect(reply.error?.description).toBe(description)
      if (f.support === "unsupported") expect(reply.error?.err_code).toBe(10052)
      // A refused create changes nothing.
      expect((await api(`STREAM.INFO.${name}`, "")).error?.err_code).toBe(10059)
    })
    const zeros = f.support === "unsupported"
      ? zerosOf(f.type)
      : field === "name"
      ? []
      : [...(sample.enumType === true ? [] : [null]), ...(sample.zero !== undefined ? [sample.zero] : [])]
    if (zeros.length > 0) {
      it(`${field} with its zero values ${JSON.stringify(zeros)} creates the stream`, async () => {
        for (const zero of zeros) {
          const name = fresh()
          const reply = await create(name, { [field]: zero })
          expect(reply.error, JSON.stringify(zero)).toBeUndefined()
          expect(reply.config?.name).toBe(name)
        }
      })
    }
  }

  it("an unknown key, top level or nested, is 10025 naming it and creates nothing", async () => {
    for (
      const [extra, key] of [[{ allow_everything: true }, "allow_everything"], [
        { consumer_limits: { max_acks: 0 } },
        "max_acks"
      ], [{ placement: { zone: "" } }, "zone"]] as const
    ) {
      const name = fresh()
      expect((await create(name, extra)).error).toEqual({
        code: 400,
        err_code: 10025,
        description: `invalid JSON: json: unknown field "${key}"`
      })
      expect((await api(`STREAM.INFO.${name}`, "")).error?.err_code).toBe(10059)
    }
  })

  it("keys match case-folded as Go does, nested and for unsupported fields too", async () => {
    const name = fresh()
    // The nested `Consumer.Name` is decoded: a consumer without a deliver subject (10215).
    expect((await create(name, { Sources: [{ Name: "X", Consumer: { Name: "d" } }] })).error?.err_code).toBe(10215)
    expect((await create(name, { Placement: { Preferred: "p" } })).error?.description).toBe(
      `stream configuration field "placement.preferred" is not supported`
    )
    expect((await create(name, { COMPRESSION: "none" })).error).toBeUndefined()
  })

  it("a wrong type for an unsupported field is invalid JSON, as in nats-server", async () => {
    for (
      const extra of [
        { allow_msg_counter: "yes" },
        { compression: "zstd" },
        { compression: null },
        { compression: "" },
        { persist_mode: 1 },
        { consumer_limits: [] },
        { subject_delete_marker_ttl: 1.5 },
        { subject_transform: { src: 1 } }
      ]
    ) {
      expect((await create(fresh(), extra)).error).toEqual({ code: 400, err_code: 10025, description: "invalid JSON" })
    }
  })

  it("an update with an unsupported non-zero field is refused and changes nothing", async () => {
    const name = fresh()
    expect((await create(name, { max_msgs: 5 })).error).toBeUndefined()
    const reply = await api(`STREAM.UPDATE.${name}`, {
      name,
      max_msgs: 7,
      placement: { preferred: "p" }
    })
    expect(reply.error).toEqual({
      code: 500,
      err_code: 10052,
      description: `stream configuration field "placement.preferred" is not supported`
    })
    expect((await api(`STREAM.INFO.${name}`, "")).config?.max_msgs).toBe(5)
  })

  it("a nats.go-shaped body (every non-omitempty key at its zero value) is accepted", async () => {
    const name = fresh()
    const body =
      `{"name":"${name}","subjects":["${name}.>"],"retention":"limits","max_consumers":0,"max_msgs":0,"max_bytes":0,"discard":"old","max_age":0,"max_msgs_per_subject":0,"storage":"file","num_replicas":0,"allow_direct":false,"mirror_direct":false,"sealed":false,"deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"compression":"none","consumer_limits":{},"allow_msg_ttl":false}`
    const reply = await api(`STREAM.CREATE.${name}`, body)
    expect(reply.error).toBeUndefined()
    expect(reply.config?.subjects).toEqual([`${name}.>`])
  })
})

describe("consumer config fields", () => {
  const table = { ...CONSUMER_CONFIG_FIELDS, ...CONSUMER_REQUEST_FIELDS }
  let n = 0
  const fresh = () => `C${n++}`
  beforeAll(async () => {
    expect((await api(`STREAM.CREATE.${S}`, { name: S, subjects: [`${S}.>`] })).error).toBeUndefined()
  })
  // A named pull consumer with explicit acks; `config` keys override, `request` keys sit beside.
  const create = (name: string, config: Record<string, Json>, request: Record<string, Json> = {}) =>
    api(`CONSUMER.CREATE.${S}.${name}`, {
      stream_name: S,
      config: { name, ack_policy: "explicit", ...config },
      ...request
    })
  const isRequestKey = (field: string) => Object.hasOwn(CONSUMER_REQUEST_FIELDS, field)

  for (const [field, f] of Object.entries(table)) {
    const sample = CONSUMER_SAMPLES[field]!
    it(`${field} (${f.support}) with a non-zero value`, async () => {
      const name = fresh()
      const value = named(sample.value, name)
      const reply = isRequestKey(field)
        ? await create(name, {}, { [field]: value })
        : await create(name, { ...sample.with, [field]: value })
      if (f.support === "honoured") {
        expect(reply.error).toBeUndefined()
        if (isRequestKey(field)) return // stream_name, config, action: the create itself is the round trip
        const info = await api(`CONSUMER.INFO.${S}.${name}`, "")
        expect(info.config?.[field]).toEqual(sample.echo ?? value)
        return
      }
      expect(reply.error).toEqual({
        code: 500,
        err_code: 10012,
        description: `consumer configuration field "${field}" is not supported`
      })
      expect((await api(`CONSUMER.INFO.${S}.${name}`, "")).error?.err_code).toBe(10014)
    })
    const zeros = f.support === "unsupported"
      ? zerosOf(f.type)
      : ["name", "stream_name", "config"].includes(field)
      ? []
      : [...(sample.enumType === true ? [] : [null]), ...(sample.zero !== undefined ? [sample.zero] : [])]
    if (zeros.length > 0) {
      it(`${field} with its zero values ${JSON.stringify(zeros)} creates the consumer`, async () => {
        for (const zero of zeros) {
          const name = fresh()
          const reply = isRequestKey(field)
            ? await create(name, {}, { [field]: zero })
            : await create(name, { [field]: zero })
          expect(reply.error, JSON.stringify(zero)).toBeUndefined()
        }
      })
    }
  }

  it("filter_subjects is kept, not dropped: consumer info reports the list as sent", async () => {
    const reply = await api(`CONSUMER.CREATE.${S}.FS`, {
      stream_name: S,
      config: { name: "FS", ack_policy: "explicit", filter_subjects: [`${S}.b`, `${S}.a`] }
    })
    expect(reply.error).toBeUndefined()
    const info = await api(`CONSUMER.INFO.${S}.FS`, "")
    expect(info.config?.filter_subjects).toEqual([`${S}.b`, `${S}.a`])
    expect(info.config?.filter_subject).toBeUndefined()
  })

  it("an unknown key in config or beside it is 10025 naming it", async () => {
    expect((await create(fresh(), { max_pulls: 1 })).error).toEqual({
      code: 400,
      err_code: 10025,
      description: `invalid JSON: json: unknown field "max_pulls"`
    })
    expect((await create(fresh(), {}, { strict: true })).error).toEqual({
      code: 400,
      err_code: 10025,
      description: `invalid JSON: json: unknown field "strict"`
    })
  })

  it("a wrong type or unknown value for a field is invalid JSON, as in nats-server", async () => {
    for (
      const config of [
        { filter_subjects: `${S}.a` },
        { filter_subjects: [1] },
        { pause_until: "tomorrow" },
        { priority_timeout: "1s" },
        { priority_groups: "g" },
        { sourcing: 1 }
      ]
    ) {
      expect((await create(fresh(), config)).error, JSON.stringify(config)).toEqual({
        code: 400,
        err_code: 10025,
        description: "invalid JSON"
      })
    }
    // priority_policy's own UnmarshalJSON error is in the description ("prioritized", 2.12, is a
    // policy: PrioritizedPolicy.spec.ts).
    for (const [policy, text] of [["fastest", `"fastest"`], [null, "null"], ["Prioritized", `"Prioritized"`]]) {
      expect((await create(fresh(), { priority_policy: policy, priority_groups: ["g"] })).error).toEqual({
        code: 400,
        err_code: 10025,
        description: `invalid JSON: unknown priority policy: ${text}`
      })
    }
  })

  it("ack_policy flow_control (2.14) is decoded and checked: a pull consumer is refused with 10218", async () => {
    const name = fresh()
    expect((await create(name, { ack_policy: "flow_control" })).error).toEqual({
      code: 400,
      err_code: 10218,
      description: "flow control ack policy requires a push based consumer"
    })
    expect((await api(`CONSUMER.INFO.${S}.${name}`, "")).error?.err_code).toBe(10014)
  })

  it("a nats.go-shaped body is accepted", async () => {
    const body =
      `{"stream_name":"${S}","config":{"durable_name":"NG","name":"NG","deliver_policy":"all","ack_policy":"explicit","ack_wait":30000000000,"max_deliver":-1,"replay_policy":"instant","max_waiting":512,"max_ack_pending":1000,"num_replicas":0},"action":"create"}`
    const reply = await api(`CONSUMER.CREATE.${S}.NG`, body)
    expect(reply.error).toBeUndefined()
    expect(reply.config?.durable_name).toBe("NG")
  })
})
