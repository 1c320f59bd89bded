import { Effect, Exit } from "effect"
import { assert, describe, it } from "vitest"
import { ApiError, ApiErrors } from "../../../src/jetstream/model/ApiError.ts"
import * as Requests from "../../../src/jetstream/model/Requests.ts"

const b = (s: string) => new TextEncoder().encode(s)

describe("Requests: strict decoding of the small API bodies", () => {
  it("purge: Go's types, null, folded keys, first error in document order", () => {
    assert.deepStrictEqual(Requests.purgeRequest(b("")), { seq: 0n, filter: "", keep: 0n })
    assert.deepStrictEqual(Requests.purgeRequest(b(" { } ")), { seq: 0n, filter: "", keep: 0n })
    assert.deepStrictEqual(Requests.purgeRequest(b("null")), { seq: 0n, filter: "", keep: 0n })
    assert.deepStrictEqual(Requests.purgeRequest(b("{\"SEQ\":18446744073709551615,\"filter\":null}")), {
      seq: 2n ** 64n - 1n,
      filter: "",
      keep: 0n
    })
    for (
      const bad of [
        "{\"seq\":\"5\"}",
        "{\"seq\":-1}",
        "{\"seq\":1.0}",
        "{\"seq\":1e2}",
        "{\"seq\":18446744073709551616}",
        "{\"filter\":5}",
        "{\"keep\":true}",
        "{\"seq\":",
        "  ",
        "[]",
        "5",
        "{\"seq\":1}x"
      ]
    ) {
      assert.deepStrictEqual(Requests.purgeRequest(b(bad)), ApiErrors.invalidJSON(), bad)
    }
    assert.deepStrictEqual(Requests.purgeRequest(b("{\"seq\":1,\"keep\":1}")), ApiErrors.badRequest())
    assert.deepStrictEqual(Requests.purgeRequest(b("{\"x\":1,\"seq\":\"1\"}")), Requests.unknownField("x"))
    assert.deepStrictEqual(Requests.purgeRequest(b("{\"seq\":\"1\",\"x\":1}")), ApiErrors.invalidJSON())
    assert.strictEqual(Requests.unknownField("a\"b").description, "invalid JSON: json: unknown field \"a\\\"b\"")
  })
  it("invalid UTF-8 inside a string is decoded as Go does (U+FFFD), outside one it is invalid JSON", () => {
    const inString = Uint8Array.from([...b("{\"filter\":\"a"), 0xff, ...b("\"}")])
    assert.deepStrictEqual(Requests.purgeRequest(inString), { seq: 0n, filter: "a\ufffd", keep: 0n })
    assert.deepStrictEqual(
      Requests.purgeRequest(Uint8Array.from([...b("{\"seq\":1"), 0xff, ...b("}")])),
      ApiErrors.invalidJSON()
    )
  })
  it("msg get / msg delete / lists / empty-body requests", () => {
    assert.deepStrictEqual(Requests.msgGetRequest(b("{}")), ApiErrors.badRequest())
    assert.deepStrictEqual(Requests.msgGetRequest(b("{\"seq\":2,\"last_by_subj\":\"a\"}")), ApiErrors.badRequest())
    assert.deepStrictEqual(Requests.msgGetRequest(b("{\"next_by_subj\":\"a\"}")), {
      seq: 0n,
      last_by_subj: "",
      next_by_subj: "a",
      no_hdr: false
    })
    assert.deepStrictEqual(Requests.msgDeleteRequest(b("")), ApiErrors.badRequest())
    assert.deepStrictEqual(Requests.msgDeleteRequest(b("{\"seq\":3,\"no_erase\":1}")), ApiErrors.invalidJSON())
    assert.deepStrictEqual(Requests.streamNamesRequest(b("{\"offset\":-1}")), ApiErrors.badRequest())
    assert.deepStrictEqual(Requests.streamNamesRequest(b("{\"offset\":9223372036854775808}")), ApiErrors.invalidJSON())
    assert.deepStrictEqual(Requests.consumersRequest(b("{\"offset\":2}")), { offset: 2n })
    assert.strictEqual(Requests.emptyRequest(b(" {} ")), undefined)
    assert.deepStrictEqual(Requests.emptyRequest(b("null")), ApiErrors.notEmptyRequest())
  })
})

describe("ApiError", () => {
  it("is a tagged error in the error channel, compared member by member, encoded as its wire members", () => {
    const exit = Effect.runSyncExit(Effect.gen(function*() {
      return yield* ApiErrors.streamNotFound()
    }))
    assert.isTrue(Exit.isFailure(exit))
    if (Exit.isFailure(exit)) {
      const e = exit.cause.reasons[0]
      assert.isTrue(e !== undefined && e._tag === "Fail" && e.error instanceof ApiError && e.error.err_code === 10059)
    }
    assert.notDeepEqual(
      new ApiError({ code: 500, err_code: 10049, description: "x" }),
      new ApiError({ code: 500, err_code: 10052, description: "x" })
    )
    assert.strictEqual(
      JSON.stringify(ApiErrors.streamSealed()),
      "{\"code\":400,\"err_code\":10109,\"description\":\"invalid operation on sealed stream\"}"
    )
    assert.strictEqual(ApiErrors.streamSealed().message, "invalid operation on sealed stream")
  })
})
