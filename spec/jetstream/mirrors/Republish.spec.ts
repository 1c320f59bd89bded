/**
 * Republish: our broker's exact values, and the same scenarios against nats-server 2.9.10
 * (skipped with the reason printed without it). At the 2.10 level we advertise, each republished
 * message also carries `Nats-Time-Stamp` (asserted and taken out: Level210.ts) and an update may
 * change `republish` (nats-server 2.10 stream.go: the RePublish check on update is gone).
 */
import { expect, it } from "vitest"
import { differentialSuite } from "../../support/Differential.ts"
import { withoutRepublishTimestamps } from "../../support/Level210.ts"
import { recordedSuite } from "../../support/Recorded.ts"
import { republishScenarios } from "./RepublishScenarios.ts"

recordedSuite("stream republish", { storages: ["memory"] }, (broker) => {
  it("republishes matching messages with nats-server's headers, the message's own first", async () => {
    expect(withoutRepublishTimestamps(await republishScenarios.republishFull(broker.url))).toEqual({
      config: { src: "rp.*", dest: "out.{{wildcard(1)}}" },
      got: [
        {
          subject: "out.a",
          headers: [["Nats-Stream", "RP"], ["Nats-Subject", "rp.a"], ["Nats-Sequence", "1"], [
            "Nats-Last-Sequence",
            "0"
          ]],
          data: "one"
        },
        {
          subject: "out.b",
          headers: [["Nats-Stream", "RP"], ["Nats-Subject", "rp.b"], ["Nats-Sequence", "2"], [
            "Nats-Last-Sequence",
            "0"
          ]],
          data: "two"
        },
        {
          subject: "out.a",
          headers: [
            ["X-Mine", "kept"],
            ["Nats-Msg-Id", "id-3"],
            ["Nats-Stream", "RP"],
            ["Nats-Subject", "rp.a"],
            ["Nats-Sequence", "3"],
            ["Nats-Last-Sequence", "1"]
          ],
          data: "three"
        }
      ],
      changed: "ok"
    })
  })

  it("headers only: the size instead of the payload", async () => {
    expect(withoutRepublishTimestamps(await republishScenarios.republishHeadersOnly(broker.url))).toEqual({
      config: { src: ">", dest: "hdrs.>", headers_only: true },
      got: [
        {
          subject: "hdrs.rh.x",
          headers: [
            ["Nats-Stream", "RH"],
            ["Nats-Subject", "rh.x"],
            ["Nats-Sequence", "1"],
            ["Nats-Last-Sequence", "0"],
            ["Nats-Msg-Size", "19"]
          ],
          data: ""
        },
        {
          subject: "hdrs.rh.x",
          headers: [
            ["A", "1"],
            ["Nats-Stream", "RH"],
            ["Nats-Subject", "rh.x"],
            ["Nats-Sequence", "2"],
            ["Nats-Last-Sequence", "1"],
            ["Nats-Msg-Size", "2"]
          ],
          data: ""
        }
      ]
    })
  })
})

differentialSuite("stream republish: broker vs nats-server", republishScenarios, {
  skipLabel: "republish",
  level210: (scenario, ours, theirs) => {
    const o = withoutRepublishTimestamps(ours) as Record<string, unknown>
    if (scenario !== "republishFull") return { ours: o, theirs }
    const { changed: ourChange, ...ourRest } = o
    const { changed: theirChange, ...theirRest } = theirs as Record<string, unknown>
    expect([ourChange, theirChange]).toEqual(["ok", "500 10052 stream configuration update can not change RePublish"])
    return { ours: ourRest, theirs: theirRest }
  }
})
