/**
 * Accounts over the wire with @nats-io/transport-node: complete subject isolation, stream imports
 * (prefix, `to`) and service imports (request/reply across accounts through `_R_.` replies), each
 * scenario run against nats-server 2.9.10 (when on PATH) and against us with the same
 * configuration file; both must report the same values, and those values are asserted too.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { connect as legacyConnect } from "nats"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startBrokerWithConf, startNatsWithConf } from "../auth/AuthServers.ts"
import { natsServerPath, type RunningBroker, type RunningNatsServer } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("accounts wire differential skipped: nats-server is not on PATH")

const sc = new TextEncoder()
const dc = new TextDecoder()

export const ACCOUNTS_CONF = `
accounts {
  A: {
    users: [ { user: a, password: a } ]
    exports: [
      { stream: "news.>" }
      { stream: "private.*", accounts: [C] }
      { service: "help.>" }
      { service: "feed", response: stream, threshold: "1s" }
      { service: "once" }
      { service: "slow", threshold: "100ms" }
    ]
  }
  B: {
    users: [ { user: b, password: b } ]
    imports: [
      { stream: { account: A, subject: "news.>" }, prefix: "from_a" }
      { service: { account: A, subject: "help.>" }, to: "ask.>" }
      { service: { account: A, subject: "feed" } }
      { service: { account: A, subject: "once" } }
      { service: { account: A, subject: "slow" } }
    ]
  }
  C: {
    users: [ { user: c, password: c } ]
    imports: [ { stream: { account: A, subject: "private.*" }, to: "mine.*" } ]
  }
}
authorization { users: [ { user: g, password: g } ] }
no_auth_user: b
`

const as = (url: string, user: string) => connect({ servers: url, reconnect: false, user, pass: user })

/** Messages a subscription got within `ms`, as `subject:payload`. */
const collect = (nc: NatsConnection, subject: string) => {
  const got: Array<string> = []
  const sub = nc.subscribe(subject)
  void (async () => {
    for await (const m of sub) got.push(`${m.subject}:${dc.decode(m.data)}`)
  })().catch(() => undefined)
  return got
}

const scenarios: Record<string, (url: string) => Promise<unknown>> = {
  "isolation: a subject in one account is invisible to every other": async (url) => {
    const [a1, a2, b, c, g] = await Promise.all(["a", "a", "b", "c", "g"].map((u) => as(url, u)))
    try {
      const seen = { a2: collect(a2, "x.>"), b: collect(b, "x.>"), c: collect(c, "x.>"), g: collect(g, "x.>") }
      await Promise.all([a2, b, c, g].map((n) => n.flush()))
      a1.publish("x.1", sc.encode("from a"))
      b.publish("x.2", sc.encode("from b"))
      g.publish("x.3", sc.encode("from g"))
      await Promise.all([a1, b, g].map((n) => n.flush()))
      await sleep(100)
      return seen
    } finally {
      await Promise.all([a1, a2, b, c, g].map((n) => n.close()))
    }
  },

  "stream import: prefix, and `to` restricted to one account": async (url) => {
    const [a, b, c, g] = await Promise.all(["a", "b", "c", "g"].map((u) => as(url, u)))
    try {
      const seen = {
        b: collect(b, ">"),
        c: collect(c, ">"),
        g: collect(g, ">")
      }
      await Promise.all([b, c, g].map((n) => n.flush()))
      a.publish("news.today", sc.encode("n1"))
      a.publish("private.x", sc.encode("p1"))
      a.publish("other", sc.encode("o1"))
      await a.flush()
      await sleep(100)
      return seen
    } finally {
      await Promise.all([a, b, c, g].map((n) => n.close()))
    }
  },

  "service import: request/reply across accounts, remapped subject, `_R_.` reply": async (url) => {
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((u) => as(url, u)))
    try {
      const requests: Array<string> = []
      const sub = a.subscribe("help.>")
      void (async () => {
        for await (const m of sub) {
          requests.push(`${m.subject} reply=${m.reply?.startsWith("_R_.") === true ? "_R_" : m.reply}`)
          m.respond(sc.encode(`answer to ${dc.decode(m.data)}`))
        }
      })().catch(() => undefined)
      await a.flush()
      const r = await b.request("ask.me", sc.encode("q1"), { timeout: 2000 })
      const fromC = await c.request("ask.me", sc.encode("q2"), { timeout: 500 }).then(
        () => "answered",
        (e: Error) => e.message
      )
      return { answer: dc.decode(r.data), answerSubjectIsInbox: r.subject.startsWith("_INBOX."), requests, fromC }
    } finally {
      await Promise.all([a, b, c].map((n) => n.close()))
    }
  },

  "service import with stream responses: every response until the threshold": async (url) => {
    const [a, b] = await Promise.all(["a", "b"].map((u) => as(url, u)))
    try {
      const sub = a.subscribe("feed")
      void (async () => {
        for await (const m of sub) {
          for (let i = 1; i <= 3; i++) m.respond(sc.encode(`part ${i}`))
        }
      })().catch(() => undefined)
      await a.flush()
      const inbox = "_INBOX.feed-test"
      const got = collect(b, inbox)
      await b.flush()
      b.publish("feed", sc.encode("go"), { reply: inbox })
      await b.flush()
      await sleep(150)
      return got
    } finally {
      await Promise.all([a, b].map((n) => n.close()))
    }
  }
}

/** The legacy `nats` v2 client requesting across accounts through the service import. */
scenarios["legacy nats v2: a request through the service import"] = async (url) => {
  const a = await as(url, "a")
  const b = await legacyConnect({ servers: url, reconnect: false, user: "b", pass: "b" })
  try {
    const sub = a.subscribe("help.>")
    void (async () => {
      for await (const m of sub) m.respond(sc.encode(`legacy ${m.subject}`))
    })().catch(() => undefined)
    await a.flush()
    const r = await b.request("ask.legacy", sc.encode(""), { timeout: 2000 })
    return dc.decode(r.data)
  } finally {
    await a.close()
    await b.close()
  }
}

scenarios["singleton responses: only the first crosses back; a late one after the threshold is dropped"] = async (
  url
) => {
  const [a, b] = await Promise.all(["a", "b"].map((u) => as(url, u)))
  try {
    const once = a.subscribe("once")
    void (async () => {
      for await (const m of once) {
        m.respond(sc.encode("first"))
        m.respond(sc.encode("second"))
      }
    })().catch(() => undefined)
    const slow = a.subscribe("slow")
    void (async () => {
      for await (const m of slow) setTimeout(() => m.respond(sc.encode("late")), 1500)
    })().catch(() => undefined)
    await a.flush()
    const got = collect(b, "_INBOX.single")
    await b.flush()
    b.publish("once", sc.encode(""), { reply: "_INBOX.single" })
    b.publish("slow", sc.encode(""), { reply: "_INBOX.single" })
    await b.flush()
    await sleep(2000)
    return got
  } finally {
    await Promise.all([a, b].map((n) => n.close()))
  }
}

scenarios["no_auth_user of an account: a client without credentials joins that account"] = async (url) => {
  const anon = await connect({ servers: url, reconnect: false })
  const a = await as(url, "a")
  try {
    const got = collect(anon, "from_a.>")
    await anon.flush()
    a.publish("news.anon", sc.encode("hi"))
    await a.flush()
    await sleep(100)
    return got
  } finally {
    await anon.close()
    await a.close()
  }
}

const expected: Record<string, unknown> = {
  "singleton responses: only the first crosses back; a late one after the threshold is dropped": [
    "_INBOX.single:first"
  ],
  "no_auth_user of an account: a client without credentials joins that account": ["from_a.news.anon:hi"],
  "legacy nats v2: a request through the service import": "legacy help.legacy",
  "isolation: a subject in one account is invisible to every other": {
    a2: ["x.1:from a"],
    b: ["x.2:from b"],
    c: [],
    g: ["x.3:from g"]
  },
  "stream import: prefix, and `to` restricted to one account": {
    b: ["from_a.news.today:n1"],
    c: ["mine.x:p1"],
    g: []
  },
  "service import: request/reply across accounts, remapped subject, `_R_.` reply": {
    answer: "answer to q1",
    answerSubjectIsInbox: true,
    requests: ["help.me reply=_R_"],
    fromC: "no responders: 'ask.me'"
  },
  "service import with stream responses: every response until the threshold": [
    "_INBOX.feed-test:part 1",
    "_INBOX.feed-test:part 2",
    "_INBOX.feed-test:part 3"
  ]
}

describe("accounts over the wire", () => {
  let ours: RunningBroker
  let theirs: RunningNatsServer | undefined
  beforeAll(async () => {
    ours = await startBrokerWithConf(ACCOUNTS_CONF)
    if (natsServer !== undefined) theirs = await startNatsWithConf(ACCOUNTS_CONF)
  })
  afterAll(async () => {
    await ours?.stop()
    await theirs?.stop()
  })

  for (const [name, run] of Object.entries(scenarios)) {
    it(name, async () => {
      const got = await run(ours.url)
      expect(got).toEqual(expected[name])
      if (theirs !== undefined) expect(await run(theirs.url)).toEqual(got)
    })
  }
})
