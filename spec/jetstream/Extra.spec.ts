/**
 * Behaviours the nats.js test suites exercise beyond the basic flows, asserting the exact values
 * nats-server 2.9.10 produces (recorded from it; the differential suite re-checks live).
 */
import { expect, it } from "vitest"
import { recordedSuite } from "../support/Recorded.ts"
import { extraScenarios } from "./ExtraScenarios.ts"

recordedSuite("advisories, list filters, pull limits and flow control", {}, (broker) => {
  it("publishes stream and consumer action advisories", async () => {
    expect(await extraScenarios.advisories(broker.url)).toEqual({
      "seen": [
        "$JS.EVENT.ADVISORY.STREAM.CREATED.ADV io.nats.jetstream.advisory.v1.stream_action ADV - create true true",
        "$JS.EVENT.ADVISORY.STREAM.UPDATED.ADV io.nats.jetstream.advisory.v1.stream_action ADV - modify true true",
        "$JS.EVENT.ADVISORY.CONSUMER.CREATED.ADV.c io.nats.jetstream.advisory.v1.consumer_action ADV c create true true",
        "$JS.EVENT.ADVISORY.CONSUMER.DELETED.ADV.c io.nats.jetstream.advisory.v1.consumer_action ADV c delete true true",
        "$JS.EVENT.ADVISORY.STREAM.DELETED.ADV io.nats.jetstream.advisory.v1.stream_action ADV - delete true true"
      ]
    })
  })

  it("filters stream names and lists by overlapping subjects", async () => {
    expect(await extraScenarios.listFilterOverlap(broker.url)).toEqual({ "names": ["LF2", "LF3"], "listed": ["LF2"] })
  })

  it("ends a partially served max_bytes pull with 409 and pending counts; enforces max_expires and max_bytes", async () => {
    expect(await extraScenarios.pullLimits(broker.url)).toEqual({
      "partial": ["msg:10", "409 Message Size Exceeds MaxBytes Nats-Pending-Messages=4 Nats-Pending-Bytes=8"],
      "tooLong": ["409 Exceeded MaxRequestExpires of 1s"],
      "tooBig": ["409 Exceeded MaxRequestMaxBytes of 1000"]
    })
  })

  it("asks for flow control by bytes like nats-server (after 11 x 100 KB)", async () => {
    expect(await extraScenarios.flowControlBytes(broker.url)).toEqual({
      "messages": 30,
      "firstFcAfter": 11,
      "fcCount": true
    })
  })
})
