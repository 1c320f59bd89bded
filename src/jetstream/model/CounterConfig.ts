/**
 * The 2.12 `allow_msg_counter` setting of a stream config (ADR-49), checked as nats-server's
 * checkStreamCfg does: a counter stream computes every message from the subject's last one, so it
 * cannot drop new messages, let them expire, schedule them, or give them away to consumers.
 * (Mirrors are refused with their own error, 10173, in the mirror checks; the setting is fixed at
 * create, see `counterUpdateError`.)
 */
import type { DiscardPolicy, RetentionPolicy } from "./Policies.ts"

/** The config fields the counter rules read (structural: `allow_msg_schedules` is read once the decoder has it). */
export interface CounterRelevant {
  readonly allow_msg_counter: boolean
  readonly discard: DiscardPolicy
  readonly allow_msg_ttl: boolean
  readonly retention: RetentionPolicy
  readonly allow_msg_schedules?: boolean
}

/** nats-server checkStreamCfg's counter rules, in its order: the error text, or undefined. */
export const checkCounterConfig = (cfg: CounterRelevant): string | undefined => {
  if (!cfg.allow_msg_counter) return undefined
  if (cfg.discard === "new") return "counter stream cannot use discard new"
  if (cfg.allow_msg_ttl) return "counter stream cannot use message TTLs"
  if (cfg.allow_msg_schedules === true) return "counter stream cannot use message schedules"
  if (cfg.retention !== "limits") return "counter stream can only use limits retention"
  return undefined
}

/** nats-server configUpdateCheck: the setting can be neither turned on nor off by an update. */
export const counterUpdateError = (now: boolean, before: boolean): string | undefined =>
  now !== before ? "stream configuration update can not change message counter setting" : undefined
