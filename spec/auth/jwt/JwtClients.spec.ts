/**
 * Operator mode through the official clients: nats.js v3 (`credsAuthenticator` of
 * @nats-io/transport-node) and the legacy `nats` v2 package, with `.creds` made at run time.
 * Each scenario runs against nats-server 2.9.10 and against us with the same configuration; both
 * must report the same values, and those values are asserted too.
 */
import { type KeyPair } from "@nats-io/jwt"
import { connect, type ConnectionOptions, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node"
import * as legacy from "nats"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath, type RunningBroker, type RunningNatsServer } from "../../support/Broker.ts"
import { sleep } from "../../support/Js.ts"
import { makeCerts } from "../../tls/TlsCerts.ts"
import { startBrokerWithConf, startNatsWithConf } from "../AuthServers.ts"
import { makeAccount, makeOperator, makeUser, nowSec, operatorConf, type TestUser, tmpDir } from "./JwtFixtures.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("JWT client differential skipped: nats-server is not on PATH")

const sc = new TextEncoder()
const dc = new TextDecoder()

interface Users {
  readonly good: TestUser
  readonly limited: TestUser
  readonly expired: TestUser
  readonly shortLived: () => Promise<TestUser>
  readonly revoked: TestUser
}

const open = (url: string, o: Partial<ConnectionOptions>) => connect({ servers: url, reconnect: false, ...o })

const failure = (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`

/** Connect with creds, run `f`, close; a failed connect is reported as the client shows it. */
const withCreds = async <A>(url: string, u: TestUser, f: (nc: NatsConnection) => Promise<A>) => {
  let nc: NatsConnection
  try {
    nc = await open(url, { authenticator: credsAuthenticator(u.creds) })
  } catch (e) {
    return failure(e)
  }
  try {
    return await f(nc)
  } finally {
    await nc.close()
  }
}

const scenarios: Record<string, (url: string, users: Users) => Promise<unknown>> = {
  "v3 creds: publish, subscribe and request": (url, { good }) =>
    withCreds(url, good, async (nc) => {
      const sub = nc.subscribe("greet")
      const got: Array<string> = []
      void (async () => {
        for await (const m of sub) {
          got.push(dc.decode(m.data))
          if (m.reply !== undefined) m.respond(sc.encode(`hi ${dc.decode(m.data)}`))
        }
      })()
      nc.publish("greet", sc.encode("plain"))
      const reply = await nc.request("greet", sc.encode("req"), { timeout: 2000 })
      return { got, reply: dc.decode(reply.data) }
    }),

  "v3 creds refused: expired, revoked": async (url, { expired, revoked }) => ({
    expired: await withCreds(url, expired, async () => "connected"),
    revoked: await withCreds(url, revoked, async () => "connected")
  }),

  "v3 permissions from the user JWT": (url, { limited }) =>
    withCreds(url, limited, async (nc) => {
      const errors: Array<string> = []
      void (async () => {
        for await (const s of nc.status()) if (s.type === "error") errors.push(failure(s.error))
      })().catch(() => undefined)
      const denied = nc.subscribe("secret")
      const deniedClosed = denied.closed.then((e) => (e ? failure(e) : "closed"))
      nc.publish("bar", sc.encode("x"))
      nc.publish("foo", sc.encode("y"))
      await nc.flush()
      await sleep(100)
      return { errors, denied: await deniedClosed, open: !nc.isClosed() }
    }),

  "v3: the connection closes when the user JWT expires": async (url, { shortLived }) => {
    const u = await shortLived()
    const nc = await open(url, { authenticator: credsAuthenticator(u.creds) })
    const start = Date.now()
    const err = await nc.closed()
    return { closedWith: err === undefined ? "no error" : failure(err), afterAbout2s: Date.now() - start > 500 }
  },

  "legacy nats v2 creds: connect, request; refused when expired": async (url, { good, expired }) => {
    const nc = await legacy.connect({
      servers: url,
      reconnect: false,
      authenticator: legacy.credsAuthenticator(good.creds)
    })
    const sub = nc.subscribe("svc", { callback: (_e, m) => m.respond(sc.encode("pong")) })
    const reply = await nc.request("svc", sc.encode("ping"), { timeout: 2000 })
    sub.unsubscribe()
    await nc.close()
    let refused = "connected"
    try {
      const bad = await legacy.connect({
        servers: url,
        reconnect: false,
        authenticator: legacy.credsAuthenticator(expired.creds)
      })
      await bad.close()
    } catch (e) {
      refused = `${(e as { code?: string }).code}: ${(e as Error).message}`
    }
    return { reply: dc.decode(reply.data), refused }
  }
}

const expected: Record<string, unknown> = {
  "v3 creds: publish, subscribe and request": { got: ["plain", "req"], reply: "hi req" },
  "v3 creds refused: expired, revoked": {
    expired: "AuthorizationError: Authorization Violation",
    revoked: "AuthorizationError: Authorization Violation"
  },
  "v3 permissions from the user JWT": {
    errors: [
      "PermissionViolationError: Permissions Violation for Subscription to \"secret\"",
      "PermissionViolationError: Permissions Violation for Publish to \"bar\""
    ],
    denied: "PermissionViolationError: Permissions Violation for Subscription to \"secret\"",
    open: true
  },
  "v3: the connection closes when the user JWT expires": {
    closedWith: "UserAuthenticationExpiredError: User Authentication Expired",
    afterAbout2s: true
  },
  "legacy nats v2 creds: connect, request; refused when expired": {
    reply: "pong",
    refused: "AUTHORIZATION_VIOLATION: 'Authorization Violation'"
  }
}

describe("operator mode through the official clients", () => {
  let users: Users
  let broker: RunningBroker | undefined
  let nats: RunningNatsServer | undefined
  beforeAll(async () => {
    const op = await makeOperator()
    const revokedKp: KeyPair = (await import("@nats-io/jwt")).createUser()
    const a = await makeAccount(op.kp, { revocations: { [revokedKp.getPublicKey()]: nowSec() + 60 } })
    users = {
      good: await makeUser(a.kp),
      limited: await makeUser(a.kp, { pub: { allow: ["foo", "_INBOX.>"] }, sub: { deny: ["secret"] } }),
      expired: await makeUser(a.kp, {}, { exp: nowSec() - 5 }),
      shortLived: () => makeUser(a.kp, {}, { exp: nowSec() + 2 }),
      revoked: await makeUser(a.kp, {}, { kp: revokedKp })
    }
    const conf = operatorConf(tmpDir(), op, [a])
    ;[broker, nats] = await Promise.all([
      startBrokerWithConf(conf),
      natsServer === undefined ? undefined : startNatsWithConf(conf)
    ])
  })
  afterAll(async () => {
    await Promise.all([broker?.stop(), nats?.stop()])
  })

  for (const [name, run] of Object.entries(scenarios)) {
    it(name, async () => {
      const [ours, theirs] = await Promise.all([
        run(broker!.url, users),
        nats === undefined ? undefined : run(nats.url, users)
      ])
      expect(ours).toEqual(expected[name])
      if (theirs !== undefined) expect(ours).toEqual(theirs)
    }, 15_000)
  }
})

describe("operator mode behind TLS verify_and_map", () => {
  it("the user JWT, not the certificate, names the user (as nats-server)", async () => {
    const certs = makeCerts()
    const op = await makeOperator()
    const a = await makeAccount(op.kp)
    const u = await makeUser(a.kp)
    const conf = operatorConf(
      tmpDir(),
      op,
      [a],
      `tls {
  cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.ca}", verify_and_map: true
}`
    )
    const [broker, nats] = await Promise.all([
      startBrokerWithConf(conf),
      natsServer === undefined ? undefined : startNatsWithConf(conf)
    ])
    try {
      const run = async (url: string) => {
        const tls = { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey }
        const nc = await open(url, { tls, authenticator: credsAuthenticator(u.creds) })
        const rtt = await nc.rtt()
        await nc.close()
        const bad = await open(url, { tls }).then(async (c) => (await c.close(), "connected"), failure)
        return { connected: rtt >= 0, withoutJwt: bad }
      }
      const ours = await run(broker.url)
      expect(ours).toEqual({ connected: true, withoutJwt: "AuthorizationError: Authorization Violation" })
      if (nats !== undefined) expect(ours).toEqual(await run(nats.url))
    } finally {
      await Promise.all([broker.stop(), nats?.stop()])
      certs.remove()
    }
  }, 20_000)
})
