/**
 * What our replies add at the 2.12/2.14 level we advertise (ADVERTISED_NATS_VERSION) to 2.11's, and
 * so to what nats-server 2.9.10, the differential reference on PATH, sends. As in Level210.ts and
 * Level211.ts each helper asserts our value exactly and returns the reply without it, so the rest
 * still compares with 2.9.10's. The values follow nats-server 2.14's server.go (INFO `api_lvl`),
 * monitor.go (Varz `feature_flags`) and JetStreamConfig `strict`.
 */
import { expect } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { apiLevelOf } from "../../src/jetstream/model/ApiLevel.ts"

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)

/** nats-server 2.14's feature flags with none set in the config (feature_flags.go defaults). */
export const DEFAULT_FEATURE_FLAGS = { js_ack_fc_v2: false, js_raft_delete_range: false }

/** INFO at 2.12+: `api_lvl`, the advertised release's JetStream API level (4 at 2.14). */
export const infoWithout212 = (info: Json): Json => {
  const { api_lvl, ...rest } = info
  expect(api_lvl).toBe(apiLevelOf(ADVERTISED_NATS_VERSION))
  return rest
}

/** JetStreamConfig at 2.12+: `strict` (requests decoded strictly; we have no lenient mode). */
const withoutStrict = (config: Json): Json => {
  const { strict, ...rest } = config
  expect(strict).toBe(true)
  return rest
}

/**
 * /varz at 2.14: `feature_flags` right after `config_load_time` (asserted at their defaults) and
 * the JetStream config's `strict`, removed.
 */
// any: wire JSON, read by the callers as such.
export const varzWithout214 = (varz: Record<string, any>): Record<string, any> => {
  const keys = Object.keys(varz)
  expect(keys[keys.indexOf("config_load_time") + 1]).toBe("feature_flags")
  const { feature_flags, ...rest } = varz
  expect(feature_flags).toEqual(DEFAULT_FEATURE_FLAGS)
  const js = rest.jetstream as Json | undefined
  if (js !== undefined && isObject(js.config)) rest.jetstream = { ...js, config: withoutStrict(js.config) }
  return rest
}

/** /jsz at 2.12+: the JetStream config's `strict`, removed. */
// any: wire JSON, read by the callers as such.
export const jszWithout212 = (jsz: Record<string, any>): Record<string, any> =>
  isObject(jsz.config) ? { ...jsz, config: withoutStrict(jsz.config) } : jsz
