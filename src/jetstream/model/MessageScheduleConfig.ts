/**
 * The 2.12 message-schedule setting of a stream config (ADR-51): `allow_msg_schedules`, checked as
 * nats-server's checkStreamCfg does. A schedule is stored as a roll-up of its subject, so turning
 * schedules on turns roll-ups on (and purges back on), unless the request is `pedantic`, which
 * refuses (with the stream's invalid-config error, as nats-server does). Mirrors and sourcing
 * streams cannot schedule (10186 / 10187, checked with the other mirror and source rules in
 * StreamConfig.ts).
 */
import { type ApiError, ApiErrors } from "./ApiError.ts"
import type { RawConfig } from "./StreamConfigDecode.ts"

/** Validates and completes the schedule setting in place; the error, or undefined. */
export const checkMessageSchedules = (cfg: RawConfig): ApiError | undefined => {
  if (!cfg.allow_msg_schedules) return undefined
  if (cfg.discard === "new") return ApiErrors.streamInvalidConfig("message scheduling cannot use discard new")
  if (!cfg.allow_rollup_hdrs) {
    if (cfg.pedantic) {
      return ApiErrors.streamInvalidConfig("message scheduling cannot be set if roll-ups are disabled")
    }
    cfg.allow_rollup_hdrs = true
    cfg.deny_purge = false
  }
  return undefined
}
