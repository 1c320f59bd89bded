/**
 * Differential: the advisory, filter, pull limit and flow control scenarios against nats-server
 * (-js) and our broker; the official client must observe the same values. Skipped with a printed
 * reason without nats-server.
 */
import { extraScenarios } from "../jetstream/ExtraScenarios.ts"
import { differentialSuite } from "../support/Differential.ts"

differentialSuite("advisories, filters, pull limits, flow control: broker vs nats-server", extraScenarios, {
  skipLabel: "extra"
})
