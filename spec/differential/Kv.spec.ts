/**
 * Differential: the KV and object store scenarios against nats-server (-js) and our broker; the
 * official client must observe the same values. Skipped with a printed reason without nats-server.
 */
import { kvScenarios } from "../kv/KvScenarios.ts"
import { differentialSuite } from "../support/Differential.ts"

differentialSuite("KV and object store: broker vs nats-server", kvScenarios, { skipLabel: "KV" })
