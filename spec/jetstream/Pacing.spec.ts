/**
 * Consumer pacing and ack sampling through the official client, asserting the values nats-server
 * 2.9.10 produces (recorded from it; the differential suite re-checks live).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startBroker, type RunningBroker } from "../support/Broker.ts"
import { pacingScenarios } from "./PacingScenarios.ts"

describe("replay original, rate limit and ack sampling", () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true })
  })
  afterAll(() => broker.stop())

  it("replay_policy original spaces deliveries like the original publishes", async () => {
    expect(await pacingScenarios.replayOriginal(broker.url)).toEqual({"delivered": 3, "spaced": true})
  })

  it("rate_limit_bps paces push delivery after a max-payload burst", async () => {
    expect(await pacingScenarios.rateLimit(broker.url)).toEqual({"delivered": 80, "paced": true})
  })

  it("sample_freq publishes consumer_ack metrics", async () => {
    expect(await pacingScenarios.sampleFrequency(broker.url)).toEqual({"metrics": ["$JS.EVENT.METRIC.CONSUMER.ACK.SF.s io.nats.jetstream.metric.v1.consumer_ack SF s 1 1 1 number"]})
  })
})
