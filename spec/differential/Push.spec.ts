/**
 * Differential: the push consumer and pull status scenarios against nats-server (-js) and our
 * broker; the official client must observe the same values. Skipped with a printed reason without
 * nats-server.
 */
import { pushScenarios } from "../jetstream/PushScenarios.ts"
import { differentialSuite } from "../support/Differential.ts"

differentialSuite("push consumers and pull statuses: broker vs nats-server", pushScenarios, { skipLabel: "push" })
