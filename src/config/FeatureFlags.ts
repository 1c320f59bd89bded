/**
 * nats-server's `feature_flags { ... }` (2.14): named opt-ins to behaviours that change the wire for
 * peers or clients, each with the server's own default. Reported merged (configured value over the
 * default, unknown names dropped) in /varz `feature_flags` from the 2.14 level.
 */

/** `$JS.ACK` / `$JS.FC` subjects with domain and account hash (ADR-15 v2 form); both forms are always parsed. */
export const JS_ACK_FC_V2 = "js_ack_fc_v2"
/** A replicated delete range as one log entry: nats-server's Raft detail, known so it is reported, not acted on. */
export const JS_RAFT_DELETE_RANGE = "js_raft_delete_range"

/** The flags nats-server 2.14 knows, with their defaults. */
export const FEATURE_FLAG_DEFAULTS: Readonly<Record<string, boolean>> = {
  [JS_ACK_FC_V2]: false,
  [JS_RAFT_DELETE_RANGE]: false
}

/** nats-server getFeatureFlag: the configured value, else the default; an unknown flag is off. */
export const featureFlag = (configured: Readonly<Record<string, boolean>>, name: string): boolean =>
  !Object.hasOwn(FEATURE_FLAG_DEFAULTS, name)
    ? false
    : Object.hasOwn(configured, name)
    ? configured[name] === true
    : FEATURE_FLAG_DEFAULTS[name] === true

/** nats-server getMergedFeatureFlags: every known flag with its effective value. */
export const mergedFeatureFlags = (configured: Readonly<Record<string, boolean>>): Record<string, boolean> => {
  const out: Record<string, boolean> = {}
  for (const name of Object.keys(FEATURE_FLAG_DEFAULTS)) out[name] = featureFlag(configured, name)
  return out
}
