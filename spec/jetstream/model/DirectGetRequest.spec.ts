import { assert, describe, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../../src/config/BrokerConfig.ts"
import { API_LEVEL, apiLevelOf, refusesApiLevel } from "../../../src/jetstream/model/ApiLevel.ts"
import { directGetBySubjectRequest, directGetRequest } from "../../../src/jetstream/model/DirectGetRequest.ts"

const b = (s: string) => new TextEncoder().encode(s)
const status = (req: ReturnType<typeof directGetRequest>) => ("status" in req ? req.status : "ok")

describe("DirectGetRequest: the 2.11 direct get bodies (stream.go processDirectGetRequest)", () => {
  it("refuses an empty body, invalid JSON, unknown keys and wrong types (no_hdr of 2.12 included)", () => {
    assert.strictEqual(status(directGetRequest(b(""))), "408 Empty Request")
    assert.strictEqual(status(directGetRequest(b("{}"))), "408 Empty Request")
    assert.strictEqual(status(directGetRequest(b("{\"batch\":5}"))), "408 Empty Request")
    assert.strictEqual(status(directGetRequest(b("{\"seq\":1,\"x\":1}"))), "408 Malformed Request")
    assert.strictEqual(status(directGetRequest(b("{\"seq\":1,\"no_hdr\":\"true\"}"))), "408 Malformed Request")
    assert.strictEqual((directGetRequest(b("{\"seq\":1,\"no_hdr\":true}")) as { no_hdr: boolean }).no_hdr, true)
    assert.strictEqual(status(directGetRequest(b("{\"seq\":1,\"batch\":\"2\"}"))), "408 Malformed Request")
    assert.strictEqual(status(directGetRequest(b("{\"multi_last\":\"a\"}"))), "408 Malformed Request")
    assert.strictEqual(status(directGetRequest(b("{\"start_time\":\"yesterday\"}"))), "408 Malformed Request")
    assert.strictEqual(status(directGetRequest(b("{\"start_time\":5}"))), "408 Malformed Request")
  })

  it("refuses nats-server's conflicting combinations with 408 Bad Request", () => {
    for (
      const body of [
        `{"last_by_subj":"a","next_by_subj":"b"}`,
        `{"seq":1,"last_by_subj":"a"}`,
        `{"seq":1,"start_time":"2024-01-01T00:00:00Z"}`,
        `{"last_by_subj":"a","start_time":"2024-01-01T00:00:00Z"}`,
        `{"last_by_subj":"a","batch":2}`,
        `{"last_by_subj":"a","multi_last":["a"]}`,
        `{"next_by_subj":"a","multi_last":["a"]}`,
        `{"multi_last":["a"],"up_to_seq":3,"up_to_time":"2024-01-01T00:00:00Z"}`
      ]
    ) assert.strictEqual(status(directGetRequest(b(body))), "408 Bad Request", body)
  })

  it("decodes the batch fields: times to Unix ns, null keeps nil, Go ints may be negative", () => {
    assert.deepStrictEqual(
      directGetRequest(b(`{"start_time":"1970-01-01T00:00:01.5Z","batch":3,"max_bytes":-1,"next_by_subj":"a.>"}`)),
      {
        seq: 0n,
        last_by_subj: "",
        next_by_subj: "a.>",
        batch: 3n,
        max_bytes: -1n,
        start_time: 1_500_000_000n,
        multi_last: [],
        up_to_seq: 0n,
        up_to_time: undefined,
        no_hdr: false
      }
    )
    const m = directGetRequest(
      b(`{"multi_last":["a.*","b"],"up_to_time":"1970-01-01T00:00:02+00:00","start_time":null}`)
    )
    assert.ok(!("status" in m))
    if (!("status" in m)) {
      assert.deepStrictEqual(m.multi_last, ["a.*", "b"])
      assert.strictEqual(m.up_to_time, 2_000_000_000n)
      assert.strictEqual(m.start_time, undefined)
    }
  })

  it("subject form: an empty or JSON body; a body naming its own target is a bad request", () => {
    const ok = directGetBySubjectRequest(b(""), "k.1")
    assert.ok(!("status" in ok) && ok.last_by_subj === "k.1")
    const withBytes = directGetBySubjectRequest(b(`{"max_bytes":10}`), "k.1")
    assert.ok(!("status" in withBytes) && withBytes.max_bytes === 10n && withBytes.last_by_subj === "k.1")
    assert.strictEqual(status(directGetBySubjectRequest(b("{"), "k")), "408 Malformed Request")
    assert.strictEqual(status(directGetBySubjectRequest(b(""), "")), "408 Bad Request")
    for (
      const body of [
        `{"seq":1}`,
        `{"batch":1}`,
        `{"last_by_subj":"x"}`,
        `{"next_by_subj":"x"}`,
        `{"multi_last":["x"]}`,
        `{"up_to_seq":1}`,
        `{"start_time":"2024-01-01T00:00:00Z"}`,
        `{"up_to_time":"2024-01-01T00:00:00Z"}`
      ]
    ) assert.strictEqual(status(directGetBySubjectRequest(b(body), "k")), "408 Bad Request", body)
  })
})

describe("ApiLevel (ADR-44)", () => {
  it("is a function of the advertised release: 0 before 2.11, 1 from 2.11, 2 from 2.12, 4 from 2.14", () => {
    assert.strictEqual(apiLevelOf("2.12.3"), 2)
    assert.strictEqual(apiLevelOf("2.14.0"), 4)
    assert.strictEqual(apiLevelOf("2.14.5"), 4)
    assert.strictEqual(apiLevelOf("2.9.10"), 0)
    assert.strictEqual(apiLevelOf("2.10.29"), 0)
    assert.strictEqual(apiLevelOf("2.11.0"), 1)
    assert.strictEqual(apiLevelOf("2.11.17"), 1)
    assert.strictEqual(API_LEVEL, apiLevelOf(ADVERTISED_NATS_VERSION))
  })

  it("Nats-Required-Api-Level: absent or empty passes, a level above ours or a non-integer is refused", () => {
    const h = (v: string) => b(`NATS/1.0\r\nNats-Required-Api-Level: ${v}\r\n\r\n`)
    assert.strictEqual(refusesApiLevel(b("NATS/1.0\r\nX: 1\r\n\r\n"), 1), false)
    assert.strictEqual(refusesApiLevel(h(""), 0), false)
    assert.strictEqual(refusesApiLevel(h("0"), 0), false)
    assert.strictEqual(refusesApiLevel(h("1"), 0), true)
    assert.strictEqual(refusesApiLevel(h("1"), 1), false)
    assert.strictEqual(refusesApiLevel(h("+1"), 1), false)
    assert.strictEqual(refusesApiLevel(h("-3"), 1), false)
    assert.strictEqual(refusesApiLevel(h("2"), 1), true)
    assert.strictEqual(refusesApiLevel(h("one"), 1), true)
    assert.strictEqual(refusesApiLevel(h("9223372036854775808"), 1), true)
  })
})
