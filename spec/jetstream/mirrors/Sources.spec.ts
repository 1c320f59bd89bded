/**
 * Sources: the client scenarios against nats-server 2.9.10 and our broker (skipped with the reason
 * printed without nats-server), then our exact values.
 */
import { expect, it } from "vitest"
import { differentialSuite } from "../../support/Differential.ts"
import { filterOutsideAs2910 } from "../../support/Level210.ts"
import { recordedSuite } from "../../support/Recorded.ts"
import { sourceScenarios } from "./SourceScenarios.ts"

differentialSuite("stream sources: broker vs nats-server", sourceScenarios, {
  skipLabel: "sources",
  level210: (scenario, ours, theirs) => {
    if (scenario !== "consumerFilterOnSourcedStream") return { ours, theirs }
    const o = ours as Record<string, unknown>
    return { ours: { ...o, sourcedOutside: filterOutsideAs2910(o.sourcedOutside) }, theirs }
  }
})

recordedSuite("stream sources", { storages: ["file", "memory"] }, (broker) => {
  it("fans in, tags each copy with Nats-Stream-Source, and follows source changes on update", async () => {
    const r = await sourceScenarios.sourcesFanIn(broker.url)
    expect(r.firstState).toEqual({ messages: 5, last_seq: 5 })
    expect(r.firstSources).toEqual([
      { name: "SA", lag: 0, active: true, error: undefined },
      { name: "SB", lag: 0, active: true, error: undefined }
    ])
    expect(r.firstMessages.map((m) => `${m.subject}/${m.data}/${m.headers[0]![1]}`)).toEqual([
      "sa.x/a1/SA 1",
      "sa.x/a2/SA 2",
      "sa.x/a3/SA 3",
      "sb.x/b1/SB 1",
      "sb.x/b3/SB 3"
    ])
    expect(r.secondSources.map((s) => s.name)).toEqual(["SA", "SC"])
    expect(r.all.filter((m) => m.subject.startsWith("sc.")).length).toBe(3)
    expect(r.all.some((m) => m.data === "b4")).toBe(false)
    expect(r.all.some((m) => m.data === "a4")).toBe(true)
  })

  it("checks a consumer filter against the sourced and mirrored streams' subjects", async () => {
    const r = await sourceScenarios.consumerFilterOnSourcedStream(broker.url)
    expect({ ...r, sourcedOutside: filterOutsideAs2910(r.sourcedOutside) }).toEqual({
      sourcedInside: "ok",
      sourcedOutside: "400 10093 consumer filter subject is not a valid subset of the interest subjects",
      mirrorInside: "ok"
    })
  })

  it("refuses source configs as nats-server does", async () => {
    expect(await sourceScenarios.sourceConfigErrors(broker.url)).toEqual({
      smallMsgSize: "400 10046 stream source must have max message size >= target",
      filterOutside: "500 10052 source 'XO' filter subject 'zz' does not overlap with any origin stream subject",
      self: "500 10052 detected cycle",
      withSubjects: "ok",
      cycle: "500 10052 detected cycle"
    })
  })
})
