/**
 * The Authenticator in operator mode, called directly: which account (public key) and user the
 * client is placed in, and properties of the checks against a naive reference (revocation by
 * issue time, expiry by `exp`/`nbf` at an injected clock).
 */
import { test } from "@fast-check/vitest"
import { Algorithms, createAccount, createUser, encode, type KeyPair } from "@nats-io/jwt"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { describe, expect, it } from "vitest"
import { Authenticator } from "../../../src/auth/Authenticator.ts"
import { empty } from "../../../src/auth/AuthSettings.ts"
import { decodeAccount, decodeOperator } from "../../../src/auth/jwt/JwtClaims.ts"
import { OperatorAuthenticator } from "../../../src/auth/jwt/OperatorAuthenticator.ts"
import type { OperatorSettings } from "../../../src/auth/jwt/OperatorSettings.ts"
import { makeAccount, makeOperator, makeUser, nowSec, type Operator, type TestAccount } from "./JwtFixtures.ts"

const settingsOf = (op: Operator, accounts: ReadonlyArray<TestAccount>): OperatorSettings => {
  const o = decodeOperator(op.jwt)
  if (!o.ok) throw new Error(o.error)
  return {
    operators: [{ jwt: op.jwt, claims: o.claims }],
    trustedKeys: [o.claims.sub],
    accounts: new Map(accounts.map((a) => {
      const d = decodeAccount(a.jwt)
      if (!d.ok) throw new Error(d.error)
      return [a.key, { key: a.key, jwt: a.jwt, claims: d.claims }]
    })),
    systemAccount: undefined
  }
}

const NONCE = "bm9uY2Vub25jZQ"
const sig = (kp: KeyPair) => Buffer.from(kp.sign(new TextEncoder().encode(NONCE))).toString("base64url")

describe("operator-mode Authenticator", () => {
  it("names the account's public key and the user's in AuthResult", async () => {
    const op = await makeOperator()
    const sk = createAccount()
    const a = await makeAccount(op.kp, { signing_keys: [sk.getPublicKey()] })
    const b = await makeAccount(op.kp)
    const auth = new Authenticator({ ...empty, operator: settingsOf(op, [a, b]) })
    expect({ required: auth.required, nonce: auth.needsNonce }).toEqual({ required: true, nonce: true })
    const ua = await makeUser(a.kp)
    const ub = await makeUser(b.kp)
    const viaSk = await makeUser(sk, { issuer_account: a.key })
    const pick = (r: ReturnType<Authenticator["authenticate"]>) =>
      r.ok ? { ok: true, account: r.account, who: r.who } : { ok: false, reason: r.reason }
    expect(pick(auth.authenticate({ jwt: ua.jwt, sig: sig(ua.kp) }, NONCE, "127.0.0.1")))
      .toEqual({ ok: true, account: a.key, who: ua.key })
    expect(pick(auth.authenticate({ jwt: ub.jwt, sig: sig(ub.kp) }, NONCE, "127.0.0.1")))
      .toEqual({ ok: true, account: b.key, who: ub.key })
    expect(pick(auth.authenticate({ jwt: viaSk.jwt, sig: sig(viaSk.kp) }, NONCE, "127.0.0.1")))
      .toEqual({ ok: true, account: a.key, who: viaSk.key })
    // Passwords mean nothing in operator mode.
    expect(pick(auth.authenticate({ user: "a", pass: "b" }, NONCE, "127.0.0.1")))
      .toEqual({ ok: false, reason: "Authentication requires a user JWT" })
    expect(pick(auth.authenticate({ jwt: ua.jwt, sig: sig(ub.kp) }, NONCE, "127.0.0.1")))
      .toEqual({ ok: false, reason: "Signature not verified" })
  })

  it("reads a version 1 user JWT's absent limits as unlimited and its top-level issuer_account, as jwt/v2 does", async () => {
    const op = await makeOperator()
    const sk = createAccount()
    const a = await makeAccount(op.kp, { signing_keys: [sk.getPublicKey()] })
    const auth = new OperatorAuthenticator(settingsOf(op, [a]))
    const u = createUser()
    // A v1 claim: `type` at the top level, no `nats.version`, no limits (as nats.js' and nats.c's test creds).
    const v1 = (issuer: KeyPair, top: Record<string, unknown>) =>
      encode(
        Algorithms.v1,
        { sub: u.getPublicKey(), type: "user", ...top, nats: { pub: {}, sub: {} } } as never,
        issuer
      )
    const pick = (r: ReturnType<OperatorAuthenticator["authenticate"]>) =>
      r.ok ? { account: r.account, who: r.who } : r.reason
    expect(pick(auth.authenticate({ jwt: await v1(a.kp, {}), sig: sig(u) }, NONCE, "127.0.0.1")))
      .toEqual({ account: a.key, who: u.getPublicKey() })
    expect(pick(auth.authenticate({ jwt: await v1(sk, { issuer_account: a.key }), sig: sig(u) }, NONCE, "127.0.0.1")))
      .toEqual({ account: a.key, who: u.getPublicKey() })
    // The same claim as version 2 reads the absent limits as 0, which is refused as not built.
    const v2 = await encode(
      Algorithms.v2,
      { sub: u.getPublicKey(), nats: { type: "user", pub: {}, sub: {} } } as never,
      a.kp
    )
    expect(pick(auth.authenticate({ jwt: v2, sig: sig(u) }, NONCE, "127.0.0.1")))
      .toBe("user JWT limit subs 0: only -1 (unlimited) is supported yet")
  })

  it("leaves the account's conn limit to the account runtime (it counts once, at the join)", async () => {
    const op = await makeOperator()
    const a = await makeAccount(op.kp, { limits: { conn: 1 } })
    const auth = new OperatorAuthenticator(settingsOf(op, [a]))
    const u = await makeUser(a.kp)
    const c = { jwt: u.jwt, sig: sig(u.kp) }
    const results = [1, 2, 3].map(() => auth.authenticate(c, NONCE, "127.0.0.1"))
    expect(results.map((r) => r.ok)).toEqual([true, true, true])
  })

  it("reports when the user or the account JWT expires, whichever is first", async () => {
    const op = await makeOperator()
    const now = nowSec()
    const a = await makeAccount(op.kp, {}, { exp: now + 100 })
    const auth = new OperatorAuthenticator(settingsOf(op, [a]), () => now * 1000)
    const early = await makeUser(a.kp, {}, { exp: now + 10 })
    const late = await makeUser(a.kp, {}, { exp: now + 1000 })
    const exp = (u: typeof early) => {
      const r = auth.authenticate({ jwt: u.jwt, sig: sig(u.kp) }, NONCE, "127.0.0.1")
      return r.ok ? r.expires : r.reason
    }
    expect(exp(early)).toEqual({
      inMs: 10_000,
      errText: "User Authentication Expired",
      reason: "Authentication Expired"
    })
    expect(exp(late)).toEqual({
      inMs: 100_000,
      errText: "Account Authentication Expired",
      reason: "Authentication Expired"
    })
  })
})

describe("operator-mode checks against a reference", () => {
  const setup = (async () => {
    const op = await makeOperator()
    const userKp = createUser()
    return { op, userKp }
  })()

  test.prop([fc.integer({ min: -5, max: 5 }), fc.boolean()], { numRuns: 15 })(
    "a user is revoked exactly when the revocation is at or after the JWT's iat",
    async (delta, wildcard) => {
      const { op, userKp } = await setup
      const iat = nowSec()
      const acc = await makeAccount(op.kp, { revocations: { [wildcard ? "*" : userKp.getPublicKey()]: iat + delta } })
      const user = await makeUser(acc.kp, {}, { kp: userKp })
      const auth = new OperatorAuthenticator(settingsOf(op, [acc]))
      const r = auth.authenticate({ jwt: user.jwt, sig: sig(userKp) }, NONCE, "127.0.0.1")
      // The user JWT was issued within a second of `iat`; compare with the issued-at the JWT carries.
      const issued = JSON.parse(Buffer.from(user.jwt.split(".")[1]!, "base64url").toString()).iat as number
      const revoked = iat + delta >= issued
      expect(r.ok ? "ok" : r.reason).toBe(revoked ? "User authentication revoked" : "ok")
    }
  )

  test.prop([fc.option(fc.integer({ min: -3, max: 3 })), fc.option(fc.integer({ min: -3, max: 3 }))], { numRuns: 15 })(
    "a user JWT is accepted exactly within nbf..exp",
    async (expDelta, nbfDelta) => {
      const { op } = await setup
      const now = 2_000_000_000
      const acc = await makeAccount(op.kp)
      const user = await makeUser(acc.kp, {}, {
        ...(expDelta === null ? {} : { exp: now + expDelta }),
        ...(nbfDelta === null ? {} : { nbf: now + nbfDelta })
      })
      const auth = new OperatorAuthenticator(settingsOf(op, [acc]), () => now * 1000 + 500)
      const r = auth.authenticate({ jwt: user.jwt, sig: sig(user.kp) }, NONCE, "127.0.0.1")
      const expired = expDelta !== null && now > now + expDelta
      const early = !expired && nbfDelta !== null && now < now + nbfDelta
      expect(r.ok ? "ok" : r.reason).toBe(
        expired
          ? "User JWT no longer valid: claim is expired"
          : early
          ? "User JWT no longer valid: claim is not yet valid"
          : "ok"
      )
    }
  )
})
