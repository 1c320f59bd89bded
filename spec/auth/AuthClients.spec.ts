/**
 * Authentication and permissions through the official client (@nats-io/transport-node,
 * @nats-io/jetstream), each scenario run against nats-server 2.9.10 and against us with the same
 * configuration file: both must report the same values, and those values are asserted too.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { createUser } from "@nats-io/nkeys"
import { connect, type ConnectionOptions, type NatsConnection, nkeyAuthenticator } from "@nats-io/transport-node"
import bcrypt from "bcryptjs"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath, type RunningBroker, type RunningNatsServer } from "../support/Broker.ts"
import { clientFailure, sleep } from "../support/Js.ts"
import { startBrokerWithConf, startNatsWithConf } from "./AuthServers.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("auth client differential skipped: nats-server is not on PATH")

const sc = new TextEncoder()
const dc = new TextDecoder()
const nkey = createUser()
const stranger = createUser()

const conf = (storeDir: string) => `
jetstream { store_dir: "${storeDir}" }
authorization {
  users: [
    { user: admin, password: "${bcrypt.hashSync("adminpw", 4)}" }
    { user: plain, password: plainpw, permissions: {
        publish: { allow: ["pub.>", "_INBOX.>"], deny: "pub.secret" }
        subscribe: { allow: ["sub.>", "_INBOX.>", "work.* crew"], deny: "sub.hidden" }
    } }
    { user: svc, password: svcpw, permissions: { subscribe: "svc.>", allow_responses: true } }
    { user: orders, password: orderspw, permissions: {
        publish: ["$JS.API.INFO", "$JS.API.STREAM.INFO.ORDERS", "$JS.API.CONSUMER.INFO.ORDERS.>",
                  "$JS.API.CONSUMER.MSG.NEXT.ORDERS.>", "$JS.ACK.ORDERS.>", "orders.>"]
        subscribe: "_INBOX.>"
    } }
    { nkey: ${nkey.getPublicKey()}, permissions: { publish: "nk.>", subscribe: "_INBOX.>" } }
  ]
}
`

const open = (url: string, o: Partial<ConnectionOptions>) => connect({ servers: url, reconnect: false, ...o })

/** Connect with `o`, run `f`, close; a failed connect is reported as the client shows it. */
const as = async <A>(url: string, o: Partial<ConnectionOptions>, f: (nc: NatsConnection) => Promise<A>) => {
  let nc: NatsConnection
  try {
    nc = await open(url, o)
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`
  }
  try {
    return await f(nc)
  } finally {
    await nc.close()
  }
}

/** Async errors the client reported (permission violations arrive this way). */
const errorsOf = (nc: NatsConnection) => {
  const seen: Array<string> = []
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") seen.push(`${s.error.name}: ${s.error.message}`)
  })().catch(() => undefined)
  return seen
}

const scenarios: Record<string, (url: string) => Promise<unknown>> = {
  "credentials: bcrypt user, plain user, nkey; wrong ones are refused": async (url) => ({
    admin: await as(url, { user: "admin", pass: "adminpw" }, async (nc) => (await nc.rtt(), "ok")),
    plain: await as(url, { user: "plain", pass: "plainpw" }, async (nc) => (await nc.flush(), "ok")),
    nkey: await as(url, { authenticator: nkeyAuthenticator(nkey.getSeed()) }, async (nc) => (await nc.flush(), "ok")),
    wrongPass: await as(url, { user: "admin", pass: "nope" }, async () => "connected"),
    noCredentials: await as(url, {}, async () => "connected"),
    strangerNkey: await as(url, { authenticator: nkeyAuthenticator(stranger.getSeed()) }, async () => "connected")
  }),

  "denied publish: an async error, the connection stays usable": async (url) =>
    as(url, { user: "plain", pass: "plainpw" }, async (nc) => {
      const errors = errorsOf(nc)
      const sub = nc.subscribe("sub.>")
      nc.publish("pub.secret", sc.encode("x"))
      nc.publish("pub.ok", sc.encode("y"))
      await nc.flush()
      await sleep(50)
      return { errors, closed: nc.isClosed(), stillWorks: (await nc.rtt()) >= 0, subActive: !sub.isClosed() }
    }),

  "denied subscriptions close only that subscription": async (url) =>
    as(url, { user: "plain", pass: "plainpw" }, async (nc) => {
      const errors = errorsOf(nc)
      const denied = nc.subscribe("sub.hidden")
      const queueDenied = nc.subscribe("work.a", { queue: "others" })
      const queueOk = nc.subscribe("work.a", { queue: "crew" })
      const closedWith = (s: typeof denied) => s.closed.then((e) => (e ? `${e.name}: ${e.message}` : "closed"))
      const results = await Promise.all([closedWith(denied), closedWith(queueDenied)])
      await nc.flush()
      return { results, queueOkOpen: !queueOk.isClosed(), errors: errors.length, open: !nc.isClosed() }
    }),

  "allow_responses: a service answers a request once, and nothing else": async (url) => {
    const svc = await open(url, { user: "svc", pass: "svcpw" })
    const errors = errorsOf(svc)
    const sub = svc.subscribe("svc.echo")
    void (async () => {
      for await (const m of sub) {
        m.respond(m.data)
        m.respond(sc.encode("second answer"))
        svc.publish("elsewhere", sc.encode("x"))
      }
    })().catch(() => undefined) // the loop ends (or a publish throws) when svc closes
    await svc.flush()
    try {
      const got = await as(url, { user: "admin", pass: "adminpw" }, async (nc) => {
        const inbox = nc.subscribe("_INBOX.manual")
        const replies: Array<string> = []
        void (async () => {
          for await (const m of inbox) replies.push(dc.decode(m.data))
        })().catch(() => undefined)
        nc.publish("svc.echo", sc.encode("hello"), { reply: "_INBOX.manual" })
        await nc.flush()
        await sleep(150)
        return replies
      })
      return { got, errors }
    } finally {
      await svc.close()
    }
  },

  "a JetStream user limited to one stream's API works for it and only it": async (url) => {
    await as(url, { user: "admin", pass: "adminpw" }, async (nc) => {
      const jsm = await jetstreamManager(nc)
      for (const name of ["ORDERS", "OTHER"]) await jsm.streams.delete(name).catch(() => undefined)
      await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
      await jsm.streams.add({ name: "OTHER", subjects: ["other.>"] })
      await jsm.consumers.add("ORDERS", { durable_name: "worker", ack_policy: "explicit" })
    })
    return as(url, { user: "orders", pass: "orderspw" }, async (nc) => {
      const js = jetstream(nc)
      const ack = await js.publish("orders.1", sc.encode("first order"))
      const jsm = await jetstreamManager(nc, { checkAPI: false })
      const info = await jsm.streams.info("ORDERS")
      const other = await clientFailure(jsm.streams.info("OTHER"))
      const consumer = await js.consumers.get("ORDERS", "worker")
      const m = await consumer.next({ expires: 2000 })
      const acked = m === null ? "no message" : await m.ackAck()
      return {
        ack: { stream: ack.stream, seq: ack.seq },
        messages: info.state.messages,
        other,
        got: m === null ? null : dc.decode(m.data),
        acked,
        denied: await clientFailure(jsm.streams.add({ name: "MINE", subjects: ["mine"] }))
      }
    })
  }
}

describe.skipIf(natsServer === undefined)("auth through the official clients: ours vs nats-server", () => {
  let broker: RunningBroker | undefined
  let nats: RunningNatsServer | undefined
  const dirs: Array<string> = []
  beforeAll(async () => {
    const dir = () => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-auth-js-"))
      dirs.push(d)
      return d
    }
    ;[broker, nats] = await Promise.all([startBrokerWithConf(conf(dir())), startNatsWithConf(conf(dir()))])
  })
  afterAll(async () => {
    await Promise.all([broker?.stop(), nats?.stop()])
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  })

  const expected: Record<string, unknown> = {
    "credentials: bcrypt user, plain user, nkey; wrong ones are refused": {
      admin: "ok",
      plain: "ok",
      nkey: "ok",
      wrongPass: "AuthorizationError: Authorization Violation",
      noCredentials: "AuthorizationError: Authorization Violation",
      strangerNkey: "AuthorizationError: Authorization Violation"
    },
    "denied publish: an async error, the connection stays usable": {
      errors: ["PermissionViolationError: Permissions Violation for Publish to \"pub.secret\""],
      closed: false,
      stillWorks: true,
      subActive: true
    },
    "denied subscriptions close only that subscription": {
      results: [
        "PermissionViolationError: Permissions Violation for Subscription to \"sub.hidden\"",
        "PermissionViolationError: Permissions Violation for Subscription to \"work.a\" using queue \"others\""
      ],
      queueOkOpen: true,
      errors: 2,
      open: true
    },
    "allow_responses: a service answers a request once, and nothing else": {
      got: ["hello"],
      errors: [
        "PermissionViolationError: Permissions Violation for Publish to \"_INBOX.manual\"",
        "PermissionViolationError: Permissions Violation for Publish to \"elsewhere\""
      ]
    }
  }

  for (const [name, scenario] of Object.entries(scenarios)) {
    it(name, async () => {
      const theirs = await scenario(nats!.url)
      const ours = await scenario(broker!.url)
      expect(ours).toEqual(theirs)
      if (expected[name] !== undefined) expect(ours).toEqual(expected[name])
    })
  }

  it("the JetStream user's values are the specific ones", async () => {
    const r = (await scenarios["a JetStream user limited to one stream's API works for it and only it"]!(
      broker!.url
    )) as Record<
      string,
      unknown
    >
    expect(r).toMatchObject({ ack: { stream: "ORDERS", seq: 1 }, messages: 1, got: "first order", acked: true })
    expect(String(r["other"])).toContain("Permissions Violation for Publish to \"$JS.API.STREAM.INFO.OTHER\"")
    expect(String(r["denied"])).toContain("Permissions Violation for Publish to \"$JS.API.STREAM.CREATE.MINE\"")
  })
})

/** Small configurations, one pair of servers each: token, single user, no_auth_user, auth timeout. */
const small: Record<string, { conf: string; run: (url: string) => Promise<unknown>; expected: unknown }> = {
  "token: connect({ token })": {
    conf: "authorization { token: s3cr3t }",
    run: async (url) => ({
      right: await as(url, { token: "s3cr3t" }, async (nc) => (await nc.flush(), nc.info?.auth_required)),
      wrong: await as(url, { token: "guess" }, async () => "connected"),
      userInstead: await as(url, { user: "s3cr3t", pass: "s3cr3t" }, async () => "connected")
    }),
    expected: {
      right: true,
      wrong: "AuthorizationError: Authorization Violation",
      userInstead: "AuthorizationError: Authorization Violation"
    }
  },
  "bcrypt token": {
    conf: `authorization { token: "${bcrypt.hashSync("tok", 4)}" }`,
    run: async (url) => ({
      right: await as(url, { token: "tok" }, async (nc) => (await nc.flush(), "ok")),
      hash: await as(url, { token: "$2b$04$" }, async () => "connected")
    }),
    expected: { right: "ok", hash: "AuthorizationError: Authorization Violation" }
  },
  "single user: connect({ user, pass })": {
    conf: "authorization { user: ann, password: pw }",
    run: async (url) => ({
      right: await as(url, { user: "ann", pass: "pw" }, async (nc) => (await nc.flush(), "ok")),
      wrong: await as(url, { user: "ann", pass: "PW" }, async () => "connected")
    }),
    expected: { right: "ok", wrong: "AuthorizationError: Authorization Violation" }
  },
  "no_auth_user: a client without credentials is that user, with its permissions": {
    conf: `authorization { users: [
      { user: guest, password: g, permissions: { publish: "guest.>", subscribe: ["guest.>", "_INBOX.>"] } }
      { user: admin, password: a }
    ] }
    no_auth_user: guest`,
    run: async (url) => ({
      guest: await as(url, {}, async (nc) => {
        const errors = errorsOf(nc)
        const sub = nc.subscribe("guest.in", { max: 1 })
        nc.publish("guest.in", sc.encode("hi"))
        nc.publish("admin.in", sc.encode("no"))
        const got: Array<string> = []
        for await (const m of sub) got.push(dc.decode(m.data))
        await nc.flush()
        return { authRequired: nc.info?.auth_required ?? false, got, errors }
      }),
      admin: await as(url, { user: "admin", pass: "a" }, async (nc) => (await nc.flush(), "ok"))
    }),
    expected: {
      guest: {
        authRequired: false,
        got: ["hi"],
        errors: ["PermissionViolationError: Permissions Violation for Publish to \"admin.in\""]
      },
      admin: "ok"
    }
  }
}

for (const [name, c] of Object.entries(small)) {
  describe.skipIf(natsServer === undefined)(`auth through the official client: ${name}`, () => {
    let broker: RunningBroker | undefined
    let nats: RunningNatsServer | undefined
    beforeAll(async () => {
      ;[broker, nats] = await Promise.all([startBrokerWithConf(c.conf), startNatsWithConf(c.conf)])
    })
    afterAll(async () => {
      await Promise.all([broker?.stop(), nats?.stop()])
    })
    it("behaves as nats-server", async () => {
      const theirs = await c.run(nats!.url)
      const ours = await c.run(broker!.url)
      expect(ours).toEqual(theirs)
      expect(ours).toEqual(c.expected)
    })
  })
}
