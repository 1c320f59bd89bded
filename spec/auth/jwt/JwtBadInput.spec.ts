/**
 * Bad input in operator mode never crashes and never opens a door: random corruptions of a valid
 * user JWT, and properly signed user JWTs whose claims hold values of any JSON type, are refused
 * (or, for well-typed claims, judged) without an exception; a broken JWT on the wire is an
 * `Authorization Violation` and a close, and the broker keeps serving.
 */
import { test } from "@fast-check/vitest"
import { encode, type KeyPair } from "@nats-io/jwt"
import { Algorithms } from "@nats-io/jwt"
import fc from "fast-check"
import { Buffer } from "node:buffer"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { decodeAccount, decodeOperator } from "../../../src/auth/jwt/JwtClaims.ts"
import { OperatorAuthenticator } from "../../../src/auth/jwt/OperatorAuthenticator.ts"
import type { RunningBroker } from "../../support/Broker.ts"
import { startBrokerWithConf } from "../AuthServers.ts"
import {
  connectLine,
  makeAccount,
  makeOperator,
  makeUser,
  operatorConf,
  rawJwtExchange,
  signNonce,
  type TestAccount,
  type TestUser,
  tmpDir
} from "./JwtFixtures.ts"

const NONCE = "bm9uY2Vub25jZQ"
const sig = (kp: KeyPair) => Buffer.from(kp.sign(new TextEncoder().encode(NONCE))).toString("base64url")

let account: TestAccount
let user: TestUser
let auth: OperatorAuthenticator
beforeAll(async () => {
  const op = await makeOperator()
  account = await makeAccount(op.kp)
  user = await makeUser(account.kp)
  const o = decodeOperator(op.jwt)
  const a = decodeAccount(account.jwt)
  if (!o.ok || !a.ok) throw new Error("fixture JWTs do not decode")
  auth = new OperatorAuthenticator({
    operators: [{ jwt: op.jwt, claims: o.claims }],
    trustedKeys: [o.claims.sub],
    accounts: new Map([[account.key, { key: account.key, jwt: account.jwt, claims: a.claims }]]),
    systemAccount: undefined
  })
})

describe("operator mode, bad input", () => {
  test.prop([fc.nat(), fc.integer({ min: 32, max: 126 })], { numRuns: 200 })(
    "a corrupted user JWT is refused, never admitted, never thrown",
    (at, code) => {
      const i = at % user.jwt.length
      const jwt = user.jwt.slice(0, i) + String.fromCharCode(code) + user.jwt.slice(i + 1)
      const r = auth.authenticate({ jwt, sig: sig(user.kp) }, NONCE, "127.0.0.1")
      // Base64url has spare bits in the last character of each part: some edits decode to the same bytes.
      if (r.ok) {
        expect(Buffer.from(jwt.split(".")[2] ?? "", "base64url")).toEqual(
          Buffer.from(user.jwt.split(".")[2]!, "base64url")
        )
      } else expect(typeof r.reason).toBe("string")
    }
  )

  const field = fc.constantFrom(
    "pub",
    "sub",
    "resp",
    "src",
    "times",
    "times_location",
    "bearer_token",
    "allowed_connection_types",
    "issuer_account",
    "subs",
    "payload",
    "data"
  )
  test.prop([field, fc.jsonValue()], { numRuns: 100 })(
    "a signed user JWT with a claim of any JSON type is judged without an exception",
    async (name, value) => {
      const claims = {
        jti: "x",
        iat: Math.floor(Date.now() / 1000) - 1,
        iss: account.key,
        sub: user.key,
        name: "u",
        aud: "NATS",
        nats: { type: "user", version: 2, subs: -1, data: -1, payload: -1, [name]: value }
      }
      const jwt = await encode(Algorithms.v2, claims as never, account.kp)
      const r = auth.authenticate({ jwt, sig: sig(user.kp) }, NONCE, "127.0.0.1")
      expect(typeof r.ok).toBe("boolean")
    }
  )
})

describe("operator mode, bad input on the wire", () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBrokerWithConf(operatorConf(tmpDir(), await makeOperator(), []))
  })
  afterAll(() => broker?.stop())

  it("refuses garbage JWTs with Authorization Violation and goes on serving", async () => {
    const junk = [
      "",
      ".",
      "..",
      "a.b.c",
      "eyJ.eyJ.eyJ",
      "x".repeat(100_000),
      "\u00ff\u00fe.\u0000.\u0001",
      user.jwt + "."
    ]
    for (const jwt of junk) {
      const r = await rawJwtExchange(
        broker.port,
        (info) => connectLine({ jwt, sig: signNonce(user.kp, info) }) + "PING\r\n"
      )
      expect({ text: r.text, closed: r.closed }, JSON.stringify(jwt.slice(0, 20))).toEqual({
        text: "-ERR 'Authorization Violation'\r\n",
        closed: true
      })
    }
    // A JWT of the wrong JSON type is a CONNECT error (nats-server closes without a word).
    const typed = await rawJwtExchange(broker.port, () => connectLine({ jwt: 5 }) + "PING\r\n")
    expect({ text: typed.text, closed: typed.closed }).toEqual({
      text: "-ERR 'Invalid CONNECT Payload'\r\n",
      closed: true
    })
  })
})
