/**
 * Mirrors: the same client scenarios against nats-server 2.9.10 and our broker (skipped with the
 * reason printed without nats-server), then our exact values.
 */
import { expect, it } from "vitest"
import { differentialSuite } from "../../support/Differential.ts"
import { recordedSuite } from "../../support/Recorded.ts"
import { mirrorScenarios } from "./MirrorScenarios.ts"

differentialSuite("stream mirrors: broker vs nats-server", mirrorScenarios, { skipLabel: "mirror" })

recordedSuite("stream mirrors", { storages: ["file", "memory"] }, (broker) => {
  it("a mirror keeps the origin's sequences, subjects, headers and payloads", async () => {
    const r = await mirrorScenarios.mirrorFollowsOrigin(broker.url)
    expect(r.state).toEqual({ messages: 8, first_seq: 1, last_seq: 8, num_subjects: 4, num_deleted: undefined })
    expect(r.mirror).toEqual({ name: "MO", lag: 0, active: "recent", error: undefined })
    expect((r.messages as Array<{ seq: number }>).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect(r.messages[0]).toEqual({
      seq: 1,
      subject: "mo.odd",
      headers: [["X-I", "1"], ["Nats-Msg-Id", "id-1"]],
      data: "m1"
    })
    // A mirror has no subjects: a publish to its name finds no stream (nats.js reads the 503 so).
    expect(r.toMirror).toBe("JetStreamNotEnabled: jetstream is not enabled")
    expect(r.changed).toBe("400 10055 stream mirror configuration can not be updated")
    expect(r.same).toBe("ok")
  })

  it("a mirror created first starts when its origin appears; filters and start sequences leave gaps", async () => {
    const early = await mirrorScenarios.mirrorBeforeOrigin(broker.url)
    expect(early.waiting).toEqual({
      name: "LATE",
      lag: 0,
      active: undefined,
      error: { code: 404, err_code: 10059, description: "stream not found" }
    })
    expect(early.state).toEqual({ messages: 3, first_seq: 1, last_seq: 3, num_subjects: 1, num_deleted: undefined })
    const f = await mirrorScenarios.mirrorFilteredFromSeq(broker.url)
    expect((f.messages as Array<{ seq: number }>).map((m) => m.seq)).toEqual([4, 5, 7, 8, 10, 12])
    expect(f.later).toEqual({ messages: 6, first_seq: 4, last_seq: 12, num_subjects: 1, num_deleted: 3 })
  })

  it("mirror_direct: the mirror answers direct gets for its origin once caught up", async () => {
    expect(await mirrorScenarios.mirrorDirect(broker.url)).toEqual({
      mirrorDirect: true,
      answeredBy: ["DM", "DO"],
      values: ["3:v3"]
    })
  })

  it("refuses mirror configs as nats-server does", async () => {
    expect(await mirrorScenarios.mirrorConfigErrors(broker.url)).toEqual({
      withSubjects: "400 10034 stream mirrors can not contain subjects",
      smallMsgSize: "400 10030 stream mirror must have max message size >= source",
      filterOutside: "500 10052 mirror 'EO' filter subject 'zz.>' does not overlap with any origin stream subject",
      self: "500 10052 detected cycle",
      withSources: "400 10031 stream mirrors can not also contain other sources",
      cycle: "500 10052 detected cycle"
    })
  })
})
