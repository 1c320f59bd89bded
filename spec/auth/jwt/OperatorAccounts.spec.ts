/**
 * Operator mode with the accounts runtime, through nats.js v3 and `.creds`: two account JWTs under
 * one operator (`resolver: MEMORY`) are isolated subject spaces, each with its own JetStream (both
 * own a stream `ORDERS`) under its JWT's JetStream limits, joined only by a JWT stream
 * export/import; the account's `conn` limit is counted once; the operator's system account answers
 * `$SYS.REQ.*` for its users. Each scenario runs on our broker and, when it is on PATH, on
 * nats-server 2.9.10 with the same configuration; both must give the same values.
 */
import { JetStreamApiError, jetstreamManager } from "@nats-io/jetstream"
import { connect, credsAuthenticator, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath } from "../../support/Broker.ts"
import { type ConfTarget, startConfTarget } from "../AuthServers.ts"
import {
  makeAccount,
  makeOperator,
  makeUser,
  operatorConf,
  type TestAccount,
  type TestUser,
  tmpDir
} from "./JwtFixtures.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("operator accounts differential skipped: nats-server is not on PATH")

const sc = new TextEncoder()
const dc = new TextDecoder()

interface Fixture {
  readonly a: TestAccount
  readonly b: TestAccount
  readonly ua: TestUser
  readonly ua2: TestUser
  readonly ub: TestUser
  readonly usys: TestUser
}

let fixture: Fixture
const targets: Array<ConfTarget> = []
const dirs: Array<string> = []

beforeAll(async () => {
  const sysKp = (await import("@nats-io/jwt")).createAccount()
  const op = await makeOperator({ system_account: sysKp.getPublicKey() })
  const jsLimits = { mem_storage: 1024 * 1024, disk_storage: 1024 * 1024, streams: 1, consumer: 1 }
  const a = await makeAccount(op.kp, {
    limits: { conn: 2, ...jsLimits },
    exports: [{ name: "news", subject: "news.>", type: "stream" }]
  } as never)
  const b = await makeAccount(op.kp, {
    limits: jsLimits,
    imports: [{ name: "news", subject: "news.>", account: a.key, type: "stream" }]
  } as never)
  const sys = await makeAccount(op.kp, {}, { kp: sysKp })
  fixture = {
    a,
    b,
    ua: await makeUser(a.kp),
    ua2: await makeUser(a.kp),
    ub: await makeUser(b.kp),
    usys: await makeUser(sys.kp)
  }
  for (const name of natsServer === undefined ? ["broker"] : ["broker", "nats-server"]) {
    const dir = tmpDir()
    dirs.push(dir)
    const text = operatorConf(dir, op, [a, b, sys], `jetstream { store_dir: "${path.join(dir, "js")}" }`)
    targets.push(await startConfTarget(name, text))
  }
})

afterAll(async () => {
  for (const t of targets) await t.stop()
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
})

const as = (url: string, u: TestUser) =>
  connect({ servers: url, reconnect: false, authenticator: credsAuthenticator(u.creds) })

/** Messages a subscription got, as `subject:payload`. */
const collect = (nc: NatsConnection, subject: string) => {
  const got: Array<string> = []
  const sub = nc.subscribe(subject)
  void (async () => {
    for await (const m of sub) got.push(`${m.subject}:${dc.decode(m.data)}`)
  })()
  return got
}

const settle = () => new Promise((r) => setTimeout(r, 150))

/**
 * Runs `scenario` on every target; asserts nats-server's result equals ours (as `compared` sees
 * them); returns ours.
 */
const onEach = async <T>(scenario: (url: string) => Promise<T>, compared: (t: T) => unknown = (t) => t): Promise<T> => {
  const results: Array<T> = []
  for (const t of targets) results.push(await scenario(t.url))
  if (results.length === 2) expect(compared(results[0]!)).toEqual(compared(results[1]!))
  return results[0]!
}

const apiError = (e: unknown) => {
  if (!(e instanceof JetStreamApiError)) return String(e)
  const a = e.apiError()
  return `${a.code} ${a.err_code} ${a.description}`
}

describe("operator mode accounts", () => {
  it("keeps the two accounts' subjects apart, except through the JWT stream export/import", async () => {
    const got = await onEach(async (url) => {
      const a = await as(url, fixture.ua)
      const b = await as(url, fixture.ub)
      try {
        const inA = collect(a, "x.>")
        const inB = collect(b, ">")
        await a.flush()
        await b.flush()
        a.publish("x.1", sc.encode("a-private"))
        a.publish("news.today", sc.encode("a-news"))
        b.publish("x.1", sc.encode("b-private"))
        await a.flush()
        await b.flush()
        await settle()
        // Two publishers: the arrival order between them is not defined.
        return { inA, inB: inB.filter((s) => !s.startsWith("_INBOX")).sort() }
      } finally {
        await a.close()
        await b.close()
      }
    })
    expect(got).toEqual({ inA: ["x.1:a-private"], inB: ["news.today:a-news", "x.1:b-private"] })
  })

  it("gives each account its own JetStream: both own ORDERS, each under its JWT limits", async () => {
    const got = await onEach(async (url) => {
      const a = await as(url, fixture.ua)
      const b = await as(url, fixture.ub)
      try {
        const ja = await jetstreamManager(a)
        const jb = await jetstreamManager(b)
        await ja.streams.add({ name: "ORDERS", subjects: ["orders.>"], max_bytes: 4096 })
        await jb.streams.add({ name: "ORDERS", subjects: ["orders.>"], max_bytes: 8192 })
        await a.request("orders.1", sc.encode("from a"))
        await b.request("orders.1", sc.encode("from b"))
        await b.request("orders.2", sc.encode("from b"))
        const second = await ja.streams.add({ name: "MORE", subjects: ["more"], max_bytes: 1024 }).then(
          () => "created",
          apiError
        )
        const info = await ja.getAccountInfo()
        return {
          a: (await ja.streams.info("ORDERS")).state.messages,
          b: (await jb.streams.info("ORDERS")).state.messages,
          second,
          limits: info.limits,
          streams: info.streams
        }
      } finally {
        await a.close()
        await b.close()
      }
    })
    expect(got.a).toBe(1)
    expect(got.b).toBe(2)
    expect(got.second).toBe("400 10027 maximum number of streams reached")
    expect(got.limits).toMatchObject({ max_memory: 1024 * 1024, max_storage: 1024 * 1024, max_streams: 1 })
    expect(got.streams).toBe(1)
  })

  it("counts the account's conn limit once: two clients, the third refused, a freed slot reused", async () => {
    const got = await onEach(async (url) => {
      const first = await as(url, fixture.ua)
      const second = await as(url, fixture.ua2)
      const third = await as(url, fixture.ua).then(async (nc) => {
        await nc.flush()
        await nc.close()
        return "connected"
      }, (e: Error) => e.message)
      await first.close()
      await settle()
      const again = await as(url, fixture.ua).then(async (nc) => {
        await nc.flush()
        await nc.close()
        return "connected"
      }, (e: Error) => e.message)
      await second.close()
      return { third, again }
    }, (r) => ({
      // The client may see the -ERR, or only the close racing its CONNECT write (EPIPE): refused either way.
      third: r.third === "connected" ? "connected" : "refused",
      again: r.again
    }))
    expect(got).toEqual({ third: "maximum account active connections exceeded", again: "connected" })
  })

  it("answers the operator's system account users on $SYS.REQ", async () => {
    const got = await onEach(async (url) => {
      const sys = await as(url, fixture.usys)
      const a = await as(url, fixture.ua)
      try {
        const info = JSON.parse(dc.decode((await sys.request(`$SYS.REQ.ACCOUNT.${fixture.a.key}.INFO`)).data))
        const connz = JSON.parse(
          dc.decode((await sys.request("$SYS.REQ.SERVER.PING.CONNZ", sc.encode(`{"acc":"${fixture.a.key}"}`))).data)
        )
        return {
          account: info.data.account_name === fixture.a.key,
          jetstream: info.data.jetstream_enabled,
          connections: connz.data.num_connections
        }
      } finally {
        await sys.close()
        await a.close()
      }
    })
    expect(got).toEqual({ account: true, jetstream: true, connections: 1 })
  })
})
