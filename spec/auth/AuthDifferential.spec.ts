/**
 * Differential, raw sockets: the same auth configuration run by nats-server 2.9.10 and by us must
 * answer the same bytes (`-ERR` texts, `+OK`, `MSG`, `PONG`) and close or keep the connection the
 * same way. Skipped (reason printed) when nats-server is not on PATH.
 */
import { createUser } from "@nats-io/nkeys"
import bcrypt from "bcryptjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath, type RunningBroker, type RunningNatsServer } from "../support/Broker.ts"
import { rawExchange, type RawResult } from "../support/Raw.ts"
import { startBrokerWithConf, startNatsWithConf } from "./AuthServers.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("auth differential skipped: nats-server is not on PATH")

const nkeyUser = createUser()
const nkeyPublic = nkeyUser.getPublicKey()

interface Case {
  readonly input: string
  readonly waitMs?: number
}

const connect = (o: Record<string, unknown>) =>
  `CONNECT ${JSON.stringify({ verbose: true, pedantic: false, ...o })}\r\n`

const suites: Record<string, { conf: () => string; cases: Record<string, Case> }> = {
  token: {
    conf: () => "authorization { token: s3cr3t, timeout: 0.5 }",
    cases: {
      "right token": { input: connect({ auth_token: "s3cr3t" }) + "PING\r\n" },
      "wrong token": { input: connect({ auth_token: "nope" }) + "PING\r\n" },
      "no credentials": { input: connect({}) + "PING\r\n" },
      "PING before CONNECT": { input: "PING\r\n" },
      "SUB before CONNECT": { input: "SUB foo 1\r\n" },
      "garbage before CONNECT": { input: "HELLO\r\n" },
      "gateway reply subjects without permissions": {
        input: connect({ auth_token: "s3cr3t" }) +
          "PUB _GR_.a.b 0\r\n\r\nPUB _GR_. 0\r\n\r\nPUB $GNR.a.b 0\r\n\r\nPING\r\n"
      },
      "user/pass instead of token": { input: connect({ user: "s3cr3t", pass: "s3cr3t" }) },
      "nothing sent: auth timeout": { input: "", waitMs: 1500 }
    }
  },
  "single user": {
    conf: () => "authorization { user: ann, password: pw }",
    cases: {
      "right password": { input: connect({ user: "ann", pass: "pw" }) + "PUB a 1\r\nx\r\nPING\r\n" },
      "wrong password": { input: connect({ user: "ann", pass: "pW" }) },
      "wrong user": { input: connect({ user: "bob", pass: "pw" }) },
      "token instead": { input: connect({ auth_token: "pw" }) }
    }
  },
  "bcrypt users": {
    conf: () =>
      `authorization { users: [
        { user: a, password: "${bcrypt.hashSync("pa", 4).replace(/^\$2b\$/, "$$2a$$")}" }
        { user: b, password: "${bcrypt.hashSync("pb", 4)}" }
      ] }`,
    cases: {
      "$2a$ right": { input: connect({ user: "a", pass: "pa" }) + "PING\r\n" },
      "$2b$ right": { input: connect({ user: "b", pass: "pb" }) + "PING\r\n" },
      "$2a$ wrong": { input: connect({ user: "a", pass: "pb" }) },
      "the hash itself": { input: connect({ user: "a", pass: "$2a$04$x" }) },
      "unknown user": { input: connect({ user: "c", pass: "pa" }) },
      "no user": { input: connect({}) }
    }
  },
  nkeys: {
    conf: () => `authorization { users: [ { nkey: ${nkeyPublic} }, { user: u, password: p } ] }`,
    cases: {
      "bad signature": { input: connect({ nkey: nkeyPublic, sig: "AAAA" }) },
      "missing signature": { input: connect({ nkey: nkeyPublic }) },
      "unknown nkey": { input: connect({ nkey: createUser().getPublicKey(), sig: "AAAA" }) },
      "password user beside nkeys": { input: connect({ user: "u", pass: "p" }) + "PING\r\n" }
    }
  },
  permissions: {
    conf: () =>
      `authorization {
        default_permissions: { publish: ["dflt.>"], subscribe: "dflt.*" }
        users: [
          { user: alice, password: pa, permissions: {
              publish: { allow: ["foo.>", "_INBOX.>"], deny: ["foo.secret"] }
              subscribe: { allow: ["foo.*", "bar.* workers", "baz.>", "baz.x w*"], deny: ["foo.hidden", "q.* bad"] }
          } }
          { user: bob, password: pb }
        ]
      }`,
    cases: {
      "denied publish keeps the connection": {
        input: connect({ user: "alice", pass: "pa" }) + "PUB foo.secret 2\r\nhi\r\nPUB nope 0\r\n\r\nPING\r\n"
      },
      "allowed publish is acknowledged": {
        input: connect({ user: "alice", pass: "pa" }) + "PUB foo.a.b 0\r\n\r\nPING\r\n"
      },
      "denied subscriptions": {
        input: connect({ user: "alice", pass: "pa" }) +
          "SUB foo.hidden 1\r\nSUB bar.x 2\r\nSUB bar.x other 3\r\nSUB foo.a.b 4\r\nSUB zzz 5\r\nPING\r\n"
      },
      "queue subscriptions": {
        input: connect({ user: "alice", pass: "pa" }) +
          "SUB bar.x workers 1\r\nSUB baz.x wonder 2\r\nSUB baz.x other 3\r\nSUB baz.y other 4\r\nPING\r\n"
      },
      "wildcard subscription covering a denied subject": {
        input: connect({ user: "alice", pass: "pa" }) +
          "SUB foo.* 1\r\nPUB foo.hidden 1\r\na\r\nPUB foo.open 1\r\nb\r\nPING\r\n"
      },
      "default permissions for a user without": {
        input: connect({ user: "bob", pass: "pb" }) +
          "PUB dflt.a 0\r\n\r\nPUB foo.a 0\r\n\r\nSUB dflt.a 1\r\nSUB dflt.a.b 2\r\nPING\r\n"
      },
      "reserved reply subjects, whatever the permissions": {
        input: connect({ user: "alice", pass: "pa" }) +
          "PUB foo.a $JS.ACK.S.C.1.1.1.1.0 0\r\n\r\nPUB foo.a _R_.x 0\r\n\r\nPUB foo.a _GR_.x 0\r\n\r\n" +
          "PUB foo.a _R_ 0\r\n\r\nPUB foo.a $JS.ACK. 0\r\n\r\nPUB foo.a _INBOX.ok 0\r\n\r\nPING\r\n"
      },
      "non-verbose client gets only the errors": {
        input: connect({ user: "alice", pass: "pa", verbose: false }) + "PUB foo.secret 0\r\n\r\nSUB nope 1\r\nPING\r\n"
      }
    }
  },
  "no_auth_user": {
    conf: () =>
      `authorization { users: [ { user: guest, password: g, permissions: { publish: "pub.ok", subscribe: "sub.ok" } }, { user: admin, password: a } ] }
      no_auth_user: guest`,
    cases: {
      "no CONNECT at all": { input: "PUB pub.ok 0\r\n\r\nPUB pub.no 0\r\n\r\nSUB sub.no 1\r\nPING\r\n" },
      "CONNECT without credentials": { input: connect({}) + "PUB pub.no 0\r\n\r\nPING\r\n" },
      "another user": { input: connect({ user: "admin", pass: "a" }) + "PUB pub.no 0\r\n\r\nPING\r\n" },
      "wrong password for another user": { input: connect({ user: "admin", pass: "x" }) }
    }
  },
  "allow_responses": {
    conf: () =>
      `authorization { users: [ { user: svc, password: s, permissions: { subscribe: "svc.>", allow_responses: { max: 2 } } } ] }`,
    cases: {
      "publishing without a request is denied": {
        input: connect({ user: "svc", pass: "s" }) + "PUB reply.1 0\r\n\r\nPING\r\n"
      },
      "subscribing within the allowed subjects": {
        input: connect({ user: "svc", pass: "s", echo: true }) +
          "SUB svc.> 1\r\nPING\r\n"
      }
    }
  }
}

const shape = (r: RawResult) => ({
  text: r.text,
  closed: r.closed,
  auth_required: r.info?.["auth_required"],
  nonce: typeof r.info?.["nonce"] === "string" ? (r.info["nonce"] as string).length : undefined
})

for (const [title, suite] of Object.entries(suites)) {
  describe.skipIf(natsServer === undefined)(`auth differential: ${title}`, () => {
    let broker: RunningBroker | undefined
    let nats: RunningNatsServer | undefined
    beforeAll(async () => {
      const conf = suite.conf()
      ;[broker, nats] = await Promise.all([startBrokerWithConf(conf), startNatsWithConf(conf)])
    })
    afterAll(async () => {
      await Promise.all([broker?.stop(), nats?.stop()])
    })
    for (const [name, c] of Object.entries(suite.cases)) {
      it(name, async () => {
        const [theirs, ours] = await Promise.all([
          rawExchange(nats!.port, c.input, c.waitMs),
          rawExchange(broker!.port, c.input, c.waitMs)
        ])
        expect(shape(ours)).toEqual(shape(theirs))
        // Guard against two servers agreeing on nothing happening.
        expect(theirs.text.length + (theirs.closed ? 1 : 0)).toBeGreaterThan(0)
      })
    }
  })
}
