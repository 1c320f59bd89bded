/**
 * Operator mode over raw sockets, differential: one configuration (operator file, resolver
 * MEMORY, preloaded account JWTs, all made at run time) run by nats-server 2.9.10 and by us;
 * each CONNECT with a user JWT must get the same bytes back (`+OK`/`PONG`, `-ERR` texts) and the
 * same close. Skipped (reason printed) when nats-server is not on PATH; the expected bytes are
 * also asserted literally so the suite means something without it.
 */
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/jwt"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath, type RunningBroker, type RunningNatsServer, startNatsServer } from "../../support/Broker.ts"
import { startBrokerWithConf, writeConf } from "../AuthServers.ts"
import {
  clockAwayFromMidnight,
  connectLine,
  makeAccount,
  makeOperator,
  makeUser,
  nowSec,
  operatorConf,
  rawJwtExchange,
  type RawJwtResult,
  signNonce,
  type TestUser,
  tmpDir
} from "./JwtFixtures.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("JWT differential skipped: nats-server is not on PATH")

const OK = "+OK\r\nPONG\r\n"
const VIOLATION = "-ERR 'Authorization Violation'\r\n"

interface Case {
  /** The CONNECT fields (jwt, sig) and what follows it. */
  readonly send: (info: Record<string, unknown>) => string
  readonly expect: { readonly text: string; readonly closed: boolean }
  readonly waitMs?: number
  /** false: a deliberate difference (see spec/protocol/RawCases.ts), asserted for us only. */
  readonly nats?: false
}

const withJwt = (u: TestUser, after = "PING\r\n", signer: KeyPair = u.kp) => (info: Record<string, unknown>) =>
  connectLine({ jwt: u.jwt, sig: signNonce(signer, info) }) + after

const cases: Record<string, Case> = {}
let conf = ""

beforeAll(async () => {
  const op = await makeOperator()
  const other = await makeOperator()
  const sk = createAccount()
  const revokedKp = createUser()
  const a = await makeAccount(op.kp, {
    signing_keys: [sk.getPublicKey()],
    revocations: { [revokedKp.getPublicKey()]: nowSec() + 60 }
  })
  const all = await makeAccount(op.kp, { revocations: { "*": nowSec() + 60 } })
  const noBearer = await makeAccount(op.kp, { limits: { disallow_bearer: true } })
  const defaults = await makeAccount(op.kp, { default_permissions: { pub: { deny: ["nope"] } } })
  const untrusted = await makeAccount(other.kp)
  const payload4 = await makeAccount(op.kp, { limits: { payload: 4 } })
  // No `payload` in the JWT: Go reads 0, so only empty messages may be published.
  const payloadAbsent = await makeAccount(op.kp, { limits: { payload: undefined } as never })
  const expiredAcc = await makeAccount(op.kp, {}, { exp: nowSec() - 60 })
  const unknownAcc = createAccount()
  conf = operatorConf(tmpDir(), op, [a, all, noBearer, defaults, untrusted, expiredAcc, payload4, payloadAbsent])

  const good = await makeUser(a.kp)
  const perms = await makeUser(a.kp, { pub: { allow: ["foo", "_INBOX.>"] }, sub: { deny: ["secret"] } })
  const bySk = await makeUser(sk, { issuer_account: a.key })
  const byUnknownKey = await makeUser(createAccount(), { issuer_account: a.key })
  const expired = await makeUser(a.kp, {}, { exp: nowSec() - 10 })
  const notYet = await makeUser(a.kp, {}, { nbf: nowSec() + 3600 })
  const revoked = await makeUser(a.kp, {}, { kp: revokedKp })
  const ofRevokedAll = await makeUser(all.kp)
  const ofUntrusted = await makeUser(untrusted.kp)
  const ofExpiredAcc = await makeUser(expiredAcc.kp)
  const ofUnknown = await makeUser(unknownAcc)
  const bearer = await makeUser(a.kp, { bearer_token: true })
  const bearerDisallowed = await makeUser(noBearer.kp, { bearer_token: true })
  const wsOnly = await makeUser(a.kp, { allowed_connection_types: ["WEBSOCKET"] })
  const standard = await makeUser(a.kp, { allowed_connection_types: ["STANDARD", "WEBSOCKET"] })
  const otherNet = await makeUser(a.kp, { src: ["10.1.0.0/16"] })
  const loopback = await makeUser(a.kp, { src: ["127.0.0.0/8"] })
  const ofDefaults = await makeUser(defaults.kp)
  const clock = clockAwayFromMidnight()
  const inWindow = await makeUser(a.kp, {
    times_location: clock.locale,
    times: [{ start: clock.at(-3600), end: clock.at(3600) }]
  })
  const outOfWindow = await makeUser(a.kp, {
    times_location: clock.locale,
    times: [{ start: clock.at(3600), end: clock.at(7200) }, { start: clock.at(-7200), end: clock.at(-3600) }]
  })
  // At least 5 hours from the server's zone (UTC here): passes only when the window is read in
  // the JWT's zone; the half-hour window cannot match the server's own clock.
  const localHour = new Date().getHours()
  const far = clockAwayFromMidnight(
    ["Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata", "America/New_York", "Australia/Sydney"].filter((z) => {
      const h = Number(
        new Intl.DateTimeFormat("en-GB", { timeZone: z, hour: "2-digit", hourCycle: "h23" }).format(new Date())
      )
      const d = Math.abs(h - localHour)
      return Math.min(d, 24 - d) >= 5
    })
  )
  const farWindow = await makeUser(a.kp, {
    times_location: far.locale,
    times: [{ start: far.at(-1800), end: far.at(1800) }]
  })
  const badLocale = await makeUser(a.kp, {
    times_location: "Mars/Olympus",
    times: [{ start: "00:00:00", end: "23:59:59" }]
  })
  const tampered = { ...good, jwt: good.jwt.slice(0, -4) + (good.jwt.endsWith("AAAA") ? "BBBB" : "AAAA") }

  const violation = { text: VIOLATION, closed: true }
  const ofPayload4 = await makeUser(payload4.kp)
  const ofPayloadAbsent = await makeUser(payloadAbsent.kp)
  const userPayload2 = await makeUser(a.kp, { payload: 2 })
  const payloadViolation = "-ERR 'Maximum Payload Violation'\r\n"
  Object.assign(
    cases,
    {
      "account JWT payload 4: 4 bytes pass, 5 are a violation": {
        send: withJwt(ofPayload4, "PUB x 4\r\nabcd\r\nPUB x 5\r\nabcde\r\n"),
        expect: { text: `+OK\r\n+OK\r\n${payloadViolation}`, closed: true }
      },
      "account JWT without payload (0): an empty message passes, one byte is a violation": {
        send: withJwt(ofPayloadAbsent, "PUB x 0\r\n\r\nPUB x 1\r\na\r\n"),
        expect: { text: `+OK\r\n+OK\r\n${payloadViolation}`, closed: true }
      },
      "user JWT payload 2 in an unlimited account: 3 bytes are a violation": {
        send: withJwt(userPayload2, "PUB x 2\r\nab\r\nPUB x 3\r\nabc\r\n"),
        expect: { text: `+OK\r\n+OK\r\n${payloadViolation}`, closed: true }
      }
    } satisfies Record<string, Case>
  )
  Object.assign(
    cases,
    {
      "valid user": { send: withJwt(good), expect: { text: OK, closed: false } },
      "signed by an account signing key": { send: withJwt(bySk), expect: { text: OK, closed: false } },
      "signed by a key the account does not list": { send: withJwt(byUnknownKey), expect: violation },
      "wrong nonce signature": { send: withJwt(good, "PING\r\n", createUser()), expect: violation },
      "signature missing": { send: () => connectLine({ jwt: good.jwt }) + "PING\r\n", expect: violation },
      "signature not base64": {
        send: () => connectLine({ jwt: good.jwt, sig: "%%%" }) + "PING\r\n",
        expect: violation
      },
      "no JWT": { send: () => connectLine({}) + "PING\r\n", expect: violation },
      "user and password instead": {
        send: () => connectLine({ user: "a", pass: "b" }) + "PING\r\n",
        expect: violation
      },
      "malformed JWT": {
        send: (i) => connectLine({ jwt: "abc", sig: signNonce(good.kp, i) }) + "PING\r\n",
        expect: violation
      },
      "JWT with a broken signature": { send: withJwt(tampered), expect: violation },
      // nats-server closes silently on a CONNECT field of the wrong type; we say why.
      "JWT that is not a string": {
        send: () => connectLine({ jwt: 5 }) + "PING\r\n",
        expect: { text: "-ERR 'Invalid CONNECT Payload'\r\n", closed: true },
        nats: false
      },
      "account JWT given as user JWT": {
        send: (i) => connectLine({ jwt: a.jwt, sig: signNonce(a.kp, i) }) + "PING\r\n",
        expect: violation
      },
      "expired user": { send: withJwt(expired), expect: violation },
      "user not yet valid (nbf)": { send: withJwt(notYet), expect: violation },
      "revoked user": { send: withJwt(revoked), expect: violation },
      "all users of the account revoked": { send: withJwt(ofRevokedAll), expect: violation },
      "account not signed by the operator": { send: withJwt(ofUntrusted), expect: violation },
      "expired account": { send: withJwt(ofExpiredAcc), expect: violation },
      "user of an unknown account": { send: withJwt(ofUnknown), expect: violation },
      "bearer token without signature": {
        send: () => connectLine({ jwt: bearer.jwt }) + "PING\r\n",
        expect: { text: OK, closed: false }
      },
      "bearer token where the account disallows it": {
        send: () => connectLine({ jwt: bearerDisallowed.jwt }) + "PING\r\n",
        expect: violation
      },
      "websocket-only user over TCP": { send: withJwt(wsOnly), expect: violation },
      "STANDARD among the allowed types": { send: withJwt(standard), expect: { text: OK, closed: false } },
      "source network excludes the client": { send: withJwt(otherNet), expect: violation },
      "source network includes the client": { send: withJwt(loopback), expect: { text: OK, closed: false } },
      "inside the connect-time window": { send: withJwt(inWindow), expect: { text: OK, closed: false } },
      "inside the window in the JWT's time zone": { send: withJwt(farWindow), expect: { text: OK, closed: false } },
      "outside every connect-time window": { send: withJwt(outOfWindow), expect: violation },
      "connect times in an unknown time zone": { send: withJwt(badLocale), expect: violation },
      "user JWT permissions": {
        send: withJwt(perms, "PUB foo 1\r\nx\r\nPUB bar 1\r\nx\r\nSUB secret 1\r\nSUB open 2\r\nPING\r\n"),
        expect: {
          text: "+OK\r\n+OK\r\n-ERR 'Permissions Violation for Publish to \"bar\"'\r\n"
            + "-ERR 'Permissions Violation for Subscription to \"secret\"'\r\n+OK\r\nPONG\r\n",
          closed: false
        }
      },
      "account default permissions": {
        send: withJwt(ofDefaults, "PUB nope 1\r\nx\r\nPUB yes 1\r\nx\r\nPING\r\n"),
        expect: {
          text: "+OK\r\n-ERR 'Permissions Violation for Publish to \"nope\"'\r\n+OK\r\nPONG\r\n",
          closed: false
        }
      }
    } satisfies Record<string, Case>
  )
})

describe("operator mode, raw CONNECT", () => {
  let ours: RunningBroker
  let nats: RunningNatsServer | undefined
  beforeAll(async () => {
    ours = await startBrokerWithConf(conf)
    if (natsServer !== undefined) nats = await startNatsServer(["-c", writeConf(conf)])
  })
  afterAll(async () => {
    await ours?.stop()
    await nats?.stop()
  })

  const strip = (r: RawJwtResult) => ({ text: r.text, closed: r.closed })

  it("INFO asks for auth and carries a nonce", async () => {
    const r = await rawJwtExchange(ours.port, () => "")
    expect(r.info?.["auth_required"]).toBe(true)
    expect(typeof r.info?.["nonce"]).toBe("string")
    if (nats !== undefined) {
      const n = await rawJwtExchange(nats.port, () => "")
      expect(n.info?.["auth_required"]).toBe(true)
      expect(typeof n.info?.["nonce"]).toBe("string")
    }
  })

  it("answers every case with nats-server's bytes and close", async () => {
    for (const [name, c] of Object.entries(cases)) {
      const got = strip(await rawJwtExchange(ours.port, c.send, c.waitMs))
      expect(got, `ours: ${name}`).toEqual(c.expect)
      if (nats !== undefined && c.nats !== false) {
        const want = strip(await rawJwtExchange(nats.port, c.send, c.waitMs))
        expect(got, `vs nats-server: ${name}`).toEqual(want)
      }
    }
  })
})

describe("operator signing keys", () => {
  let ours: RunningBroker
  let nats: RunningNatsServer | undefined
  const sample: Record<string, Case> = {}
  beforeAll(async () => {
    const osk = createOperator()
    // strict_signing_key_usage: only the signing keys, not the operator's identity key, sign accounts.
    const op = await makeOperator({ signing_keys: [osk.getPublicKey()], strict_signing_key_usage: true } as never)
    const ask = createAccount()
    const bySigningKey = await makeAccount(osk, { signing_keys: [ask.getPublicKey()] })
    const byIdentity = await makeAccount(op.kp)
    const text = operatorConf(tmpDir(), op, [bySigningKey, byIdentity])
    sample["account signed by an operator signing key, user by the account's signing key"] = {
      send: withJwt(await makeUser(ask, { issuer_account: bySigningKey.key })),
      expect: { text: OK, closed: false }
    }
    // Strict use extends to the account: its identity key no longer signs users.
    sample["account signed by an operator signing key, user by the account's identity key"] = {
      send: withJwt(await makeUser(bySigningKey.kp)),
      expect: { text: VIOLATION, closed: true }
    }
    sample["account signed by the operator's identity key under strict signing-key use"] = {
      send: withJwt(await makeUser(byIdentity.kp)),
      expect: { text: VIOLATION, closed: true }
    }
    ours = await startBrokerWithConf(text)
    if (natsServer !== undefined) nats = await startNatsServer(["-c", writeConf(text)])
  })
  afterAll(async () => {
    await ours?.stop()
    await nats?.stop()
  })

  it("trusts what nats-server trusts", async () => {
    for (const [name, c] of Object.entries(sample)) {
      const r = await rawJwtExchange(ours.port, c.send)
      expect({ text: r.text, closed: r.closed }, `ours: ${name}`).toEqual(c.expect)
      if (nats !== undefined) {
        const n = await rawJwtExchange(nats.port, c.send)
        expect({ text: r.text, closed: r.closed }, `vs nats-server: ${name}`).toEqual({
          text: n.text,
          closed: n.closed
        })
      }
    }
  })
})

describe("operator mode, while connected", () => {
  let ours: RunningBroker
  let nats: RunningNatsServer | undefined
  let shortLived: TestUser
  let ofShortAccount: TestUser
  let closingWindow: TestUser
  let first: TestUser
  let second: TestUser
  beforeAll(async () => {
    const op = await makeOperator()
    const a = await makeAccount(op.kp)
    const one = await makeAccount(op.kp, { limits: { conn: 1 } })
    const shortAccount = await makeAccount(op.kp, {}, { exp: nowSec() + 3 })
    const text = operatorConf(tmpDir(), op, [a, one, shortAccount])
    ofShortAccount = await makeUser(shortAccount.kp)
    const clock = clockAwayFromMidnight()
    closingWindow = await makeUser(a.kp, {
      times_location: clock.locale,
      times: [{ start: clock.at(-60), end: clock.at(3) }]
    })
    shortLived = await makeUser(a.kp, {}, { exp: nowSec() + 3 })
    first = await makeUser(one.kp)
    second = await makeUser(one.kp)
    ours = await startBrokerWithConf(text)
    if (natsServer !== undefined) nats = await startNatsServer(["-c", writeConf(text)])
  })
  afterAll(async () => {
    await ours?.stop()
    await nats?.stop()
  })

  // nats-server also sends its first PING about 2 s after CONNECT (setFirstPingTimer), which we do
  // not; that is not what is tested here, so server PINGs are left out of the comparison.
  const noPing = (r: RawJwtResult) => ({ text: r.text.replaceAll("PING\r\n", ""), closed: r.closed })

  it(
    "closes the connection at the user's or the account's JWT exp, or the window's end, with nats-server's error",
    async () => {
      // All at once: both JWTs expire a few seconds after the servers started.
      const run = (port: number) =>
        Promise.all([
          rawJwtExchange(port, withJwt(shortLived), 5_000).then(noPing),
          rawJwtExchange(port, withJwt(ofShortAccount), 5_000).then(noPing),
          rawJwtExchange(port, withJwt(closingWindow), 5_000).then(noPing)
        ])
      const [got, want] = await Promise.all([run(ours.port), nats === undefined ? undefined : run(nats.port)])
      expect(got).toEqual([
        { text: OK + "-ERR 'User Authentication Expired'\r\n", closed: true },
        { text: OK + "-ERR 'Account Authentication Expired'\r\n", closed: true },
        // The end of the connect-time window ends the connection the same way (nats-server setExpiration).
        { text: OK + "-ERR 'User Authentication Expired'\r\n", closed: true }
      ])
      if (want !== undefined) expect(got).toEqual(want)
    },
    15_000
  )

  it("refuses a connection over the account's conn limit as nats-server does", async () => {
    const run = async (port: number) => {
      // Hold the first connection open while the second one connects.
      const holder = net.connect(port, "127.0.0.1")
      await new Promise<void>((resolve) => {
        let buf = ""
        holder.on("data", (d) => {
          buf += d.toString("latin1")
          if (buf.includes("PONG")) resolve()
          else if (buf.startsWith("INFO") && buf.includes("\r\n") && !buf.includes("CONNECT_SENT")) {
            buf += "CONNECT_SENT"
            const info = JSON.parse(/^INFO (\{.*\}) \r\n/.exec(buf)![1]!) as Record<string, unknown>
            holder.write(connectLine({ jwt: first.jwt, sig: signNonce(first.kp, info), verbose: false }) + "PING\r\n")
          }
        })
      })
      const r = await rawJwtExchange(port, withJwt(second))
      holder.destroy()
      // Once the first one is gone its place is free again.
      await new Promise((res) => setTimeout(res, 200))
      const again = await rawJwtExchange(port, withJwt(second))
      return { second: { text: r.text, closed: r.closed }, again: { text: again.text, closed: again.closed } }
    }
    const got = await run(ours.port)
    expect(got.second.closed).toBe(true)
    expect(got.second.text.startsWith("-ERR 'maximum account active connections exceeded'\r\n")).toBe(true)
    expect(got.again).toEqual({ text: OK, closed: false })
    if (nats !== undefined) expect(got).toEqual(await run(nats.port))
  })
})
