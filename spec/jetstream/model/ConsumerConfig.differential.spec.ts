/**
 * Differential: CONSUMER.CREATE / CONSUMER.DURABLE.CREATE requests and MSG.NEXT pull-request bodies
 * sent to a real nats-server (2.9.10 on the dev image) and to our decoders; the error JSON or the
 * normalized config JSON (pull requests: the 400 status description) must be byte-identical.
 * Needs `nats-server` on PATH; otherwise the suite is skipped with the reason printed.
 *
 * Deliberate deviations (body `name` with path separators, `metadata`, `action`) are covered by
 * ConsumerConfig.spec.ts only.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeJson, parseJson } from "../../../src/jetstream/codec/Json.ts"
import { apiErrorResponse } from "../../../src/jetstream/model/ApiError.ts"
import {
  checkAgainstStream,
  checkUpdate,
  type ConsumerConfig,
  consumerName,
  decodeConsumerCreate,
  encodeConsumerConfig,
  updatedConfig
} from "../../../src/jetstream/model/ConsumerConfig.ts"
import { decodePullRequest } from "../../../src/jetstream/model/PullRequest.ts"
import { decodeStreamCreate, type StreamConfig } from "../../../src/jetstream/model/StreamConfig.ts"
import { natsServerPath, type RunningNatsServer, startNatsServer } from "../../support/Broker.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) {
  console.log("differential consumer-config tests skipped: nats-server is not on PATH (apt-get install nats-server)")
}

const TYPE = "io.nats.jetstream.api.v1.consumer_create_response"

interface Case {
  readonly label: string
  /** Stream config body; `%` is the case's stream name. */
  readonly stream?: string
  /** Consumer creates applied first: [subject suffix after the stream token, config JSON]. */
  readonly setup?: ReadonlyArray<readonly [string, string]>
  /** Subject suffix after `$JS.API.CONSUMER.CREATE.<stream>` (e.g. "" or ".NAME"); "DURABLE:X" for the legacy durable API. */
  readonly suffix: string
  /** The config JSON (wrapped as {"stream_name":..,"config":..}) or, with `raw`, the whole body. */
  readonly config: string
  readonly raw?: boolean
  /**
   * A deliberate difference: 2.9.10 creates the consumer (it ignores keys it does not know) and
   * we refuse it with this error description (ConfigFields.ts).
   */
  readonly differs?: string
}

const LIMITS = `{"name":"%","subjects":["%.>"]}`
const WQ = `{"name":"%","subjects":["%.>"],"retention":"workqueue"}`
const MEM = `{"name":"%","subjects":["%.>","other.*"],"storage":"memory","max_consumers":2}`

const c = (label: string, suffix: string, config: string, extra: Partial<Case> = {}): Case => ({
  label,
  suffix,
  config,
  ...extra
})

const long = "N".repeat(256)
const T = "2024-01-02T03:04:05.123456789+02:00"

const cases: ReadonlyArray<Case> = [
  // request shape and subject rules
  c("legacy ephemeral defaults", "", `{}`),
  c("empty body", "", ``, { raw: true }),
  c("null body", "", `null`, { raw: true }),
  c("array body", "", `[]`, { raw: true }),
  c("config null", "", `{"stream_name":"%","config":null}`, { raw: true }),
  c("config string", "", `{"stream_name":"%","config":"x"}`, { raw: true }),
  c("missing config", "", `{"stream_name":"%"}`, { raw: true }),
  c("case-insensitive keys", "", `{"STREAM_NAME":"%","Config":{"ACK_POLICY":"explicit","Max_Deliver":3}}`, {
    raw: true
  }),
  c("stream name mismatch", "", `{"stream_name":"OTHER","config":{}}`, { raw: true }),
  {
    ...c("unknown keys refused", "", `{"foo":1,"bar":{"x":[null]}}`),
    differs: `invalid JSON: json: unknown field "foo"`
  },
  {
    // 2.10 rules: 2.9.10 ignores filter_subjects, we check it as the current server does.
    ...c("overlapping filter_subjects refused", "", `{"filter_subjects":["%.a","%.*"]}`),
    differs: "consumer subject filters cannot overlap"
  },
  {
    // 2.11 rules (2.9.10 ignores the key): a policy needs a pull consumer with groups.
    ...c("priority policy without groups refused", "", `{"priority_policy":"overflow"}`),
    differs: "Setting PriorityPolicy requires at least one PriorityGroup to be set"
  },
  c(
    "current fields at their zero values",
    "",
    `{"filter_subjects":[],"priority_groups":null,"priority_policy":"none","priority_timeout":0,"pause_until":null,"sourcing":false}`
  ),
  c("legacy ephemeral with durable", "", `{"durable_name":"D"}`),
  c("legacy ephemeral with name", "", `{"name":"N1"}`),
  c("legacy ephemeral bad name", "", `{"name":"a.b"}`),
  c("legacy ephemeral name with star", "", `{"name":"a*"}`),
  c("legacy ephemeral long name (file store)", "", `{"name":"${long}"}`),
  c("legacy ephemeral long name (memory store)", "", `{"name":"${long}"}`, { stream: MEM }),
  c("legacy ephemeral long name, mem_storage", "", `{"name":"${long}","mem_storage":true}`),
  c("new style named", ".N", `{"ack_policy":"explicit"}`),
  c("new style durable", ".D", `{"durable_name":"D","ack_policy":"all"}`),
  c("new style durable mismatch", ".D", `{"durable_name":"E"}`),
  c("new style name overridden by subject", ".D", `{"name":"other"}`),
  c("new style durable and name differ", ".D", `{"durable_name":"D","name":"other"}`),
  c("new style path separator", ".a\\b", `{}`),
  c("new style slash", ".a/b", `{}`),
  c("new style bad name token", ".ab*", `{}`),
  c("new style long durable", `.${long}`, `{"durable_name":"${long}"}`),
  c("new style filter matches", ".F.%.a", `{"filter_subject":"%.a"}`),
  c("new style filter mismatch", ".F.%.a", `{"filter_subject":"%.b"}`),
  c("new style filter missing", ".F.%.a", `{}`),
  c("one-token filter in subject ignored by 2.9.10, compared by 2.10", ".F.xyz", `{}`, {
    differs: "Consumer create request did not match filtered subject from create subject"
  }),
  c("legacy durable", "DURABLE:D", `{"durable_name":"D"}`),
  c("legacy durable not set", "DURABLE:D", `{}`),
  c("legacy durable mismatch", "DURABLE:D", `{"durable_name":"E"}`),
  c("legacy durable slash", "DURABLE:a/b", `{"durable_name":"a/b"}`),
  c("legacy durable with name", "DURABLE:D", `{"durable_name":"D","name":"D"}`),
  c("legacy durable with other name", "DURABLE:D", `{"durable_name":"D","name":"X"}`),
  // decoding
  c("float for int", "", `{"max_deliver":1.0}`),
  c("string for int", "", `{"ack_wait":"30s"}`),
  c("negative uint", "", `{"opt_start_seq":-1,"deliver_policy":"by_start_sequence"}`),
  c("null enum", "", `{"ack_policy":null}`),
  c("enum wrong case", "", `{"ack_policy":"Explicit"}`),
  c("deliver undefined reads as all", "", `{"deliver_policy":"undefined"}`),
  c("unknown deliver policy", "", `{"deliver_policy":"first"}`),
  c("unknown replay policy", "", `{"replay_policy":"slow"}`),
  c(
    "null scalars",
    "",
    `{"max_deliver":null,"description":null,"flow_control":null,"backoff":null,"opt_start_time":null}`
  ),
  c("bad time", "", `{"deliver_policy":"by_start_time","opt_start_time":"yesterday"}`),
  c("number time", "", `{"deliver_policy":"by_start_time","opt_start_time":5}`),
  c("backoff not a list", "", `{"backoff":5}`),
  c("escaped description", "", `{"description":"a<b>&\\u2028é"}`),
  // defaults and policies
  c("ack explicit defaults", "", `{"ack_policy":"explicit"}`),
  c("ack all defaults", "", `{"ack_policy":"all"}`),
  c("ack none with max_ack_pending (pull)", "", `{"max_ack_pending":5}`),
  c(
    "explicit values",
    "",
    `{"ack_policy":"explicit","ack_wait":5000000000,"max_deliver":5,"max_ack_pending":20,"replay_policy":"original","description":"d","sample_freq":"50%","headers_only":true,"max_batch":10,"max_expires":2000000000,"max_bytes":1024,"num_replicas":1,"mem_storage":true}`
  ),
  c("negative max_deliver kept", "", `{"max_deliver":-5}`),
  c("negative max_bytes kept", "", `{"max_bytes":-5}`),
  c("negative ack_wait kept", "", `{"ack_policy":"explicit","ack_wait":-5}`),
  c("negative max_ack_pending kept", "", `{"ack_policy":"explicit","max_ack_pending":-1}`),
  c("replicas 1", "", `{"num_replicas":1}`),
  c("replicas 3", "", `{"num_replicas":3}`),
  c("replicas -1", "", `{"num_replicas":-1}`),
  c(
    "backoff sets ack_wait",
    "",
    `{"ack_policy":"explicit","backoff":[1000000000,5000000000],"max_deliver":3,"ack_wait":7}`
  ),
  c("backoff without max_deliver", "", `{"backoff":[1000000000]}`),
  c("backoff equal to max_deliver", "", `{"backoff":[1,2],"max_deliver":2}`),
  c("backoff null element", "", `{"backoff":[null,5],"max_deliver":3}`),
  c("description too long", "", `{"description":"${"d".repeat(4097)}"}`),
  c("description 4096", "", `{"description":"${"d".repeat(4096)}"}`),
  c("inactive threshold ephemeral", "", `{"inactive_threshold":60000000000}`),
  c("inactive threshold ephemeral negative", "", `{"inactive_threshold":-5}`),
  c("inactive threshold durable", ".D", `{"durable_name":"D","inactive_threshold":60000000000}`),
  c("inactive threshold durable negative", ".D", `{"durable_name":"D","inactive_threshold":-5}`),
  c("durable without threshold", "DURABLE:D", `{"durable_name":"D"}`),
  // push
  c("push defaults", "", `{"deliver_subject":"dx.y"}`),
  c(
    "push with group and heartbeat",
    "",
    `{"deliver_subject":"dx.y","deliver_group":"g","idle_heartbeat":1000000000,"flow_control":true,"rate_limit_bps":1000,"ack_policy":"explicit"}`
  ),
  c("push wildcard", "", `{"deliver_subject":"dx.*"}`),
  c("push full wildcard", "", `{"deliver_subject":"dx.>"}`),
  c("push star inside token is literal", "", `{"deliver_subject":"dx.a*"}`),
  c("push invalid subject", "", `{"deliver_subject":"dx..y"}`),
  c("push subject with space", "", `{"deliver_subject":"dx.a b"}`),
  c("push cycle", "", `{"deliver_subject":"%.q"}`),
  c("push cycle exact", "", `{"deliver_subject":"other.x"}`, { stream: MEM }),
  c("push max_waiting", "", `{"deliver_subject":"dx","max_waiting":5}`),
  c("push ack none max_ack_pending", "", `{"deliver_subject":"dx","max_ack_pending":5}`),
  c("push small heartbeat", "", `{"deliver_subject":"dx","idle_heartbeat":50000000}`),
  c("push heartbeat 100ms", "", `{"deliver_subject":"dx","idle_heartbeat":100000000}`),
  c("push flow control without heartbeat", "", `{"deliver_subject":"dx","flow_control":true}`),
  c("push keeps pull-only limits", "", `{"deliver_subject":"dx","max_batch":-1,"max_expires":5}`),
  c("push direct", "", `{"deliver_subject":"dx","direct":true}`),
  c("push direct durable", ".D", `{"durable_name":"D","deliver_subject":"dx","direct":true}`),
  // pull
  c("pull rate limit", "", `{"rate_limit_bps":100}`),
  c("pull negative max_waiting", "", `{"max_waiting":-1}`),
  c("pull heartbeat", "", `{"idle_heartbeat":1000000000}`),
  c("pull flow control", "", `{"flow_control":true}`),
  c("pull negative max_batch", "", `{"max_batch":-1}`),
  c("pull tiny max_expires", "", `{"max_expires":999999}`),
  c("pull negative max_expires", "", `{"max_expires":-1}`),
  c("pull max_expires 1ms", "", `{"max_expires":1000000}`),
  c("pull direct", "", `{"direct":true}`),
  // filter subjects
  c("filter inside", "", `{"filter_subject":"%.a.b"}`),
  c("filter wider wildcard", "", `{"filter_subject":">"}`),
  c("filter star", "", `{"filter_subject":"*.a"}`),
  c("filter outside", "", `{"filter_subject":"zzz"}`),
  c("filter invalid", "", `{"filter_subject":"%..a"}`),
  c("filter gt not last", "", `{"filter_subject":"%.>.a"}`),
  c("filter second stream subject", "", `{"filter_subject":"other.q"}`, { stream: MEM }),
  // deliver policies
  c("all with start seq", "", `{"opt_start_seq":5}`),
  c("all with start time", "", `{"opt_start_time":"${T}"}`),
  c("last with start seq", "", `{"deliver_policy":"last","opt_start_seq":5}`),
  c("last with start time", "", `{"deliver_policy":"last","opt_start_time":"${T}"}`),
  c("new with start seq", "", `{"deliver_policy":"new","opt_start_seq":5}`),
  c("new with start time", "", `{"deliver_policy":"new","opt_start_time":"${T}"}`),
  c("last per subject without filter", "", `{"deliver_policy":"last_per_subject"}`),
  c("last per subject with seq", "", `{"deliver_policy":"last_per_subject","opt_start_seq":1}`),
  c("last per subject with time", "", `{"deliver_policy":"last_per_subject","opt_start_time":"${T}"}`),
  c("last per subject ok", "", `{"deliver_policy":"last_per_subject","filter_subject":"%.>"}`),
  c("by seq without seq", "", `{"deliver_policy":"by_start_sequence"}`),
  c("by seq with time", "", `{"deliver_policy":"by_start_sequence","opt_start_seq":3,"opt_start_time":"${T}"}`),
  c("by seq ok", "", `{"deliver_policy":"by_start_sequence","opt_start_seq":3}`),
  c("by seq huge", "", `{"deliver_policy":"by_start_sequence","opt_start_seq":18446744073709551615}`),
  c("by time without time", "", `{"deliver_policy":"by_start_time"}`),
  c("by time with seq", "", `{"deliver_policy":"by_start_time","opt_start_seq":3,"opt_start_time":"${T}"}`),
  c("by time offset kept", "", `{"deliver_policy":"by_start_time","opt_start_time":"${T}"}`),
  c("by time zero offset", "", `{"deliver_policy":"by_start_time","opt_start_time":"2024-01-02T03:04:05.100+00:00"}`),
  c(
    "by time long fraction",
    "",
    `{"deliver_policy":"by_start_time","opt_start_time":"2024-01-02T03:04:05.1234567891234Z"}`
  ),
  c("by time negative offset", "", `{"deliver_policy":"by_start_time","opt_start_time":"2024-01-02T03:04:05-05:30"}`),
  // sampling
  c("sample 100", "", `{"sample_freq":"100"}`),
  c("sample negative", "", `{"sample_freq":"-5%"}`),
  c("sample garbage", "", `{"sample_freq":"abc%"}`),
  c("sample empty percent", "", `{"sample_freq":"%"}`),
  c("sample plus sign", "", `{"sample_freq":"+5%"}`),
  c("sample overflow", "", `{"sample_freq":"99999999999999999999"}`),
  c("sample quote", "", `{"sample_freq":"a\\"b"}`),
  // error precedence
  c("replicas before backoff", "", `{"num_replicas":-1,"backoff":[1]}`),
  c("backoff before description", "", `{"backoff":[1],"description":"${"d".repeat(4097)}"}`),
  c("push errors before filter", "", `{"deliver_subject":"dx","max_waiting":1,"filter_subject":"zzz"}`),
  c("filter before policy", "", `{"filter_subject":"zzz","opt_start_seq":4}`),
  c("policy before sampling", "", `{"opt_start_seq":4,"sample_freq":"x"}`),
  c("mismatch before JSON content", ".D", `{"durable_name":"E","num_replicas":-1}`),
  c("replicas>1 before config checks", "", `{"num_replicas":2,"max_waiting":-1}`),
  // workqueue
  c("wq pull ack none", "", `{}`, { stream: WQ }),
  c("wq push ack none", "", `{"deliver_subject":"dx"}`, { stream: WQ }),
  c("wq ack all", "", `{"ack_policy":"all"}`, { stream: WQ }),
  c("wq ok", ".W", `{"ack_policy":"explicit"}`, { stream: WQ }),
  c("wq deliver last", ".W", `{"ack_policy":"explicit","deliver_policy":"last"}`, { stream: WQ }),
  c("wq second unfiltered", ".W2", `{"ack_policy":"explicit"}`, {
    stream: WQ,
    setup: [[".W1", `{"ack_policy":"explicit","filter_subject":"%.a"}`]]
  }),
  c("wq overlapping filter", ".W2", `{"ack_policy":"explicit","filter_subject":"%.*"}`, {
    stream: WQ,
    setup: [[".W1", `{"ack_policy":"explicit","filter_subject":"%.a"}`]]
  }),
  c("wq filter vs unfiltered", ".W2", `{"ack_policy":"explicit","filter_subject":"%.b"}`, {
    stream: WQ,
    setup: [[".W1", `{"ack_policy":"explicit"}`]]
  }),
  c("wq disjoint filters", ".W2", `{"ack_policy":"explicit","filter_subject":"%.b"}`, {
    stream: WQ,
    setup: [[".W1", `{"ack_policy":"explicit","filter_subject":"%.a"}`]]
  }),
  c("wq disjoint but deliver new", ".W2", `{"ack_policy":"explicit","filter_subject":"%.b","deliver_policy":"new"}`, {
    stream: WQ,
    setup: [[".W1", `{"ack_policy":"explicit","filter_subject":"%.a"}`]]
  }),
  c("wq update may widen filter", ".W1", `{"ack_policy":"explicit","filter_subject":"%.>"}`, {
    stream: WQ,
    setup: [[".W1", `{"ack_policy":"explicit","filter_subject":"%.a"}`], [
      ".W2",
      `{"ack_policy":"explicit","filter_subject":"%.b"}`
    ]]
  }),
  c("max consumers", ".C3", `{}`, { stream: MEM, setup: [[".C1", `{}`], [".C2", `{}`]] }),
  c("max consumers: update still fine", ".C2", `{"description":"x"}`, {
    stream: MEM,
    setup: [[".C1", `{}`], [".C2", `{}`]]
  }),
  // updates
  c("update identical durable", "DURABLE:D", `{"durable_name":"D","ack_policy":"explicit"}`, {
    setup: [["DURABLE:D", `{"durable_name":"D","ack_policy":"explicit"}`]]
  }),
  c(
    "update allowed fields",
    ".U",
    `{"ack_policy":"explicit","description":"d","ack_wait":1000000000,"max_ack_pending":5,"max_deliver":9,"filter_subject":"%.x","headers_only":true,"mem_storage":true,"num_replicas":1,"sample_freq":"7","inactive_threshold":1000000000}`,
    {
      setup: [[".U", `{"ack_policy":"explicit"}`]]
    }
  ),
  c("update deliver policy", ".U", `{"deliver_policy":"new"}`, { setup: [[".U", `{}`]] }),
  c("update start seq", ".U", `{"deliver_policy":"by_start_sequence","opt_start_seq":2}`, {
    setup: [[".U", `{"deliver_policy":"by_start_sequence","opt_start_seq":1}`]]
  }),
  c("update named with start time, identical", ".U", `{"deliver_policy":"by_start_time","opt_start_time":"${T}"}`, {
    setup: [[".U", `{"deliver_policy":"by_start_time","opt_start_time":"${T}"}`]]
  }),
  c(
    "update durable with start time, identical",
    ".U",
    `{"durable_name":"U","deliver_policy":"by_start_time","opt_start_time":"${T}"}`,
    {
      setup: [[".U", `{"durable_name":"U","deliver_policy":"by_start_time","opt_start_time":"${T}"}`]]
    }
  ),
  c(
    "update durable with start time, description",
    ".U",
    `{"durable_name":"U","deliver_policy":"by_start_time","opt_start_time":"${T}","description":"x"}`,
    {
      setup: [[".U", `{"durable_name":"U","deliver_policy":"by_start_time","opt_start_time":"${T}"}`]]
    }
  ),
  c("update ack policy", ".U", `{"ack_policy":"all"}`, { setup: [[".U", `{}`]] }),
  c("update replay policy", ".U", `{"replay_policy":"original"}`, { setup: [[".U", `{}`]] }),
  c("update heartbeat", ".U", `{"deliver_subject":"dx","idle_heartbeat":1000000000}`, {
    setup: [[".U", `{"deliver_subject":"dx"}`]]
  }),
  c("update flow control", ".U", `{"deliver_subject":"dx","idle_heartbeat":1000000000,"flow_control":true}`, {
    setup: [[".U", `{"deliver_subject":"dx","idle_heartbeat":1000000000}`]]
  }),
  c("update max waiting", ".U", `{"max_waiting":10}`, { setup: [[".U", `{}`]] }),
  c("update pull to push", ".U", `{"deliver_subject":"dx"}`, { setup: [[".U", `{}`]] }),
  c("update push to pull", ".U", `{"max_waiting":0}`, { setup: [[".U", `{"deliver_subject":"dx"}`]] }),
  c("update push deliver subject", ".U", `{"deliver_subject":"dy"}`, { setup: [[".U", `{"deliver_subject":"dx"}`]] }),
  c("update backoff", ".U", `{"ack_policy":"explicit","backoff":[1,2,3],"max_deliver":3}`, {
    setup: [[".U", `{"ack_policy":"explicit"}`]]
  }),
  c("update backoff ok", ".U", `{"ack_policy":"explicit","backoff":[1000000000,2000000000],"max_deliver":3}`, {
    setup: [[".U", `{"ack_policy":"explicit"}`]]
  }),
  c("update named ephemeral to durable", ".U", `{"durable_name":"U"}`, { setup: [[".U", `{}`]] }),
  c("update durable again after ephemeral", ".U", `{"durable_name":"U"}`, {
    setup: [[".U", `{}`], [".U", `{"durable_name":"U"}`]]
  }),
  c("update durable to named ephemeral", ".D", `{}`, { setup: [[".D", `{"durable_name":"D"}`]] }),
  c("update durable to named ephemeral with threshold", ".D", `{"inactive_threshold":-3}`, {
    setup: [[".D", `{"durable_name":"D","inactive_threshold":7}`]]
  }),
  c("update legacy durable via new API", ".D", `{"durable_name":"D","ack_policy":"explicit"}`, {
    setup: [["DURABLE:D", `{"durable_name":"D","ack_policy":"explicit"}`]]
  }),
  c("update durable threshold to negative", ".D", `{"durable_name":"D","inactive_threshold":-1}`, {
    setup: [[".D", `{"durable_name":"D"}`]]
  }),
  c("update checks config first", ".U", `{"deliver_policy":"new","max_waiting":-1}`, { setup: [[".U", `{}`]] })
]

const enc = new TextEncoder()
const dec = new TextDecoder()

const named = (s: string, name: string): string => s.replaceAll("%", name)

const subjectFor = (stream: string, suffix: string): string =>
  suffix.startsWith("DURABLE:")
    ? `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${suffix.slice("DURABLE:".length)}`
    : `$JS.API.CONSUMER.CREATE.${stream}${suffix}`

/** Our create pipeline over an in-memory registry, as the consumer API will run it. */
const ourCreate = (
  body: string,
  subject: string,
  stream: StreamConfig,
  consumers: Map<string, ConsumerConfig>
): { ok: true; config: ConsumerConfig } | { ok: false; text: string } => {
  const r = decodeConsumerCreate(body, subject, stream)
  if (!r.ok) return { ok: false, text: apiErrorResponse(TYPE, r.error) }
  const config = r.request.config
  const name = consumerName(config)
  const current = name === undefined ? undefined : consumers.get(name)
  if (current !== undefined) {
    const e = checkUpdate(current, config)
    if (e !== undefined) return { ok: false, text: apiErrorResponse(TYPE, e) }
    const next = updatedConfig(current, config)
    consumers.set(name!, next)
    return { ok: true, config: next }
  }
  const e = checkAgainstStream(config, stream, [...consumers.values()], false)
  if (e !== undefined) return { ok: false, text: apiErrorResponse(TYPE, e) }
  consumers.set(name ?? `generated${consumers.size}`, config)
  return { ok: true, config }
}

describe.skipIf(natsServer === undefined)("consumer config: decoders vs nats-server", () => {
  let nats: RunningNatsServer
  let nc: NatsConnection
  let dir: string

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-cc-"))
    nats = await startNatsServer(["-js", "-sd", path.join(dir, "store")])
    nc = await connect({ servers: nats.url, reconnect: false })
  })
  afterAll(async () => {
    await nc?.close()
    await nats?.stop()
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
  })

  const request = async (subject: string, body: string): Promise<string> => {
    const m = await nc.request(subject, enc.encode(body), { timeout: 5000 })
    return dec.decode(m.data)
  }

  // The part of a reply our decoders produce: the whole error reply, or the config.
  const expected = (reply: string): string => {
    const parsed = parseJson(reply) as { error?: unknown }
    if (parsed.error !== undefined) return reply
    const start = reply.indexOf(`"config":`) + `"config":`.length
    const end = reply.indexOf(`,"delivered":`)
    expect(start).toBeGreaterThan(8)
    return `config:${reply.slice(start, end)}`
  }

  cases.forEach((k, i) => {
    it(k.label, async () => {
      const name = `CC${i}`
      const streamBody = named(k.stream ?? LIMITS, name)
      const s = decodeStreamCreate(streamBody, name)
      if (!s.ok) throw new Error(`stream rejected by us: ${encodeJson(s.error)}`)
      const created = parseJson(await request(`$JS.API.STREAM.CREATE.${name}`, streamBody)) as { error?: unknown }
      expect(created.error).toBeUndefined()
      const consumers = new Map<string, ConsumerConfig>()
      try {
        for (const [suffix, config] of k.setup ?? []) {
          const subject = subjectFor(name, suffix)
          const body = `{"stream_name":"${name}","config":${named(config, name)}}`
          const theirs = parseJson(await request(subject, body)) as { error?: unknown }
          expect(theirs.error).toBeUndefined()
          const ours = ourCreate(body, subject, s.config, consumers)
          if (!ours.ok) throw new Error(`setup rejected by us: ${ours.text}`)
        }
        const subject = subjectFor(name, k.suffix)
        const body = k.raw === true
          ? named(k.config, name)
          : `{"stream_name":"${name}","config":${named(k.config, name)}}`
        const theirs = expected(await request(subject, body))
        const ours = ourCreate(body, subject, s.config, consumers)
        if (k.differs === undefined) {
          expect(ours.ok ? `config:${encodeJson(encodeConsumerConfig(ours.config))}` : ours.text).toBe(theirs)
        } else {
          // 2.9.10 silently drops the key and creates the consumer; we refuse the whole request.
          expect(theirs.startsWith("config:")).toBe(true)
          const error = ours.ok ? undefined : (parseJson(ours.text) as { error?: { description?: string } }).error
          expect(error?.description).toBe(k.differs)
        }
      } finally {
        await request(`$JS.API.STREAM.DELETE.${name}`, "")
      }
    })
  })

  const pullBodies: ReadonlyArray<string> = [
    `{`,
    `{"batch":"x"}`,
    `{"batch":1.5}`,
    `{"batch":true}`,
    `{"batch":{}}`,
    `{"batch":[]}`,
    `{"no_wait":1}`,
    `{"expires":"1s"}`,
    `{"idle_heartbeat":1000,"expires":1500}`,
    `{"idle_heartbeat":1000}`,
    `{"batch":99999999999999999999}`,
    `{"batch":"x","expires":true}`,
    `{"BATCH":"x"}`,
    `{x}`,
    `{"a" 1}`,
    `{"a":1 "b"}`,
    `{"a":[1 2]}`,
    `{"a":tru}`,
    `{"a":nul}`,
    `{"a":fals}`,
    `{"a":-}`,
    `{"a":1.}`,
    `{"a":1e}`,
    `{"a":1e+}`,
    `{"a":"\\q"}`,
    `{"a":"\\u12g4"}`,
    "{\"a\":\"\x01\"}",
    `{"a":1}x`,
    `{"a":01}`,
    `{'a':1}`,
    `{"a":"é"}é`,
    `{"a":[}`,
    `{"a":{]}`,
    `{,}`,
    `{"a":1,}`,
    `{"a":[1,]}`,
    `{"a":"`,
    ` {"batch":2, "no_wait":true} `,
    `{"no_wait":true}`,
    `{"no_wait":true,"batch":null,"idle_heartbeat":null}`,
    `{"idle_heartbeat":4611686018427387904,"no_wait":true}`,
    `{"no_wait":true,"idle_heartbeat":500,"expires":1000}`
  ]

  it("pull request bodies", async () => {
    await request(`$JS.API.STREAM.CREATE.PULLS`, `{"name":"PULLS"}`)
    await request(`$JS.API.CONSUMER.CREATE.PULLS.P`, `{"stream_name":"PULLS","config":{"ack_policy":"explicit"}}`)
    try {
      for (const b of pullBodies) {
        const m = await nc.request("$JS.API.CONSUMER.MSG.NEXT.PULLS.P", enc.encode(b), { timeout: 5000 })
        const r = decodePullRequest(enc.encode(b))
        const code = m.headers?.code
        if (code === 400) expect({ b, ours: r.ok ? "ok" : r.description }).toEqual({ b, ours: m.headers?.description })
        else {expect({ b, ours: r.ok, terminal: code === 404 || code === 408 }).toEqual({
            b,
            ours: true,
            terminal: true
          })}
      }
    } finally {
      await request(`$JS.API.STREAM.DELETE.PULLS`, "")
    }
  })
})
