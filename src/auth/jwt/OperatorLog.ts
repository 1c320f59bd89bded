/**
 * What nats-server 2.9.10 logs at start in operator mode (`server.go` Start,
 * checkResolvePreloads): each trusted operator, a warning without a system account, and the
 * validation issues (expiry) of preloaded account JWTs, which it serves anyway.
 */
import { timeIssue } from "./JwtClaims.ts"
import type { OperatorSettings } from "./OperatorSettings.ts"

/** Go's time.Time String() of a unix time, in UTC. */
const goTime = (unixSec: number): string => {
  const d = new Date(unixSec * 1000).toISOString()
  return `${d.slice(0, 10)} ${d.slice(11, 19)} +0000 UTC`
}

export const operatorStartupLog = (
  settings: OperatorSettings,
  nowMs: number
): { readonly info: ReadonlyArray<string>; readonly warn: ReadonlyArray<string> } => {
  const info: Array<string> = []
  const warn: Array<string> = []
  if (settings.operators.length > 0) info.push("Trusted Operators")
  for (const { claims } of settings.operators) {
    info.push(`  System  : ${JSON.stringify(claims.aud ?? "")}`)
    info.push(`  Operator: ${JSON.stringify(claims.name ?? "")}`)
    info.push(`  Issued  : ${goTime(claims.iat ?? 0)}`)
    info.push(`  Expires : ${(claims.exp ?? 0) === 0 ? "Never" : goTime(claims.exp!)}`)
  }
  if (settings.operators.length > 0 && settings.systemAccount === undefined) {
    warn.push("Trusted Operators should utilize a System Account")
  }
  if (settings.operators.length > 0) {
    for (const [key, a] of settings.accounts) {
      const issue = timeIssue(a.claims, Math.floor(nowMs / 1000))
      if (issue !== undefined) warn.push(`Account [${key}] has validation issues:`, `  - ${issue}`)
    }
  }
  return { info, warn }
}
