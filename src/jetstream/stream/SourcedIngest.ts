/**
 * What a stream does with the messages its mirror and sources copy, and which source followers it runs.
 * A mirror keeps its origin's sequences; a source's messages are publishes to this stream.
 */
import type { MessageLog } from "../../store/MessageLog.ts"
import { isStoreError } from "../../store/StoreError.ts"
import { indexName, sourceKey, type StreamConfig, type StreamSource } from "../model/StreamConfig.ts"
import { ttlOf } from "./MessageTtl.ts"
import { processPublish, type PublishingStream } from "./PublishChecks.ts"
import { storeFailed, tryStore } from "./StoreFailure.ts"
import { MirrorFollower, rollupOf, type SourcedRecord, sourcedSeq, withSourceHeader } from "./StreamSource.ts"
import { transformed } from "./SubjectRewrites.ts"

/** The subject of a gap placeholder (removed in the same call: never visible). */
const GAP_SUBJECT = "_gap"
const EMPTY = new Uint8Array(0)

/** Followers of a stream's `sources`, by source key (sourceKey). */
export type SourceFollowers = Map<string, { readonly follower: MirrorFollower; readonly stop: () => void }>

/** A mirror's or source's batch from the mailbox; false when a store call failed. */
export const storeIngested = (
  s: PublishingStream,
  records: ReadonlyArray<SourcedRecord>,
  source: string | undefined
): boolean => {
  if (source === undefined) return tryStore(s, "store a mirrored msg", () => storeSourced(s, records)) !== undefined
  let ok = true
  // Sourced messages are publishes to this stream (its checks, dedupe, limits, republish).
  for (const r of records) {
    const hdr = withSourceHeader(r.hdr, source, r.seq)
    const msg = new Uint8Array(hdr.length + r.data.length)
    msg.set(hdr)
    msg.set(r.data, hdr.length)
    try {
      processPublish(s, r.subject, undefined, hdr.length, msg, "source", r.originSubject)
    } catch (e) {
      if (!isStoreError(e)) throw e
      storeFailed(s, e, "store a sourced msg")
      ok = false
    }
  }
  return ok
}

/**
 * Stores a mirror's batch under the origin's sequences: sequences already here are skipped (a
 * batch handed over twice), missing ones become gaps, so this log's sequences stay the origin's.
 * Returns true (tryStore's "done"); a store failure throws.
 */
const storeSourced = (s: PublishingStream, records: ReadonlyArray<SourcedRecord>): true => {
  const cfg = s.config
  for (const r of records) {
    if (r.seq <= s.lastSeq) continue
    skipTo(s, r.seq)
    const ts = r.ts > s.lastTs ? r.ts : s.lastTs
    // nats-server stores mirrored messages through the same path as publishes: the stream's own
    // transform applies after the mirror's.
    const subject = transformed(s, r.subject)
    const seq = s.store.appendBatch([{ subject, hdr: r.hdr, data: r.data, ts }])[0]!
    s.lastSeq = seq
    s.lastTs = ts
    const ttl = cfg.allow_msg_ttl === true ? ttlOf(r.hdr) ?? 0 : 0
    if (ttl > 0) s.expiry.track(seq, ts, ttl)
    const rollup = cfg.allow_rollup_hdrs && !cfg.deny_purge ? rollupOf(r.hdr) : undefined
    if (rollup !== undefined) {
      s.store.flush()
      s.store.purge(rollup === "sub" ? { filter: subject, keep: 1 } : { keep: 1 })
      s.removedGen++
    }
  }
  return true
}

/** Makes the next append get `seq`: an empty log starts there; otherwise the sequences between are gaps. */
const skipTo = (s: PublishingStream, seq: number): void => {
  if (seq <= s.lastSeq + 1) return
  if (s.store.state().msgs === 0) {
    s.store.purge({ seq })
  } else {
    // A log has no gap record: each missing sequence is an append taken back at once (deleted, as in
    // nats-server, whose mirrors store a skip marker per missing sequence).
    for (let gapSeq = s.lastSeq + 1; gapSeq < seq; gapSeq++) {
      const gap = s.store.appendBatch([{ subject: GAP_SUBJECT, hdr: undefined, data: EMPTY, ts: s.lastTs }])[0]!
      s.store.remove(gap)
    }
  }
  s.lastSeq = seq - 1
  s.removedGen++
}

/** nats-server `startingSequenceForSources`: the newest stored message tagged with `source`. */
export const lastSourcedSeq = (store: MessageLog, key: string, byName: boolean): number | undefined => {
  const st = store.state()
  for (let seq = st.lastSeq; seq >= st.firstSeq && seq > 0; seq--) {
    const m = store.get(seq)
    const n = m === undefined ? undefined : sourcedSeq(m.hdr, key, byName)
    if (n !== undefined) return n
  }
  return undefined
}

/** Starts followers for added sources and stops those of removed ones (create, update). */
export const syncSourceFollowers = (
  config: StreamConfig,
  followers: SourceFollowers,
  fork: (f: MirrorFollower) => () => void
): void => {
  const sources = config.sources ?? []
  const want = new Map(sources.map((s) => [sourceKey(s), s]))
  const sole = (s: StreamSource) => sources.filter((o) => indexName(o) === indexName(s)).length === 1
  for (const [key, f] of followers) {
    const w = want.get(key)
    if (
      w === undefined || JSON.stringify(w) !== JSON.stringify(f.follower.source) || f.follower.soleOfName !== sole(w)
    ) {
      if (w === undefined) f.follower.removed()
      f.stop()
      followers.delete(key)
    }
  }
  for (const [key, src] of want) {
    if (followers.has(key)) continue
    const follower = new MirrorFollower(src, "source", sole(src))
    followers.set(key, { follower, stop: fork(follower) })
  }
}
