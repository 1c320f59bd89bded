/**
 * Differential: consumer pacing and ack sampling against nats-server (-js) and our broker; the
 * official client must observe the same values. Skipped with a printed reason without nats-server.
 */
import { pacingScenarios } from "../jetstream/PacingScenarios.ts"
import { differentialSuite } from "../support/Differential.ts"

differentialSuite("consumer pacing and ack sampling: broker vs nats-server", pacingScenarios, { skipLabel: "pacing" })
