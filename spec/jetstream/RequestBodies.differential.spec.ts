/**
 * Differential: raw request bodies (wrong types, negative / fractional / huge numbers, truncation,
 * non-objects, valid forms) on every small `$JS.API` request against nats-server 2.9.10 and the
 * broker: the same reply, and the same stream / consumer state afterwards. Skipped with a printed
 * reason without nats-server.
 */
import { differentialSuite } from "../support/Differential.ts"
import { withNc } from "../support/Js.ts"
import { probe, sharedCases } from "./RequestBodyScenarios.ts"

const scenarios: Record<string, (url: string) => Promise<unknown>> = {}
sharedCases.forEach(([op, body], i) => {
  scenarios[`${op} ${JSON.stringify(body)}`] = (url) =>
    withNc(url, (nc) => probe(nc, `R${i}`, op, body.replaceAll("{s}", `R${i}`)))
})

differentialSuite("request bodies: broker vs nats-server", scenarios, { skipLabel: "request body" })
