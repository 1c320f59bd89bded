/**
 * The 2.11 per-message TTL settings of a stream config (ADR-43): `allow_msg_ttl` and
 * `subject_delete_marker_ttl`, checked as nats-server's checkStreamCfg does: markers turn on TTLs
 * and roll-ups, since a marker is a TTL'd roll-up, unless the request is `pedantic`, which refuses
 * (with the stream's invalid-config error, not 10157, as nats-server does).
 */
import type { RawConfig } from "./StreamConfigDecode.ts"

const SECOND = 1_000_000_000n

/** Validates and completes the marker settings in place; the error text, or undefined. */
export const checkDeleteMarkers = (cfg: RawConfig): string | undefined => {
  const ttl = cfg.subject_delete_marker_ttl
  if (ttl < 0n) return "subject delete marker TTL must not be negative"
  if (ttl === 0n) return undefined
  if (ttl < SECOND) return "subject delete marker TTL must be at least 1 second"
  if (!cfg.allow_msg_ttl && cfg.pedantic) return "subject delete marker cannot be set if message TTLs are disabled"
  cfg.allow_msg_ttl = true
  if (!cfg.allow_rollup_hdrs && cfg.pedantic) return "subject delete marker cannot be set if roll-ups are disabled"
  if (!cfg.allow_rollup_hdrs) {
    cfg.allow_rollup_hdrs = true
    cfg.deny_purge = false
  }
  // A marker takes a sequence of its own: a mirror's sequences would no longer be its origin's.
  if (cfg.mirror !== undefined) return "subject delete markers forbidden on mirrors"
  return undefined
}
