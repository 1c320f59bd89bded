/**
 * Differential: the monitoring scenario against nats-server (`-js -m -1`) and our broker; the JSON
 * shapes (key sets, key order, value types) of /varz, /connz, /jsz and /healthz must agree, and so
 * must the JetStream counters. Needs `nats-server` on PATH; skipped with the reason printed otherwise.
 */
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
import { jszWithout210, OUR_VERSION, REFERENCE_VERSION, varzWithout210 } from "../support/Level210.ts"
import { apiStatsWithout211, jsLimitsWithout211, withoutConfigs211 } from "../support/Level211.ts"
import { jszWithout212, varzWithout214 } from "../support/Level214.ts"
import { runScenario, type Scenario } from "./MonitorScenario.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) {
  console.log("differential monitoring tests skipped: nats-server is not on PATH (apt-get install nats-server)")
}

type Shape = string | { readonly [k: string]: Shape } | ReadonlyArray<Shape>

/**
 * Keys in order and value types. An array becomes one element: the merge of its elements' shapes,
 * since Go lists (subscriptions, consumers) come in map order and `omitempty` varies per element.
 */
const shape = (v: unknown, drop: ReadonlySet<string>): Shape => {
  if (Array.isArray(v)) return v.length === 0 ? [] : [v.map((x) => shape(x, drop)).reduce(merge)]
  if (v !== null && typeof v === "object") {
    const out: Record<string, Shape> = {}
    for (const [k, x] of Object.entries(v)) if (!drop.has(k)) out[k] = shape(x, drop)
    return out
  }
  return v === null ? "null" : typeof v
}

const merge = (a: Shape, b: Shape): Shape => {
  if (typeof a === "string" || typeof b === "string" || Array.isArray(a) || Array.isArray(b)) return a
  // Keep Go's struct order whichever element comes first: start from the fuller element and put
  // each key only the other has right after its predecessor there.
  const [p, q] = (Object.keys(a).length >= Object.keys(b).length ? [a, b] : [b, a]) as [
    Readonly<Record<string, Shape>>,
    Readonly<Record<string, Shape>>
  ]
  const order = Object.keys(p)
  const qKeys = Object.keys(q)
  qKeys.forEach((k, i) => {
    if (order.includes(k)) return
    const at = i === 0 ? 0 : order.indexOf(qKeys[i - 1]!) + 1
    order.splice(at, 0, k)
  })
  const out: Record<string, Shape> = {}
  for (const k of order) out[k] = k in p && k in q ? merge(p[k]!, q[k]!) : (p[k] ?? q[k])!
  return out
}

// Keys nats-server has and we (deliberately) do not: the system account, measured RTT, and the
// account of internal subscriptions. `http_req_stats` maps differ because the request histories do.
const DROP = new Set(["rtt", "account", "http_req_stats"])

describe.skipIf(natsServer === undefined)("monitoring: broker vs nats-server", () => {
  let broker: RunningBroker
  let nats: RunningNatsServer
  let sd: string
  const scenarios: Array<Scenario> = []
  const both = async (p: string) => {
    const fetchOne = async (port: number | undefined) => {
      const r = await fetch(`http://127.0.0.1:${port}${p}`)
      return { status: r.status, type: r.headers.get("content-type"), text: await r.text() }
    }
    return { theirs: await fetchOne(nats.monitorPort), ours: await fetchOne(broker.monitorPort) }
  }
  const json = async (p: string) => {
    const { theirs, ours } = await both(p)
    expect(ours.status).toBe(theirs.status)
    expect(ours.type).toBe(theirs.type)
    return {
      theirs: JSON.parse(theirs.text) as Record<string, any>,
      ours: JSON.parse(ours.text) as Record<string, any>
    } // any: wire JSON
  }

  beforeAll(async () => {
    sd = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-mon-sd-"))
    ;[broker, nats] = await Promise.all([
      startBroker({ jetstream: true, httpPort: -1, httpHost: "127.0.0.1" }),
      startNatsServer(["-js", "-m", "-1", "-sd", sd])
    ])
    scenarios.push(await runScenario(broker.url), await runScenario(nats.url))
  })
  afterAll(async () => {
    await Promise.all(scenarios.map((s) => s.close()))
    await Promise.all([broker?.stop(), nats?.stop()])
    fs.rmSync(sd, { recursive: true, force: true })
  })

  it("/healthz answers byte for byte the same", async () => {
    for (const q of ["", "?js-enabled-only=true", "?js-server-only=true", "?js-enabled-only=bad"]) {
      const { theirs, ours } = await both(`/healthz${q}`)
      expect(ours).toEqual(theirs)
    }
  })

  it("/varz has nats-server's keys, order and types", async () => {
    const { theirs, ours: at210 } = await json("/varz")
    // The level itself: our version and the keys 2.10, 2.11 and 2.14 add (asserted in Level210.ts,
    // Level211.ts and Level214.ts), 2.9.10's.
    expect([at210.version, theirs.version]).toEqual([OUR_VERSION, REFERENCE_VERSION])
    const ours = apiStatsWithout211(jsLimitsWithout211(varzWithout214(varzWithout210(at210))))
    expect(shape(ours, DROP)).toEqual(shape(theirs, DROP))
    expect(JSON.stringify(shape(ours, DROP))).toBe(JSON.stringify(shape(theirs, DROP)))
    for (
      const k of [
        "proto",
        "max_connections",
        "ping_interval",
        "ping_max",
        "max_control_line",
        "max_payload",
        "max_pending",
        "write_deadline",
        "connections",
        "total_connections",
        "in_msgs",
        "out_msgs",
        "in_bytes"
      ]
    ) {
      expect([k, ours[k]]).toEqual([k, theirs[k]])
    }
    expect(ours.jetstream.stats).toEqual(theirs.jetstream.stats)
  })

  it("/connz (with subscription lists) has nats-server's shape and counters", async () => {
    for (const q of ["?subs=true", "?subs=detail", "?sort=msgs_from&limit=1", "?sort=bogus", "?offset=x"]) {
      const { theirs, ours } = await both(`/connz${q}`)
      expect([q, ours.status, ours.type]).toEqual([q, theirs.status, theirs.type])
      if (theirs.status !== 200) {
        expect(ours.text).toBe(theirs.text)
        continue
      }
      const t = JSON.parse(theirs.text)
      const o = JSON.parse(ours.text)
      expect(JSON.stringify(shape(o, DROP))).toBe(JSON.stringify(shape(t, DROP)))
      const pick = (c: Record<string, unknown>) => [c.in_msgs, c.out_msgs, c.in_bytes, c.subscriptions, c.name, c.lang]
      expect(o.connections.map(pick)).toEqual(t.connections.map(pick))
    }
  })

  it("/jsz at every detail level has nats-server's shape and JetStream counters", async () => {
    for (
      const q of ["", "?accounts=true", "?streams=true", "?consumers=true", "?streams=true&consumers=true&config=true"]
    ) {
      const { theirs, ours: at210 } = await json(`/jsz${q}`)
      // /jsz details show stored configs: `_nats.req.level` without the reply-only version keys.
      const ours = withoutConfigs211(apiStatsWithout211(jsLimitsWithout211(jszWithout212(jszWithout210(at210)))), false)
        .value
      expect([q, JSON.stringify(shape(ours, DROP))]).toEqual([q, JSON.stringify(shape(theirs, DROP))])
      for (const k of ["memory", "storage", "streams", "consumers", "messages", "bytes", "api"]) {
        expect([q, k, ours[k]]).toEqual([q, k, theirs[k]])
      }
    }
    const { theirs, ours } = await json("/jsz?consumers=true")
    const counters = (j: Record<string, any>) =>
      // any: wire JSON
      Object.fromEntries(
        j.account_details[0].stream_detail[0].consumer_detail.map((c: Record<string, any>) => [
          c.name,
          [
            c.num_pending,
            c.num_ack_pending,
            c.num_redelivered,
            c.num_waiting,
            c.delivered.stream_seq,
            c.ack_floor.stream_seq
          ]
        ])
      )
    expect(counters(ours)).toEqual(counters(theirs))
    expect(ours.account_details[0].stream_detail[0].state).toEqual({
      ...theirs.account_details[0].stream_detail[0].state,
      first_ts: ours.account_details[0].stream_detail[0].state.first_ts,
      last_ts: ours.account_details[0].stream_detail[0].state.last_ts
    })
  })

  it("/subsz has nats-server's shape", async () => {
    for (const q of ["", "?subs=1&limit=2"]) {
      const { theirs, ours } = await json(`/subsz${q}`)
      // nats-server always lists its own system subscriptions; ours may list none at that moment,
      // and an empty list has no element shape to compare.
      // Which subscriptions come first differs (both list the system account's), and only some have
      // a queue group, so the element shape is compared without `qgroup`.
      const drop = new Set([...DROP, "qgroup"])
      const a = shape(ours, drop) as Record<string, Shape>
      const b = shape(theirs, drop) as Record<string, Shape>
      for (const k of ["subscriptions_list"]) {
        if (JSON.stringify(a[k]) === "[]" || JSON.stringify(b[k]) === "[]") {
          delete a[k]
          delete b[k]
        }
      }
      expect([q, JSON.stringify(a)]).toEqual([q, JSON.stringify(b)])
    }
  })
})
