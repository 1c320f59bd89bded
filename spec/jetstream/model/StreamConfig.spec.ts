import { assert, describe, it } from "vitest"
import { encodeJson } from "../../../src/jetstream/codec/Json.ts"
import { ApiError, ApiErrors } from "../../../src/jetstream/model/ApiError.ts"
import {
  decodeStreamCreate,
  decodeStreamUpdate,
  isValidName,
  type ServerStreamLimits,
  type StreamConfig,
  subjectsCollide,
  subjectsOverlap
} from "../../../src/jetstream/model/StreamConfig.ts"
import { encodeStreamConfig, sameConfig } from "../../../src/jetstream/model/StreamConfigEncode.ts"
import { defaultStreamConfig } from "../../support/StreamConfigs.ts"

const invalidConfig = (description: string): ApiError =>
  new ApiError(new ApiError({ code: 500, err_code: 10052, description }))

const created = (body: string, name = "S", limits?: ServerStreamLimits): StreamConfig => {
  const r = decodeStreamCreate(body, name, limits)
  if (!r.ok) throw new Error(`unexpected error ${encodeJson(r.error)}`)
  return r.config
}

const createError = (body: string | Uint8Array, name = "S", limits?: ServerStreamLimits): ApiError => {
  const r = decodeStreamCreate(body, name, limits)
  if (r.ok) throw new Error(`unexpected success ${encodeJson(r.config)}`)
  return r.error
}

const updated = (current: StreamConfig, body: string, limits?: ServerStreamLimits) =>
  decodeStreamUpdate(body, current.name, current, limits)

const updateError = (
  current: StreamConfig | undefined,
  body: string,
  name = "S",
  limits?: ServerStreamLimits
): ApiError => {
  const r = decodeStreamUpdate(body, name, current, limits)
  if (r.ok) throw new Error(`unexpected success ${encodeJson(r.config)}`)
  return r.error
}

const DEFAULTS: StreamConfig = defaultStreamConfig("S", { subjects: ["S"] })

describe("decodeStreamCreate: JSON", () => {
  const invalidJson = ApiErrors.invalidJSON()
  it("rejects malformed bodies with 10025", () => {
    for (
      const body of ["", "  ", "{", "[]", "5", "\"s\"", "{\"name\":\"S\"} x", "\ufeff{\"name\":\"S\"}", "{'name':'S'}"]
    ) {
      assert.deepStrictEqual(createError(body), invalidJson, body)
    }
    assert.deepStrictEqual(invalidJson, new ApiError({ code: 400, err_code: 10025, description: "invalid JSON" }))
  })
  it("rejects type mismatches like Go's decoder", () => {
    for (
      const body of [
        "{\"name\":\"S\",\"max_msgs\":1.0}",
        "{\"name\":\"S\",\"max_msgs\":1e3}",
        "{\"name\":\"S\",\"max_age\":\"1s\"}",
        "{\"name\":\"S\",\"no_ack\":1}",
        "{\"name\":\"S\",\"description\":5}",
        "{\"name\":\"S\",\"subjects\":\"S\"}",
        "{\"name\":\"S\",\"subjects\":[1]}",
        "{\"name\":\"S\",\"max_msg_size\":3000000000}",
        "{\"name\":\"S\",\"max_msgs\":9223372036854775808}",
        "{\"name\":\"S\",\"retention\":null}",
        "{\"name\":\"S\",\"storage\":\"Memory\"}",
        "{\"name\":\"S\",\"retention\":\"WorkQueue\"}",
        "{\"name\":\"S\",\"discard\":\"newest\"}",
        "{\"name\":\"S\",\"placement\":[]}",
        "{\"name\":\"S\",\"metadata\":{\"a\":1}}",
        "{\"name\":\"S\",\"first_seq\":-1}"
      ]
    ) {
      assert.deepStrictEqual(createError(body), invalidJson, body)
    }
  })
  it("accepts bytes, refuses unknown keys, matches keys case-insensitively, last duplicate wins", () => {
    assert.deepStrictEqual(created("{\"name\":\"X\",\"NAME\":\"S\",\"Subjects\":[\"a\"]}"), {
      ...DEFAULTS,
      subjects: ["a"]
    })
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"zzz\":{\"q\":[1]}}").description,
      "invalid JSON: json: unknown field \"zzz\""
    )
    assert.deepStrictEqual(decodeStreamCreate(new TextEncoder().encode("{\"name\":\"S\"}"), "S"), {
      ok: true,
      config: DEFAULTS
    })
    assert.deepStrictEqual(created("{\"name\":\"S\",\"max_msgs\":null,\"sealed\":null,\"subjects\":null}"), DEFAULTS)
    assert.deepStrictEqual(created("{\"name\":\"S\",\"discard\":\"NEW\"}"), { ...DEFAULTS, discard: "new" })
  })
  it("null body decodes to a zero config (then fails the name check)", () => {
    assert.deepStrictEqual(createError("null"), ApiErrors.streamMismatch())
  })
})

describe("decodeStreamCreate: names", () => {
  it("name must match the subject token", () => {
    assert.deepStrictEqual(
      createError("{\"name\":\"T\"}"),
      new ApiError({
        code: 400,
        err_code: 10056,
        description: "stream name in subject does not match request"
      })
    )
  })
  it("path separators, wildcards, dots, length", () => {
    assert.deepStrictEqual(
      createError("{\"name\":\"a/b\"}", "a/b"),
      new ApiError({
        code: 400,
        err_code: 10128,
        description: "Stream name can not contain path separators"
      })
    )
    assert.deepStrictEqual(createError("{\"name\":\"a\\\\b\"}", "a\\b").err_code, 10128)
    for (const n of ["*", ">", "a.b", "a b", "a\tb"]) {
      assert.deepStrictEqual(
        createError(encodeJson({ name: n }), n),
        invalidConfig("stream name is required and can not contain '.', '*', '>'")
      )
    }
    const long = "x".repeat(256)
    assert.deepStrictEqual(
      createError(encodeJson({ name: long }), long),
      invalidConfig("stream name is too long, maximum allowed is 255")
    )
    const multiByte = "é".repeat(128) // 256 bytes
    assert.strictEqual(
      createError(encodeJson({ name: multiByte }), multiByte).description,
      "stream name is too long, maximum allowed is 255"
    )
    assert.deepStrictEqual(
      createError(encodeJson({ name: "S", description: "d".repeat(4097) })),
      invalidConfig("stream description is too long, maximum allowed is 4096")
    )
  })
  it("isValidName", () => {
    assert.isTrue(isValidName("ORDERS"))
    assert.isTrue(isValidName("ñ-_~"))
    for (const n of ["", "a.b", "a*", "a>", "a b", "a\nb", "a/b", "a\\b", "x".repeat(256)]) {
      assert.isFalse(isValidName(n), n)
    }
  })
})

describe("decodeStreamCreate: defaults and limits", () => {
  it("fills nats-server's defaults", () => {
    assert.deepStrictEqual(created("{\"name\":\"S\"}"), DEFAULTS)
    assert.deepStrictEqual(
      encodeJson(encodeStreamConfig(DEFAULTS, false)),
      "{\"name\":\"S\",\"subjects\":[\"S\"],\"retention\":\"limits\",\"max_consumers\":-1,\"max_msgs\":-1,\"max_bytes\":-1,\"max_age\":0,\"max_msgs_per_subject\":-1,\"max_msg_size\":-1,\"discard\":\"old\",\"storage\":\"file\",\"num_replicas\":1,\"duplicate_window\":120000000000,\"allow_direct\":false,\"mirror_direct\":false,\"sealed\":false,\"deny_delete\":false,\"deny_purge\":false,\"allow_rollup_hdrs\":false}"
    )
  })
  it("at the 2.10 level writes compression and consumer_limits always, where 2.10's StreamConfig has them", () => {
    // nats-server 2.10 stream.go StreamConfig: `compression` and `consumer_limits` have no omitempty.
    assert.deepStrictEqual(
      encodeJson(encodeStreamConfig(DEFAULTS, true)),
      "{\"name\":\"S\",\"subjects\":[\"S\"],\"retention\":\"limits\",\"max_consumers\":-1,\"max_msgs\":-1,\"max_bytes\":-1,\"max_age\":0,\"max_msgs_per_subject\":-1,\"max_msg_size\":-1,\"discard\":\"old\",\"storage\":\"file\",\"num_replicas\":1,\"duplicate_window\":120000000000,\"compression\":\"none\",\"allow_direct\":false,\"mirror_direct\":false,\"sealed\":false,\"deny_delete\":false,\"deny_purge\":false,\"allow_rollup_hdrs\":false,\"consumer_limits\":{}}"
    )
    const c = created("{\"name\":\"S\",\"compression\":\"s2\",\"consumer_limits\":{\"max_ack_pending\":5}}")
    const json = encodeJson(encodeStreamConfig(c, true))
    assert.include(json, "\"duplicate_window\":120000000000,\"compression\":\"s2\",\"allow_direct\"")
    assert.isTrue(json.endsWith("\"allow_rollup_hdrs\":false,\"consumer_limits\":{\"max_ack_pending\":5}}"))
    // The 2.9.10 form keeps a set value too (the stream has it) but omits the unset ones.
    assert.include(encodeJson(encodeStreamConfig(c, false)), "\"compression\":\"s2\"")
  })
  it("keeps negative limits as given", () => {
    const c = created("{\"name\":\"S\",\"max_consumers\":-7,\"max_msgs\":-9,\"max_msg_size\":-2,\"max_bytes\":-2}")
    assert.deepStrictEqual([c.max_consumers, c.max_msgs, c.max_msg_size, c.max_bytes], [-7, -9, -2, -2])
  })
  it("duplicate window follows max_age when shorter, errors otherwise", () => {
    assert.strictEqual(created("{\"name\":\"S\",\"max_age\":1000000000}").duplicate_window, 1_000_000_000)
    assert.strictEqual(created("{\"name\":\"S\",\"max_age\":3600000000000}").duplicate_window, 120_000_000_000)
    assert.strictEqual(
      created("{\"name\":\"S\",\"duplicate_window\":3600000000000}").duplicate_window,
      3_600_000_000_000
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"max_age\":50000000}"),
      invalidConfig("max age needs to be >= 100ms")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"max_age\":1000000000,\"duplicate_window\":2000000000}"),
      invalidConfig("duplicates window can not be larger then max age")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"duplicate_window\":-5}"),
      invalidConfig("duplicates window can not be negative")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"max_age\":-5}"),
      invalidConfig("duplicates window can not be negative")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"duplicate_window\":50}"),
      invalidConfig("duplicates window needs to be >= 100ms")
    )
  })
  it("replicas", () => {
    assert.strictEqual(created("{\"name\":\"S\",\"num_replicas\":1}").num_replicas, 1)
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"num_replicas\":3}"),
      new ApiError({
        code: 500,
        err_code: 10074,
        description: "replicas > 1 not supported in non-clustered mode"
      })
    )
    assert.deepStrictEqual(createError("{\"name\":\"S\",\"num_replicas\":6}"), invalidConfig("maximum replicas is 5"))
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"num_replicas\":-1}"),
      new ApiError({
        code: 400,
        err_code: 10133,
        description: "replicas count cannot be negative"
      })
    )
  })
  it("int64 limits survive (2^63-1 written back exactly)", () => {
    const c = created("{\"name\":\"S\",\"max_msgs\":9223372036854775807,\"max_age\":9223372036854775807}")
    const json = encodeJson(encodeStreamConfig(c, false))
    assert.include(json, "\"max_msgs\":9223372036854775807,")
    assert.include(json, "\"max_age\":9223372036854775807,")
  })
  it("flags and their rules", () => {
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"sealed\":true}"),
      invalidConfig("stream configuration for create can not be sealed")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"deny_purge\":true,\"allow_rollup_hdrs\":true}"),
      invalidConfig("roll-ups require the purge permission")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"discard_new_per_subject\":true}"),
      invalidConfig("discard new per subject requires discard new policy to be set")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"discard_new_per_subject\":true,\"discard\":\"new\"}"),
      invalidConfig("discard new per subject requires max msgs per subject > 0")
    )
    assert.deepStrictEqual(
      created(
        "{\"name\":\"S\",\"discard_new_per_subject\":true,\"discard\":\"new\",\"max_msgs_per_subject\":1,\"no_ack\":true}"
      ),
      {
        ...DEFAULTS,
        discard: "new",
        discard_new_per_subject: true,
        max_msgs_per_subject: 1,
        no_ack: true
      }
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"mirror_direct\":true}"),
      invalidConfig("stream has no mirror but does have mirror direct")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"template_owner\":\"T\"}"),
      new ApiError({ code: 500, err_code: 10049, description: "stream not owned by template" })
    )
  })
  it("retention and storage values", () => {
    const c = created("{\"name\":\"S\",\"retention\":\"workqueue\",\"storage\":\"memory\"}")
    assert.deepStrictEqual([c.retention, c.storage], ["workqueue", "memory"])
    assert.strictEqual(created("{\"name\":\"S\",\"retention\":\"interest\"}").retention, "interest")
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"storage\":\"any\"}"),
      invalidConfig("storage type \"any\" is not supported")
    )
  })
  it("null sources are refused; mirror (external included), sources and republish are validated", () => {
    assert.deepStrictEqual(created("{\"name\":\"S\",\"mirror\":{\"name\":\"O\"}}").mirror, { name: "O" })
    assert.deepStrictEqual(
      created("{\"name\":\"S\",\"mirror\":{\"name\":\"O\",\"external\":{\"api\":\"$JS.D.API\"}}}").mirror,
      { name: "O", external: { api: "$JS.D.API", deliver: "" } }
    )
    assert.deepStrictEqual(created("{\"name\":\"S\",\"sources\":[{\"name\":\"O\"}]}").sources, [{ name: "O" }])
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"sources\":[null]}"),
      invalidConfig("stream source can not be null")
    )
    assert.deepStrictEqual(created("{\"name\":\"S\",\"republish\":{\"dest\":\"out.>\"}}").republish, {
      src: ">",
      dest: "out.>"
    })
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"subjects\":[\"s.*\"],\"republish\":{\"src\":\"s.*\",\"dest\":\"out\"}}"),
      invalidConfig("stream configuration for republish not valid")
    )
    assert.deepStrictEqual(created("{\"name\":\"S\",\"mirror\":null,\"sources\":[],\"republish\":null}"), DEFAULTS)
  })
  it("external prefixes: delivery literal and apart from the origins' subjects, API apart from $JS.API", () => {
    const origin = { ...defaultStreamConfig("O"), subjects: ["foo.>"] }
    const limits: ServerStreamLimits = { stream: (n) => (n === "O" ? origin : undefined) }
    const mirror = (ext: string) => `{"name":"S","mirror":{"name":"O","external":${ext}}}`
    assert.deepStrictEqual(
      createError(mirror("{\"api\":\"X.API\",\"deliver\":\"foo\"}"), "S", limits),
      ApiErrors.streamExternalDelPrefixOverlaps("foo", "foo.>")
    )
    assert.deepStrictEqual(created(mirror("{\"api\":\"X.API\",\"deliver\":\"bar\"}"), "S", limits).mirror, {
      name: "O",
      external: { api: "X.API", deliver: "bar" }
    })
    assert.deepStrictEqual(
      createError(mirror("{\"api\":\"$JS.API\",\"deliver\":\"d\"}")),
      ApiErrors.streamExternalApiOverlap("$JS.API", "$JS.API")
    )
    assert.deepStrictEqual(
      createError(mirror("{\"api\":\"\",\"deliver\":\"d.*\"}")),
      ApiErrors.streamInvalidExternalDeliverySubj("d.*")
    )
    // Sources: two of one name through other prefixes are two sources; alike they are a duplicate.
    const src = (api: string) => `{"name":"O","external":{"api":"${api}","deliver":""}}`
    assert.strictEqual(created(`{"name":"S","sources":[${src("A.API")},${src("B.API")}]}`).sources?.length, 2)
    assert.deepStrictEqual(
      createError(`{"name":"S","sources":[${src("A.API")},${src("A.API")}]}`),
      ApiErrors.sourceDuplicateDetected()
    )
    // A cycle through another account is not followed (nats-server skips external sources).
    const back = { ...defaultStreamConfig("O"), sources: [{ name: "S" }] }
    assert.strictEqual(
      created(`{"name":"S","sources":[${src("A.API")}]}`, "S", { stream: (n) => (n === "O" ? back : undefined) })
        .sources?.[0]?.external?.api,
      "A.API"
    )
    // The mirror's external is part of the mirror: changing it is changing the mirror.
    const m = created(mirror("{\"api\":\"X.API\",\"deliver\":\"bar\"}"))
    assert.deepStrictEqual(
      updateError(m, mirror("{\"api\":\"Y.API\",\"deliver\":\"bar\"}")),
      ApiErrors.streamMirrorNotUpdatable()
    )
    assert.strictEqual(updated(m, mirror("{\"api\":\"X.API\",\"deliver\":\"bar\"}")).ok, true)
  })
  it("metadata, first_seq and placement are echoed", () => {
    const c = created(
      "{\"name\":\"S\",\"metadata\":{\"b\":\"2\",\"a\":\"1\"},\"first_seq\":5,\"placement\":{\"cluster\":\"c\",\"tags\":[\"t\"]}}"
    )
    assert.deepStrictEqual(c, {
      ...DEFAULTS,
      metadata: { b: "2", a: "1" },
      first_seq: 5,
      placement: { cluster: "c", tags: ["t"] }
    })
    const json = encodeJson(encodeStreamConfig(c, false))
    assert.include(json, "\"placement\":{\"cluster\":\"c\",\"tags\":[\"t\"]},\"first_seq\":5,\"allow_direct\"")
    assert.isTrue(json.endsWith("\"allow_rollup_hdrs\":false,\"metadata\":{\"a\":\"1\",\"b\":\"2\"}}"))
  })
  it("server limits: storage and memory reservations", () => {
    const limits: ServerStreamLimits = {
      maxMemoryStore: 1000,
      maxFileStore: 2000,
      reservedMemory: 500,
      reservedFile: 1999
    }
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"storage\":\"memory\",\"max_bytes\":501}", "S", limits),
      new ApiError({
        code: 500,
        err_code: 10028,
        description: "insufficient memory resources available"
      })
    )
    assert.strictEqual(created("{\"name\":\"S\",\"storage\":\"memory\",\"max_bytes\":500}", "S", limits).max_bytes, 500)
    // an unlimited stream still needs one byte of room
    assert.deepStrictEqual(
      createError("{\"name\":\"S\"}", "S", { ...limits, reservedFile: 2000 }),
      new ApiError({
        code: 500,
        err_code: 10047,
        description: "insufficient storage resources available"
      })
    )
    assert.strictEqual(created("{\"name\":\"S\"}", "S", limits).max_bytes, -1)
    assert.deepStrictEqual(
      createError("{\"name\":\"S\"}", "S", { maxBytesRequired: true }),
      ApiErrors.streamMaxBytesRequired()
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"max_bytes\":10}", "S", { maxFileStreamBytes: 5 }),
      ApiErrors.streamMaxStreamBytesExceeded()
    )
  })
})

describe("decodeStreamCreate: subjects", () => {
  it("defaults to the name", () => {
    assert.deepStrictEqual(created("{\"name\":\"S\",\"subjects\":[]}").subjects, ["S"])
  })
  it("invalid, duplicate, API-overlapping and self-overlapping subjects", () => {
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"subjects\":[\"a\",\"a\"]}"),
      invalidConfig("duplicate subjects detected")
    )
    for (const s of ["", "a..b", "a.>.b", "a b", ".a", "a."]) {
      assert.deepStrictEqual(createError(encodeJson({ name: "S", subjects: [s] })), invalidConfig("invalid subject"), s)
    }
    assert.deepStrictEqual(createError("{\"name\":\"S\",\"subjects\":[null]}"), invalidConfig("invalid subject"))
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"subjects\":[\"$JS.API.>\"]}"),
      invalidConfig("subjects overlap with jetstream api")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"subjects\":[\"$JS.API.STREAM.INFO.*\"]}"),
      invalidConfig("subjects overlap with jetstream api")
    )
    // nats-server only refuses subsets of $JS.API.>, not supersets
    assert.deepStrictEqual(created("{\"name\":\"S\",\"subjects\":[\"$JS.>\"]}").subjects, ["$JS.>"])
    assert.deepStrictEqual(created("{\"name\":\"S\",\"subjects\":[\">\"]}").subjects, [">"])
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"subjects\":[\"a.b\",\"a.*\"]}"),
      invalidConfig("subject \"a.b\" overlaps with \"a.*\"")
    )
    assert.deepStrictEqual(
      createError("{\"name\":\"S\",\"subjects\":[\"q\\u0001.>\",\"q\\u0001.x\"]}"),
      invalidConfig("subject \"q\\x01.>\" overlaps with \"q\\x01.x\"")
    )
    assert.deepStrictEqual(created("{\"name\":\"S\",\"subjects\":[\"a.*.c\",\"a.b.c.>\",\"a\\u000bb\"]}").subjects, [
      "a.*.c",
      "a.b.c.>",
      "a\u000bb"
    ])
  })
  it("subjectsCollide / subjectsOverlap", () => {
    const yes: Array<[string, string]> = [["a", "a"], ["a.b", "a.*"], ["a.>", "a.b.c"], ["*.b", "a.*"], [">", "x"], [
      "a.*.c",
      "a.>"
    ]]
    const no: Array<[string, string]> = [["a", "b"], ["a.b", "a.b.c"], ["a.*", "a.b.c"], ["a.*", "b.>"], [
      "a.*.a",
      "a.x.b.>"
    ], ["a.>", "a"]]
    for (const [x, y] of yes) assert.isTrue(subjectsCollide(x, y) && subjectsCollide(y, x), `${x} ${y}`)
    for (const [x, y] of no) assert.isFalse(subjectsCollide(x, y) || subjectsCollide(y, x), `${x} ${y}`)
    assert.isTrue(subjectsOverlap(["x", "orders.*"], ["orders.new"]))
    assert.isFalse(subjectsOverlap(["x", "orders.*"], ["orders.new.eu", "y"]))
  })
})

describe("decodeStreamUpdate", () => {
  const wq = created(
    "{\"name\":\"S\",\"subjects\":[\"a\"],\"retention\":\"workqueue\",\"storage\":\"memory\",\"discard\":\"new\",\"deny_delete\":true,\"deny_purge\":true,\"max_consumers\":4}"
  )
  const body = (extra: Record<string, unknown>) => encodeJson({ ...encodeStreamConfig(wq, false), ...extra })

  it("identical config is accepted", () => {
    assert.deepStrictEqual(updated(wq, body({})), { ok: true, config: wq })
  })
  it("order: JSON, config, name, existence", () => {
    assert.deepStrictEqual(updateError(undefined, "{"), ApiErrors.invalidJSON())
    assert.deepStrictEqual(
      updateError(undefined, "{\"name\":\"S\",\"duplicate_window\":-1}"),
      invalidConfig("duplicates window can not be negative")
    )
    assert.deepStrictEqual(updateError(undefined, "{\"name\":\"T\"}"), ApiErrors.streamMismatch())
    assert.deepStrictEqual(
      updateError(undefined, "{\"name\":\"S\"}"),
      new ApiError({ code: 404, err_code: 10059, description: "stream not found" })
    )
    assert.deepStrictEqual(
      updateError(wq, "null"),
      invalidConfig("stream name is required and can not contain '.', '*', '>'")
    )
  })
  it("immutable fields and one-way flags", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ max_consumers: 5 }, "stream configuration update can not change MaxConsumers"],
      [{ storage: "file" }, "stream configuration update can not change storage type"],
      [{ retention: "limits" }, "stream configuration update can not change retention policy"],
      [{ deny_delete: false }, "stream configuration update can not cancel deny message deletes"],
      [{ deny_purge: false }, "stream configuration update can not cancel deny purge"],
      [{ template_owner: "T" }, "stream configuration update can not be owned by a template"],
      [{ republish: { dest: "out.>" } }, "stream configuration update can not change RePublish"]
    ]
    for (const [extra, description] of cases) {
      assert.deepStrictEqual(updateError(wq, body(extra)), invalidConfig(description), description)
    }
    const plain = created("{\"name\":\"S\"}")
    assert.deepStrictEqual(
      updateError(plain, encodeJson({ name: "S", mirror: { name: "O" } })),
      ApiErrors.streamMirrorNotUpdatable()
    )
    assert.deepStrictEqual(
      updateError(plain, encodeJson({ name: "S", subjects: ["x"], mirror: { name: "O" } })),
      ApiErrors.mirrorWithSubjects()
    )
    // Sources may change on update.
    const withSources = updated(plain, encodeJson({ name: "S", sources: [{ name: "O" }] }))
    assert.deepStrictEqual(withSources.ok ? withSources.config.sources : withSources.error, [{ name: "O" }])
    assert.deepStrictEqual(updateError(wq, body({ num_replicas: 3 })), ApiErrors.streamReplicasNotSupported())
  })
  it("republish: refused at the advertised 2.9.10 level, editable at 2.10's (added, changed, removed)", () => {
    const editable = { republishEditable: true }
    const add = decodeStreamUpdate(body({ republish: { dest: "out.>" } }), "S", wq, editable)
    assert.deepStrictEqual(add.ok ? add.config.republish : add.error, { src: ">", dest: "out.>" })
    const withRp = add.ok ? add.config : wq
    const change = decodeStreamUpdate(body({ republish: { src: "a", dest: "o.a" } }), "S", withRp, editable)
    assert.deepStrictEqual(change.ok ? change.config.republish : change.error, { src: "a", dest: "o.a" })
    const removed = decodeStreamUpdate(body({}), "S", withRp, editable)
    assert.deepStrictEqual(removed.ok ? removed.config.republish : removed.error, undefined)
    // The other checks still apply when editable: a cycle back into the stream.
    const cycle = decodeStreamUpdate(body({ republish: { dest: "a" } }), "S", wq, editable)
    assert.deepStrictEqual(
      cycle.ok ? cycle.config : cycle.error,
      invalidConfig("stream configuration for republish destination forms a cycle")
    )
  })
  it("mirror removed: refused (10055) as by 2.9.10, a promotion with mirrorPromotable (2.12)", () => {
    const mirror = decodeStreamCreate(encodeJson({ name: "M", mirror: { name: "O" } }), "M")
    assert.isTrue(mirror.ok)
    const current = mirror.ok ? mirror.config : wq
    const promote = encodeJson({ name: "M", subjects: ["m"] })
    const r = decodeStreamUpdate(promote, "M", current)
    assert.deepStrictEqual(r.ok ? undefined : r.error, ApiErrors.streamMirrorNotUpdatable())
    const promoted = decodeStreamUpdate(promote, "M", current, { mirrorPromotable: true })
    assert.deepStrictEqual(promoted.ok ? [promoted.config.mirror, promoted.config.subjects] : promoted.error, [
      undefined,
      ["m"]
    ])
    // Another mirror is still a change of the mirror.
    const other = decodeStreamUpdate(encodeJson({ name: "M", mirror: { name: "X" } }), "M", current, {
      mirrorPromotable: true
    })
    assert.deepStrictEqual(other.ok ? undefined : other.error, ApiErrors.streamMirrorNotUpdatable())
  })
  it("sealing adjusts the config and cannot be undone", () => {
    const r = updated(wq, body({ sealed: true, max_age: 5_000_000_000, duplicate_window: 0 }))
    assert.deepStrictEqual(r, {
      ok: true,
      config: {
        ...wq,
        sealed: true,
        max_age: 0,
        duplicate_window: 5_000_000_000,
        discard: "new",
        deny_delete: true,
        deny_purge: true
      }
    })
    if (!r.ok) return
    assert.deepStrictEqual(
      updateError(r.config, body({})),
      invalidConfig("stream configuration update can not unseal a sealed stream")
    )
    assert.deepStrictEqual(
      updateError(wq, body({ sealed: true, allow_rollup_hdrs: true })),
      invalidConfig("roll-ups require the purge permission")
    )
  })
  it("mutable fields change; subjects default back to the name", () => {
    const base = created("{\"name\":\"S\",\"subjects\":[\"a\"]}")
    const r = updated(base, "{\"name\":\"S\",\"max_msgs\":10,\"allow_rollup_hdrs\":true,\"mirror_direct\":true}")
    assert.deepStrictEqual(r, {
      ok: true,
      config: { ...DEFAULTS, max_msgs: 10, allow_rollup_hdrs: true, mirror_direct: true }
    })
  })
  it("server limits apply to the growth of max_bytes only", () => {
    const base = created("{\"name\":\"S\",\"max_bytes\":1000}")
    const limits: ServerStreamLimits = { maxFileStore: 1500, reservedFile: 1000 }
    assert.strictEqual(updated(base, "{\"name\":\"S\",\"max_bytes\":1500}", limits).ok, true)
    assert.strictEqual(
      updated(base, "{\"name\":\"S\",\"max_bytes\":200}", { maxFileStore: 1000, reservedFile: 1000 }).ok,
      true
    )
    assert.deepStrictEqual(
      updateError(base, "{\"name\":\"S\",\"max_bytes\":1501}", "S", limits),
      ApiErrors.storageResourcesExceeded()
    )
  })
})

describe("sameConfig", () => {
  it("equal normalized configs are the same; any difference is not", () => {
    assert.isTrue(
      sameConfig(created("{\"name\":\"S\"}"), created("{\"name\":\"S\",\"subjects\":[\"S\"],\"max_msgs\":-1}"))
    )
    assert.isTrue(
      sameConfig(
        created("{\"name\":\"S\",\"metadata\":{\"a\":\"1\",\"b\":\"2\"}}"),
        created("{\"name\":\"S\",\"metadata\":{\"b\":\"2\",\"a\":\"1\"}}")
      )
    )
    assert.isFalse(sameConfig(created("{\"name\":\"S\"}"), created("{\"name\":\"S\",\"max_age\":1000000000}")))
    assert.isFalse(
      sameConfig(
        created("{\"name\":\"S\",\"subjects\":[\"a\",\"b\"]}"),
        created("{\"name\":\"S\",\"subjects\":[\"b\",\"a\"]}")
      )
    )
  })
})
