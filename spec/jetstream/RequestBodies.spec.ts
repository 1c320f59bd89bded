/**
 * Raw request bodies against the broker, asserting exact replies and that an error reply changed
 * nothing. The shared cases carry the values recorded from nats-server 2.9.10 (the differential
 * suite compares them live when nats-server is installed); the strict cases are the deliberate
 * differences: 2.9.10 ignores unknown keys (`{"x":1}` purged all ten messages there), panics on
 * a negative list offset and ignores the body of account INFO.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, expect, it } from "vitest"
import { recordedSuite } from "../support/Recorded.ts"
import { probe } from "./RequestBodyScenarios.ts"

const T = "io.nats.jetstream.api.v1."
const invalidJson = { code: 400, err_code: 10025, description: "invalid JSON" }
const unknown = (key: string) => ({
  code: 400,
  err_code: 10025,
  description: `invalid JSON: json: unknown field "${key}"`
})
const purgeError = (error: unknown) => ({
  reply: { type: T + "stream_purge_response", error, purged: 0 },
  changed: false
})

recordedSuite("request bodies (recorded from nats-server 2.9.10)", { storages: ["file", "memory"] }, (broker) => {
  let nc: NatsConnection
  beforeAll(async () => {
    nc = await connect({ servers: broker.url, reconnect: false })
  })
  afterAll(() => nc.close())
  let n = 0
  const run = (op: string, body: string) => probe(nc, `Q${n++}`, op, body)

  it("purge: wrong types, negatives, fractions, exponents and numbers past uint64 are 10025 and purge nothing", async () => {
    for (
      const body of [
        `{"seq":"5"}`,
        `{"filter":5}`,
        `{"keep":"2"}`,
        `{"seq":-1}`,
        `{"seq":1.5}`,
        `{"seq":1e2}`,
        `{"seq":18446744073709551616}`,
        `{"keep":-1}`,
        `{"keep":1.5}`,
        `{"seq":`,
        `[1]`,
        `5`,
        `"a"`,
        `  `,
        `{"seq":2,"seq":"x"}`
      ]
    ) {
      expect(await run("STREAM.PURGE.{s}", body), body).toEqual(purgeError(invalidJson))
    }
    expect(await run("STREAM.PURGE.{s}", `{"seq":1,"keep":1}`)).toEqual(
      purgeError({ code: 400, err_code: 10003, description: "bad request" })
    )
    expect(await run("STREAM.PURGE.NOPE", `{"seq":"1"}`)).toEqual(purgeError(invalidJson))
    expect(await run("STREAM.PURGE.NOPE", `{}`)).toEqual(
      purgeError({ code: 404, err_code: 10059, description: "stream not found" })
    )
  })

  it("purge: valid bodies, null and case-folded keys", async () => {
    const purged = (n: number) => ({
      reply: { type: T + "stream_purge_response", success: true, purged: n },
      changed: true
    })
    expect(await run("STREAM.PURGE.{s}", `{"seq":4}`)).toEqual(purged(3))
    expect(await run("STREAM.PURGE.{s}", `{"SEQ":4}`)).toEqual(purged(3))
    expect(await run("STREAM.PURGE.{s}", `{"keep":3}`)).toEqual(purged(7))
    expect(await run("STREAM.PURGE.{s}", `null`)).toEqual(purged(10))
    expect(await run("STREAM.PURGE.{s}", `{"seq":null}`)).toEqual(purged(10))
  })

  it("msg get / msg delete / info / names: wrong types are 10025, empty bodies where one is needed are 10003", async () => {
    const get = (error: unknown) => ({ reply: { type: T + "stream_msg_get_response", error }, changed: false })
    expect(await run("STREAM.MSG.GET.{s}", `{"seq":"5"}`)).toEqual(get(invalidJson))
    expect(await run("STREAM.MSG.GET.{s}", `{"seq":-1}`)).toEqual(get(invalidJson))
    expect(await run("STREAM.MSG.GET.{s}", ``)).toEqual(get({ code: 400, err_code: 10003, description: "bad request" }))
    expect(await run("STREAM.MSG.GET.{s}", `null`)).toEqual(
      get({ code: 400, err_code: 10003, description: "bad request" })
    )
    const del = (error: unknown) => ({ reply: { type: T + "stream_msg_delete_response", error }, changed: false })
    expect(await run("STREAM.MSG.DELETE.{s}", `{"no_erase":1,"seq":3}`)).toEqual(del(invalidJson))
    expect(await run("STREAM.MSG.DELETE.{s}", `{}`)).toEqual(
      del({ code: 400, err_code: 10003, description: "bad request" })
    )
    expect(await run("STREAM.INFO.{s}", `{"deleted_details":1}`)).toEqual({
      reply: { type: T + "stream_info_response", error: invalidJson, total: 0, offset: 0, limit: 0 },
      changed: false
    })
    expect(await run("STREAM.NAMES", `{"offset":1.5}`)).toEqual({
      reply: { type: T + "stream_names_response", error: invalidJson, total: 0, offset: 0, limit: 0, streams: null },
      changed: false
    })
    expect(await run("CONSUMER.NAMES.{s}", `{"offset":"1"}`)).toEqual({
      reply: { type: T + "consumer_names_response", error: invalidJson, total: 0, offset: 0, limit: 0, consumers: [] },
      changed: false
    })
    expect(await run("STREAM.DELETE.{s}", `{"a":1}`)).toEqual({
      reply: {
        type: T + "stream_delete_response",
        error: { code: 400, err_code: 10038, description: "expected an empty request payload" }
      },
      changed: false
    })
    expect(await run("DIRECT.GET.{s}", `{"seq":"1"}`)).toEqual({
      reply: "status 408 Malformed Request",
      changed: false
    })
    expect(await run("CONSUMER.MSG.NEXT.{s}.C", `{"batch":"1"}`)).toEqual({
      reply:
        "status 400 Bad Request - json: cannot unmarshal string into Go struct field JSApiConsumerGetNextRequest.batch of type int",
      changed: false
    })
  })

  it("strict (deliberate difference): unknown keys are refused before anything changes", async () => {
    expect(await run("STREAM.PURGE.{s}", `{"x":1}`)).toEqual(purgeError(unknown("x")))
    expect(await run("STREAM.PURGE.{s}", `{"seq":4,"sEq2":1}`)).toEqual(purgeError(unknown("sEq2")))
    // The first error in document order wins, as in Go's decoder.
    expect(await run("STREAM.PURGE.{s}", `{"seq":"4","x":1}`)).toEqual(purgeError(invalidJson))
    expect(await run("STREAM.MSG.GET.{s}", `{"x":1,"seq":2}`)).toEqual({
      reply: { type: T + "stream_msg_get_response", error: unknown("x") },
      changed: false
    })
    expect(await run("STREAM.MSG.DELETE.{s}", `{"seq":2,"erase":true}`)).toEqual({
      reply: { type: T + "stream_msg_delete_response", error: unknown("erase") },
      changed: false
    })
    expect(await run("STREAM.INFO.{s}", `{"x":1}`)).toEqual({
      reply: { type: T + "stream_info_response", error: unknown("x"), total: 0, offset: 0, limit: 0 },
      changed: false
    })
    expect(await run("STREAM.NAMES", `{"filter":"a"}`)).toEqual({
      reply: {
        type: T + "stream_names_response",
        error: unknown("filter"),
        total: 0,
        offset: 0,
        limit: 0,
        streams: null
      },
      changed: false
    })
    expect(await run("CONSUMER.LIST.{s}", `{"limit":1}`)).toEqual({
      reply: {
        type: T + "consumer_list_response",
        error: unknown("limit"),
        total: 0,
        offset: 0,
        limit: 0,
        consumers: []
      },
      changed: false
    })
    const create = (error: unknown) => ({ reply: { type: T + "consumer_create_response", error }, changed: false })
    expect(
      await run("CONSUMER.DURABLE.CREATE.{s}.D", `{"stream_name":"Q${n}","config":{"durable_name":"D"},"priority":1}`)
    ).toEqual(create(unknown("priority")))
    expect(await run("CONSUMER.CREATE.NOPE", `{"stream_name":"NOPE","cfg":{}}`)).toEqual(create(unknown("cfg")))
    expect(
      await run("CONSUMER.DURABLE.CREATE.{s}.D", `{"stream_name":"Q${n}","config":{"durable_name":"D"},"pedantic":1}`)
    ).toEqual(create(invalidJson))
    // What nats.js v3 sends is accepted.
    const made = await run(
      "CONSUMER.DURABLE.CREATE.{s}.D",
      `{"stream_name":"Q${n}","config":{"durable_name":"D","ack_policy":"explicit"},"action":"create","pedantic":false}`
    )
    expect(made.changed).toBe(true)
    expect(await run("DIRECT.GET.{s}", `{"seq":1,"no_hdr":1}`)).toEqual({
      reply: "status 408 Malformed Request",
      changed: false
    })
    expect(await run("CONSUMER.MSG.NEXT.{s}.C", `{"batch":1,"groups":"g"}`)).toEqual({
      reply: "status 400 Bad Request - json: unknown field \"groups\"",
      changed: false
    })
  })

  it("strict (deliberate difference): a negative list offset is a bad request (2.9.10 panics), a purge past 2^53 and a body to account INFO are refused", async () => {
    const bad = { code: 400, err_code: 10003, description: "bad request" }
    expect(await run("STREAM.NAMES", `{"offset":-1}`)).toEqual({
      reply: { type: T + "stream_names_response", error: bad, total: 0, offset: 0, limit: 0, streams: null },
      changed: false
    })
    expect(await run("STREAM.LIST", `{"offset":-1}`)).toEqual({
      reply: { type: T + "stream_list_response", error: bad, total: 0, offset: 0, limit: 0, streams: [] },
      changed: false
    })
    expect(await run("CONSUMER.NAMES.{s}", `{"offset":-1}`)).toEqual({
      reply: { type: T + "consumer_names_response", error: bad, total: 0, offset: 0, limit: 0, consumers: [] },
      changed: false
    })
    expect(await run("STREAM.INFO.{s}", `{"offset":-2}`)).toEqual({
      reply: { type: T + "stream_info_response", error: bad, total: 0, offset: 0, limit: 0 },
      changed: false
    })
    // 2.9.10 moves the first sequence to 2^64-1; ours are exact JS numbers, so the purge is refused.
    expect(await run("STREAM.PURGE.{s}", `{"seq":18446744073709551615}`)).toEqual(purgeError({
      code: 500,
      err_code: 10110,
      description: "purge sequence 18446744073709551615 is past the largest supported sequence 9007199254740991"
    }))
    expect(await run("INFO", `{"x":1}`)).toEqual({
      reply: {
        type: T + "account_info_response",
        error: { code: 400, err_code: 10038, description: "expected an empty request payload" }
      },
      changed: false
    })
  })

  it("leader stepdowns: a single server answers 10010 (clustering required), changing nothing", async () => {
    const required = { code: 503, err_code: 10010, description: "JetStream clustering support required" }
    expect(await run("STREAM.LEADER.STEPDOWN.{s}", ``)).toEqual({
      reply: { type: T + "stream_leader_stepdown_response", error: required },
      changed: false
    })
    expect(await run("CONSUMER.LEADER.STEPDOWN.{s}.C", ``)).toEqual({
      reply: { type: T + "consumer_leader_stepdown_response", error: required },
      changed: false
    })
  })
})
