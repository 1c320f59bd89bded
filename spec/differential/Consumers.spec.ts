/**
 * Differential: the JetStream consumer scenarios against nats-server (-js) and our broker; the
 * official client must observe the same values. Skipped with a printed reason without nats-server.
 */
import { consumerScenarios } from "../jetstream/ConsumerScenarios.ts"
import { differentialSuite } from "../support/Differential.ts"

differentialSuite("JetStream consumers: broker vs nats-server", consumerScenarios, { skipLabel: "consumer" })
