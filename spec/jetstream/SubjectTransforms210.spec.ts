/**
 * 2.10 subject transforms on streams, as raw `$JS.API` requests over a real socket (nats.js will not
 * send them to a server advertising 2.9.10): a stream's `subject_transform` renames every message
 * stored (publishes, sourced and mirrored ones), is validated with nats-server's errors, can be
 * changed or removed on update and survives a restart; a mirror's or source's `subject_transforms`
 * filter and rename what is taken from upstream, with nats-server's refusals and the 2.10 source
 * info. Values are nats-server 2.10+'s (stream.go checkStreamCfg, processJetStreamMsg,
 * sourceInfo; sublist.go ValidateMapping; errors.json). No differential part: the installed
 * nats-server is 2.9.10, which has none of these fields.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"

type ApiError = { code: number; err_code: number; description: string }
type ApiReply = {
  error?: ApiError
  config?: Record<string, unknown>
  state?: { messages: number; first_seq: number; last_seq: number }
  mirror?: Record<string, unknown>
  sources?: Array<Record<string, unknown>>
  message?: { subject: string; seq: number }
}

const enc = new TextEncoder()
const dec = new TextDecoder()

let broker: RunningBroker
let nc: NatsConnection
const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-st210-"))

const api = async (subject: string, body: unknown): Promise<ApiReply> => {
  const data = typeof body === "string" ? body : JSON.stringify(body)
  const m = await nc.request(`$JS.API.${subject}`, enc.encode(data), { timeout: 5000 })
  return JSON.parse(dec.decode(m.data)) as ApiReply
}

const publish = async (subject: string, data = "x"): Promise<{ seq?: number; error?: ApiError }> =>
  JSON.parse(dec.decode((await nc.request(subject, enc.encode(data), { timeout: 5000 })).data)) as {
    seq?: number
    error?: ApiError
  }

/** The subjects stored in `stream`, in sequence order (STREAM.MSG.GET per sequence). */
const storedSubjects = async (stream: string): Promise<Array<string>> => {
  const info = await api(`STREAM.INFO.${stream}`, "")
  const out: Array<string> = []
  for (let seq = info.state!.first_seq; seq <= info.state!.last_seq; seq++) {
    const r = await api(`STREAM.MSG.GET.${stream}`, { seq })
    if (r.message !== undefined) out.push(r.message.subject)
  }
  return out
}

/** Waits until `stream` holds `n` messages (sources and mirrors copy asynchronously). */
const waitForMessages = async (stream: string, n: number): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    if ((await api(`STREAM.INFO.${stream}`, "")).state?.messages === n) return
    await sleep(50)
  }
  throw new Error(`${stream} never reached ${n} messages`)
}

beforeAll(async () => {
  broker = await startBroker({ jetstream: true, storeDir })
  nc = await connect({ servers: broker.url, reconnect: false })
})
afterAll(async () => {
  await nc?.close()
  await broker?.stop()
  fs.rmSync(storeDir, { recursive: true, force: true })
})

describe("stream subject_transform", () => {
  it("stores each matching message under its transformed subject; others keep theirs", async () => {
    const created = await api("STREAM.CREATE.TR", {
      name: "TR",
      subjects: ["in.*.*", "keep"],
      subject_transform: { src: "in.*.*", dest: "out.{{wildcard(2)}}.{{wildcard(1)}}" }
    })
    expect(created.error).toBeUndefined()
    expect(created.config?.subject_transform).toEqual({ src: "in.*.*", dest: "out.{{wildcard(2)}}.{{wildcard(1)}}" })
    expect(await publish("in.a.b")).toMatchObject({ seq: 1 })
    expect(await publish("keep")).toMatchObject({ seq: 2 })
    expect(await publish("in.c.d")).toMatchObject({ seq: 3 })
    expect(await storedSubjects("TR")).toEqual(["out.b.a", "keep", "out.d.c"])
    // Consumers filter on what is stored (2.10 checks no filter against the stream's subjects).
    const c = await api("CONSUMER.CREATE.TR.OUT", {
      stream_name: "TR",
      config: { name: "OUT", filter_subject: "out.*.a", ack_policy: "explicit" }
    })
    expect(c.error).toBeUndefined()
    expect((c as { num_pending?: number }).num_pending).toBe(1)
  })

  it("applies before the per-subject limits and rollups, which count the stored subject", async () => {
    expect(
      (await api("STREAM.CREATE.TRLIM", {
        name: "TRLIM",
        subjects: ["lim.*"],
        max_msgs_per_subject: 1,
        subject_transform: { src: "lim.*", dest: "all" }
      })).error
    ).toBeUndefined()
    for (const s of ["lim.a", "lim.b", "lim.c"]) await publish(s)
    // Three publishes to three subjects, one stored subject: only the last survives.
    const info = await api("STREAM.INFO.TRLIM", "")
    expect(info.state).toMatchObject({ messages: 1, first_seq: 3, last_seq: 3 })
    expect(await storedSubjects("TRLIM")).toEqual(["all"])
  })

  it("is refused with nats-server's codes when invalid", async () => {
    const tryCreate = async (subject_transform: unknown) =>
      (await api("STREAM.CREATE.TRBAD", { name: "TRBAD", subjects: ["bad.>"], subject_transform })).error
    expect(await tryCreate({ src: "bad..x", dest: "y" })).toEqual({
      code: 400,
      err_code: 10155,
      description: "stream transform source: invalid subject bad..x"
    })
    expect(await tryCreate({ src: "bad.*", dest: "y.{{wildcard(2)}}" })).toEqual({
      code: 400,
      err_code: 10156,
      description: "stream transform: invalid mapping destination: wildcard index out of range in {{wildcard(2)}}: [2]"
    })
    expect(await tryCreate({ src: "bad.*", dest: "y.{{nope(1)}}" })).toEqual({
      code: 400,
      err_code: 10156,
      description: "stream transform: invalid mapping destination: unknown function in {{nope(1)}}"
    })
    expect(await tryCreate({ src: "bad.>", dest: "y.*" })).toEqual({
      code: 400,
      err_code: 10156,
      description: "stream transform: invalid subject"
    })
    expect((await api("STREAM.INFO.TRBAD", "")).error?.err_code).toBe(10059)
    // 2.10 is not strict about unused wildcards here, and an empty destination is no transform.
    expect(await tryCreate({ src: "bad.*.*", dest: "y.{{wildcard(1)}}" })).toBeUndefined()
    expect((await api("STREAM.DELETE.TRBAD", "")).error).toBeUndefined()
    expect(await tryCreate({ src: "bad.>", dest: "" })).toBeUndefined()
    await publish("bad.x")
    expect(await storedSubjects("TRBAD")).toEqual(["bad.x"])
  })

  it("`>` to `>` republish with a transform of the only subject republishes under the transformed subject", async () => {
    const created = await api("STREAM.CREATE.TRRP", {
      name: "TRRP",
      subjects: ["rp.in.>"],
      subject_transform: { src: "rp.in.>", dest: "rp.out.>" },
      republish: { src: ">", dest: ">" }
    })
    expect(created.error).toBeUndefined()
    expect(created.config?.republish).toEqual({ src: "rp.out.>", dest: "rp.out.>" })
    const sub = nc.subscribe("rp.out.>", { max: 1 })
    await nc.flush()
    await publish("rp.in.x")
    for await (const m of sub) {
      expect(m.subject).toBe("rp.out.x")
      expect(m.headers?.get("Nats-Subject")).toBe("rp.out.x")
    }
  })

  it("can be changed and removed on update, and is kept across a restart", async () => {
    expect(
      (await api("STREAM.CREATE.TRUP", {
        name: "TRUP",
        subjects: ["up.>"],
        subject_transform: { src: "up.>", dest: "one.>" }
      })).error
    ).toBeUndefined()
    await publish("up.a")
    const changed = await api("STREAM.UPDATE.TRUP", {
      name: "TRUP",
      subjects: ["up.>"],
      subject_transform: { src: "up.>", dest: "two.>" }
    })
    expect(changed.error).toBeUndefined()
    expect(changed.config?.subject_transform).toEqual({ src: "up.>", dest: "two.>" })
    await publish("up.b")
    expect(await storedSubjects("TRUP")).toEqual(["one.a", "two.b"])

    await nc.close()
    await broker.stop()
    broker = await startBroker({ jetstream: true, storeDir })
    nc = await connect({ servers: broker.url, reconnect: false })
    expect((await api("STREAM.INFO.TRUP", "")).config?.subject_transform).toEqual({ src: "up.>", dest: "two.>" })
    await publish("up.c")
    const removed = await api("STREAM.UPDATE.TRUP", { name: "TRUP", subjects: ["up.>"] })
    expect(removed.error).toBeUndefined()
    expect(removed.config).not.toHaveProperty("subject_transform")
    await publish("up.d")
    expect(await storedSubjects("TRUP")).toEqual(["one.a", "two.b", "two.c", "up.d"])
  })
})

describe("mirror and source subject_transforms", () => {
  it("a source takes what its transforms' sources match and renames it; source info shows them", async () => {
    expect((await api("STREAM.CREATE.ORIG", { name: "ORIG", subjects: ["o.>"] })).error).toBeUndefined()
    for (const s of ["o.a.1", "o.b.2", "o.c.3", "o.a.4"]) await publish(s)
    const transforms = [{ src: "o.a.*", dest: "from.a.{{wildcard(1)}}" }, { src: "o.b.>", dest: "" }]
    const created = await api("STREAM.CREATE.AGG", {
      name: "AGG",
      sources: [{ name: "ORIG", subject_transforms: transforms }]
    })
    expect(created.error).toBeUndefined()
    expect(created.config?.sources).toEqual([{ name: "ORIG", subject_transforms: transforms }])
    await waitForMessages("AGG", 3)
    expect(await storedSubjects("AGG")).toEqual(["from.a.1", "o.b.2", "from.a.4"])
    const info = await api("STREAM.INFO.AGG", "")
    expect(info.sources).toEqual([
      expect.objectContaining({ name: "ORIG", lag: 0, subject_transforms: transforms })
    ])
    expect(info.sources?.[0]).not.toHaveProperty("filter_subject")
    // A consumer may filter on the renamed subjects (what the stream stores).
    const c = await api("CONSUMER.CREATE.AGG.RENAMED", {
      stream_name: "AGG",
      config: { name: "RENAMED", filter_subject: "from.a.*", ack_policy: "explicit" }
    })
    expect(c.error).toBeUndefined()
    expect((c as { num_pending?: number }).num_pending).toBe(2)
    await api("CONSUMER.DELETE.AGG.RENAMED", "")
  })

  it("a mirror keeps the origin's sequences under the renamed subjects, and its own transform applies after", async () => {
    const created = await api("STREAM.CREATE.MIR", {
      name: "MIR",
      mirror: { name: "ORIG", subject_transforms: [{ src: "o.a.>", dest: "m.a.>" }, { src: "o.c.>", dest: "m.c.>" }] },
      subject_transform: { src: "m.c.>", dest: "mc.>" }
    })
    expect(created.error).toBeUndefined()
    await waitForMessages("MIR", 3)
    const info = await api("STREAM.INFO.MIR", "")
    expect(info.state).toMatchObject({ messages: 3, last_seq: 4 })
    expect(await storedSubjects("MIR")).toEqual(["m.a.1", "mc.3", "m.a.4"])
    expect(info.mirror).toMatchObject({
      name: "ORIG",
      subject_transforms: [{ src: "o.a.>", dest: "m.a.>" }, { src: "o.c.>", dest: "m.c.>" }]
    })
  })

  it("is refused with nats-server's codes when invalid", async () => {
    const mirror = async (m: Record<string, unknown>) =>
      (await api("STREAM.CREATE.BADM", { name: "BADM", mirror: { name: "ORIG", ...m } })).error
    const source = async (s: Record<string, unknown>, more: Array<Record<string, unknown>> = []) =>
      (await api("STREAM.CREATE.BADS", { name: "BADS", sources: [{ name: "ORIG", ...s }, ...more] })).error
    expect(await mirror({ filter_subject: "o.a", subject_transforms: [{ src: "o.b", dest: "x" }] })).toEqual({
      code: 400,
      err_code: 10150,
      description: "mirror with multiple subject transforms cannot also have a single subject filter"
    })
    expect(await mirror({ subject_transforms: [{ src: "o..b", dest: "x" }] })).toEqual({
      code: 400,
      err_code: 10151,
      description: "mirror transform source: invalid subject o..b"
    })
    expect(await mirror({ subject_transforms: [{ src: "o.*", dest: "x.$2" }] })).toEqual({
      code: 400,
      err_code: 10154,
      description: "mirror transform: invalid mapping destination: wildcard index out of range in $2: [2]"
    })
    expect(await mirror({ subject_transforms: [{ src: "o.*", dest: "" }, { src: "o.a", dest: "" }] })).toEqual({
      code: 400,
      err_code: 10152,
      description: "mirror subject filters can not overlap"
    })
    expect(await source({ filter_subject: "o.a", subject_transforms: [{ src: "o.b", dest: "" }] })).toEqual({
      code: 400,
      err_code: 10144,
      description: "source with multiple subject transforms cannot also have a single subject filter"
    })
    expect(await source({ subject_transforms: [{ src: "o.>.x", dest: "" }] })).toEqual({
      code: 400,
      err_code: 10145,
      description: "source transform source: invalid subject o.>.x"
    })
    expect(await source({ subject_transforms: [{ src: "o.*", dest: "x.{{split(1)}}" }] })).toEqual({
      code: 400,
      err_code: 10146,
      description:
        "source transform: invalid mapping destination: not enough arguments passed to the function in {{split(1)}}"
    })
    expect(await source({ subject_transforms: [{ src: "o.a.*", dest: "" }, { src: "o.*.*", dest: "" }] })).toEqual({
      code: 400,
      err_code: 10147,
      description: "source filters can not overlap"
    })
    // Sources may overlap as long as neither contains the other (unlike a mirror's).
    expect(await source({ subject_transforms: [{ src: "o.a.*", dest: "" }, { src: "o.*.1", dest: "" }] }))
      .toBeUndefined()
    expect((await api("STREAM.DELETE.BADS", "")).error).toBeUndefined()
    // The same stream twice alike is a duplicate; with other filters it is not (see below).
    expect(await source({}, [{ name: "ORIG" }])).toEqual({
      code: 400,
      err_code: 10140,
      description: "duplicate source configuration detected"
    })
    expect((await api("STREAM.INFO.BADM", "")).error?.err_code).toBe(10059)
  })

  it("one stream sourced twice with other filters (2.10): each takes its own, and a restart repeats nothing", async () => {
    const created = await api("STREAM.CREATE.TWICE", {
      name: "TWICE",
      sources: [
        { name: "ORIG", subject_transforms: [{ src: "o.a.*", dest: "first.{{wildcard(1)}}" }] },
        { name: "ORIG", filter_subject: "o.c.*" }
      ]
    })
    expect(created.error).toBeUndefined()
    await waitForMessages("TWICE", 3)
    expect((await storedSubjects("TWICE")).sort()).toEqual(["first.1", "first.4", "o.c.3"])
    const tags = async () => {
      const out: Array<string> = []
      const info = await api("STREAM.INFO.TWICE", "")
      for (let seq = 1; seq <= info.state!.last_seq; seq++) {
        const r = await api("STREAM.MSG.GET.TWICE", { seq }) as { message?: { hdrs?: string } }
        const hdrs = Buffer.from(r.message?.hdrs ?? "", "base64").toString("latin1")
        out.push(/Nats-Stream-Source: ([^\r]*)/.exec(hdrs)?.[1] ?? "")
      }
      return out.sort()
    }
    // Each copy names its source by stream, origin sequence, filters and destinations (nats-server's order).
    expect(await tags()).toEqual([
      "ORIG 1 o.a.* first.{{wildcard(1)}}",
      "ORIG 3 o.c.* >",
      "ORIG 4 o.a.* first.{{wildcard(1)}}"
    ])
    expect((await api("STREAM.INFO.TWICE", "")).sources?.map((x) => x.filter_subject ?? x.subject_transforms))
      .toEqual(expect.arrayContaining([[{ src: "o.a.*", dest: "first.{{wildcard(1)}}" }], "o.c.*"]))
    await nc.close()
    await broker.stop()
    broker = await startBroker({ jetstream: true, storeDir })
    nc = await connect({ servers: broker.url, reconnect: false })
    await publish("o.c.11")
    await publish("o.a.12")
    await waitForMessages("TWICE", 5)
    await sleep(300)
    expect((await storedSubjects("TWICE")).sort()).toEqual(["first.1", "first.12", "first.4", "o.c.11", "o.c.3"])
  })

  it("source transforms can change on update and persist across a restart", async () => {
    // (the test before published to ORIG too: AGG took its o.a.12 as from.a.12)
    await waitForMessages("AGG", 4)
    expect((await storedSubjects("AGG")).at(-1)).toBe("from.a.12")
    const updated = await api("STREAM.UPDATE.AGG", {
      name: "AGG",
      sources: [{ name: "ORIG", subject_transforms: [{ src: "o.>", dest: "all.>" }] }]
    })
    expect(updated.error).toBeUndefined()
    await publish("o.z.9")
    await waitForMessages("AGG", 5)
    expect((await storedSubjects("AGG")).at(-1)).toBe("all.z.9")
    await nc.close()
    await broker.stop()
    broker = await startBroker({ jetstream: true, storeDir })
    nc = await connect({ servers: broker.url, reconnect: false })
    expect((await api("STREAM.INFO.AGG", "")).config?.sources).toEqual([
      { name: "ORIG", subject_transforms: [{ src: "o.>", dest: "all.>" }] }
    ])
    await publish("o.y.10")
    await waitForMessages("AGG", 6)
    expect((await storedSubjects("AGG")).at(-1)).toBe("all.y.10")
  })
})
