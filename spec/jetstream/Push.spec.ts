/**
 * Push consumers and pull statuses through the official client and raw inboxes, asserting the
 * exact values nats-server 2.9.10 produces for the same scenario (recorded from it; the
 * differential suite re-checks live); the 2.11 ending of a no-wait pull that got messages is
 * asserted by Level211.ts.
 */
import { expect, it } from "vitest"
import { noWaitEndingAs2910 } from "../support/Level211.ts"
import { recordedSuite } from "../support/Recorded.ts"
import { pushScenarios } from "./PushScenarios.ts"

recordedSuite("push consumers and pull statuses", {}, (broker) => {
  it("answers pulls with nats-server's statuses: 408 with pending counts, 404, 409 max bytes, heartbeats, 400", async () => {
    const statuses = await pushScenarios.pullStatuses(broker.url)
    const noWaitSome = noWaitEndingAs2910(
      statuses.noWaitSome,
      "408 Request Timeout Nats-Pending-Messages=2 Nats-Pending-Bytes=0"
    )
    expect({ ...statuses, noWaitSome }).toEqual({
      "noWaitSome": ["msg:m0", "msg:m1", "msg:m2", "408 Request Timeout Nats-Pending-Messages=2 Nats-Pending-Bytes=0"],
      "noWaitNone": ["404 No Messages"],
      "expired": ["408 Request Timeout Nats-Pending-Messages=4 Nats-Pending-Bytes=0"],
      "tooSmall": ["409 Message Size Exceeds MaxBytes Nats-Pending-Messages=2 Nats-Pending-Bytes=10"],
      "second": [],
      "heartbeats": [
        "100 Idle Heartbeat Nats-Last-Consumer=0 Nats-Last-Stream=4",
        "100 Idle Heartbeat Nats-Last-Consumer=0 Nats-Last-Stream=4"
      ],
      "bad": [
        "400 Bad Request - json: cannot unmarshal string into Go struct field JSApiConsumerGetNextRequest.batch of type int"
      ]
    })
  })

  it("sends push idle heartbeats with the last consumer and stream sequences", async () => {
    expect(await pushScenarios.idleHeartbeat(broker.url)).toEqual({
      "first": ["msg:one", "100 Idle Heartbeat Nats-Last-Consumer=1 Nats-Last-Stream=1"]
    })
  })

  it("moves a push durable's deliver subject only while nobody listens on the old one (10013 while bound)", async () => {
    expect(await pushScenarios.deliverSubjectMove(broker.url)).toEqual({
      "first": "deliver.mv.a",
      "whileBound": { "code": 400, "err_code": 10013, "description": "consumer name already in use" },
      "afterUnsub": "deliver.mv.b"
    })
  })

  it("spreads push deliveries over a deliver group, each message to one member", async () => {
    expect(await pushScenarios.deliverGroup(broker.url)).toEqual({ "total": 40, "distinct": 40 })
  })

  it("serves the client's push and ordered push consumers with flow control over 3,000 messages", async () => {
    expect(await pushScenarios.clientPushConsumers(broker.url)).toEqual({
      "pushed": 3000,
      "ordered": 3000,
      "inOrder": true,
      "numAckPending": 0,
      "numPending": 0
    })
  })
})
