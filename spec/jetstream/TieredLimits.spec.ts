/**
 * JetStream limits per replica tier from an account JWT's `tiered_limits` (src/jetstream/TieredLimits.ts),
 * in operator mode (`resolver: MEMORY`, preloaded JWTs made at run time), over real sockets:
 * nats.js's "jsm - account limits" (jetstream/tests/jsm_test.ts) with @nats-io/jetstream, the exact
 * `$JS.API.INFO` of a tiered account, and the per-tier refusals (10120 for a tier without limits,
 * the tier's streams, consumers, storage). When nats-server 2.9.10 is on PATH every scenario also
 * runs there and must give the same answers, minus what 2.10+ added (`reserved_*`, `api.level`).
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { createAccount, createUser, encodeUser, type KeyPair } from "@nats-io/jwt"
import { connect, credsAuthenticator, jwtAuthenticator, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ConfTarget, startConfTarget } from "../auth/AuthServers.ts"
import { makeAccount, makeOperator, makeUser, operatorConf, type TestUser, tmpDir } from "../auth/jwt/JwtFixtures.ts"
import { natsServerPath } from "../support/Broker.ts"
import { apiStatsWithout211 } from "../support/Level211.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("tiered limits differential skipped: nats-server is not on PATH")

type Json = Record<string, unknown>

const MiB = 1024 * 1024
let limitsKp: KeyPair
let limitsUser: TestUser
let enforced: TestUser
const targets: Array<ConfTarget> = []
const dirs: Array<string> = []

beforeAll(async () => {
  const sysKp = createAccount()
  const op = await makeOperator({ system_account: sysKp.getPublicKey() })
  // nats.js's account: only conn, subs and the R1 tier.
  const limitsAcc = await makeAccount(op.kp, {
    limits: { tiered_limits: { R1: { disk_storage: MiB, consumer: -1, streams: -1 } } }
  } as never)
  limitsKp = limitsAcc.kp
  limitsUser = await makeUser(limitsAcc.kp)
  const enforcedAcc = await makeAccount(op.kp, {
    limits: {
      tiered_limits: {
        R1: { disk_storage: 2000, mem_storage: 1000, streams: 3, consumer: 1 },
        R3: { disk_storage: 5, max_bytes_required: true }
      }
    }
  } as never)
  enforced = await makeUser(enforcedAcc.kp)
  const sys = await makeAccount(op.kp, {}, { kp: sysKp })
  for (const name of natsServer === undefined ? ["broker"] : ["broker", "nats-server"]) {
    const dir = tmpDir()
    dirs.push(dir)
    const text = operatorConf(
      dir,
      op,
      [limitsAcc, enforcedAcc, sys],
      `jetstream { store_dir: "${path.join(dir, "js")}" }`
    )
    targets.push(await startConfTarget(name, text))
  }
})

afterAll(async () => {
  for (const t of targets) await t.stop()
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
})

/** Runs `scenario` on every target; nats-server's result (through `compared`) must equal ours; returns ours. */
const onEach = async <T>(
  scenario: (url: string) => Promise<T>,
  compared: (t: T, ours: boolean) => unknown = (t) => t
): Promise<T> => {
  const results: Array<T> = []
  for (const t of targets) results.push(await scenario(t.url))
  if (results.length === 2) expect(compared(results[1]!, false)).toEqual(compared(results[0]!, true))
  return results[0]!
}

const request = async (nc: NatsConnection, subject: string, body: unknown = ""): Promise<Json> => {
  const m = await nc.request(subject, typeof body === "string" ? body : JSON.stringify(body), { timeout: 5000 })
  return m.json<Json>()
}

/** An API answer as `code err_code description`, or `ok`. */
const outcome = (r: Json): string => {
  const e = r["error"] as { code: number; err_code: number; description: string } | undefined
  return e === undefined ? "ok" : `${e.code} ${e.err_code} ${e.description}`
}

/**
 * What 2.9.10 lacks: `reserved_memory`/`reserved_storage` (2.10, top level and each tier), `api.level`
 * (2.11). Its `api.total` leaves out the INFO request itself, which ours counts: `api` is asserted on ours only.
 */
const without210 = (info: Json, ours: boolean): Json => {
  const strip = (o: Json): Json => {
    const { reserved_memory: _m, reserved_storage: _s, ...rest } = o
    return rest
  }
  const tiers = info["tiers"] as Record<string, Json> | undefined
  const { api: _api, ...out } = strip(ours ? apiStatsWithout211(info) : info)
  if (tiers === undefined) return out
  return { ...out, tiers: Object.fromEntries(Object.entries(tiers).map(([k, t]) => [k, strip(t)])) }
}

const tierLimits = (over: Json): Json => ({
  max_memory: 0,
  max_storage: 0,
  max_streams: 0,
  max_consumers: 0,
  max_ack_pending: -1,
  memory_max_stream_bytes: -1,
  storage_max_stream_bytes: -1,
  max_bytes_required: false,
  ...over
})

const ZERO = {
  max_memory: 0,
  max_storage: 0,
  max_streams: 0,
  max_consumers: 0,
  max_ack_pending: 0,
  memory_max_stream_bytes: 0,
  storage_max_stream_bytes: 0,
  max_bytes_required: false
}

describe("tiered JetStream limits (JWT tiered_limits)", () => {
  it("jsm - account limits: getAccountInfo reports the R1 tier's limits (nats.js jsm_test.ts)", async () => {
    const got = await onEach(async (url) => {
      const U = createUser()
      const ujwt = await encodeUser("U", U, limitsKp, { bearer_token: true })
      const nc = await connect({ servers: url, reconnect: false, authenticator: jwtAuthenticator(ujwt) })
      try {
        const jsm = await jetstreamManager(nc)
        const ai = await jsm.getAccountInfo()
        return {
          max_storage: ai.tiers?.R1?.limits.max_storage,
          max_consumers: ai.tiers?.R1?.limits.max_consumers,
          max_streams: ai.tiers?.R1?.limits.max_streams,
          max_ack_pending: ai.tiers?.R1?.limits.max_ack_pending,
          raw: await request(nc, "$JS.API.INFO")
        }
      } finally {
        await nc.close()
      }
    }, (r, ours) => ({ ...r, raw: without210(r.raw, ours) }))
    expect({ ...got, raw: undefined }).toEqual({
      max_storage: MiB,
      max_consumers: -1,
      max_streams: -1,
      max_ack_pending: -1,
      raw: undefined
    })
    // The top level totals the tiers and keeps its own limits zero.
    expect(got.raw).toEqual({
      type: "io.nats.jetstream.api.v1.account_info_response",
      memory: 0,
      storage: 0,
      reserved_memory: 0,
      reserved_storage: 0,
      streams: 0,
      consumers: 0,
      limits: ZERO,
      // jetstreamManager's own INFO, getAccountInfo, this one.
      api: { level: 4, total: 3, errors: 0 },
      tiers: {
        R1: {
          memory: 0,
          storage: 0,
          reserved_memory: 0,
          reserved_storage: 0,
          streams: 0,
          consumers: 0,
          limits: tierLimits({ max_storage: MiB, max_streams: -1, max_consumers: -1 })
        }
      }
    })
  })

  it("enforces each tier: no tier → 10120, the tier's storage, memory, streams and consumers", async () => {
    const r1 = (name: string, extra: Json = {}) => ({ name, subjects: [name], num_replicas: 1, ...extra })
    const got = await onEach(async (url) => {
      const nc = await connect({ servers: url, reconnect: false, authenticator: credsAuthenticator(enforced.creds) })
      const create = async (cfg: Json) => outcome(await request(nc, `$JS.API.STREAM.CREATE.${cfg["name"]}`, cfg))
      try {
        const steps = {
          noTier: await create({ name: "R2", subjects: ["r2"], num_replicas: 2 }),
          overStorage: await create(r1("BIG", { max_bytes: 2001 })),
          overMemory: await create(r1("BIGMEM", { storage: "memory", max_bytes: 1001 })),
          // Memory first: 2.9.10 also counted file streams' max_bytes against memory (fixed later).
          memory: await create(r1("M", { storage: "memory" })),
          file: await create(r1("F", { max_bytes: 1500 })),
          reservedFull: await create(r1("F2", { max_bytes: 501 })),
          third: await create(r1("THIRD")),
          streams: await create(r1("FOURTH")),
          growth: outcome(await request(nc, "$JS.API.STREAM.UPDATE.F", r1("F", { max_bytes: 2001 }))),
          consumer: outcome(
            await request(nc, "$JS.API.CONSUMER.CREATE.F", { stream_name: "F", config: { ack_policy: "explicit" } })
          ),
          consumer2: outcome(
            await request(nc, "$JS.API.CONSUMER.CREATE.F", { stream_name: "F", config: { ack_policy: "explicit" } })
          ),
          pub: await request(nc, "M", "x".repeat(100)).then(outcome, String),
          pubOver: await request(nc, "M", "x".repeat(900)).then(outcome, String)
        }
        return { steps, info: await request(nc, "$JS.API.INFO") }
      } finally {
        await nc.close()
      }
    }, (r, ours) => ({ ...r, info: without210(r.info, ours) }))
    expect(got.steps).toEqual({
      noTier: "400 10120 no JetStream default or applicable tiered limit present",
      overStorage: "500 10047 insufficient storage resources available",
      overMemory: "500 10028 insufficient memory resources available",
      file: "ok",
      reservedFull: "500 10047 insufficient storage resources available",
      memory: "ok",
      third: "ok",
      streams: "400 10027 maximum number of streams reached",
      growth: "500 10047 insufficient storage resources available",
      consumer: "ok",
      consumer2: "400 10026 maximum consumers limit reached",
      pub: "ok",
      pubOver: "400 10002 resource limits exceeded for account"
    })
    expect(got.info).toEqual({
      type: "io.nats.jetstream.api.v1.account_info_response",
      memory: 117,
      storage: 0,
      reserved_memory: 0,
      reserved_storage: 1500,
      streams: 3,
      consumers: 1,
      limits: ZERO,
      api: { level: 4, total: 12, errors: 7 },
      tiers: {
        R1: {
          memory: 117,
          storage: 0,
          reserved_memory: 0,
          reserved_storage: 1500,
          streams: 3,
          consumers: 1,
          limits: tierLimits({ max_memory: 1000, max_storage: 2000, max_streams: 3, max_consumers: 1 })
        },
        R3: {
          memory: 0,
          storage: 0,
          reserved_memory: 0,
          reserved_storage: 0,
          streams: 0,
          consumers: 0,
          limits: tierLimits({ max_storage: 5, max_bytes_required: true })
        }
      }
    })
  })

  it("a stream without num_replicas is in R1 (2.10+ tierName; 2.9.10 looked up an R0 tier: 10120)", async () => {
    const ours = targets[0]!
    const nc = await connect({
      servers: ours.url,
      reconnect: false,
      authenticator: credsAuthenticator(limitsUser.creds)
    })
    try {
      const created = await request(nc, "$JS.API.STREAM.CREATE.UNSET", { name: "UNSET", subjects: ["unset"] })
      const info = await request(nc, "$JS.API.INFO")
      const r1 = (info["tiers"] as Record<string, Json>)["R1"]!
      expect({ created: outcome(created), streams: r1["streams"], reserved: r1["reserved_storage"] }).toEqual({
        created: "ok",
        streams: 1,
        reserved: 0
      })
    } finally {
      await nc.close()
    }
  })
})
