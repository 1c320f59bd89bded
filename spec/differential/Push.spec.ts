/**
 * Differential: the push consumer and pull status scenarios against nats-server (-js) and our
 * broker; the official client must observe the same values. Skipped with a printed reason without
 * nats-server. The ending of a no-wait pull that got messages is the level's (Level211.ts).
 */
import { pushScenarios } from "../jetstream/PushScenarios.ts"
import { differentialSuite } from "../support/Differential.ts"
import { noWaitEndingAs2910 } from "../support/Level211.ts"

type Statuses = Record<string, Array<string>>

differentialSuite("push consumers and pull statuses: broker vs nats-server", pushScenarios, {
  skipLabel: "push",
  level210: (scenario, ours, theirs) => {
    if (scenario !== "pullStatuses") return { ours, theirs }
    const o = ours as Statuses
    const t = theirs as Statuses
    return { ours: { ...o, noWaitSome: noWaitEndingAs2910(o.noWaitSome!, t.noWaitSome!.at(-1)!) }, theirs }
  }
})
