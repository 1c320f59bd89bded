/**
 * ADR-44's versioning metadata, as nats-server (2.11 on) keeps it in stream and consumer configs:
 *
 * - `_nats.req.level` (static, stored): the API level the asset needs, set on every create and
 *   update from the features the config uses (a value the client sent is overwritten);
 * - `_nats.ver` / `_nats.level` (dynamic): the server's release and API level, added to replies only
 *   and never stored; a client sending them has them removed.
 *
 * Only from the 2.11 level (the callers pass `AT_LEVEL_211`): below it the metadata is stored and
 * reported exactly as sent, as 2.10 does.
 */
import { ADVERTISED_NATS_VERSION } from "../../config/BrokerConfig.ts"
import { API_LEVEL } from "./ApiLevel.ts"

export const REQUIRED_LEVEL_KEY = "_nats.req.level"
export const SERVER_VERSION_KEY = "_nats.ver"
export const SERVER_LEVEL_KEY = "_nats.level"

type Metadata = Readonly<Record<string, string>>

/**
 * The API level a stream config needs, as nats-server's setStaticStreamMetadata: 1 for 2.11's
 * message TTLs and delete markers; 2 for 2.12's counters, atomic batches, schedules and the async
 * persist mode; 4 for 2.14's fast-ingest batches. Read structurally, so a feature's field counts as
 * soon as the decoder carries it.
 */
export const streamRequiredLevel = (c: {
  // Shared with every config (a type with only optional fields accepts no unrelated object).
  readonly metadata?: unknown
  readonly allow_msg_ttl?: boolean
  readonly subject_delete_marker_ttl?: bigint | number
  readonly allow_msg_counter?: boolean
  readonly allow_atomic?: boolean
  readonly allow_msg_schedules?: boolean
  readonly persist_mode?: string
  readonly allow_batched?: boolean
}): number => {
  if (c.allow_batched === true) return 4
  if (
    c.allow_msg_counter === true || c.allow_atomic === true || c.allow_msg_schedules === true ||
    c.persist_mode === "async"
  ) return 2
  return c.allow_msg_ttl === true || (c.subject_delete_marker_ttl ?? 0) > 0 ? 1 : 0
}

/**
 * The API level a consumer config needs, as nats-server's setStaticConsumerMetadata: 1 for 2.11's
 * pause and priority groups (any policy, `prioritized` of 2.12 included), 4 for 2.14's
 * `ack_policy: flow_control`. A consumer reset (2.14) is a request, not config: it needs no level.
 */
export const consumerRequiredLevel = (c: {
  readonly metadata?: unknown
  readonly ack_policy?: string
  readonly pause_until?: unknown
  readonly priority_policy?: string
  readonly priority_groups?: ReadonlyArray<string> | null
  readonly priority_timeout?: bigint | number
}): number => {
  if (c.ack_policy === "flow_control") return 4
  return (c.pause_until !== undefined && c.pause_until !== null) ||
      (c.priority_policy !== undefined && c.priority_policy !== "" && c.priority_policy !== "none") ||
      (c.priority_groups?.length ?? 0) > 0 || (c.priority_timeout ?? 0) > 0
    ? 1
    : 0
}

const withoutDynamic = (m: Metadata | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(m ?? {})) {
    if (k !== SERVER_VERSION_KEY && k !== SERVER_LEVEL_KEY) out[k] = v
  }
  return out
}

/** The metadata to store: the dynamic keys removed, the required level set. */
export const staticMetadata = (m: Metadata | undefined, requiredLevel: number): Record<string, string> => ({
  ...withoutDynamic(m),
  [REQUIRED_LEVEL_KEY]: String(requiredLevel)
})

/** The metadata of a reply: the stored keys plus the server's release and level. */
export const dynamicMetadata = (
  m: Metadata | undefined,
  version: string = ADVERTISED_NATS_VERSION,
  level: number = API_LEVEL
): Record<string, string> => ({ ...m, [SERVER_VERSION_KEY]: version, [SERVER_LEVEL_KEY]: String(level) })

/**
 * A config compared with an existing asset's (an idempotent create) takes the asset's required
 * level, or none if it has none, so versioning alone never makes them differ.
 */
export const adoptRequiredLevel = <C extends { readonly metadata?: Metadata }>(config: C, existing: C): C => {
  const m = withoutDynamic(config.metadata)
  delete m[REQUIRED_LEVEL_KEY]
  const prev = existing.metadata?.[REQUIRED_LEVEL_KEY]
  if (prev !== undefined) m[REQUIRED_LEVEL_KEY] = prev
  const { metadata: _m, ...rest } = config
  return (Object.keys(m).length === 0 ? rest : { ...rest, metadata: m }) as C
}

/** A config as a reply shows it: with the dynamic keys from the 2.11 level. */
export const replyConfig = <C extends { readonly metadata?: Metadata }>(config: C, at211: boolean): C =>
  at211 ? { ...config, metadata: dynamicMetadata(config.metadata) } : config
