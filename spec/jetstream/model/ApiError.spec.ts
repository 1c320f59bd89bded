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
  it("mirrors nats-server's errors: 132 of 2.9.10, 22 of 2.10, 10 of 2.11, and the later ones (pedantic, api level, expected subject, counters, source header, atomic batch publish, fast-ingest batches, message schedules, consumer reset, flow-control acks, durable sourcing), with unique err_codes", () => {
    const names = Object.keys(ApiErrors)
    assert.strictEqual(names.length, 212)
    assert.strictEqual(new Set(Object.values(ApiErrorCodes)).size, 212)
    // 2.14 durable sourcing (ADR-60), errors.json verbatim.
    assert.deepStrictEqual(
      [
        ApiErrors.mirrorDurableConsumerCfgInvalid(),
        ApiErrors.mirrorConsumerRequiresAckFC(),
        ApiErrors.sourceDurableConsumerCfgInvalid(),
        ApiErrors.sourceDurableConsumerDuplicateDetected(),
        ApiErrors.sourceConsumerRequiresAckFC()
      ].map((e) => e.toJSON()),
      [
        { code: 400, err_code: 10213, description: "stream mirror consumer config is invalid" },
        { code: 400, err_code: 10214, description: "stream mirror consumer requires flow control ack policy" },
        { code: 400, err_code: 10215, description: "stream source consumer config is invalid" },
        { code: 400, err_code: 10216, description: "duplicate stream source consumer detected" },
        { code: 400, err_code: 10217, description: "stream source consumer requires flow control ack policy" }
      ]
    )
    // 2.14 (ADR-60), errors.json verbatim.
    assert.deepStrictEqual(
      [
        ApiErrors.consumerInvalidReset("below start seq"),
        ApiErrors.consumerAckFCRequiresPush(),
        ApiErrors.consumerAckFCRequiresFC(),
        ApiErrors.consumerAckFCRequiresMaxAckPending(),
        ApiErrors.consumerAckFCRequiresNoAckWait(),
        ApiErrors.consumerAckFCRequiresNoMaxDeliver()
      ].map((e) => e.toJSON()),
      [
        { code: 400, err_code: 10204, description: "invalid reset: below start seq" },
        { code: 400, err_code: 10218, description: "flow control ack policy requires a push based consumer" },
        { code: 400, err_code: 10219, description: "flow control ack policy requires flow control" },
        { code: 400, err_code: 10220, description: "flow control ack policy requires max ack pending" },
        { code: 400, err_code: 10221, description: "flow control ack policy requires unset ack wait" },
        { code: 400, err_code: 10222, description: "flow control ack policy requires unset max deliver" }
      ]
    )
    // 2.12 counters (ADR-49) and main's source header refusal: errors.json, verbatim.
    assert.deepStrictEqual(
      [
        ApiErrors.messageIncrDisabled(),
        ApiErrors.messageIncrMissing(),
        ApiErrors.messageIncrPayload(),
        ApiErrors.messageIncrInvalid(),
        ApiErrors.messageCounterBroken(),
        ApiErrors.mirrorWithCounters(),
        ApiErrors.messageSourceHdrNotAllowed()
      ].map((e) => e.toJSON()),
      [
        { code: 400, err_code: 10168, description: "message counters is disabled" },
        { code: 400, err_code: 10169, description: "message counter increment is missing" },
        { code: 400, err_code: 10170, description: "message counter has payload" },
        { code: 400, err_code: 10171, description: "message counter increment is invalid" },
        { code: 400, err_code: 10172, description: "message counter is broken" },
        { code: 400, err_code: 10173, description: "stream mirrors can not also calculate counters" },
        { code: 400, err_code: 10227, description: "message stream source header is not allowed" }
      ]
    )
    // 2.14 fast-ingest batch errors (errors.json, verbatim).
    assert.deepStrictEqual(
      [
        ApiErrors.batchPublishDisabled(),
        ApiErrors.batchPublishInvalidPattern(),
        ApiErrors.batchPublishInvalidBatchId(),
        ApiErrors.batchPublishUnknownBatchId(),
        ApiErrors.mirrorWithBatchPublish(),
        ApiErrors.batchPublishTooManyInflight()
      ].map((e) => e.toJSON()),
      [
        { code: 400, err_code: 10205, description: "batch publish is disabled" },
        { code: 400, err_code: 10206, description: "batch publish pattern is invalid" },
        { code: 400, err_code: 10207, description: "batch publish ID is invalid" },
        { code: 400, err_code: 10208, description: "batch publish ID unknown" },
        { code: 400, err_code: 10209, description: "stream mirrors can not also use batch publishing" },
        { code: 429, err_code: 10211, description: "batch publish too many inflight" }
      ]
    )
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
    // 2.12 atomic batch publish (errors.json, verbatim).
    assert.deepStrictEqual(
      [
        ApiErrors.streamWrongLastSequenceConstant(),
        ApiErrors.atomicPublishDisabled(),
        ApiErrors.atomicPublishMissingSeq(),
        ApiErrors.atomicPublishIncompleteBatch(),
        ApiErrors.atomicPublishUnsupportedHeaderBatch("Nats-Expected-Last-Msg-Id"),
        ApiErrors.atomicPublishInvalidBatchID(),
        ApiErrors.mirrorWithAtomicPublish(),
        ApiErrors.atomicPublishTooLargeBatch(1000),
        ApiErrors.atomicPublishInvalidBatchCommit(),
        ApiErrors.atomicPublishContainsDuplicateMessage(),
        ApiErrors.atomicPublishTooManyInflight()
      ].map((e) => e.toJSON()),
      [
        { code: 400, err_code: 10164, description: "wrong last sequence" },
        { code: 400, err_code: 10174, description: "atomic publish is disabled" },
        { code: 400, err_code: 10175, description: "atomic publish sequence is missing" },
        { code: 400, err_code: 10176, description: "atomic publish batch is incomplete" },
        {
          code: 400,
          err_code: 10177,
          description: "atomic publish unsupported header used: Nats-Expected-Last-Msg-Id"
        },
        { code: 400, err_code: 10179, description: "atomic publish batch ID is invalid" },
        { code: 400, err_code: 10198, description: "stream mirrors can not also use atomic publishing" },
        { code: 400, err_code: 10199, description: "atomic publish batch is too large: 1000" },
        { code: 400, err_code: 10200, description: "atomic publish batch commit is invalid" },
        { code: 400, err_code: 10201, description: "atomic publish batch contains duplicate message id" },
        { code: 429, err_code: 10210, description: "atomic publish too many inflight" }
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
