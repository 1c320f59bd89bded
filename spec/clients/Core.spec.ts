import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { scenarios } from "./CoreScenarios.ts"

describe("official client (@nats-io/transport-node) against the broker", () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBroker()
  })
  afterAll(() => broker.stop())

  it("publishes and subscribes with intact payloads", async () => {
    expect(await scenarios.pubsub(broker.url)).toEqual({
      got: ["greet.joe:a", "greet.joe:bb", "greet.joe:ccc"],
      binaryIntact: true
    })
  })

  it("matches * and > wildcards", async () => {
    expect(await scenarios.wildcards(broker.url)).toEqual({
      "a.*": ["a.b"],
      "a.>": ["a.b", "a.b.c"],
      "*.b": ["a.b", "x.b"],
      ">": ["a.b", "a.b.c", "x.b", "a", "b.c.d"],
      "a.*.c": ["a.b.c"]
    })
  })

  it("delivers each message to one queue group member", async () => {
    expect(await scenarios.queueGroups(broker.url)).toEqual({ groupTotal: 60, groupDistinct: 60, plainTotal: 60 })
  })

  it("does request/reply through the muxed inbox", async () => {
    expect(await scenarios.requestReply(broker.url)).toEqual({
      sequential: ["ONE", "TWO"],
      concurrent: ["X", "Y", "Z"]
    })
  })

  it("carries headers both ways", async () => {
    expect(await scenarios.headers(broker.url)).toEqual({
      seen: { id: "42", multi: ["x", "y"], body: "body" },
      replyEcho: "42",
      replyBody: "ok"
    })
  })

  it("answers a request with no subscriber with no-responders", async () => {
    expect(await scenarios.noResponders(broker.url)).toEqual({ error: "RequestError/NoResponders", fast: true })
  })

  it("stops a subscription after its max count", async () => {
    expect(await scenarios.unsubscribeMax(broker.url)).toEqual({ aCount: 3, bCount: 3, aClosed: true, bClosed: true })
  })

  it("drains and flushes", async () => {
    expect(await scenarios.drainAndFlush(broker.url)).toEqual({ afterSubDrain: 1000, isClosed: true })
  })

  it("honours echo off", async () => {
    expect(await scenarios.echoOff(broker.url)).toEqual({ own: 0, theirs: 2 })
  })

  it("advertises INFO the client gates on, and the client enforces max_payload", async () => {
    expect(await scenarios.maxPayload(broker.url)).toEqual({
      error: "InvalidArgumentError",
      maxPayload: 1048576,
      headers: true,
      proto: 1,
      version: ADVERTISED_NATS_VERSION
    })
  })
})
