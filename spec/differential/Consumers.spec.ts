/**
 * Differential: the JetStream consumer scenarios against nats-server (-js) and our broker; the
 * official client must observe the same values. Skipped with a printed reason without nats-server.
 * A consumer filter outside the stream is the level's (Level210.ts).
 */
import { consumerScenarios } from "../jetstream/ConsumerScenarios.ts"
import { differentialSuite } from "../support/Differential.ts"
import { filterOutsideAs2910 } from "../support/Level210.ts"

differentialSuite("JetStream consumers: broker vs nats-server", consumerScenarios, {
  skipLabel: "consumer",
  level210: (scenario, ours, theirs) => {
    if (scenario !== "errors") return { ours, theirs }
    const o = ours as Record<string, unknown>
    return { ours: { ...o, badFilter: filterOutsideAs2910(o.badFilter) }, theirs }
  }
})
