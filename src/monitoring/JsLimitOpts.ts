/**
 * nats-server's `JSLimitOpts` (opts.go), the `limits` of /varz `jetstream` and of /jsz (2.11+): every
 * field `omitempty`, so a server without `jetstream { limits {} }` shows `{}`. Of its fields only the
 * batch ones (2.12) are configurable here; the timeout is a Go duration (nanoseconds).
 */
import type { BatchLimitSettings } from "../config/JetStreamLimitsConfigFile.ts"

export const jsLimitOpts = (b: BatchLimitSettings): Record<string, number> => ({
  ...(b.maxInflightPerStream > 0 ? { max_batch_inflight_per_stream: b.maxInflightPerStream } : {}),
  ...(b.maxInflightTotal > 0 ? { max_batch_inflight_total: b.maxInflightTotal } : {}),
  ...(b.maxMsgs > 0 ? { max_batch_size: b.maxMsgs } : {}),
  ...(b.timeoutMs > 0 ? { max_batch_timeout: Math.round(b.timeoutMs * 1_000_000) } : {})
})
