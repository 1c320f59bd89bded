/**
 * PriorityGroups.ts on its own (the consumer actor consults it per delivery): a fast-check model of
 * pinned_client — clients pulling at random with the pin id they last saw, clients going away,
 * time passing past or short of `priority_timeout`, admin unpins — checking that a pin id belongs to
 * one client only and every delivery goes to the current pin's client (so at any moment at most one
 * client receives the group's messages), and that every message is delivered once the remaining
 * clients keep pulling. Plus the overflow thresholds and the header splice.
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { PriorityGroups, withHeader } from "../../../src/jetstream/consumer/PriorityGroups.ts"
import { PullRequestQueue, type WaitingRequest } from "../../../src/jetstream/consumer/PullRequests.ts"
import type { ConsumerConfig } from "../../../src/jetstream/model/ConsumerConfig.ts"
import type { PullRequest } from "../../../src/jetstream/model/PullRequest.ts"

const config = (extra: Partial<ConsumerConfig>): ConsumerConfig => ({
  deliver_policy: "all",
  ack_policy: "explicit",
  ack_wait: 30_000_000_000,
  max_deliver: -1,
  replay_policy: "instant",
  max_ack_pending: 1000,
  num_replicas: 0,
  priority_groups: ["A"],
  ...extra
})

const request = (group: string, id = "", minPending = 0, minAckPending = 0): PullRequest => ({
  batch: 1,
  expiresNs: 0,
  noWait: false,
  maxBytes: 0,
  heartbeatNs: 0,
  group: { group, minPending, minAckPending, id, priority: 0 }
})

const waiting = (reply: string, req: PullRequest): WaitingRequest => ({
  reply,
  remaining: req.batch,
  delivered: 0,
  bytesLeft: 0,
  maxBytes: 0,
  noWait: false,
  expiresAt: Infinity,
  heartbeatMs: 0,
  lastSignal: 0,
  ...(req.group !== undefined ? { group: req.group, pinId: req.group.id } : {})
})

type Command =
  | { readonly _tag: "pull"; readonly client: number; readonly batch: number }
  | { readonly _tag: "publish"; readonly n: number }
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "leave"; readonly client: number }
  | { readonly _tag: "unpin" }

const CLIENTS = 4
const TTL_MS = 100

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      _tag: fc.constant("pull" as const),
      client: fc.nat(CLIENTS - 1),
      batch: fc.integer({ min: 1, max: 4 })
    })
  },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("publish" as const), n: fc.integer({ min: 1, max: 5 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({ _tag: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 2 * TTL_MS }) })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("leave" as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "unpin" as const }) }
)

describe("pinned_client (model)", () => {
  it("a pin id is one client's; every delivery goes to the current pin's client; every message is delivered", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 80 }), (commands) => {
        let now = 0
        let ids = 0
        const queue = new PullRequestQueue()
        const clientOf = new Map<string, number>() // reply → client
        const known: Array<string> = Array.from({ length: CLIENTS }, () => "") // the pin id each client last saw
        const owner = new Map<string, number>() // pin id → the one client it was given to
        const statuses: Array<string> = []
        const pg = new PriorityGroups(config({ priority_policy: "pinned_client", priority_timeout: TTL_MS * 1e6 }), {
          pinned: () => {},
          unpinned: () => {},
          refuse: (r, line) => {
            statuses.push(line)
            known[clientOf.get(r.reply)!] = ""
          }
        })
        pg.newId = () => `pin${ids++}`
        let published = 0
        let next = 1 // next message to deliver (stream order)
        const delivered: Array<number> = []
        let replies = 0

        const pull = (client: number, batch: number) => {
          const req = { ...request("A", known[client]), batch }
          const refused = pg.admit(req, now)
          if (refused !== undefined) {
            expect(refused).toBe("423 Nats-Pin-Id mismatch")
            known[client] = ""
            return
          }
          const reply = `r${replies++}`
          clientOf.set(reply, client)
          queue.add(waiting(reply, req))
        }
        const deliver = () => {
          pg.expire(now)
          while (next <= published) {
            const r = pg.select(queue, published - next + 1, 0, now)
            if (r === undefined) break
            const client = clientOf.get(r.reply)!
            // The one property: the message goes to the holder of the current pin, and a pin has one holder.
            expect(pg.pinId).not.toBe("")
            expect(r.pinId).toBe(pg.pinId)
            if (!owner.has(pg.pinId)) owner.set(pg.pinId, client)
            expect(owner.get(pg.pinId)).toBe(client)
            known[client] = pg.pinId
            delivered.push(next++)
            r.remaining--
            if (r.remaining <= 0) queue.remove(r)
            else queue.rotate()
          }
        }
        for (const c of commands) {
          switch (c._tag) {
            case "pull":
              pull(c.client, c.batch)
              break
            case "publish":
              published += c.n
              break
            case "advance":
              now += c.ms
              break
            case "leave":
              for (const r of [...queue.all()]) if (clientOf.get(r.reply) === c.client) queue.remove(r)
              break
            case "unpin":
              if (pg.pinId !== "") pg.unpin("A")
              break
          }
          deliver()
        }
        // Then a newcomer keeps pulling alone (as nats.js does: a 423 makes it start over without an id)
        // and time goes on: whatever was published reaches someone, the pin of a client that went
        // quiet lapsing after its timeout.
        const newcomer = CLIENTS - 1
        for (const r of [...queue.all()]) if (clientOf.get(r.reply) === newcomer) queue.remove(r)
        known[newcomer] = ""
        for (let round = 0; round < 50 && next <= published; round++) {
          pull(newcomer, 2)
          deliver()
          now += TTL_MS / 2
          deliver()
        }
        expect(delivered).toEqual(Array.from({ length: published }, (_, i) => i + 1))
        expect(statuses.every((s) => s === "423 Nats-Wrong-Pin-Id")).toBe(true)
      }),
      { numRuns: 1000 }
    )
  })
})

describe("overflow selection", () => {
  it("skips requests whose thresholds are not reached, serves the others, and stops after one full cycle", () => {
    const pg = new PriorityGroups(config({ priority_policy: "overflow" }), {
      pinned: () => {},
      unpinned: () => {},
      refuse: () => {}
    })
    const q = new PullRequestQueue()
    q.add(waiting("hi", request("A", "", 10)))
    q.add(waiting("acks", request("A", "", 0, 3)))
    q.add(waiting("any", request("A")))
    expect(pg.select(q, 5, 0, 0)?.reply).toBe("any")
    q.remove(q.head()!)
    expect(pg.select(q, 5, 0, 0)).toBeUndefined()
    expect(pg.select(q, 10, 0, 0)?.reply).toBe("hi")
    expect(pg.select(q, 1, 3, 0)?.reply).toBe("acks")
  })
})

describe("withHeader", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b)
  it("adds a header line to a message with or without headers", () => {
    expect(text(withHeader(undefined, "Nats-Pin-Id", "P"))).toBe("NATS/1.0\r\nNats-Pin-Id: P\r\n\r\n")
    const hdr = new TextEncoder().encode("NATS/1.0\r\nA: 1\r\n\r\n")
    expect(text(withHeader(hdr, "Nats-Pin-Id", "P"))).toBe("NATS/1.0\r\nA: 1\r\nNats-Pin-Id: P\r\n\r\n")
  })
})
