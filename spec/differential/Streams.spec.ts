/**
 * Differential: the JetStream stream scenarios against nats-server (-js) and our broker; the
 * official client must observe the same values. Skipped with a printed reason without nats-server.
 */
import { streamScenarios } from "../jetstream/StreamScenarios.ts"
import { differentialSuite } from "../support/Differential.ts"

differentialSuite("JetStream streams: broker vs nats-server", streamScenarios, { skipLabel: "stream" })
