import { assert, describe, it } from "vitest"
import { actionRefusal } from "../../../src/jetstream/api/ConsumerApi.ts"
import { encodeJson } from "../../../src/jetstream/codec/Json.ts"
import { type ApiError, ApiErrors } from "../../../src/jetstream/model/ApiError.ts"
import {
  checkAgainstStream,
  checkUpdate,
  type ConsumerConfig,
  consumerName,
  decodeConsumerCreate,
  encodeConsumerConfig,
  isFilterWithinStream,
  isPushConsumer,
  sameConsumerConfig,
  updatedConfig
} from "../../../src/jetstream/model/ConsumerConfig.ts"
import { normalizeTime } from "../../../src/jetstream/model/ConsumerConfigDecode.ts"
import { decodePullRequest, goJsonSyntaxError, type PullGroup } from "../../../src/jetstream/model/PullRequest.ts"
import { decodeStreamCreate, type StreamConfig } from "../../../src/jetstream/model/StreamConfig.ts"

const stream = (body: string): StreamConfig => {
  const r = decodeStreamCreate(body, JSON.parse(body).name)
  if (!r.ok) throw new Error(encodeJson(r.error))
  return r.config
}

const S = stream(`{"name":"S","subjects":["s.>","other.*"]}`)
const WQ = stream(`{"name":"W","subjects":["w.>"],"retention":"workqueue"}`)
const MEM = stream(`{"name":"M","subjects":["m.>"],"storage":"memory","max_consumers":1}`)

const LEGACY = "$JS.API.CONSUMER.CREATE.S"
const body = (config: string, streamName = "S") => `{"stream_name":"${streamName}","config":${config}}`

const created = (config: string, subject = LEGACY, s = S): ConsumerConfig => {
  const r = decodeConsumerCreate(body(config, s.name), subject, s)
  if (!r.ok) throw new Error(`unexpected error ${encodeJson(r.error)}`)
  return r.request.config
}

const createError = (config: string, subject = LEGACY, s = S): ApiError => {
  const r = decodeConsumerCreate(body(config, s.name), subject, s)
  if (r.ok) throw new Error(`unexpected success ${encodeJson(encodeConsumerConfig(r.request.config))}`)
  return r.error
}

const json = (c: ConsumerConfig): string => encodeJson(encodeConsumerConfig(c))

describe("decodeConsumerCreate: defaults", () => {
  it("legacy ephemeral pull with ack none", () => {
    assert.strictEqual(
      json(created(`{}`)),
      `{"deliver_policy":"all","ack_policy":"none","max_deliver":-1,"replay_policy":"instant","max_waiting":512,"inactive_threshold":5000000000,"num_replicas":0}`
    )
  })

  it("explicit ack gets ack_wait 30s and max_ack_pending 1000", () => {
    const c = created(`{"ack_policy":"explicit"}`)
    assert.deepStrictEqual([c.ack_wait, c.max_ack_pending, c.max_waiting], [30_000_000_000, 1000, 512])
  })

  it("ack all too; ack none keeps max_ack_pending unset", () => {
    assert.strictEqual(created(`{"ack_policy":"all"}`).max_ack_pending, 1000)
    assert.strictEqual(created(`{}`).max_ack_pending, 0)
    assert.strictEqual(created(`{}`).ack_wait, 0)
  })

  it("limits lower the max_ack_pending default and set max_batch", () => {
    const r = decodeConsumerCreate(body(`{"ack_policy":"explicit"}`), LEGACY, S, {
      maxAckPending: 300,
      accountMaxAckPending: 200,
      maxRequestBatch: 50
    })
    assert.isTrue(r.ok)
    if (r.ok) assert.deepStrictEqual([r.request.config.max_ack_pending, r.request.config.max_batch], [200, 50])
  })

  it("limits are enforced", () => {
    const e = decodeConsumerCreate(body(`{"ack_policy":"explicit","max_ack_pending":400}`), LEGACY, S, {
      maxAckPending: 300
    })
    assert.deepStrictEqual(e, { ok: false, error: ApiErrors.consumerMaxPendingAckExcess(300) })
    const b = decodeConsumerCreate(body(`{"max_batch":400}`), LEGACY, S, { maxRequestBatch: 300 })
    assert.deepStrictEqual(b, { ok: false, error: ApiErrors.consumerMaxRequestBatchExceeded(300) })
  })

  it("push consumers get no max_waiting", () => {
    assert.isUndefined(created(`{"deliver_subject":"d"}`).max_waiting)
  })

  it("backoff overrides ack_wait", () => {
    assert.strictEqual(created(`{"backoff":[7,8],"max_deliver":3,"ack_wait":99}`).ack_wait, 7)
  })

  it("durables keep inactive_threshold as sent, ephemerals get 5s", () => {
    assert.isUndefined(created(`{"durable_name":"D"}`, `${LEGACY}.D`).inactive_threshold)
    assert.strictEqual(created(`{"durable_name":"D","inactive_threshold":-5}`, `${LEGACY}.D`).inactive_threshold, -5)
    assert.strictEqual(created(`{"inactive_threshold":-5}`).inactive_threshold, 5_000_000_000)
    assert.strictEqual(created(`{"inactive_threshold":7}`).inactive_threshold, 7)
  })

  it("num_replicas is reported as sent", () => {
    assert.strictEqual(created(`{}`).num_replicas, 0)
    assert.strictEqual(created(`{"num_replicas":1}`).num_replicas, 1)
  })

  it("names: new API takes the subject token, legacy durable API does not set name", () => {
    assert.strictEqual(created(`{"name":"x"}`, `${LEGACY}.N`).name, "N")
    const d = created(`{"durable_name":"D"}`, `$JS.API.CONSUMER.DURABLE.CREATE.S.D`)
    assert.deepStrictEqual([d.durable_name, d.name], ["D", undefined])
    assert.isUndefined(created(`{}`).name)
    assert.strictEqual(consumerName(created(`{}`)), undefined)
    assert.strictEqual(consumerName(created(`{"name":"n"}`)), "n")
    assert.strictEqual(consumerName(d), "D")
  })

  it("opt_start_time is normalized like Go writes it", () => {
    const c = created(`{"deliver_policy":"by_start_time","opt_start_time":"2024-01-02T03:04:05.500000000+02:00"}`)
    assert.strictEqual(c.opt_start_time, "2024-01-02T03:04:05.5+02:00")
    assert.strictEqual(normalizeTime("2024-01-02T03:04:05-00:00")?.text, "2024-01-02T03:04:05Z")
    assert.strictEqual(normalizeTime("2024-01-02T01:04:05Z")?.ns, normalizeTime("2024-01-02T03:04:05+02:00")?.ns)
    assert.isUndefined(normalizeTime("2024-02-30T00:00:00Z"))
  })

  it("metadata (2.10) and action are decoded", () => {
    const r = decodeConsumerCreate(
      `{"stream_name":"S","action":"create","config":{"metadata":{"b":"2","a":"1"}}}`,
      LEGACY,
      S
    )
    assert.isTrue(r.ok)
    if (!r.ok) return
    assert.strictEqual(r.request.action, "create")
    assert.match(json(r.request.config), /"num_replicas":0,"metadata":\{"a":"1","b":"2"\}\}$/)
    assert.deepStrictEqual(
      decodeConsumerCreate(`{"stream_name":"S","action":"upsert","config":{}}`, LEGACY, S),
      { ok: false, error: ApiErrors.invalidJSON() }
    )
  })
})

describe("decodeConsumerCreate: errors", () => {
  const cases: ReadonlyArray<readonly [string, string, ApiError, string?]> = [
    ["invalid JSON", `{"ack_policy":1}`, ApiErrors.invalidJSON()],
    ["enum case", `{"ack_policy":"EXPLICIT"}`, ApiErrors.invalidJSON()],
    ["float int", `{"max_deliver":1.5}`, ApiErrors.invalidJSON()],
    ["bad time", `{"opt_start_time":"2024-01-02"}`, ApiErrors.invalidJSON()],
    ["ephemeral with durable", `{"durable_name":"D"}`, ApiErrors.consumerEphemeralWithDurableName()],
    ["durable mismatch", `{"durable_name":"E"}`, ApiErrors.consumerDurableNameNotMatchSubject(), `${LEGACY}.D`],
    ["filter mismatch", `{"filter_subject":"s.b"}`, ApiErrors.consumerCreateFilterSubjectMismatch(), `${LEGACY}.N.s.a`],
    ["path separator", `{}`, ApiErrors.consumerNameContainsPathSeparators(), `${LEGACY}.a\\b`],
    ["path separator in body name (deviation)", `{"name":"a/b"}`, ApiErrors.consumerNameContainsPathSeparators()],
    ["replicas > 1", `{"num_replicas":2}`, ApiErrors.streamReplicasNotSupported()],
    ["replicas < 0", `{"num_replicas":-1}`, ApiErrors.replicasCountCannotBeNegative()],
    ["backoff", `{"backoff":[1,2],"max_deliver":2}`, ApiErrors.consumerMaxDeliverBackoff()],
    ["description", `{"description":"${"é".repeat(2049)}"}`, ApiErrors.consumerDescriptionTooLong(4096)],
    ["deliver wildcard", `{"deliver_subject":"a.*"}`, ApiErrors.consumerDeliverToWildcards()],
    ["deliver invalid", `{"deliver_subject":"a..b"}`, ApiErrors.consumerInvalidDeliverSubject()],
    ["deliver cycle", `{"deliver_subject":"s.x.y"}`, ApiErrors.consumerDeliverCycle()],
    ["push max waiting", `{"deliver_subject":"d","max_waiting":1}`, ApiErrors.consumerPushMaxWaiting()],
    [
      "push ack none pending",
      `{"deliver_subject":"d","max_ack_pending":1}`,
      ApiErrors.consumerMaxPendingAckPolicyRequired()
    ],
    ["small heartbeat", `{"deliver_subject":"d","idle_heartbeat":99999999}`, ApiErrors.consumerSmallHeartbeat()],
    ["pull rate limit", `{"rate_limit_bps":1}`, ApiErrors.consumerPullWithRateLimit()],
    ["pull max waiting negative", `{"max_waiting":-1}`, ApiErrors.consumerMaxWaitingNegative()],
    ["pull heartbeat", `{"idle_heartbeat":1000000000}`, ApiErrors.consumerHBRequiresPush()],
    ["pull flow control", `{"flow_control":true}`, ApiErrors.consumerFCRequiresPush()],
    ["pull max batch", `{"max_batch":-1}`, ApiErrors.consumerMaxRequestBatchNegative()],
    ["pull max expires", `{"max_expires":10}`, ApiErrors.consumerMaxRequestExpiresToSmall()],
    ["direct pull", `{"direct":true}`, ApiErrors.consumerDirectRequiresPush()],
    [
      "direct durable",
      `{"direct":true,"deliver_subject":"d","durable_name":"D"}`,
      ApiErrors.consumerDirectRequiresEphemeral(),
      `${LEGACY}.D`
    ],
    ["filter outside", `{"filter_subject":"x"}`, ApiErrors.consumerFilterNotSubset()],
    ["filter invalid", `{"filter_subject":"s.>.x"}`, ApiErrors.consumerFilterNotSubset()],
    [
      "all with seq",
      `{"opt_start_seq":1}`,
      ApiErrors.consumerInvalidPolicy(
        "consumer delivery policy is deliver all, but optional start sequence is also set"
      )
    ],
    [
      "last per subject without filter",
      `{"deliver_policy":"last_per_subject"}`,
      ApiErrors.consumerInvalidPolicy(
        "consumer delivery policy is deliver last per subject, but optional filter subject is not set"
      )
    ],
    [
      "by start sequence missing",
      `{"deliver_policy":"by_start_sequence"}`,
      ApiErrors.consumerInvalidPolicy(
        "consumer delivery policy is deliver by start sequence, but optional start sequence is not set"
      )
    ],
    [
      "by start time with seq",
      `{"deliver_policy":"by_start_time","opt_start_time":"2024-01-01T00:00:00Z","opt_start_seq":1}`,
      ApiErrors.consumerInvalidPolicy(
        "consumer delivery policy is deliver by start time, but optional start start sequence is also set"
      )
    ],
    [
      "sampling syntax",
      `{"sample_freq":"x%"}`,
      ApiErrors.consumerInvalidSampling(`strconv.Atoi: parsing "x": invalid syntax`)
    ],
    ["sampling negative", `{"sample_freq":"-1"}`, ApiErrors.consumerInvalidSampling("<nil>")],
    [
      "flow control needs heartbeat",
      `{"deliver_subject":"d","flow_control":true}`,
      ApiErrors.consumerWithFlowControlNeedsHeartbeats()
    ],
    [
      "durable and name",
      `{"durable_name":"D","name":"E"}`,
      ApiErrors.consumerCreateDurableAndNameMismatch(),
      "$JS.API.CONSUMER.DURABLE.CREATE.S.D"
    ],
    ["durable not set", `{}`, ApiErrors.consumerDurableNameNotSet(), "$JS.API.CONSUMER.DURABLE.CREATE.S.D"],
    [
      "durable subject too long",
      `{"durable_name":"D"}`,
      ApiErrors.consumerDurableNameNotInSubject(),
      "$JS.API.CONSUMER.DURABLE.CREATE.S.D.x"
    ],
    ["wq pull ack none", `{}`, ApiErrors.consumerPullRequiresAck(), "$JS.API.CONSUMER.CREATE.W"]
  ]
  for (const [label, config, error, subject] of cases) {
    it(label, () => {
      const s = subject?.startsWith("$JS.API.CONSUMER.CREATE.W") ? WQ : S
      assert.deepStrictEqual(createError(config, subject ?? LEGACY, s), error)
    })
  }

  it("stream name mismatch and invalid bodies", () => {
    assert.deepStrictEqual(decodeConsumerCreate(body(`{}`, "T"), LEGACY, S), {
      ok: false,
      error: ApiErrors.streamMismatch()
    })
    assert.deepStrictEqual(decodeConsumerCreate(``, LEGACY, S), { ok: false, error: ApiErrors.invalidJSON() })
    assert.deepStrictEqual(decodeConsumerCreate(`null`, LEGACY, S), { ok: false, error: ApiErrors.streamMismatch() })
    assert.deepStrictEqual(decodeConsumerCreate(`{"stream_name":"S","config":[]}`, LEGACY, S), {
      ok: false,
      error: ApiErrors.invalidJSON()
    })
  })

  it("a one-token filter in the subject is compared (2.10; 2.9.10 ignored it)", () => {
    assert.deepStrictEqual(createError(`{}`, `${LEGACY}.N.xyz`), ApiErrors.consumerCreateFilterSubjectMismatch())
    const one = stream(`{"name":"S","subjects":["xyz"]}`)
    assert.strictEqual(created(`{"filter_subject":"xyz"}`, `${LEGACY}.N.xyz`, one).filter_subject, "xyz")
  })

  it("error wire JSON", () => {
    assert.strictEqual(
      encodeJson(createError(`{"num_replicas":3}`)),
      `{"code":500,"err_code":10074,"description":"replicas \\u003e 1 not supported in non-clustered mode"}`
    )
  })
})

describe("checkAgainstStream", () => {
  const wq = (config: string, name = "X") => created(config, `$JS.API.CONSUMER.CREATE.W.${name}`, WQ)
  it("workqueue rules", () => {
    const a = wq(`{"ack_policy":"explicit","filter_subject":"w.a"}`, "A")
    assert.isUndefined(checkAgainstStream(a, WQ, [], false))
    assert.deepStrictEqual(
      checkAgainstStream(wq(`{"ack_policy":"all"}`), WQ, [], false),
      ApiErrors.consumerWQRequiresExplicitAck()
    )
    assert.deepStrictEqual(
      checkAgainstStream(wq(`{"ack_policy":"explicit"}`), WQ, [a], false),
      ApiErrors.consumerWQMultipleUnfiltered()
    )
    assert.deepStrictEqual(
      checkAgainstStream(wq(`{"ack_policy":"explicit","filter_subject":"w.*"}`), WQ, [a], false),
      ApiErrors.consumerWQConsumerNotUnique()
    )
    assert.isUndefined(checkAgainstStream(wq(`{"ack_policy":"explicit","filter_subject":"w.b"}`), WQ, [a], false))
    assert.deepStrictEqual(
      checkAgainstStream(wq(`{"ack_policy":"explicit","filter_subject":"w.b","deliver_policy":"new"}`), WQ, [a], false),
      ApiErrors.consumerWQConsumerNotDeliverAll()
    )
    // not re-checked on update
    assert.isUndefined(checkAgainstStream(wq(`{"ack_policy":"explicit","filter_subject":"w.>"}`), WQ, [a], true))
  })

  it("max consumers, names", () => {
    const one = created(`{}`, "$JS.API.CONSUMER.CREATE.M.A", MEM)
    assert.deepStrictEqual(checkAgainstStream(one, MEM, [one], false), ApiErrors.maximumConsumersLimit())
    assert.isUndefined(checkAgainstStream(one, MEM, [one], true))
    assert.deepStrictEqual(
      checkAgainstStream(created(`{"name":"a.b"}`), S, [], false),
      ApiErrors.consumerBadDurableName()
    )
    const long = "n".repeat(256)
    assert.deepStrictEqual(
      checkAgainstStream(created(`{"durable_name":"${long}"}`, `${LEGACY}.${long}`), S, [], false),
      ApiErrors.consumerNameTooLong(255)
    )
    assert.deepStrictEqual(
      checkAgainstStream(created(`{"name":"${long}"}`), S, [], false),
      ApiErrors.consumerCreate("error creating store for consumer")
    )
    assert.isUndefined(
      checkAgainstStream(created(`{"name":"${long}"}`, "$JS.API.CONSUMER.CREATE.M", MEM), MEM, [], false)
    )
  })

  it("re-checks the stream-dependent config rules", () => {
    const c = created(`{"filter_subject":"s.a"}`)
    assert.deepStrictEqual(checkAgainstStream(c, MEM, [], true), ApiErrors.consumerFilterNotSubset())
    assert.deepStrictEqual(
      checkAgainstStream(created(`{"deliver_subject":"m.x"}`), MEM, [], false),
      ApiErrors.consumerDeliverCycle()
    )
  })

  it("filter subset semantics", () => {
    assert.isTrue(isFilterWithinStream("s.a.b", ["s.>"]))
    assert.isTrue(isFilterWithinStream("*.a", ["s.a"]))
    // overlapping but neither side a subset of the other: refused by nats-server too
    assert.isFalse(isFilterWithinStream("*.a", ["s.>"]))
    assert.isTrue(isFilterWithinStream(">", ["x"]))
    assert.isFalse(isFilterWithinStream("x.*", ["s.>"]))
    assert.isFalse(isFilterWithinStream("s..a", ["s.>"]))
  })
})

describe("checkUpdate / updatedConfig / sameConsumerConfig", () => {
  const durable = (config: string) => created(config, `${LEGACY}.D`)
  const base = durable(`{"durable_name":"D","ack_policy":"explicit"}`)
  const err = (d: string) => ApiErrors.consumerCreate(d)

  it("identical and allowed changes", () => {
    assert.isUndefined(checkUpdate(base, durable(`{"durable_name":"D","ack_policy":"explicit"}`)))
    assert.isTrue(sameConsumerConfig(base, durable(`{"durable_name":"D","ack_policy":"explicit"}`)))
    const next = durable(
      `{"durable_name":"D","ack_policy":"explicit","description":"x","max_ack_pending":3,"filter_subject":"s.a"}`
    )
    assert.isFalse(sameConsumerConfig(base, next))
    assert.isUndefined(checkUpdate(base, next))
  })

  it("immutable fields", () => {
    const cases: ReadonlyArray<readonly [string, string, string]> = [
      [`{"durable_name":"D"}`, `{"durable_name":"D","deliver_policy":"new"}`, "deliver policy can not be updated"],
      [
        `{"durable_name":"D","deliver_policy":"by_start_sequence","opt_start_seq":1}`,
        `{"durable_name":"D","deliver_policy":"by_start_sequence","opt_start_seq":2}`,
        "start sequence can not be updated"
      ],
      [`{"durable_name":"D"}`, `{"durable_name":"D","ack_policy":"all"}`, "ack policy can not be updated"],
      [`{"durable_name":"D"}`, `{"durable_name":"D","replay_policy":"original"}`, "replay policy can not be updated"],
      [
        `{"durable_name":"D","deliver_subject":"d"}`,
        `{"durable_name":"D","deliver_subject":"d","idle_heartbeat":100000000}`,
        "heart beats can not be updated"
      ],
      [`{"durable_name":"D"}`, `{"durable_name":"D","max_waiting":1}`, "max waiting can not be updated"],
      [`{"durable_name":"D"}`, `{"durable_name":"D","deliver_subject":"d"}`, "max waiting can not be updated"],
      [`{"durable_name":"D","deliver_subject":"d"}`, `{"durable_name":"D","deliver_subject":"d","max_waiting":0}`, ""]
    ]
    for (const [from, to, description] of cases) {
      const r = checkUpdate(durable(from), durable(to))
      assert.deepStrictEqual(r, description === "" ? undefined : err(description), `${from} -> ${to}`)
    }
    const push = durable(`{"durable_name":"D","deliver_subject":"d"}`)
    assert.deepStrictEqual(
      checkUpdate(push, { ...push, deliver_subject: undefined, max_waiting: undefined } as unknown as ConsumerConfig),
      err("can not update push consumer to pull based")
    )
    const pull = durable(`{"durable_name":"D","max_waiting":0}`)
    assert.deepStrictEqual(
      checkUpdate({ ...pull, max_waiting: 0 }, { ...pull, max_waiting: 0, deliver_subject: "d" }),
      err("can not update pull consumer to push based")
    )
    assert.deepStrictEqual(
      checkUpdate(base, durable(`{"durable_name":"D","ack_policy":"explicit","backoff":[1,2],"max_deliver":5}`)),
      undefined
    )
  })

  it("start time: only identical configs pass", () => {
    const t = `"deliver_policy":"by_start_time","opt_start_time":"2024-01-01T00:00:00Z"`
    assert.isUndefined(checkUpdate(durable(`{"durable_name":"D",${t}}`), durable(`{"durable_name":"D",${t}}`)))
    assert.deepStrictEqual(
      checkUpdate(durable(`{"durable_name":"D",${t}}`), durable(`{"durable_name":"D",${t},"description":"x"}`)),
      err("start time can not be updated")
    )
    // named ephemerals never compare identical (stored threshold was stamped)
    const named = created(`{${t}}`, `${LEGACY}.N`)
    assert.deepStrictEqual(checkUpdate(named, created(`{${t}}`, `${LEGACY}.N`)), err("start time can not be updated"))
  })

  it("updatedConfig follows the current consumer's durability for the inactive threshold", () => {
    const eph = created(`{}`, `${LEGACY}.U`)
    const toDurable = updatedConfig(eph, created(`{"durable_name":"U"}`, `${LEGACY}.U`))
    assert.strictEqual(toDurable.inactive_threshold, 5_000_000_000)
    const again = updatedConfig(toDurable, created(`{"durable_name":"U"}`, `${LEGACY}.U`))
    assert.isUndefined(again.inactive_threshold)
    const d = durable(`{"durable_name":"D","inactive_threshold":7}`)
    assert.strictEqual(updatedConfig(d, created(`{"inactive_threshold":-3}`, `${LEGACY}.D`)).inactive_threshold, -3)
  })
})

describe("encodeConsumerConfig", () => {
  it("keys in nats-server order with omitempty", () => {
    const c = created(
      `{"durable_name":"D","description":"d","deliver_policy":"by_start_sequence","opt_start_seq":5,"ack_policy":"explicit","max_deliver":4,"backoff":[1000,2000],"filter_subject":"s.a","replay_policy":"original","rate_limit_bps":8,"sample_freq":"5","max_ack_pending":3,"idle_heartbeat":100000000,"flow_control":true,"headers_only":true,"max_batch":1,"max_expires":2,"max_bytes":3,"deliver_subject":"d","deliver_group":"g","inactive_threshold":9,"mem_storage":true}`,
      `${LEGACY}.D`
    )
    assert.strictEqual(
      json(c),
      `{"durable_name":"D","name":"D","description":"d","deliver_policy":"by_start_sequence","opt_start_seq":5,"ack_policy":"explicit","ack_wait":1000,"max_deliver":4,"backoff":[1000,2000],"filter_subject":"s.a","replay_policy":"original","rate_limit_bps":8,"sample_freq":"5","max_ack_pending":3,"idle_heartbeat":100000000,"flow_control":true,"headers_only":true,"max_batch":1,"max_expires":2,"max_bytes":3,"deliver_subject":"d","deliver_group":"g","inactive_threshold":9,"num_replicas":0,"mem_storage":true}`
    )
    assert.isTrue(isPushConsumer(c))
  })

  it("u64 start sequence beyond 2^53", () => {
    const c = created(`{"deliver_policy":"by_start_sequence","opt_start_seq":18446744073709551615}`)
    assert.match(json(c), /"opt_start_seq":18446744073709551615,/)
  })
})

describe("decodePullRequest", () => {
  const enc = new TextEncoder()
  const pull = (s: string) => decodePullRequest(enc.encode(s))
  const req = (
    batch: number,
    extra: Partial<{ expiresNs: number; noWait: boolean; maxBytes: number; heartbeatNs: number; group: PullGroup }> = {}
  ) => ({
    ok: true as const,
    request: { batch, expiresNs: 0, noWait: false, maxBytes: 0, heartbeatNs: 0, ...extra }
  })

  it("empty, integer and junk bodies", () => {
    assert.deepStrictEqual(pull(""), req(1))
    assert.deepStrictEqual(pull("  \r\n"), req(1))
    assert.deepStrictEqual(pull("10"), req(10))
    assert.deepStrictEqual(pull(" +7 "), req(7))
    assert.deepStrictEqual(pull("-2"), req(-2))
    assert.deepStrictEqual(pull("abc"), req(1))
    assert.deepStrictEqual(pull("99999999999999999999"), req(1))
  })

  // A JSON body always has the (2.11) priority group members, zero when not sent (Go's embedded struct).
  const noGroup = { group: "", minPending: 0, minAckPending: 0, id: "", priority: 0 }
  it("JSON requests", () => {
    assert.deepStrictEqual(
      pull(`{"batch":5,"expires":1000000000,"no_wait":true,"max_bytes":100,"idle_heartbeat":500000000}`),
      req(5, { expiresNs: 1e9, noWait: true, maxBytes: 100, heartbeatNs: 5e8, group: noGroup })
    )
    assert.deepStrictEqual(pull(`{}`), req(0, { group: noGroup }))
    assert.deepStrictEqual(pull(`{"Batch":3,"batch":null}`), req(3, { group: noGroup }))
    assert.deepStrictEqual(
      pull(`{"batch":2,"group":"g","min_pending":5,"min_ack_pending":3,"id":"P","priority":1}`),
      req(2, { group: { group: "g", minPending: 5, minAckPending: 3, id: "P", priority: 1 } })
    )
  })

  it("errors as nats-server words them", () => {
    assert.deepStrictEqual(pull(`{"idle_heartbeat":1}`), {
      ok: false,
      description: "Bad Request - heartbeat value too large"
    })
    assert.deepStrictEqual(pull(`{"batch":"1"}`), {
      ok: false,
      description:
        "Bad Request - json: cannot unmarshal string into Go struct field JSApiConsumerGetNextRequest.batch of type int"
    })
    assert.deepStrictEqual(pull(`{"expires":1e9}`), {
      ok: false,
      description:
        "Bad Request - json: cannot unmarshal number 1e9 into Go struct field JSApiConsumerGetNextRequest.expires of type time.Duration"
    })
    assert.deepStrictEqual(pull(`{"batch":1`), { ok: false, description: "Bad Request - unexpected end of JSON input" })
  })

  it("Go syntax error texts", () => {
    const e = (s: string) => goJsonSyntaxError(enc.encode(s))
    assert.isUndefined(e(`{"a":[1,{"b":null}],"c":-1.5e+3}`))
    assert.strictEqual(e(`{"a":[1,]}`), "invalid character ']' looking for beginning of value")
    assert.strictEqual(e(`{"a":t}`), "invalid character '}' in literal true (expecting 'r')")
    assert.strictEqual(e(`{"a":"\n"}`), "invalid character '\\n' in string literal")
    assert.strictEqual(e(`{"a":1}}`), "invalid character '}' after top-level value")
    assert.strictEqual(e("[".repeat(10001)), "invalid character '[' exceeded max depth")
    assert.strictEqual(e("[".repeat(10000)), "unexpected end of JSON input")
  })
})

describe("CONSUMER.CREATE action at the 2.10 level (api/ConsumerApi.ts actionRefusal)", () => {
  const NEW = "$JS.API.CONSUMER.CREATE.S.X"
  const stored = created(`{"durable_name":"X","description":"one"}`, NEW)
  const changed = created(`{"durable_name":"X","description":"two"}`, NEW)
  it("create on a changed consumer is 10148, on an identical one fine; update of a missing one 10149", () => {
    assert.deepStrictEqual(actionRefusal("2.10.0", "create", stored, changed), ApiErrors.consumerAlreadyExists())
    assert.isUndefined(actionRefusal("2.10.0", "create", stored, stored))
    assert.deepStrictEqual(actionRefusal("2.11.4", "update", undefined, changed), ApiErrors.consumerDoesNotExist())
    assert.isUndefined(actionRefusal("2.10.0", "", stored, changed))
  })
  it("is not acted on at 2.9.10 (which has no action)", () => {
    assert.isUndefined(actionRefusal("2.9.10", "create", stored, changed))
    assert.isUndefined(actionRefusal("2.9.10", "update", undefined, changed))
  })
})
