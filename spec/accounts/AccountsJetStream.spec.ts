/**
 * Per-account JetStream over the wire (@nats-io/transport-node + @nats-io/jetstream, and the
 * legacy `nats` v2 client): two accounts own a stream of the same name, each sees only its own;
 * account limits answer with nats-server's err_codes; an account without JetStream gets 10039 on
 * every API request. Each scenario runs against nats-server 2.9.10 (when on PATH) and against us with
 * the same configuration; both must give the same values, which are asserted too. Restart
 * recovery of every account's streams is ours only.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { connect as legacyConnect } from "nats"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { onBothServers, startBrokerWithConf } from "../auth/AuthServers.ts"
import { natsServerPath } from "../support/Broker.ts"
import { failure } from "../support/Js.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("accounts JetStream differential skipped: nats-server is not on PATH")

const sc = new TextEncoder()
const dc = new TextDecoder()

const conf = (storeDir: string) => `
jetstream { store_dir: "${storeDir}" }
accounts {
  A: {
    users: [ { user: a, password: a } ]
    jetstream: enabled
    exports: [ { service: "$JS.API.>", accounts: [U, P] }, { service: "$KV.>", accounts: [P] } ]
  }
  P: {
    users: [ { user: p, password: p } ]
    imports: [
      { service: { account: A, subject: "$JS.API.>" }, to: "fromA.>" }
      { service: { account: A, subject: "$KV.>" }, to: "fromA.$KV.>" }
    ]
  }
  U: {
    users: [ { user: u, password: u } ]
    imports: [ { service: { account: A, subject: "$JS.API.>" } } ]
  }
  B: { users: [ { user: b, password: b } ], jetstream: enabled }
  L: {
    users: [ { user: l, password: l } ]
    jetstream: { max_streams: 2, max_consumers: 1, max_file: 4096, max_mem: 2048 }
  }
  N: { users: [ { user: n, password: n } ] }
}
`

const as = (url: string, user: string) => connect({ servers: url, reconnect: false, user, pass: user })

const withUser = async <T>(url: string, user: string, f: (nc: NatsConnection) => Promise<T>): Promise<T> => {
  const nc = await as(url, user)
  try {
    return await f(nc)
  } finally {
    await nc.close()
  }
}

/** A raw API request: the reply as JSON (or the client's error text). */
const api = (nc: NatsConnection, subject: string, body = "") =>
  nc.request(subject, sc.encode(body), { timeout: 1000 }).then(
    (m) => JSON.parse(dc.decode(m.data)) as Record<string, unknown>,
    (e: Error) => e.message
  )

const scenarios: Record<string, (url: string) => Promise<unknown>> = {
  "two accounts own stream ORDERS, each sees only its own": async (url) => {
    const results: Record<string, unknown> = {}
    for (const [user, subjects] of [["a", ["a.orders.>"]], ["b", ["b.orders.>"]]] as const) {
      results[user] = await withUser(url, user, async (nc) => {
        const jsm = await jetstreamManager(nc)
        await jsm.streams.add({ name: "ORDERS", subjects: [...subjects] })
        await nc.request(subjects[0].replace(">", "x"), sc.encode("1"), { timeout: 1000 })
        const names = await jsm.streams.names().next()
        const info = await jsm.streams.info("ORDERS")
        return { names, subjects: info.config.subjects, messages: info.state.messages }
      })
    }
    // A publish on B's subject from A finds no stream in A.
    results.crossPublish = await withUser(
      url,
      "a",
      (nc) => nc.request("b.orders.x", sc.encode("1"), { timeout: 500 }).then(() => "stored", (e: Error) => e.message)
    )
    results.cleanup = await Promise.all(
      ["a", "b"].map((u) => withUser(url, u, async (nc) => (await jetstreamManager(nc)).streams.delete("ORDERS")))
    )
    return results
  },

  "account limits: max_streams, max_consumers, reserved bytes, INFO": async (url) =>
    withUser(url, "l", async (nc) => {
      const jsm = await jetstreamManager(nc)
      const out: Record<string, unknown> = {}
      out.tooManyConsumersInConfig = await failure(jsm.streams.add({ name: "C", subjects: ["c"], max_consumers: 5 }))
      out.fileTooBig = await failure(jsm.streams.add({ name: "F", subjects: ["f"], max_bytes: 8192 }))
      out.memTooBig = await failure(
        jsm.streams.add({ name: "M", subjects: ["m"], storage: "memory" as never, max_bytes: 4096 })
      )
      out.first = await failure(jsm.streams.add({ name: "S1", subjects: ["s1"], max_bytes: 3000 }))
      out.reservedLeft = await failure(jsm.streams.add({ name: "S2", subjects: ["s2"], max_bytes: 2000 }))
      out.second = await failure(jsm.streams.add({ name: "S2", subjects: ["s2"], max_bytes: 1000 }))
      out.third = await failure(jsm.streams.add({ name: "S3", subjects: ["s3"] }))
      out.consumer1 = await failure(jsm.consumers.add("S1", { durable_name: "d1", ack_policy: "explicit" as never }))
      out.consumer2 = await failure(jsm.consumers.add("S1", { durable_name: "d2", ack_policy: "explicit" as never }))
      out.updateTooBig = await failure(jsm.streams.update("S2", { subjects: ["s2"], max_bytes: 1500 }))
      out.updateFits = await failure(jsm.streams.update("S2", { subjects: ["s2"], max_bytes: 1096 }))
      const info = await api(nc, "$JS.API.INFO")
      if (typeof info !== "string") out.info = { streams: info.streams, consumers: info.consumers, limits: info.limits }
      await jsm.streams.delete("S1")
      await jsm.streams.delete("S2")
      return out
    }),

  // Memory: both servers count a message as subject + headers + data + 16 bytes there.
  "publishing past the account's max_mem: 10002 resource limits exceeded": async (url) =>
    withUser(url, "l", async (nc) => {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "P", subjects: ["p"], storage: "memory" as never })
      const acks: Array<string> = []
      const payload = new Uint8Array(1000)
      for (let i = 0; i < 6; i++) {
        // One at a time: each is judged against the usage the previous ones left.
        const m = await nc.request("p", payload, { timeout: 1000 })
        const r = JSON.parse(dc.decode(m.data)) as { seq?: number; error?: { code: number; err_code: number } }
        acks.push(r.error === undefined ? `seq ${r.seq}` : `${r.error.code} ${r.error.err_code}`)
      }
      const state = (await jsm.streams.info("P")).state
      await jsm.streams.delete("P")
      // A full stream that discards its oldest message to make room stays within the account's limit.
      await jsm.streams.add({ name: "R", subjects: ["r"], storage: "memory" as never, max_bytes: 2000 })
      const rolling: Array<string> = []
      for (let i = 0; i < 4; i++) {
        const m = await nc.request("r", payload, { timeout: 1000 })
        const r = JSON.parse(dc.decode(m.data)) as { seq?: number; error?: { code: number; err_code: number } }
        rolling.push(r.error === undefined ? `seq ${r.seq}` : `${r.error.code} ${r.error.err_code}`)
      }
      const rstate = (await jsm.streams.info("R")).state
      await jsm.streams.delete("R")
      return { acks, messages: state.messages, rolling, rollingMessages: rstate.messages }
    }),

  "an account without JetStream: every API request gets 10039": async (url) =>
    withUser(url, "n", async (nc) => ({
      info: await api(nc, "$JS.API.INFO"),
      create: await api(nc, "$JS.API.STREAM.CREATE.X", JSON.stringify({ name: "X", subjects: ["x"] })),
      names: await api(nc, "$JS.API.STREAM.NAMES")
    }))
}

/** The legacy `nats` v2 client: its JetStream manager in two accounts, one stream name. */
scenarios["legacy nats v2: two accounts, one stream name, separate contents"] = async (url) => {
  const out: Record<string, unknown> = {}
  for (const u of ["a", "b"]) {
    const nc = await legacyConnect({ servers: url, reconnect: false, user: u, pass: u })
    try {
      const jsm = await nc.jetstreamManager()
      await jsm.streams.add({ name: "LEGACY", subjects: [`${u}.legacy`] })
      const js = nc.jetstream()
      for (let i = 0; i <= (u === "a" ? 1 : 2); i++) await js.publish(`${u}.legacy`, sc.encode(`${u}${i}`))
      const info = await jsm.streams.info("LEGACY")
      out[u] = { subjects: info.config.subjects, messages: info.state.messages }
      await jsm.streams.delete("LEGACY")
    } finally {
      await nc.close()
    }
  }
  return out
}

scenarios["an account without JetStream that imports another's $JS.API uses that JetStream"] = async (url) => {
  const viaU = await withUser(url, "u", async (nc) => {
    const jsm = await jetstreamManager(nc)
    const created = await failure(jsm.streams.add({ name: "VIA_U", subjects: ["via.u"] }))
    const info = await api(nc, "$JS.API.INFO")
    return { created, streams: typeof info === "string" ? info : info.streams }
  })
  const seenByA = await withUser(url, "a", async (nc) => {
    const jsm = await jetstreamManager(nc)
    const info = await jsm.streams.info("VIA_U")
    await jsm.streams.delete("VIA_U")
    return info.config.subjects
  })
  return { viaU, seenByA }
}

// nats.c's KeyValueCrossAccount: a put on `fromA.$KV.<b>.<k>` matches both imports, so A also sees
// `$JS.API.$KV.<b>.<k>`, an API subject nobody serves; only the PubAck may answer it.
scenarios["a KV put through overlapping service imports gets its PubAck, not the unknown-API reply"] = async (url) => {
  await withUser(url, "a", async (nc) => {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "KV_XA", subjects: ["$KV.XA.>"], max_msgs_per_subject: 1 })
  })
  const acks = await withUser(url, "p", async (nc) => {
    const out = []
    for (let i = 0; i < 5; i++) out.push(await api(nc, `fromA.$KV.XA.k${i}`, `v${i}`))
    return out
  })
  const messages = await withUser(url, "a", async (nc) => {
    const jsm = await jetstreamManager(nc)
    const n = (await jsm.streams.info("KV_XA")).state.messages
    await jsm.streams.delete("KV_XA")
    return n
  })
  return { acks, messages }
}

const expected: Record<string, unknown> = {
  "a KV put through overlapping service imports gets its PubAck, not the unknown-API reply": {
    acks: [1, 2, 3, 4, 5].map((seq) => ({ stream: "KV_XA", seq })),
    messages: 5
  },
  "an account without JetStream that imports another's $JS.API uses that JetStream": {
    viaU: { created: "ok", streams: 1 },
    seenByA: ["via.u"]
  },
  "legacy nats v2: two accounts, one stream name, separate contents": {
    a: { subjects: ["a.legacy"], messages: 2 },
    b: { subjects: ["b.legacy"], messages: 3 }
  },
  "two accounts own stream ORDERS, each sees only its own": {
    a: { names: ["ORDERS"], subjects: ["a.orders.>"], messages: 1 },
    b: { names: ["ORDERS"], subjects: ["b.orders.>"], messages: 1 },
    crossPublish: "no responders: 'b.orders.x'",
    cleanup: [true, true]
  },
  "account limits: max_streams, max_consumers, reserved bytes, INFO": {
    tooManyConsumersInConfig: "400 10026 maximum consumers limit reached",
    fileTooBig: "500 10047 insufficient storage resources available",
    memTooBig: "500 10028 insufficient memory resources available",
    first: "ok",
    reservedLeft: "500 10047 insufficient storage resources available",
    second: "ok",
    third: "400 10027 maximum number of streams reached",
    consumer1: "ok",
    consumer2: "400 10026 maximum consumers limit reached",
    updateTooBig: "500 10047 insufficient storage resources available",
    updateFits: "ok",
    info: {
      streams: 2,
      consumers: 1,
      limits: {
        max_memory: 2048,
        max_storage: 4096,
        max_streams: 2,
        max_consumers: 1,
        max_ack_pending: -1,
        memory_max_stream_bytes: -1,
        storage_max_stream_bytes: -1,
        max_bytes_required: false
      }
    }
  },
  "publishing past the account's max_mem: 10002 resource limits exceeded": {
    acks: ["seq 1", "seq 2", "400 10002", "400 10002", "400 10002", "400 10002"],
    messages: 2,
    rolling: ["seq 1", "seq 2", "seq 3", "seq 4"],
    rollingMessages: 1
  },
  "an account without JetStream: every API request gets 10039": {
    info: {
      type: "io.nats.jetstream.api.v1.account_info_response",
      error: { code: 503, err_code: 10039, description: "JetStream not enabled for account" }
    },
    create: {
      type: "io.nats.jetstream.api.v1.stream_create_response",
      error: { code: 503, err_code: 10039, description: "JetStream not enabled for account" }
    },
    names: {
      type: "io.nats.jetstream.api.v1.stream_names_response",
      error: { code: 503, err_code: 10039, description: "JetStream not enabled for account" },
      total: 0,
      offset: 0,
      limit: 0,
      streams: null
    }
  }
}

describe("per-account JetStream", () => {
  const servers = onBothServers("acc-js-", conf)

  for (const [name, run] of Object.entries(scenarios)) {
    it(name, async () => {
      const got = await run(servers.ours.url)
      expect(got).toEqual(expected[name])
      if (servers.theirs !== undefined) expect(await run(servers.theirs.url)).toEqual(got)
    })
  }

  it("a restart recovers every account's streams into its own account", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acc-js-restart-"))
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
    const first = await startBrokerWithConf(conf(dir))
    try {
      for (const u of ["a", "b"]) {
        await withUser(first.url, u, async (nc) => {
          const jsm = await jetstreamManager(nc)
          await jsm.streams.add({ name: "ORDERS", subjects: [`${u}.>`] })
          await jsm.consumers.add("ORDERS", { durable_name: `${u}-d`, ack_policy: "explicit" as never })
          for (let i = 0; i < (u === "a" ? 3 : 5); i++) await nc.request(`${u}.x`, sc.encode(`${u}${i}`))
        })
      }
    } finally {
      await first.stop()
    }
    expect(fs.existsSync(path.join(dir, "accounts", "A", "streams"))).toBe(true)
    expect(fs.existsSync(path.join(dir, "accounts", "B", "meta"))).toBe(true)
    const second = await startBrokerWithConf(conf(dir))
    try {
      const seen: Record<string, unknown> = {}
      for (const u of ["a", "b"]) {
        seen[u] = await withUser(second.url, u, async (nc) => {
          const jsm = await jetstreamManager(nc)
          const info = await jsm.streams.info("ORDERS")
          const consumers = (await jsm.consumers.list("ORDERS").next()).map((c) => c.name)
          const last = await jsm.streams.getMessage("ORDERS", { last_by_subj: `${u}.x` })
          return { subjects: info.config.subjects, messages: info.state.messages, consumers, last: last?.string() }
        })
      }
      expect(seen).toEqual({
        a: { subjects: ["a.>"], messages: 3, consumers: ["a-d"], last: "a2" },
        b: { subjects: ["b.>"], messages: 5, consumers: ["b-d"], last: "b4" }
      })
    } finally {
      await second.stop()
    }
  })
})
