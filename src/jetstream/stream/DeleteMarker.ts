/**
 * Subject delete markers (ADR-43, nats-server 2.11 sdm.go): when an age limit (max_age or a message's
 * TTL) removes the last message of a subject, the stream stores a marker in its place, so watchers
 * (KV) learn that the key is gone. The marker is itself a TTL'd roll-up of its subject: storing it
 * removes the expired message, and it expires after `subject_delete_marker_ttl`.
 *
 * Only the `MaxAge` reason is placed: nats-server (through 2.14) places no marker for message delete
 * or purge, though ADR-43 names the `Remove` and `Purge` reasons for them.
 */
import { headerValue } from "../../protocol/Headers.ts"
import type { MessageLog, StoredMessage } from "../../store/MessageLog.ts"

export const MARKER_REASON_HEADER = "Nats-Marker-Reason"
export const MARKER_REASON_MAX_AGE = "MaxAge"

/** nats-server isSubjectDeleteMarker: a marker, or a KV purge (which is one already). */
export const isDeleteMarker = (hdr: Uint8Array | undefined): boolean => {
  if (hdr === undefined) return false
  const reason = headerValue(hdr, MARKER_REASON_HEADER)
  return (reason !== undefined && reason !== "") || headerValue(hdr, "KV-Operation") === "PURGE"
}

/** Go's `time.Duration.String` for whole seconds ("45s", "1m0s", "1h0m0s"). */
export const goSeconds = (seconds: number): string => {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  if (h > 0) return `${h}h${m}m${s}s`
  if (m > 0) return `${m}m${s}s`
  return `${s}s`
}

/** The marker's header block, in nats-server's order; its TTL is the config's, in whole seconds. */
export const maxAgeMarker = (markerTtlNs: number): Uint8Array =>
  Buffer.from(
    `NATS/1.0\r\n${MARKER_REASON_HEADER}: ${MARKER_REASON_MAX_AGE}\r\n` +
      `Nats-TTL: ${goSeconds(Math.trunc(markerTtlNs / 1e9))}\r\nNats-Rollup: sub\r\n\r\n`,
    "latin1"
  )

/**
 * The marker to store for an expiring message, or undefined when it is simply removed: markers off,
 * the message is a marker itself, or its subject keeps other messages.
 */
export const markerFor = (m: StoredMessage, markerTtlNs: number, store: MessageLog): Uint8Array | undefined => {
  if (markerTtlNs <= 0 || isDeleteMarker(m.hdr)) return undefined
  if ((store.subjectCounts(m.subject).get(m.subject) ?? 0) !== 1) return undefined
  return maxAgeMarker(markerTtlNs)
}
