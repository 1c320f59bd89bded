/**
 * Differential: STREAM.CREATE / STREAM.UPDATE bodies sent to a real nats-server (2.9.10 on the dev
 * image) and to our decoders; the error JSON or the normalized config JSON must be byte-identical.
 * Needs `nats-server` on PATH; otherwise the suite is skipped with the reason printed.
 *
 * Cases where we deviate on purpose (mirror/sources/republish on create, replicas on update,
 * metadata/first_seq, streams that capture `$JS.API.>`) are covered by StreamConfig.spec.ts only,
 * except the strict keys (ConfigFields.ts), whose cases state the difference (`differs`).
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeJson, parseJson } from "../../../src/jetstream/codec/Json.ts"
import { apiErrorResponse } from "../../../src/jetstream/model/ApiError.ts"
import {
  decodeStreamCreate,
  decodeStreamUpdate,
  type ServerStreamLimits,
  type StreamConfig
} from "../../../src/jetstream/model/StreamConfig.ts"
import { encodeStreamConfig } from "../../../src/jetstream/model/StreamConfigEncode.ts"
import { natsServerPath, type RunningNatsServer, startNatsServer } from "../../support/Broker.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) {
  console.log("differential stream-config tests skipped: nats-server is not on PATH (apt-get install nats-server)")
}

const MAX_MEMORY = 1024 * 1024 * 1024
const MAX_FILE = 10 * 1024 * 1024 * 1024

interface Case {
  readonly label: string
  /** Stream name token used in the request subject. */
  readonly stream?: string
  /** Bodies applied first (a create, then updates) — for update cases. */
  readonly setup?: ReadonlyArray<string>
  readonly op: "create" | "update"
  /** `%` stands for the case's stream name. */
  readonly body: string | Uint8Array
  /**
   * A deliberate difference: 2.9.10 accepts the body (it ignores keys it does not know) and we
   * refuse it with this error description (ConfigFields.ts: unknown keys and unsupported fields).
   */
  readonly differs?: string
}

const create = (label: string, body: string, stream?: string): Case => ({
  label,
  op: "create",
  body,
  ...(stream !== undefined ? { stream } : {})
})
const update = (label: string, setup: ReadonlyArray<string>, body: string): Case => ({
  label,
  op: "update",
  setup,
  body
})
const refused = (label: string, body: string, differs: string): Case => ({ label, op: "create", body, differs })

const big = "x".repeat(256)
const wq =
  `{"name":"%","subjects":["%.a","%.b.*"],"retention":"workqueue","storage":"memory","discard":"new","deny_delete":true,"deny_purge":true,"max_msgs_per_subject":3,"discard_new_per_subject":true,"max_consumers":4}`

const cases: ReadonlyArray<Case> = [
  create("minimal", `{"name":"%"}`),
  create("empty body", ``),
  create("whitespace body", `  `),
  create("null body", `null`),
  create("array body", `[]`),
  create("number body", `5`),
  create("truncated", `{"name":"%"`),
  create("trailing garbage", `{"name":"%"} x`),
  create("BOM", `\ufeff{"name":"%"}`),
  create("name mismatch", `{"name":"OTHER"}`),
  create("case-insensitive keys", `{"NAME":"%","Subjects":["%.x"],"STORAGE":"memory"}`),
  create("long-s key folds to s", `{"name":"%","\u017fubjects":["%.q"]}`),
  create("duplicate key, last wins", `{"name":"zzz","name":"%"}`),
  refused(
    "unknown fields refused",
    `{"name":"%","foo":[1,{"a":null}],"bar":"x"}`,
    `invalid JSON: json: unknown field "foo"`
  ),
  refused(
    "unknown nested key refused",
    `{"name":"%","consumer_limits":{"max_acks":1}}`,
    `invalid JSON: json: unknown field "max_acks"`
  ),
  // 2.14 durable sourcing (2.9.10 ignores the field): a consumer without a deliver subject is 10215.
  refused(
    "source consumer without deliver subject refused (a nested field)",
    `{"name":"%","sources":[{"name":"X","consumer":{"name":"d"}}]}`,
    "stream source consumer config is invalid"
  ),
  // 2.12's persist_mode is honoured: refused only where nats-server's checkStreamCfg refuses it.
  refused(
    "persist_mode async on memory refused",
    `{"name":"%","storage":"memory","persist_mode":"async"}`,
    "async persist mode is only supported on file storage"
  ),
  // 2.11's pedantic: nothing here would be adjusted, so the config is 2.9.10's (which ignores the key).
  create("pedantic with nothing to refuse", `{"name":"%","pedantic":true}`),
  create(
    "current fields at their zero values",
    `{"name":"%","compression":"none","consumer_limits":{},"subject_transform":null,"allow_msg_ttl":false,"subject_delete_marker_ttl":0,"allow_msg_counter":false,"allow_atomic":false,"allow_msg_schedules":false,"persist_mode":"default","allow_batched":false,"pedantic":false}`
  ),
  create("float for int", `{"name":"%","max_msgs":1.0}`),
  create("exponent for int", `{"name":"%","max_msgs":1e3}`),
  create("string for int", `{"name":"%","max_age":"1s"}`),
  create("number for bool", `{"name":"%","no_ack":1}`),
  create("number for string", `{"name":"%","description":5}`),
  create("null int is zero", `{"name":"%","max_msgs":null,"max_bytes":null}`),
  create("null retention", `{"name":"%","retention":null}`),
  create("null discard", `{"name":"%","discard":null}`),
  create("null bool and subjects", `{"name":"%","sealed":null,"subjects":null}`),
  create("discard upper case", `{"name":"%","discard":"NEW"}`),
  create("retention wrong case", `{"name":"%","retention":"WorkQueue"}`),
  create("storage wrong case", `{"name":"%","storage":"Memory"}`),
  create("retention unknown", `{"name":"%","retention":"forever"}`),
  create("replicas 3", `{"name":"%","num_replicas":3}`),
  create("replicas 6", `{"name":"%","num_replicas":6}`),
  create("replicas -1", `{"name":"%","num_replicas":-1}`),
  create("replicas bool", `{"name":"%","num_replicas":true}`),
  create("sealed", `{"name":"%","sealed":true}`),
  create("template owner", `{"name":"%","template_owner":"T"}`),
  create("mirror direct without mirror", `{"name":"%","mirror_direct":true}`),
  create(
    "placement and escaped description",
    `{"name":"%","placement":{"cluster":"x","tags":["a"]},"description":"a<b>&\\b\\f\\u2028\\u0001é\\\\\\""}`
  ),
  create("empty placement", `{"name":"%","placement":{}}`),
  create("null subject element", `{"name":"%","subjects":[null]}`),
  create("subject in JS API", `{"name":"%","subjects":["$JS.API.X","b"]}`),
  create("subject $JS.API literal allowed", `{"name":"%","subjects":["$JS.API"]}`),
  create("self overlap", `{"name":"%","subjects":["%.*","%.b"]}`),
  create("self overlap reversed", `{"name":"%","subjects":["%.b","%.>"]}`),
  create("wildcard self overlap", `{"name":"%","subjects":["%.*.a","%.b.>","%"]}`),
  create("wildcards ok", `{"name":"%","subjects":["%.*.a","%.x.b.>","%"]}`),
  create("storage exceeded", `{"name":"%","max_bytes":100000000000000}`),
  create("memory exceeded", `{"name":"%","storage":"memory","max_bytes":100000000000000}`),
  create(
    "storage exceeded before replicas",
    `{"name":"%","storage":"file","max_bytes":100000000000000,"num_replicas":-1}`
  ),
  create("replicas before unset-storage limit", `{"name":"%","max_bytes":100000000000000,"num_replicas":-1}`),
  create("max_bytes fits", `{"name":"%","storage":"memory","max_bytes":1024}`),
  create("max_msg_size int32 overflow", `{"name":"%","max_msg_size":3000000000}`),
  create("path separator", `{"name":"a/b"}`, "a/b"),
  create("backslash", `{"name":"a\\\\b"}`, "a\\b"),
  create("wildcard name", `{"name":"*"}`, "*"),
  create("gt name", `{"name":">"}`, ">"),
  create("name too long", `{"name":"${big}"}`, big),
  create("unicode name", `{"name":"ñame"}`, "ñame"),
  create("description too long", `{"name":"%","description":"${"d".repeat(4097)}"}`),
  create("max_age 50ms", `{"name":"%","max_age":50000000}`),
  create("max_age 1s sets window", `{"name":"%","max_age":1000000000}`),
  create("window larger than age", `{"name":"%","max_age":1000000000,"duplicate_window":2000000000}`),
  create("negative window", `{"name":"%","duplicate_window":-5}`),
  create("tiny window", `{"name":"%","duplicate_window":50}`),
  create("negative age", `{"name":"%","max_age":-5}`),
  create("negative age, big window", `{"name":"%","max_age":-5,"duplicate_window":1000000000000}`),
  create("window 1h with no age", `{"name":"%","duplicate_window":3600000000000}`),
  create("rollup without purge", `{"name":"%","deny_purge":true,"allow_rollup_hdrs":true}`),
  create("discard new per subject alone", `{"name":"%","discard_new_per_subject":true}`),
  create("discard new per subject, no per-subject max", `{"name":"%","discard_new_per_subject":true,"discard":"new"}`),
  create(
    "discard new per subject ok",
    `{"name":"%","discard_new_per_subject":true,"discard":"new","max_msgs_per_subject":2}`
  ),
  create("duplicate subjects", `{"name":"%","subjects":["%.a","%.a"]}`),
  create("empty subject", `{"name":"%","subjects":["%.a",""]}`),
  create("gt in middle", `{"name":"%","subjects":["%.>.b"]}`),
  create("space in subject", `{"name":"%","subjects":["%.a b"]}`),
  create("vertical tab allowed", `{"name":"%","subjects":["%.a\\u000bb"]}`),
  create("empty subjects list", `{"name":"%","subjects":[]}`),
  create("subjects not a list", `{"name":"%","subjects":"a"}`),
  create(
    "int64 max limits",
    `{"name":"%","max_msgs":9223372036854775807,"max_age":9223372036854775807,"duplicate_window":1000000000}`
  ),
  create("int64 overflow", `{"name":"%","max_msgs":9223372036854775808}`),
  create(
    "negative limits kept",
    `{"name":"%","max_consumers":-7,"max_msgs":-9,"max_msg_size":-2,"max_msgs_per_subject":-4,"max_bytes":-2,"no_ack":true,"allow_direct":true}`
  ),
  create(
    "explicit limits",
    `{"name":"%","max_consumers":10,"max_msgs":100,"max_msgs_per_subject":5,"max_msg_size":1024,"max_age":3600000000000}`
  ),
  create("interest memory", `{"name":"%","retention":"interest","storage":"memory","deny_delete":true,"sealed":false}`),
  create("workqueue", wq),
  update("identical", [wq], wq),
  update("max_consumers change", [wq], wq.replace(`"max_consumers":4`, `"max_consumers":5`)),
  update("storage change", [wq], wq.replace(`"memory"`, `"file"`)),
  update("retention change", [wq], wq.replace(`"workqueue"`, `"limits"`)),
  update("cancel deny_delete", [wq], wq.replace(`"deny_delete":true`, `"deny_delete":false`)),
  update("cancel deny_purge", [wq], wq.replace(`"deny_purge":true`, `"deny_purge":false`)),
  update("seal with rollups", [wq], wq.replace(`}`, `,"sealed":true,"max_age":5000000000,"allow_rollup_hdrs":true}`)),
  update("seal", [wq], wq.replace(`}`, `,"sealed":true,"max_age":5000000000}`)),
  update("unseal", [wq, wq.replace(`}`, `,"sealed":true}`)], wq),
  update("discard new per subject kept rules", [wq], wq.replace(`"discard":"new"`, `"discard":"old"`)),
  update("template owner", [`{"name":"%"}`], `{"name":"%","template_owner":"T"}`),
  update("republish", [`{"name":"%"}`], `{"name":"%","republish":{"dest":"zz.>"}}`),
  create("republish all", `{"name":"%","subjects":["%.>"],"republish":{"dest":"rp.%.>"}}`),
  create(
    "republish headers only",
    `{"name":"%","subjects":["%.>"],"republish":{"src":"%.a.*","dest":"rp.$1","headers_only":true}}`
  ),
  create(
    "republish headers only false",
    `{"name":"%","subjects":["%.>"],"republish":{"src":"","dest":"rp.>","headers_only":false}}`
  ),
  create("republish transform not valid", `{"name":"%","subjects":["%.*"],"republish":{"src":"%.*","dest":"rp"}}`),
  create("republish cycle on create", `{"name":"%","subjects":["%.>"],"republish":{"dest":"%.x.>"}}`),
  create("republish source not in subjects", `{"name":"%","subjects":["%.a"],"republish":{"src":"q.>","dest":"rp.>"}}`),
  create("republish bad field type", `{"name":"%","republish":{"dest":1}}`),
  update(
    "republish unchanged",
    [`{"name":"%","republish":{"dest":"rq.>"}}`],
    `{"name":"%","republish":{"src":">","dest":"rq.>"}}`
  ),
  update(
    "republish changed",
    [`{"name":"%","republish":{"dest":"rq.>"}}`],
    `{"name":"%","republish":{"dest":"rq.>","headers_only":true}}`
  ),
  update("republish removed", [`{"name":"%","republish":{"dest":"rq.>"}}`], `{"name":"%"}`),
  update("republish source outside subjects", [`{"name":"%"}`], `{"name":"%","republish":{"src":"q","dest":"zz.>"}}`),
  update("republish cycle", [`{"name":"%"}`], `{"name":"%","republish":{"dest":"%"}}`),
  update("mirror", [`{"name":"%"}`], `{"name":"%","mirror":{"name":"X"}}`),
  create("mirror plain", `{"name":"%","mirror":{"name":"ORIG"}}`),
  create(
    "sources plain",
    `{"name":"%","sources":[{"name":"A"},{"name":"B","filter_subject":"b.>","opt_start_seq":3}]}`
  ),
  create("sources with subjects", `{"name":"%","subjects":["%.x"],"sources":[{"name":"A"}]}`),
  create("sources empty list", `{"name":"%","sources":[]}`),
  create("sources wrong type", `{"name":"%","sources":{"name":"A"}}`),
  update("sources added", [`{"name":"%"}`], `{"name":"%","sources":[{"name":"A"}]}`),
  update("sources removed", [`{"name":"%","sources":[{"name":"A"}]}`], `{"name":"%"}`),
  create(
    "mirror start time and filter",
    `{"name":"%","mirror":{"name":"ORIG","opt_start_time":"2024-01-02T03:04:05.120+02:00","opt_start_seq":0,"filter_subject":"a.>"}}`
  ),
  create("mirror start seq", `{"name":"%","mirror":{"name":"ORIG","opt_start_seq":7},"max_age":5000000000}`),
  create("mirror name wrong type", `{"name":"%","mirror":{"name":1}}`),
  create("mirror start seq negative", `{"name":"%","mirror":{"name":"O","opt_start_seq":-1}}`),
  create("mirror bad start time", `{"name":"%","mirror":{"name":"O","opt_start_time":"yesterday"}}`),
  create("mirror null", `{"name":"%","mirror":null}`),
  create("mirror direct with mirror", `{"name":"%","mirror":{"name":"ORIG"},"mirror_direct":true}`),
  update(
    "mirror unchanged",
    [`{"name":"%","mirror":{"name":"ORIG"}}`],
    `{"name":"%","mirror":{"name":"ORIG"},"max_msgs":5}`
  ),
  update("mirror removed", [`{"name":"%","mirror":{"name":"ORIG"}}`], `{"name":"%"}`),
  update("mirror with subjects", [`{"name":"%"}`], `{"name":"%","subjects":["%"],"mirror":{"name":"X"}}`),
  update("mirror direct without mirror", [`{"name":"%"}`], `{"name":"%","mirror_direct":true}`),
  update("name mismatch", [`{"name":"%"}`], `{"name":"OTHER"}`),
  update("not found", [], `{"name":"%"}`),
  update("not found but invalid JSON first", [], `{`),
  update("not found but config error first", [], `{"name":"%","duplicate_window":-1}`),
  update("empty body", [`{"name":"%"}`], ``),
  update("null body", [`{"name":"%"}`], `null`),
  update("invalid name", [`{"name":"%"}`], `{"name":"%.x"}`),
  update("max_bytes growth too big", [`{"name":"%"}`], `{"name":"%","max_bytes":100000000000000}`),
  update("max_bytes growth fits", [`{"name":"%","max_bytes":1000}`], `{"name":"%","max_bytes":2000}`),
  update("max_bytes shrink", [`{"name":"%","max_bytes":1000}`], `{"name":"%","max_bytes":500}`),
  update("subjects change", [`{"name":"%"}`], `{"name":"%","subjects":["%","%.q.>"]}`),
  update("subjects default back to name", [`{"name":"%","subjects":["%.a"]}`], `{"name":"%"}`),
  update(
    "limits change",
    [`{"name":"%"}`],
    `{"name":"%","max_msgs":10,"max_age":2000000000,"allow_rollup_hdrs":true,"allow_direct":true}`
  )
]

const enc = new TextEncoder()
const dec = new TextDecoder()

const named = (body: string | Uint8Array, name: string): string | Uint8Array =>
  typeof body === "string" ? body.replaceAll("%", name) : body

describe.skipIf(natsServer === undefined)("stream config: decoders vs nats-server", () => {
  let nats: RunningNatsServer
  let nc: NatsConnection
  let dir: string

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-sc-"))
    const conf = path.join(dir, "js.conf")
    fs.writeFileSync(
      conf,
      `jetstream { store_dir: ${
        JSON.stringify(path.join(dir, "store"))
      }, max_memory_store: ${MAX_MEMORY}, max_file_store: ${MAX_FILE} }\n`
    )
    nats = await startNatsServer(["-c", conf])
    nc = await connect({ servers: nats.url, reconnect: false })
  })
  afterAll(async () => {
    await nc?.close()
    await nats?.stop()
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  })

  const request = async (subject: string, body: string | Uint8Array): Promise<string> => {
    const m = await nc.request(subject, typeof body === "string" ? enc.encode(body) : body, { timeout: 5000 })
    return dec.decode(m.data)
  }

  const limitsFor = (current: StreamConfig | undefined): ServerStreamLimits => ({
    maxMemoryStore: MAX_MEMORY,
    maxFileStore: MAX_FILE,
    reservedMemory: current !== undefined && current.storage === "memory" && current.max_bytes > 0
      ? current.max_bytes
      : 0,
    reservedFile: current !== undefined && current.storage === "file" && current.max_bytes > 0 ? current.max_bytes : 0
  })

  // The part of a reply our decoders produce: the error, or the config (not created/state).
  const expected = (reply: string, type: string): string => {
    const parsed = parseJson(reply) as { error?: unknown; config?: unknown }
    if (parsed.error !== undefined) return reply
    const start = reply.indexOf(`"config":`) + `"config":`.length
    const end = reply.indexOf(`,"created":`)
    expect(start).toBeGreaterThan(8)
    return `${type}:${reply.slice(start, end)}`
  }

  cases.forEach((c, i) => {
    it(`${c.op}: ${c.label}`, async () => {
      const name = c.stream ?? `SC${i}`
      let current: StreamConfig | undefined
      try {
        for (const [j, body] of (c.setup ?? []).entries()) {
          const b = named(body, name) as string
          const api = j === 0 ? "CREATE" : "UPDATE"
          const reply = parseJson(await request(`$JS.API.STREAM.${api}.${name}`, b)) as { error?: unknown }
          expect(reply.error).toBeUndefined()
          const ours = j === 0 ? decodeStreamCreate(b, name) : decodeStreamUpdate(b, name, current, limitsFor(current))
          if (!ours.ok) throw new Error(`setup rejected by us: ${encodeJson(ours.error)}`)
          current = ours.config
        }
        const body = named(c.body, name)
        const type = c.op === "create"
          ? "io.nats.jetstream.api.v1.stream_create_response"
          : "io.nats.jetstream.api.v1.stream_update_response"
        const theirs = expected(await request(`$JS.API.STREAM.${c.op.toUpperCase()}.${name}`, body), type)
        const ours = c.op === "create"
          ? decodeStreamCreate(body, name, limitsFor(undefined))
          : decodeStreamUpdate(body, name, current, limitsFor(current))
        const oursText = ours.ok
          // The 2.9.10 form: the reference here is nats-server 2.9.10's own config.
          ? `${type}:${encodeJson(encodeStreamConfig(ours.config, false))}`
          : apiErrorResponse(type, ours.error)
        if (c.differs === undefined) {
          expect(oursText).toBe(theirs)
        } else {
          // 2.9.10 silently drops the key and creates the stream; we refuse the whole request.
          expect(theirs.startsWith(`${type}:`)).toBe(true)
          expect(ours.ok ? undefined : ours.error.description).toBe(c.differs)
        }
      } finally {
        await request(`$JS.API.STREAM.DELETE.${name}`, "")
      }
    })
  })
})
