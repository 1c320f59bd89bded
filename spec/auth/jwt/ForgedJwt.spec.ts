/**
 * A forged JWT (claims changed after signing, or signed by a key other than its issuer) is refused
 * by the node:crypto pre-check in JwtClaims with the Go library's message, and a genuine one still
 * decodes: the pre-check only ever refuses what the library would refuse too.
 */
import { Algorithms, createAccount, createUser, encode } from "@nats-io/jwt"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { beforeAll, describe, expect, it } from "vitest"
import { decodeUser } from "../../../src/auth/jwt/JwtClaims.ts"
import { makeAccount, makeOperator, makeUser, type TestAccount, type TestUser } from "./JwtFixtures.ts"

let account: TestAccount
let user: TestUser
beforeAll(async () => {
  const op = await makeOperator()
  account = await makeAccount(op.kp)
  user = await makeUser(account.kp, { pub: { allow: ["a"] } })
})

const parts = (jwt: string) => jwt.split(".") as [string, string, string]
const payloadOf = (jwt: string) => JSON.parse(Buffer.from(parts(jwt)[1], "base64url").toString("utf8"))
const withPayload = (jwt: string, payload: unknown) => {
  const [h, , s] = parts(jwt)
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`
}

describe("forged user JWTs", () => {
  it("a genuine JWT decodes", () => {
    const r = decodeUser(user.jwt)
    expect(r.ok).toBe(true)
  })

  it("claims changed after signing are refused as a failed signature", () => {
    const p = payloadOf(user.jwt)
    const widened = withPayload(user.jwt, { ...p, nats: { ...p.nats, pub: { allow: [">"] } } })
    expect(decodeUser(widened)).toEqual({ ok: false, error: "claim failed V2 signature verification" })
  })

  it("a JWT signed by another account's key but naming this issuer is refused", async () => {
    const other = await makeUser(createAccount())
    const p = payloadOf(other.jwt)
    const claimed = withPayload(other.jwt, { ...p, iss: account.key })
    expect(decodeUser(claimed)).toEqual({ ok: false, error: "claim failed V2 signature verification" })
  })

  it("a version 1 JWT (its signature covers the claims only) decodes, and a changed one is refused", async () => {
    const u = createUser()
    const v1 = await encode(
      Algorithms.v1,
      { sub: u.getPublicKey(), type: "user", nats: { pub: {}, sub: {} } } as never,
      account.kp
    )
    expect(decodeUser(v1).ok).toBe(true)
    const p = payloadOf(v1)
    expect(decodeUser(withPayload(v1, { ...p, name: "x" }))).toEqual({
      ok: false,
      error: "claim failed V2 signature verification"
    })
  })

  it("any single-character change of the signature or payload is refused", () => {
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom("A", "B", "x", "_", "-"), (at, ch) => {
        const [h, p, s] = parts(user.jwt)
        const body = `${p}.${s}`
        const i = at % body.length
        // The last character of each base64url part carries padding bits: a change there may decode the same.
        if (body[i] === ch || body[i] === "." || body[i + 1] === "." || i === body.length - 1) return
        const mutated = `${h}.${body.slice(0, i)}${ch}${body.slice(i + 1)}`
        expect(decodeUser(mutated).ok).toBe(false)
      }),
      { numRuns: 200 }
    )
  })
})
