/**
 * What our replies add at the 2.10 level we advertise (ADVERTISED_NATS_VERSION) to what nats-server
 * 2.9.10, the differential reference on PATH, sends. Each helper asserts our 2.10 value exactly and
 * returns the reply without it, so the rest still compares with 2.9.10's (or its recorded values).
 */
import { expect } from "vitest"
import { ADVERTISED_NATS_VERSION, AT_LEVEL_210 } from "../../src/config/BrokerConfig.ts"

export const OUR_VERSION = ADVERTISED_NATS_VERSION
export const REFERENCE_VERSION = "2.9.10"

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)

/** A stream config as nats-server writes one (`config` of stream info, jsz, list entries). */
const isStreamConfig = (v: Json): boolean =>
  typeof v.name === "string" && "retention" in v && "max_msgs_per_subject" in v && "allow_rollup_hdrs" in v

/**
 * nats-server 2.10 stream.go StreamConfig: `compression` and `consumer_limits` have no omitempty, so
 * every config carries them. Asserted as `"none"` and `{}` (a 2.9.10 scenario sets neither) on every
 * stream config found anywhere in `value`, and removed; returns a copy and the number of configs seen.
 */
export const withoutStreamConfig210 = <T>(value: T): { readonly value: T; readonly configs: number } => {
  let configs = 0
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (!isObject(v)) return v
    const out: Json = {}
    for (const [k, x] of Object.entries(v)) out[k] = walk(x)
    if (isStreamConfig(v)) {
      configs++
      expect([v.name, v.compression, v.consumer_limits]).toEqual([v.name, "none", {}])
      delete out.compression
      delete out.consumer_limits
    }
    return out
  }
  return { value: walk(value) as T, configs }
}

/** `withoutStreamConfig210` for a reply that must hold at least one stream config. */
export const streamConfigsAt210 = <T>(value: T): T => {
  const r = withoutStreamConfig210(value)
  expect(r.configs).toBeGreaterThan(0)
  return r.value
}

const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/

/**
 * nats-server 2.10 stream.go processJetStreamMsg: a republished message carries `Nats-Time-Stamp`
 * (RFC 3339, nanoseconds) right after `Nats-Sequence`. Asserted there, in that format, on every
 * header list (`[name, value]` pairs) in `value`, and removed.
 */
export const withoutRepublishTimestamps = <T>(value: T): T => {
  let seen = 0
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const pairs = v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === "string")
      const at = pairs ? v.findIndex((p) => (p as Array<string>)[0] === "Nats-Time-Stamp") : -1
      if (pairs && v.some((p) => (p as Array<string>)[0] === "Nats-Sequence")) {
        seen++
        expect((v[at - 1] as Array<string> | undefined)?.[0]).toBe("Nats-Sequence")
        expect((v[at] as Array<string>)[1]).toMatch(RFC3339_NANO)
        return v.filter((_, i) => i !== at)
      }
      return v.map(walk)
    }
    if (!isObject(v)) return v
    const out: Json = {}
    for (const [k, x] of Object.entries(v)) out[k] = walk(x)
    return out
  }
  const out = walk(value) as T
  expect(seen).toBeGreaterThan(0)
  return out
}

/** nats-server's `defaultSyncInterval` (filestore.go), in every 2.10 JetStreamConfig unless configured. */
const DEFAULT_SYNC_INTERVAL_NS = 120_000_000_000

const withoutSyncInterval = (config: Json): Json => {
  const { sync_interval, ...rest } = config
  expect(sync_interval).toBe(DEFAULT_SYNC_INTERVAL_NS)
  return rest
}

/**
 * /varz at 2.10 (monitor.go Varz): `slow_consumer_stats` (clients are all our slow consumers) and
 * JetStreamConfig `sync_interval`, asserted and removed. `version` stays: callers assert it.
 */
// any: wire JSON, read by the callers as such.
export const varzWithout210 = (varz: Record<string, any>): Record<string, any> => {
  const { slow_consumer_stats, ...rest } = varz
  expect(slow_consumer_stats).toEqual({ clients: varz.slow_consumers, routes: 0, gateways: 0, leafs: 0 })
  const js = rest.jetstream as Json | undefined
  if (js !== undefined && isObject(js.config)) rest.jetstream = { ...js, config: withoutSyncInterval(js.config) }
  return rest
}

/**
 * /jsz at 2.10 (monitor.go JSInfo and accountDetail): `total` (the JetStream accounts, so equal to
 * `accounts`), JetStreamConfig `sync_interval`, each consumer detail's `ts` and each stream config's
 * 2.10 keys, asserted and removed.
 */
// any: wire JSON, read by the callers as such.
export const jszWithout210 = (jsz: Record<string, any>): Record<string, any> => {
  const { total, ...rest } = jsz
  expect(total).toBe(jsz.accounts)
  if (isObject(rest.config)) rest.config = withoutSyncInterval(rest.config)
  const details = rest.account_details
  if (Array.isArray(details)) {
    rest.account_details = details.map((a: Json) => {
      const streams = a.stream_detail
      if (!Array.isArray(streams)) return a
      return {
        ...a,
        stream_detail: streams.map((s: Json) => {
          const consumers = s.consumer_detail
          if (!Array.isArray(consumers)) return s
          return {
            ...s,
            consumer_detail: consumers.map((c: Json) => {
              const { ts, ...kept } = c
              expect(ts).toMatch(RFC3339_NANO)
              return kept
            })
          }
        })
      }
    })
  }
  return withoutStreamConfig210(rest).value
}

/** 2.9.10's refusal of a consumer filter outside the stream's subjects, as `failure` renders it. */
export const FILTER_NOT_SUBSET_2910 = "400 10093 consumer filter subject is not a valid subset of the interest subjects"

/**
 * From 2.10 nats-server never raises 10093: a consumer filter outside the stream's subjects is
 * accepted (src/jetstream/model/ConsumerConfig.ts `ANY_FILTER`). Asserts our outcome ("ok") and
 * returns 2.9.10's, so the rest still compares.
 */
export const filterOutsideAs2910 = (ours: unknown): string => {
  expect(ours).toBe(AT_LEVEL_210 ? "ok" : FILTER_NOT_SUBSET_2910)
  return FILTER_NOT_SUBSET_2910
}
