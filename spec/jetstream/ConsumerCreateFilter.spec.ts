/**
 * `$JS.API.CONSUMER.CREATE.<stream>.<consumer>.<filter>`: the filter in the subject must be the
 * config's `filter_subject`. nats.js and nats.go both use this form for a named consumer with one
 * filter, so the scenario runs through nats.js and as raw requests, differential against
 * nats-server 2.9.10 (which has the form for filters of two tokens or more). The 2.10 rules
 * nats-server 2.9.10 lacks are asserted with the values of jetstream_api.go
 * jsConsumerCreateRequest (2.10+): a one-token filter is compared too, `filter_subjects` with a
 * filter in the subject is 10137, and the request's checks come before "stream not found".
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

type Reply = { error?: { code: number; err_code: number; description: string }; config?: Record<string, unknown> }

const enc = new TextEncoder()
const dec = new TextDecoder()

const requester = (nc: NatsConnection) => async (subject: string, body: unknown): Promise<Reply> => {
  const m = await nc.request(`$JS.API.${subject}`, enc.encode(JSON.stringify(body)), { timeout: 5000 })
  return JSON.parse(dec.decode(m.data)) as Reply
}

const create = (filter: string, config: Record<string, unknown>, stream = "CF") => ({
  subject: `CONSUMER.CREATE.${stream}.C.${filter}`,
  body: { stream_name: stream, config: { name: "C", ack_policy: "explicit", ...config } }
})

/** What both servers answer alike: error code and text, or the filter that was stored. */
const outcome = (r: Reply) =>
  r.error !== undefined ? `${r.error.err_code} ${r.error.description}` : r.config?.filter_subject

const MISMATCH = "10131 Consumer create request did not match filtered subject from create subject"

/** Runs the shared cases against a server: two-token filters, wildcards, mismatches. */
const sharedCases = async (url: string): Promise<ReadonlyArray<unknown>> => {
  const nc = await connect({ servers: url, reconnect: false })
  try {
    const api = requester(nc)
    const made = await api("STREAM.CREATE.CF", { name: "CF", subjects: ["cf.>"] })
    if (made.error !== undefined) throw new Error(JSON.stringify(made.error))
    const cases = [
      create("cf.a", { filter_subject: "cf.a" }),
      create("cf.*.x", { filter_subject: "cf.*.x" }),
      create("cf.>", { filter_subject: "cf.>" }),
      create("cf.b", { filter_subject: "cf.c" }),
      create("cf.b", {}),
      create("cf.b.c", { filter_subject: "cf.b" })
    ]
    const out: Array<unknown> = []
    for (const c of cases) {
      out.push(outcome(await api(c.subject, c.body)))
      await api("CONSUMER.DELETE.CF.C", "")
    }
    return out
  } finally {
    await nc.close()
  }
}

let broker: RunningBroker
let nc: NatsConnection
beforeAll(async () => {
  broker = await startBroker({ jetstream: true })
  nc = await connect({ servers: broker.url, reconnect: false })
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
})

describe("CONSUMER.CREATE with a filter in the subject", () => {
  it("the filter must equal the config's (our values)", async () => {
    expect(await sharedCases(broker.url)).toEqual(["cf.a", "cf.*.x", "cf.>", MISMATCH, MISMATCH, MISMATCH])
  })

  const skip = natsServerPath() === undefined ? "nats-server is not on PATH" : undefined
  if (skip !== undefined) console.log(`consumer create filter differential skipped: ${skip}`)
  describe.skipIf(skip !== undefined)("against nats-server 2.9.10", () => {
    let ns: RunningNatsServer
    const sd = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-ccf-"))
    beforeAll(async () => {
      ns = await startNatsServer(["-js", "-sd", sd])
    })
    afterAll(async () => {
      await ns?.stop()
      fs.rmSync(sd, { recursive: true, force: true })
    })
    it("answers the multi-token cases alike", async () => {
      // (the stream exists on ours already; creating it again with the same config is a no-op)
      const ours = await sharedCases(broker.url)
      // 2.9.10 reads a filter from the subject only when it has two tokens or more: all of these.
      expect(ours).toEqual(await sharedCases(ns.url))
    })
  })

  it("nats.js sends a named consumer's filter in the subject, wildcards included", async () => {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: "JSF", subjects: ["jsf.>"] })
    const sub = nc.subscribe("$JS.API.CONSUMER.CREATE.>", { max: 1 })
    const seen = (async () => {
      for await (const m of sub) return m.subject
      return undefined
    })()
    const ci = await jsm.consumers.add("JSF", { name: "W", filter_subject: "jsf.*.x", ack_policy: "explicit" })
    expect(await seen).toBe("$JS.API.CONSUMER.CREATE.JSF.W.jsf.*.x")
    expect(ci.config.filter_subject).toBe("jsf.*.x")
  })

  it("2.10: a one-token filter is compared; filter_subjects with a subject filter is 10137", async () => {
    const api = requester(nc)
    expect((await api("STREAM.CREATE.ONE1", { name: "ONE1", subjects: ["one1", "two1"] })).error).toBeUndefined()
    const one = create("one1", { filter_subject: "two1" }, "ONE1")
    expect(outcome(await api(one.subject, one.body))).toBe(MISMATCH)
    const multi = create("one1", { filter_subjects: ["one1", "two1"] }, "ONE1")
    expect((await api(multi.subject, multi.body)).error).toEqual({
      code: 400,
      err_code: 10137,
      description: "consumer with multiple subject filters cannot use subject based API"
    })
  })

  it("the request's own checks come before the stream lookup", async () => {
    const api = requester(nc)
    const mismatch = create("x.y", { filter_subject: "x.z" }, "MISSING")
    expect(outcome(await api(mismatch.subject, mismatch.body))).toBe(MISMATCH)
    const ok = create("x.y", { filter_subject: "x.y" }, "MISSING")
    expect(outcome(await api(ok.subject, ok.body))).toBe("10059 stream not found")
  })
})
