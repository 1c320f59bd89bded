/**
 * Removing messages by the stream's limits and retention: discard-old limits, max_age and per-message TTLs
 * (with their delete markers), and workqueue / interest retention after acks.
 */
import { Effect } from "effect"
import { processPublish, type PublishingStream } from "./PublishChecks.ts"

/** Discard-old limits, from the head. Returns true when something was removed. */
export const enforceLimits = (s: PublishingStream): boolean => {
  const cfg = s.config
  const r = s.store.enforceLimits({
    ...(cfg.discard === "old" && cfg.max_msgs > 0 ? { maxMsgs: cfg.max_msgs } : {}),
    ...(cfg.discard === "old" && cfg.max_bytes > 0 ? { maxBytes: cfg.max_bytes } : {}),
    // With TTLs on, max_age is the expiry's (a `never` message outlives it; markers).
    ...(cfg.max_age > 0 && cfg.allow_msg_ttl !== true ? { maxAgeNs: BigInt(cfg.max_age) } : {}),
    // Per-subject limits apply with either discard policy (discard new only rejects when asked to).
    ...(cfg.max_msgs_per_subject > 0 ? { maxMsgsPerSubject: cfg.max_msgs_per_subject } : {}),
    nowNs: s.ctx.nowNs()
  })
  let expired = 0
  if (cfg.allow_msg_ttl === true) {
    const place = (subject: string, marker: Uint8Array) =>
      processPublish(s, subject, undefined, marker.length, marker, "marker")
    const maxAge = BigInt(Math.max(0, cfg.max_age))
    expired = s.expiry.expire(s.store, maxAge, cfg.subject_delete_marker_ttl ?? 0, s.ctx.nowNs(), place)
  } else s.expiry.reset()
  if (r.msgs + expired > 0) s.removedGen++
  return r.msgs + expired > 0
}

/** Wakes the actor when the oldest message may have aged out; cheap when there is no max_age. */
export const expiryTimer = (s: PublishingStream, expire: () => void): Effect.Effect<void> =>
  Effect.gen(function*() {
    while (true) {
      const maxAge = s.config.max_age
      if (maxAge <= 0 || s.config.allow_msg_ttl === true) {
        yield* Effect.sleep(10_000)
        // The expiry arms its own timer; this catches config changes (max_age, TTLs turned on).
        if (s.config.allow_msg_ttl === true) expire()
        continue
      }
      const st = s.store.state()
      const maxAgeMs = Math.ceil(maxAge / 1e6)
      let waitMs = maxAgeMs
      if (st.msgs > 0) {
        const expiresAtMs = Number((st.firstTs + BigInt(maxAge)) / 1_000_000n)
        waitMs = Math.max(1, expiresAtMs - Math.floor(Number(s.ctx.nowNs() / 1_000_000n)) + 1)
      }
      // Sleep to the next expiry (capped so a max_age change is noticed within seconds).
      yield* Effect.sleep(Math.min(waitMs, 10_000))
      if (st.msgs > 0) expire()
    }
  })

/**
 * Retention after consumers acknowledged: workqueue removes on ack (and on term), interest
 * removes once every consumer that wants the message is done with it.
 */
export const retain = (s: PublishingStream, sseqs: ReadonlyArray<number>): void => {
  const policy = s.config.retention
  if (policy === "limits") return
  for (const seq of sseqs) {
    if (policy === "workqueue") {
      s.store.remove(seq)
      continue
    }
    const m = s.store.get(seq)
    if (m === undefined) continue
    let done = true
    for (const c of s.consumers.values()) {
      if (!c.isDoneWith(seq, m.subject)) {
        done = false
        break
      }
    }
    if (done) s.store.remove(seq)
  }
}
