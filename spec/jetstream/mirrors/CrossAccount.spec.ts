/**
 * Cross-account and cross-domain mirrors and sources (`external { api, deliver }`): the scenarios of
 * CrossAccountScenarios.ts on nats-server 2.9.10 (when on PATH) and on us with the same
 * configuration; both must give the same values, which are asserted too.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { onBothServers, startBrokerWithConf } from "../../auth/AuthServers.ts"
import { natsServerPath } from "../../support/Broker.ts"
import {
  contents,
  crossAccountConf,
  crossAccountScenarios as sc,
  EXT_MIRROR,
  EXT_SOURCE,
  infoUntil,
  withUser
} from "./CrossAccountScenarios.ts"

if (natsServerPath() === undefined) console.log("cross-account mirror differential skipped: nats-server is not on PATH")

/** nats-server getHash("JS.A.API"): the 8 characters a source through that prefix is indexed by. */
const HASH = "JS.A.API"

describe("cross-account mirrors and sources", () => {
  const servers = onBothServers("xacc-", crossAccountConf)
  const both = async <T>(run: (url: string) => Promise<T>): Promise<T> => {
    const got = await run(servers.ours.url)
    if (servers.theirs !== undefined) expect(await run(servers.theirs.url)).toEqual(got)
    return got
  }

  it("B mirrors and sources A's stream through the imported API and delivery subjects", async () => {
    const r = await both(sc.mirrorAndSourceAcross)
    expect(r.created).toEqual({
      mirror: { name: "ORDERS", external: EXT_MIRROR },
      sources: [{ name: "ORDERS", external: EXT_SOURCE }]
    })
    expect(r.first).toEqual({ m: 4, s: 4 })
    expect(r.origin).toBe(6)
    expect(r.after.mirrorConfig).toEqual({ name: "ORDERS", external: EXT_MIRROR })
    expect(r.after.mirrorInfo).toEqual({ name: "ORDERS", external: EXT_MIRROR, lag: 0, active: "contacted" })
    expect(r.after.mirrorState).toEqual({ messages: 6, first: 1, last: 7 })
    // The mirror keeps the origin's sequences, the deleted one a gap.
    expect(r.after.mirrorContents).toEqual([1, 3, 4, 5, 6, 7].map((i) => ({
      seq: i,
      subject: `orders.${i % 2 === 0 ? "even" : "odd"}`,
      data: `o${i}`,
      source: undefined
    })))
    expect(r.after.sourceInfo).toEqual([{ name: "ORDERS", external: EXT_SOURCE, lag: 0, active: "contacted" }])
    expect(r.after.sourceState).toEqual({ messages: 7, first: 1, last: 7 })
    const sourced = r.after.sourceContents as Array<{ seq: number; data: string; source: string | undefined }>
    expect(sourced.map((m) => m.data).sort()).toEqual(["mine", "o1", "o3", "o4", "o5", "o6", "o7"])
    // Sourced copies are tagged with the origin's index name (`<name>:<hash of the API prefix>`).
    for (const m of sourced.filter((x) => x.data !== "mine")) {
      expect(m.source).toBe(`ORDERS:${hashOf(HASH)} ${m.data.slice(1)}`)
    }
    expect(sourced.find((m) => m.data === "mine")?.source).toBeUndefined()
  })

  it("a prefix that reaches no JetStream leaves the follower without contact or error", async () => {
    const r = await both(sc.unreachableExternal)
    expect(r).toEqual({
      mirrorConfig: { name: "SHOP", external: EXT_MIRROR },
      sourceConfig: [{ name: "SHOP", external: EXT_SOURCE }],
      mirrorInfo: { name: "SHOP", external: EXT_MIRROR, lag: 0, active: "never" },
      sourceInfo: [{ name: "SHOP", external: EXT_SOURCE, lag: 0, active: "never" }],
      messages: [0, 0]
    })
  })

  it("an API import without the delivery import takes nothing and shows no error", async () => {
    expect(await both(sc.deliveriesNotImported)).toEqual({
      mirror: { name: "GOODS", external: EXT_MIRROR, lag: 0 },
      messages: 0
    })
  })

  it("$JS.<own domain>.API reaches nothing from the server itself (2.9.10 on one server)", async () => {
    const ext = { api: "$JS.HUB.API", deliver: "" }
    expect(await both(sc.ownDomain)).toEqual({
      viaDomain: true,
      mirrorInfo: { name: "LOCAL", external: ext, lag: 0, active: "never" },
      sourceInfo: [{ name: "LOCAL", external: ext, lag: 0, active: "never" }],
      messages: [0, 0]
    })
  })

  it("external prefixes are checked at create with nats-server's errors", async () => {
    expect(await both(sc.prefixErrors)).toEqual({
      jsApi: "400 10021 stream external api prefix $JS.API must not overlap with $JS.API",
      // Only an equal prefix collides (two literals of other lengths never do).
      jsApiSub: "ok",
      wildApi: "500 10052 stream external api prefix \"JS.*.API\" must be a valid subject without wildcards",
      wildDeliver: "400 10024 stream external delivery prefix A.> must not contain wildcards",
      sourceWildDeliver: "400 10024 stream external delivery prefix A.* must not contain wildcards"
    })
  })
})

describe("cross-account mirrors and sources across a restart (ours)", () => {
  it("file followers keep external in their stored config and resume without gaps or repeats", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xacc-restart-"))
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
    const enc = new TextEncoder()
    const publish = (url: string, from: number, to: number) =>
      withUser(url, "a", async (nc) => {
        for (let i = from; i <= to; i++) await nc.request(`orders.${i}`, enc.encode(`o${i}`))
      })
    const first = await startBrokerWithConf(crossAccountConf(dir))
    try {
      await withUser(first.url, "a", (_nc, jsm) => jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] }))
      await publish(first.url, 1, 3)
      await withUser(first.url, "b", async (_nc, jsm) => {
        await jsm.streams.add({ name: "M", mirror: { name: "ORDERS", external: EXT_MIRROR } })
        await jsm.streams.add({ name: "S", subjects: ["s"], sources: [{ name: "ORDERS", external: EXT_SOURCE }] })
        expect((await infoUntil(jsm, "M", (i) => i.state.messages === 3)).state.messages).toBe(3)
        expect((await infoUntil(jsm, "S", (i) => i.state.messages === 3)).state.messages).toBe(3)
      })
    } finally {
      await first.stop()
    }
    const second = await startBrokerWithConf(crossAccountConf(dir))
    try {
      await publish(second.url, 4, 5)
      const r = await withUser(second.url, "b", async (_nc, jsm) => {
        const m = await infoUntil(jsm, "M", (i) => i.state.last_seq === 5)
        const s = await infoUntil(jsm, "S", (i) => i.state.messages === 5)
        return {
          mirror: m.config.mirror,
          sources: s.config.sources,
          mirrorInfo: {
            name: m.mirror?.name,
            external: (m.mirror as { external?: unknown } | undefined)?.external,
            lag: m.mirror?.lag
          },
          m: await contents(jsm, "M"),
          s: await contents(jsm, "S")
        }
      })
      expect(r.mirror).toEqual({ name: "ORDERS", external: EXT_MIRROR })
      expect(r.sources).toEqual([{ name: "ORDERS", external: EXT_SOURCE }])
      expect(r.mirrorInfo).toEqual({ name: "ORDERS", external: EXT_MIRROR, lag: 0 })
      expect(r.m).toEqual(
        [1, 2, 3, 4, 5].map((i) => ({ seq: i, subject: `orders.${i}`, data: `o${i}`, source: undefined }))
      )
      expect(r.s).toEqual([1, 2, 3, 4, 5].map((i) => ({
        seq: i,
        subject: `orders.${i}`,
        data: `o${i}`,
        source: `ORDERS:${hashOf(HASH)} ${i}`
      })))
    } finally {
      await second.stop()
    }
  })
})

/** nats-server getHash, written out here from its definition (SHA-256, first 8 bytes in base 62). */
function hashOf(text: string): string {
  const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
  const b = createHash("sha256").update(text).digest()
  return Array.from(b.slice(0, 8), (x) => digits[x % 62]).join("")
}
