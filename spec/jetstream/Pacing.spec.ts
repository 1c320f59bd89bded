/**
 * Consumer pacing and ack sampling through the official client, asserting the values nats-server
 * 2.9.10 produces (recorded from it; the differential suite re-checks live).
 */
import { expect, it } from "vitest"
import { recordedSuite } from "../support/Recorded.ts"
import { pacingScenarios } from "./PacingScenarios.ts"

recordedSuite("replay original, rate limit and ack sampling", {}, (broker) => {
  it("replay_policy original spaces deliveries like the original publishes", async () => {
    expect(await pacingScenarios.replayOriginal(broker.url)).toEqual({ "delivered": 3, "spaced": true })
  })

  it("rate_limit_bps paces push delivery after a max-payload burst", async () => {
    expect(await pacingScenarios.rateLimit(broker.url)).toEqual({ "delivered": 80, "paced": true })
  })

  it("sample_freq publishes consumer_ack metrics", async () => {
    expect(await pacingScenarios.sampleFrequency(broker.url)).toEqual({
      "metrics": ["$JS.EVENT.METRIC.CONSUMER.ACK.SF.s io.nats.jetstream.metric.v1.consumer_ack SF s 1 1 1 number"]
    })
  })
})
