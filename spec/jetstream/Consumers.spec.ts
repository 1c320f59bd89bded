/**
 * Consumers through the official @nats-io/jetstream client, asserting the exact values nats-server
 * 2.9.10 produces for the same scenario (recorded from it; spec/differential re-checks live).
 */
import { expect, it } from "vitest"
import { filterOutsideAs2910 } from "../support/Level210.ts"
import { configsAt211 } from "../support/Level211.ts"
import { recordedSuite } from "../support/Recorded.ts"
import { consumerScenarios } from "./ConsumerScenarios.ts"

recordedSuite("JetStream consumers", { storages: ["file", "memory"] }, (broker) => {
  it("creates a durable pull consumer, fetches, acks and reports exact counters", async () => {
    // The 2.9.10 recording; our 2.11 config metadata is asserted and taken out first (Level211.ts).
    expect(configsAt211(await consumerScenarios.pullFetchAck(broker.url))).toEqual({
      "createdConfig": {
        "durable_name": "worker",
        "name": "worker",
        "deliver_policy": "all",
        "ack_policy": "explicit",
        "ack_wait": 30000000000,
        "max_deliver": -1,
        "replay_policy": "instant",
        "max_waiting": 512,
        "max_ack_pending": 1000,
        "num_replicas": 0
      },
      "createdCounters": {
        "delivered": [0, 0],
        "ack_floor": [0, 0],
        "num_ack_pending": 0,
        "num_redelivered": 0,
        "num_waiting": 0,
        "num_pending": 5
      },
      "got": [{
        "subject": "pf.a",
        "data": "pf.a#1",
        "seq": 1,
        "redelivered": false,
        "deliveries": 1,
        "streamSeq": 1,
        "pending": 4
      }, {
        "subject": "pf.b",
        "data": "pf.b#2",
        "seq": 2,
        "redelivered": false,
        "deliveries": 1,
        "streamSeq": 2,
        "pending": 3
      }, {
        "subject": "pf.a",
        "data": "pf.a#3",
        "seq": 3,
        "redelivered": false,
        "deliveries": 1,
        "streamSeq": 3,
        "pending": 2
      }],
      "info": {
        "delivered": [3, 3],
        "ack_floor": [1, 1],
        "num_ack_pending": 1,
        "num_redelivered": 0,
        "num_waiting": 0,
        "num_pending": 2
      },
      "more": [4, 5],
      "end": {
        "delivered": [5, 5],
        "ack_floor": [1, 1],
        "num_ack_pending": 1,
        "num_redelivered": 0,
        "num_waiting": 0,
        "num_pending": 0
      },
      "deleted": true,
      "gone": "404 10014 consumer not found"
    })
  })

  it("next() waits out its expiry on an empty stream, then gets the next message", async () => {
    expect(await consumerScenarios.pullEmpty(broker.url)).toEqual({
      "none": null,
      "waitedAtLeastExpires": true,
      "one": {
        "subject": "pe",
        "data": "pe#1",
        "seq": 1,
        "redelivered": false,
        "deliveries": 1,
        "streamSeq": 1,
        "pending": 0
      }
    })
  })

  it("redelivers a NAKed message, never a TERMinated one, and counts deliveries", async () => {
    expect(await consumerScenarios.nakTermRedeliver(broker.url)).toEqual({
      "seen": ["1:1", "2:1", "3:1", "1:2:true"],
      "info": {
        "delivered": [4, 3],
        "ack_floor": [4, 3],
        "num_ack_pending": 0,
        "num_redelivered": 0,
        "num_waiting": 0,
        "num_pending": 0
      }
    })
  })

  it("redelivers after ack_wait until max_deliver, then sends the advisory", async () => {
    expect(await consumerScenarios.ackWaitMaxDeliver(broker.url)).toEqual({
      "deliveries": [1, 2],
      "advisories": ["io.nats.jetstream.advisory.v1.max_deliver AW d 1 2"],
      "info": {
        "delivered": [2, 1],
        "ack_floor": [0, 0],
        "num_ack_pending": 0,
        "num_redelivered": 1,
        "num_waiting": 0,
        "num_pending": 0
      }
    })
  })

  it("ack-all acknowledges everything up to the acked message", async () => {
    expect(await consumerScenarios.ackAll(broker.url)).toEqual({
      "info": {
        "delivered": [4, 4],
        "ack_floor": [3, 3],
        "num_ack_pending": 1,
        "num_redelivered": 0,
        "num_waiting": 0,
        "num_pending": 0
      }
    })
  })

  it("starts at the right message for each deliver policy and filter", async () => {
    expect(await consumerScenarios.deliverPolicies(broker.url)).toEqual({
      "all": { "pendingAtCreate": 5, "got": [1, 2, 3, 4, 5] },
      "last": { "pendingAtCreate": 1, "got": [5] },
      "new": { "pendingAtCreate": 0, "got": [] },
      "seq3": { "pendingAtCreate": 3, "got": [3, 4, 5] },
      "filterB": { "pendingAtCreate": 2, "got": [2, 4] },
      "lastPerSubject": { "pendingAtCreate": 3, "got": [3, 4, 5] }
    })
  })

  it("consume() keeps pulling as new messages arrive", async () => {
    expect(await consumerScenarios.consumeContinuously(broker.url)).toEqual({
      "got": 25,
      "inOrder": true,
      "info": {
        "delivered": [25, 25],
        "ack_floor": [25, 25],
        "num_ack_pending": 0,
        "num_redelivered": 0,
        "num_pending": 0
      }
    })
  })

  it("an ordered consumer reads the stream in order", async () => {
    expect(await consumerScenarios.ordered(broker.url)).toEqual({ "got": ["oc.a:1", "oc.b:2", "oc.c:3", "oc.a:4"] })
  })

  it("workqueue retention removes acked messages and refuses a second unfiltered consumer", async () => {
    expect(await consumerScenarios.workqueue(broker.url)).toEqual({
      "second": "400 10099 multiple non-filtered consumers not allowed on workqueue stream",
      "messages": 1,
      "first": 3
    })
  })

  it("interest retention removes a message once every consumer acked it", async () => {
    expect(await consumerScenarios.interest(broker.url)).toEqual({ "before": 0, "afterA": 2, "afterB": 1 })
  })

  it("delivers to a push deliver subject with ack subjects and double acks", async () => {
    expect(await consumerScenarios.push(broker.url)).toEqual({
      "got": ["pu:pu#1:$JS.ACK.PU.p", "pu:pu#2:$JS.ACK.PU.p", "pu:pu#3:$JS.ACK.PU.p"],
      "info": {
        "delivered": [3, 3],
        "ack_floor": [3, 3],
        "num_ack_pending": 0,
        "num_redelivered": 0,
        "num_waiting": 0,
        "num_pending": 0
      }
    })
  })

  it("reports consumer API errors like nats-server", async () => {
    const errors = await consumerScenarios.errors(broker.url)
    expect({ ...errors, badFilter: filterOutsideAs2910(errors.badFilter) }).toEqual({
      "missingStream": "404 10059 stream not found",
      "missingConsumer": "404 10014 consumer not found",
      "badFilter": "400 10093 consumer filter subject is not a valid subset of the interest subjects",
      "changedPolicy": "500 10012 deliver policy can not be updated",
      "names": ["same"]
    })
  })
})
