/**
 * STREAM.INFO `subjects_filter` paging: at most 100,000 subjects per reply, sorted, from `offset`,
 * with `total`, `offset` and `limit` beside the info (nats-server jetstream_api.go
 * jsStreamInfoRequest, the same in 2.9.10 and current). Raw requests differential against
 * nats-server 2.9.10, and nats.js `streams.info()` collecting 100,001 subjects over two pages on
 * both. `alternates` (2.10) is omitted by a server that is not clustered, mirrors or not
 * (jetstream_cluster.go streamAlternates returns nil without a cluster).
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  natsServerPath,
  type RunningBroker,
  type RunningNatsServer,
  startBroker,
  startNatsServer
} from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"

type Info = {
  total: number
  offset: number
  limit: number
  state: { messages: number; subjects?: Record<string, number> }
  alternates?: unknown
  error?: unknown
}

const enc = new TextEncoder()
const dec = new TextDecoder()

const info = async (nc: NatsConnection, stream: string, body: unknown): Promise<Info> => {
  const m = await nc.request(`$JS.API.STREAM.INFO.${stream}`, enc.encode(JSON.stringify(body)), { timeout: 10_000 })
  return JSON.parse(dec.decode(m.data)) as Info
}

const paging = (i: Info) => ({ total: i.total, offset: i.offset, limit: i.limit, subjects: i.state.subjects })

/** The small scenario: five subjects, filtered and paged from several offsets. */
const smallScenario = async (url: string) => {
  const nc = await connect({ servers: url, reconnect: false })
  try {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "PG", subjects: ["pg.>"], storage: "memory" })
    const js = jsm.jetstream()
    for (const s of ["pg.e", "pg.b", "pg.a.x", "pg.c", "pg.b", "pg.a.y"]) await js.publish(s)
    const out: Array<unknown> = []
    for (
      const body of [
        {},
        { subjects_filter: ">" },
        { subjects_filter: "pg.*" },
        { subjects_filter: "pg.a.>", offset: 1 },
        { subjects_filter: ">", offset: 4 },
        { subjects_filter: ">", offset: 5 },
        { subjects_filter: ">", offset: 99 },
        { subjects_filter: "nothing" }
      ]
    ) {
      const i = await info(nc, "PG", body)
      out.push({ ...paging(i), keys: Object.keys(i.state.subjects ?? {}) })
    }
    return out
  } finally {
    await nc.close()
  }
}

/** 100,001 subjects (core publishes, no acks), collected by nats.js over its paged requests. */
const bigScenario = async (url: string) => {
  const nc = await connect({ servers: url, reconnect: false })
  try {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "BIG", subjects: ["big.>"], storage: "memory" })
    const n = 100_001
    for (let i = 0; i < n; i++) {
      nc.publish(`big.${String(i).padStart(6, "0")}`)
      if (i % 10_000 === 0) await nc.flush()
    }
    await nc.flush()
    for (let i = 0; i < 200 && (await jsm.streams.info("BIG")).state.messages < n; i++) await sleep(50)
    const first = await info(nc, "BIG", { subjects_filter: ">" })
    const all = await jsm.streams.info("BIG", { subjects_filter: ">" })
    const keys = Object.keys(all.state.subjects ?? {})
    return {
      first: { total: first.total, offset: first.offset, limit: first.limit },
      firstCount: Object.keys(first.state.subjects ?? {}).length,
      lastOfFirst: Object.keys(first.state.subjects ?? {}).at(-1),
      collected: keys.length,
      last: keys.sort().at(-1)
    }
  } finally {
    await nc.close()
  }
}

let broker: RunningBroker
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
})
afterAll(async () => {
  await broker?.stop()
})

describe("stream info subjects paging", () => {
  it("pages the sorted subjects from the offset, with total, offset and limit", async () => {
    const keys = ["pg.a.x", "pg.a.y", "pg.b", "pg.c", "pg.e"]
    const page = (offset: number, k: ReadonlyArray<string>) => ({
      total: 5,
      offset,
      limit: 100_000,
      keys: k,
      subjects: k.length === 0 ? undefined : expect.any(Object)
    })
    const out = await smallScenario(broker.url)
    expect(out).toEqual([
      { total: 0, offset: 0, limit: 0, subjects: undefined, keys: [] },
      { ...page(0, keys), subjects: { "pg.a.x": 1, "pg.a.y": 1, "pg.b": 2, "pg.c": 1, "pg.e": 1 } },
      { total: 3, offset: 0, limit: 100_000, keys: ["pg.b", "pg.c", "pg.e"], subjects: expect.any(Object) },
      { total: 2, offset: 1, limit: 100_000, keys: ["pg.a.y"], subjects: { "pg.a.y": 1 } },
      page(4, ["pg.e"]),
      page(5, []),
      page(5, []),
      { total: 0, offset: 0, limit: 0, subjects: undefined, keys: [] }
    ])
  })

  it("nats.js collects 100,001 subjects over two pages of at most 100,000", async () => {
    expect(await bigScenario(broker.url)).toEqual({
      first: { total: 100_001, offset: 0, limit: 100_000 },
      firstCount: 100_000,
      lastOfFirst: "big.099999",
      collected: 100_001,
      last: "big.100000"
    })
  }, 120_000)

  it("omits alternates on a single server, also for a stream with a mirror", async () => {
    const nc = await connect({ servers: broker.url, reconnect: false })
    try {
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "ALT", subjects: ["alt.>"] })
      await jsm.streams.add({ name: "ALTM", mirror: { name: "ALT" } })
      const i = await info(nc, "ALT", {})
      expect(i.error).toBeUndefined()
      expect(i).not.toHaveProperty("alternates")
      expect(await info(nc, "ALTM", {})).not.toHaveProperty("alternates")
    } finally {
      await nc.close()
    }
  })

  const skip = natsServerPath() === undefined ? "nats-server is not on PATH" : undefined
  if (skip !== undefined) console.log(`subjects paging differential skipped: ${skip}`)
  describe.skipIf(skip !== undefined)("against nats-server 2.9.10", () => {
    let ns: RunningNatsServer
    const sd = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-pg-"))
    beforeAll(async () => {
      ns = await startNatsServer(["-js", "-sd", sd])
    })
    afterAll(async () => {
      await ns?.stop()
      fs.rmSync(sd, { recursive: true, force: true })
    })
    it("the same pages", async () => {
      const b = await startBroker({ jetstream: true })
      try {
        expect(await smallScenario(b.url)).toEqual(await smallScenario(ns.url))
      } finally {
        await b.stop()
      }
    })
    it("the same 100,001-subject collection", async () => {
      const b = await startBroker({ jetstream: true })
      try {
        expect(await bigScenario(b.url)).toEqual(await bigScenario(ns.url))
      } finally {
        await b.stop()
      }
    }, 180_000)
  })
})
