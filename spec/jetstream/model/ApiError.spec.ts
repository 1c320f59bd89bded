import { assert, describe, it } from "vitest"
import {
  ApiError,
  ApiErrorCodes,
  apiErrorResponse,
  ApiErrors,
  apiResponse,
  isApiError
} from "../../../src/jetstream/model/ApiError.ts"

describe("ApiErrors", () => {
  it("mirrors the 132 errors of nats-server 2.9.10, 22 of 2.10 (filter_subjects, metadata, first_seq, action, consumer_limits, subject transforms), 10 of 2.11 (per-message TTL, stream too-many-requests, priority groups) 3 later ones (pedantic, api level, expected subject) and 10 of message schedules (2.12 / 2.14), with unique err_codes", () => {
    const names = Object.keys(ApiErrors)
    assert.strictEqual(names.length, 177)
    assert.strictEqual(new Set(Object.values(ApiErrorCodes)).size, 177)
    // nats-server 2.11+ errors.json, verbatim.
    assert.deepStrictEqual([ApiErrors.messageTtlInvalid(), ApiErrors.messageTtlDisabled()].map((e) => e.toJSON()), [
      { code: 400, err_code: 10165, description: "invalid per-message TTL" },
      { code: 400, err_code: 10166, description: "per-message TTL is disabled" }
    ])
    // JSStreamTooManyRequests (stream ingest limits).
    assert.deepStrictEqual(ApiErrors.streamTooManyRequests().toJSON(), {
      code: 429,
      err_code: 10167,
      description: "too many requests"
    })
    // 2.11's pedantic error and the 2.12 request checks we implement (errors.json, verbatim).
    assert.deepStrictEqual(
      [ApiErrors.pedantic("x"), ApiErrors.requiredApiLevel(), ApiErrors.streamExpectedLastSeqPerSubjectInvalid()].map((
        e
      ) => e.toJSON()),
      [
        { code: 400, err_code: 10157, description: "pedantic mode: x" },
        { code: 412, err_code: 10185, description: "JetStream minimum api level required" },
        { code: 400, err_code: 10193, description: "missing sequence for expected last sequence per subject" }
      ]
    )
    assert.deepStrictEqual(
      [
        ApiErrorCodes.consumerDuplicateFilterSubjects,
        ApiErrorCodes.consumerMultipleFiltersNotAllowed,
        ApiErrorCodes.consumerOverlappingSubjectFilters,
        ApiErrorCodes.consumerEmptyFilter
      ],
      [10136, 10137, 10138, 10139]
    )
    // nats-server 2.10 errors.json, verbatim.
    assert.deepStrictEqual(
      [
        ApiErrors.consumerMetadataLength("128KB"),
        ApiErrors.mirrorWithFirstSeq(),
        ApiErrors.consumerAlreadyExists(),
        ApiErrors.consumerDoesNotExist(),
        ApiErrors.consumerInactiveThresholdExcess("1m0s")
      ].map((e) => e.toJSON()),
      [
        { code: 400, err_code: 10135, description: "consumer metadata exceeds maximum size of 128KB" },
        { code: 400, err_code: 10143, description: "stream mirrors can not have first sequence configured" },
        { code: 400, err_code: 10148, description: "consumer already exists" },
        { code: 400, err_code: 10149, description: "consumer does not exist" },
        { code: 400, err_code: 10153, description: "consumer inactive threshold exceeds system limit of 1m0s" }
      ]
    )
  })
  it("exact values of the common stream errors", () => {
    assert.deepStrictEqual(
      ApiErrors.streamNotFound(),
      new ApiError({ code: 404, err_code: 10059, description: "stream not found" })
    )
    assert.deepStrictEqual(
      ApiErrors.consumerNotFound(),
      new ApiError({ code: 404, err_code: 10014, description: "consumer not found" })
    )
    assert.deepStrictEqual(
      ApiErrors.invalidJSON(),
      new ApiError({ code: 400, err_code: 10025, description: "invalid JSON" })
    )
    assert.deepStrictEqual(
      ApiErrors.badRequest(),
      new ApiError({ code: 400, err_code: 10003, description: "bad request" })
    )
    assert.deepStrictEqual(
      ApiErrors.noMessageFound(),
      new ApiError({ code: 404, err_code: 10037, description: "no message found" })
    )
    assert.deepStrictEqual(
      ApiErrors.streamNameExist(),
      new ApiError({
        code: 400,
        err_code: 10058,
        description: "stream name already in use with a different configuration"
      })
    )
    assert.deepStrictEqual(
      ApiErrors.streamSubjectOverlap(),
      new ApiError({
        code: 400,
        err_code: 10065,
        description: "subjects overlap with an existing stream"
      })
    )
    assert.deepStrictEqual(
      ApiErrors.notEnabledForAccount(),
      new ApiError({
        code: 503,
        err_code: 10039,
        description: "JetStream not enabled for account"
      })
    )
    assert.deepStrictEqual(
      ApiErrors.streamMessageExceedsMaximum(),
      new ApiError({ code: 400, err_code: 10054, description: "message size exceeds maximum allowed" })
    )
    assert.deepStrictEqual(
      ApiErrors.streamSealed(),
      new ApiError({ code: 400, err_code: 10109, description: "invalid operation on sealed stream" })
    )
    assert.strictEqual(ApiErrorCodes.streamWrongLastMsgID, 10070)
  })
  it("fills placeholders like nats-server", () => {
    assert.deepStrictEqual(
      ApiErrors.streamWrongLastSequence(41),
      new ApiError({ code: 400, err_code: 10071, description: "wrong last sequence: 41" })
    )
    assert.strictEqual(
      ApiErrors.streamWrongLastSequence(2n ** 64n - 1n).description,
      "wrong last sequence: 18446744073709551615"
    )
    assert.deepStrictEqual(
      ApiErrors.streamWrongLastMsgID("abc"),
      new ApiError({ code: 400, err_code: 10070, description: "wrong last msg ID: abc" })
    )
    assert.deepStrictEqual(
      ApiErrors.streamInvalidConfig("x {err} y"),
      new ApiError({ code: 500, err_code: 10052, description: "x {err} y" })
    )
    assert.deepStrictEqual(
      ApiErrors.streamStoreFailed("disk"),
      new ApiError({ code: 503, err_code: 10077, description: "disk" })
    )
    assert.strictEqual(
      ApiErrors.streamExternalDelPrefixOverlaps("p", "s").description,
      "stream external delivery prefix p overlaps with stream subject s"
    )
    assert.strictEqual(
      ApiErrors.consumerNameTooLong(255).description,
      "consumer name is too long, maximum allowed is 255"
    )
  })
})

describe("responses", () => {
  it("apiResponse puts type first and encodes like Go", () => {
    assert.strictEqual(
      apiResponse("io.nats.jetstream.api.v1.stream_names_response", {
        total: 1,
        type: "ignored",
        streams: ["a<b"],
        seq: 2n ** 63n
      }),
      "{\"type\":\"io.nats.jetstream.api.v1.stream_names_response\",\"total\":1,\"streams\":[\"a\\u003cb\"],\"seq\":9223372036854775808}"
    )
  })
  it("apiErrorResponse", () => {
    assert.strictEqual(
      apiErrorResponse("io.nats.jetstream.api.v1.stream_create_response", ApiErrors.streamReplicasNotSupported()),
      "{\"type\":\"io.nats.jetstream.api.v1.stream_create_response\",\"error\":{\"code\":500,\"err_code\":10074,\"description\":\"replicas \\u003e 1 not supported in non-clustered mode\"}}"
    )
  })
  it("isApiError", () => {
    assert.isTrue(isApiError(ApiErrors.streamNotFound()))
    assert.isFalse(isApiError({ code: 1 }))
    assert.isFalse(isApiError(null))
  })
})
