/**
 * What the broker logs at start in operator mode, as nats-server 2.9.10 does (server.go Start,
 * checkResolvePreloads).
 */
import { describe, expect, it } from "vitest"
import { decodeAccount, decodeOperator } from "../../../src/auth/jwt/JwtClaims.ts"
import { operatorStartupLog } from "../../../src/auth/jwt/OperatorLog.ts"
import { makeAccount, makeOperator, nowSec } from "./JwtFixtures.ts"

describe("start-up log in operator mode", () => {
  it("lists the operators, asks for a system account and names expired preloaded accounts", async () => {
    const op = await makeOperator()
    const expired = await makeAccount(op.kp, {}, { exp: nowSec() - 60 })
    const o = decodeOperator(op.jwt)
    const a = decodeAccount(expired.jwt)
    if (!o.ok || !a.ok) throw new Error("fixtures do not decode")
    const log = operatorStartupLog({
      operators: [{ jwt: op.jwt, claims: o.claims }],
      trustedKeys: [o.claims.sub],
      accounts: new Map([[expired.key, { key: expired.key, jwt: expired.jwt, claims: a.claims }]]),
      systemAccount: undefined
    }, Date.now())
    expect(log.info.slice(0, 3)).toEqual(["Trusted Operators", "  System  : \"NATS\"", "  Operator: \"OP\""])
    expect(log.info[3]).toMatch(/^ {2}Issued {2}: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/)
    expect(log.info[4]).toBe("  Expires : Never")
    expect(log.warn).toEqual([
      "Trusted Operators should utilize a System Account",
      `Account [${expired.key}] has validation issues:`,
      "  - claim is expired"
    ])
  })
})
