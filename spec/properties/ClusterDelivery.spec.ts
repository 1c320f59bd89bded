/**
 * Property: random subscribe / unsubscribe / publish sequences, with queue groups and wildcards,
 * spread over three routed brokers deliver exactly what one broker delivers for the same clients:
 * the same messages to each plain subscription (as a multiset), and to each queue group as a whole
 * (its queue name) the same messages, each to exactly one member. Interest is let settle across the routes (a
 * sentinel subscription seen everywhere) before each publish phase, as clients would flush.
 */
import { fc } from "@fast-check/vitest"
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { type ClusterNode, settle, sleep, startNode, until, untilMesh } from "../support/Cluster.ts"

const BASE = 31700
const CLIENTS = 6
const dc = new TextDecoder()

type Step =
  | { readonly kind: "sub"; readonly client: number; readonly subject: string; readonly queue: string | undefined }
  | { readonly kind: "unsub"; readonly client: number; readonly which: number }
  | { readonly kind: "pub"; readonly client: number; readonly subject: string }

const literal = fc.array(fc.constantFrom("a", "b"), { minLength: 1, maxLength: 2 }).map((t) => `p.${t.join(".")}`)
const pattern = fc.oneof(
  literal,
  fc.constantFrom("p.*", "p.>", "p.a.*", "p.*.b", "p.a.>", ">")
)
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("sub" as const),
    client: fc.nat({ max: CLIENTS - 1 }),
    subject: pattern,
    queue: fc.option(fc.constantFrom("q1", "q2"), { nil: undefined, freq: 2 })
  }),
  fc.record({ kind: fc.constant("unsub" as const), client: fc.nat({ max: CLIENTS - 1 }), which: fc.nat({ max: 5 }) }),
  fc.record({ kind: fc.constant("pub" as const), client: fc.nat({ max: CLIENTS - 1 }), subject: literal })
)
/** Phases: interest changes, then publishes (each phase's interest settles before it publishes). */
const phases = fc.array(fc.array(step, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 })

interface World {
  readonly clients: Array<NatsConnection>
  /** Per client, its live subscriptions in creation order, with what each received. */
  readonly subs: Array<Array<{ key: string; sub: Subscription; got: Array<string> }>>
  readonly all: Array<{ key: string; queue: string | undefined; got: Array<string> }>
}

const world = async (urls: ReadonlyArray<string>): Promise<World> => {
  const clients = await Promise.all(urls.map((u) => connect({ servers: u, reconnect: false })))
  return { clients, subs: clients.map(() => []), all: [] }
}

let counter = 0
const apply = (w: World, s: Step, pubId: () => string) => {
  const nc = w.clients[s.client]!
  if (s.kind === "sub") {
    const key = `${s.client}:${s.subject}:${s.queue ?? ""}:${++counter}`
    const got: Array<string> = []
    const sub = nc.subscribe(s.subject, {
      ...(s.queue === undefined ? {} : { queue: s.queue }),
      callback: (_e, m) => void got.push(`${m.subject}#${dc.decode(m.data)}`)
    })
    w.subs[s.client]!.push({ key, sub, got })
    w.all.push({ key, queue: s.queue, got })
  } else if (s.kind === "unsub") {
    const list = w.subs[s.client]!
    if (list.length === 0) return
    const [gone] = list.splice(s.which % list.length, 1)
    gone!.sub.unsubscribe()
  } else nc.publish(s.subject, pubId())
}

const total = (w: World) => w.all.reduce((n, s) => n + s.got.length, 0)

/** What each plain subscription got, and what each queue group (by subject and queue) got as a whole. */
const observed = (w: World) => {
  // Both worlds apply the same steps in the same order: the i-th subscription is the same one in each.
  const plain: Record<string, Array<string>> = {}
  const groups: Record<string, Array<string>> = {}
  w.all.forEach((s, i) => {
    if (s.queue === undefined) plain[`${i} ${s.key.split(":").slice(0, 2).join(":")}`] = [...s.got].sort()
    else {
      // As nats-server's sublist, queue subscriptions matching a subject are grouped by queue name alone.
      ;(groups[s.queue] ??= []).push(...s.got)
    }
  })
  for (const g of Object.values(groups)) g.sort()
  return { plain, groups }
}

let nodes: Array<ClusterNode>
let single: RunningBroker

beforeAll(async () => {
  const a = await startNode({ name: "A", routePort: BASE + 1 })
  const b = await startNode({ name: "B", routePort: BASE + 2, routes: [BASE + 1] })
  const c = await startNode({ name: "C", routePort: BASE + 3, routes: [BASE + 1] })
  nodes = [a, b, c]
  await untilMesh(nodes)
  single = await startBroker()
}, 30_000)

afterAll(async () => {
  await Promise.all([...(nodes ?? []).map((n) => n.stop()), single?.stop()])
})

describe("cluster delivery", () => {
  it("three routed nodes deliver exactly what one node delivers", async () => {
    await fc.assert(
      fc.asyncProperty(phases, async (plan) => {
        const clustered = await world(Array.from({ length: CLIENTS }, (_, i) => nodes[i % 3]!.url))
        const reference = await world(Array.from({ length: CLIENTS }, () => single.url))
        try {
          let seq = 0
          for (const phase of plan) {
            const subs = phase.filter((s) => s.kind !== "pub")
            const pubs = phase.filter((s) => s.kind === "pub")
            for (const s of subs) {
              apply(clustered, s, () => "")
              apply(reference, s, () => "")
            }
            await Promise.all([...clustered.clients, ...reference.clients].map((nc) => nc.flush()))
            await settle(nodes)
            const base = seq
            for (const s of pubs) {
              const id = String(++seq)
              apply(clustered, s, () => id)
              apply(reference, s, () => id)
            }
            seq = base + pubs.length
            await Promise.all(reference.clients.map((nc) => nc.flush()))
            // The reference is one server: once every publisher's flush returned, its deliveries are on the way.
            await sleep(20)
            await Promise.all(reference.clients.map((nc) => nc.flush()))
            const want = total(reference)
            await Promise.all(clustered.clients.map((nc) => nc.flush()))
            await until(`clustered deliveries to reach ${want}`, () => total(clustered) >= want, 5000).catch(() => {})
            await sleep(30)
          }
          const got = observed(clustered)
          const ref = observed(reference)
          expect(got.plain).toEqual(ref.plain)
          expect(got.groups).toEqual(ref.groups)
        } finally {
          await Promise.all([...clustered.clients, ...reference.clients].map((nc) => nc.close()))
          await settle(nodes)
        }
      }),
      { numRuns: 25, endOnFailure: true }
    )
  }, 180_000)
})
