/**
 * What our replies add at the 2.11 level we advertise (ADVERTISED_NATS_VERSION) to 2.10's, and so to
 * what nats-server 2.9.10, the differential reference on PATH, sends. As in Level210.ts each helper
 * asserts our 2.11 value exactly and returns the reply without it, so the rest still compares with
 * 2.9.10's (or its recorded values). The values follow nats-server 2.11's jetstream_versioning.go
 * (ADR-44), stream.go and jsz/varz.
 */
import { expect } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { NO_WAIT_ENDS_WITH_404 } from "../../src/jetstream/consumer/PullRequests.ts"
import { apiLevelOf } from "../../src/jetstream/model/ApiLevel.ts"

/**
 * JetStream API level of the advertised release (nats-server `JSApiLevel`: 1 for 2.11, 4 for 2.14;
 * the table is pinned in spec/jetstream/Features214.spec.ts), so these helpers hold after the flip.
 */
export const API_LEVEL_211 = apiLevelOf(ADVERTISED_NATS_VERSION)

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)

const isStreamConfig = (v: Json): boolean =>
  typeof v.name === "string" && "retention" in v && "max_msgs_per_subject" in v && "allow_rollup_hdrs" in v

const isConsumerConfig = (v: Json): boolean => "ack_policy" in v && "deliver_policy" in v && "replay_policy" in v

/**
 * A reply's config metadata at 2.11: the stored `_nats.req.level` (the level the asset needs,
 * "0" for a config using no 2.11 feature) and, in API replies (`dynamic`), `_nats.ver` /
 * `_nats.level` (our release and API level; /jsz shows the stored config without them). Asserted
 * and removed; `undefined` when nothing else was there (2.10 omits it).
 */
export const withoutVersionMetadata = (
  metadata: unknown,
  requiredLevel = "0",
  dynamic = true
): Record<string, string> | undefined => {
  expect(isObject(metadata)).toBe(true)
  const { "_nats.req.level": req, "_nats.ver": ver, "_nats.level": level, ...rest } = metadata as Record<
    string,
    string
  >
  expect({ req, ver, level }).toEqual(
    dynamic
      ? { req: requiredLevel, ver: ADVERTISED_NATS_VERSION, level: String(API_LEVEL_211) }
      : { req: requiredLevel, ver: undefined, level: undefined }
  )
  return Object.keys(rest).length === 0 ? undefined : rest
}

const stripMetadata = (out: Json, original: Json, dynamic: boolean): void => {
  const rest = withoutVersionMetadata(original.metadata, "0", dynamic)
  if (rest === undefined) delete out.metadata
  else out.metadata = rest
}

/**
 * Every stream config anywhere in `value` (2.11 stream.go: `allow_msg_ttl` has no omitempty, asserted
 * `false` as no 2.9.10 scenario sets it) and every stream and consumer config's version metadata,
 * asserted and removed (`dynamic`: as API replies carry it; /jsz has the stored keys only).
 * Returns a copy and the number of configs seen.
 */
export const withoutConfigs211 = <T>(
  value: T,
  dynamic = true
): { readonly value: T; readonly configs: number } => {
  let configs = 0
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (!isObject(v)) return v
    const out: Json = {}
    for (const [k, x] of Object.entries(v)) out[k] = walk(x)
    if (isStreamConfig(v)) {
      configs++
      expect([v.name, v.allow_msg_ttl]).toEqual([v.name, false])
      delete out.allow_msg_ttl
      stripMetadata(out, v, dynamic)
    } else if (isConsumerConfig(v)) {
      configs++
      stripMetadata(out, v, dynamic)
    }
    return out
  }
  return { value: walk(value) as T, configs }
}

/** `withoutConfigs211` for a reply that must hold at least one config. */
export const configsAt211 = <T>(value: T): T => {
  const r = withoutConfigs211(value)
  expect(r.configs).toBeGreaterThan(0)
  return r.value
}

/**
 * The `api` stats of `$JS.API.INFO`, /jsz and /varz at 2.11 (JetStreamAPIStats): `level` first,
 * no omitempty. Asserted as our API level and removed.
 */
export const apiWithout211 = (api: unknown): Json => {
  expect(isObject(api)).toBe(true)
  const { level, ...rest } = api as Json
  expect(Object.keys(api as Json)[0]).toBe("level")
  expect(level).toBe(API_LEVEL_211)
  return rest
}

/**
 * Every `api` stats object anywhere in `value` (an object under the key `api` holding `total` and
 * `errors`), through `apiWithout211`; at least one must be there.
 */
export const apiStatsWithout211 = <T>(value: T): T => {
  let seen = 0
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (!isObject(v)) return v
    const out: Json = {}
    for (const [k, x] of Object.entries(v)) {
      if (k === "api" && isObject(x) && "total" in x && "errors" in x) {
        seen++
        out[k] = apiWithout211(x)
      } else out[k] = walk(x)
    }
    return out
  }
  const out = walk(value) as T
  expect(seen).toBeGreaterThan(0)
  return out
}

/**
 * A no-wait pull's statuses (`rawPull` strings) when it got messages: from 2.11.11 nats-server ends
 * it with `404 No Messages`, where 2.9.10 sent `408 Request Timeout` with the pending counts
 * (src/jetstream/consumer/PullRequests.ts). Asserts our ending and returns our statuses with the
 * reference's ending, so the rest still compares.
 */
export const noWaitEndingAs2910 = (ours: ReadonlyArray<string>, reference408: string): Array<string> => {
  expect(reference408.startsWith("408 Request Timeout")).toBe(true)
  expect(ours.length).toBeGreaterThan(1)
  expect(ours[ours.length - 1]).toBe(NO_WAIT_ENDS_WITH_404 ? "404 No Messages" : reference408)
  return [...ours.slice(0, -1), reference408]
}

/**
 * /varz `jetstream.limits` and /jsz `limits` at 2.11 (JSLimitOpts, every field omitempty): `{}` on a
 * server without `jetstream { limits {} }`, asserted and removed. /jsz's follows its `config`.
 */
// any: wire JSON, read by the callers as such.
export const jsLimitsWithout211 = (doc: Record<string, any>): Record<string, any> => {
  if (isObject(doc.jetstream) && "config" in doc.jetstream) {
    const { limits, ...js } = doc.jetstream
    expect(limits).toEqual({})
    return { ...doc, jetstream: js }
  }
  if (doc.disabled === true || !("config" in doc)) return doc
  const keys = Object.keys(doc)
  expect(keys[keys.indexOf("config") + 1]).toBe("limits")
  const { limits, ...rest } = doc
  expect(limits).toEqual({})
  return rest
}
