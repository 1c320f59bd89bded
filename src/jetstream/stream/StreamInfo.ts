/**
 * Stream info and stored-message JSON in nats-server's shapes (key order matters for byte-level
 * comparisons; optional keys are omitted exactly where Go's `omitempty` omits them).
 */
import { Buffer } from "node:buffer"
import { AT_LEVEL_210, AT_LEVEL_211 } from "../../config/BrokerConfig.ts"
import type { StoredMessage } from "../../store/MessageLog.ts"
import { fromWire, overlaps } from "../../subject/Subject.ts"
import { formatTime } from "../codec/Json.ts"
import { encodeStreamConfig } from "../model/StreamConfigEncode.ts"
import { replyConfig } from "../model/VersionMetadata.ts"
import type { StreamActor } from "./StreamActor.ts"

export interface StateOptions {
  /** The page of `subjects` to report (subjectsPage). */
  readonly subjects?: Readonly<Record<string, number>> | undefined
  readonly deletedDetails?: boolean | undefined
  readonly consumerCount?: number
}

export const streamState = (actor: StreamActor, options: StateOptions = {}): Record<string, unknown> => {
  const st = actor.store.state(options.deletedDetails === true ? { deleted: true } : {})
  const empty = st.msgs === 0
  // nats-server reports a stream that never held a message as first_seq 0 / last_seq 0.
  const neverUsed = empty && st.lastSeq === 0
  const state: Record<string, unknown> = {
    messages: st.msgs,
    bytes: st.bytes,
    first_seq: neverUsed ? 0 : st.firstSeq,
    first_ts: formatTime(empty ? 0n : st.firstTs),
    last_seq: st.lastSeq,
    last_ts: formatTime(st.lastSeq === 0 ? 0n : st.lastTs)
  }
  if (st.numSubjects > 0) state.num_subjects = st.numSubjects
  if (options.subjects !== undefined) state.subjects = options.subjects
  if (st.numDeleted > 0) {
    if (st.deleted !== undefined && st.deleted.length > 0) state.deleted = st.deleted
    state.num_deleted = st.numDeleted
  }
  state.consumer_count = options.consumerCount ?? actor.consumers.size
  return state
}

const toFilter = (f: string) => Buffer.from(f, "utf8").toString("latin1")

/** nats-server `JSMaxSubjectDetails`: the most subjects one STREAM.INFO reply lists. */
export const MAX_SUBJECT_DETAILS = 100_000

/** A page of STREAM.INFO's per-subject counts, and the `ApiPaged` members that describe it. */
export interface SubjectsPage {
  readonly total: number
  readonly offset: number
  readonly limit: number
  readonly subjects: Readonly<Record<string, number>> | undefined
}

/**
 * nats-server `jsStreamInfoRequest` with a `subjects_filter`: the matching subjects sorted (byte
 * order), `MAX_SUBJECT_DETAILS` of them from `offset` (clamped to the count). Nothing matching:
 * all zero and no `subjects`, as there.
 */
export const subjectsPage = (actor: StreamActor, filter: string, offset: number): SubjectsPage => {
  const counts = actor.store.subjectCounts(toFilter(filter))
  if (counts.size === 0) return { total: 0, offset: 0, limit: 0, subjects: undefined }
  // Wire subjects are latin1 strings of the bytes, so code-unit order is Go's byte order.
  const sorted = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const from = Math.min(offset, sorted.length)
  const page = sorted.slice(from, from + MAX_SUBJECT_DETAILS)
  let subjects: Record<string, number> | undefined
  if (page.length > 0) {
    subjects = {}
    for (const s of page) subjects[fromWire(s)] = counts.get(s)!
  }
  return { total: counts.size, offset: from, limit: MAX_SUBJECT_DETAILS, subjects }
}

export const streamInfo = (actor: StreamActor, options: StateOptions = {}): Record<string, unknown> => ({
  config: encodeStreamConfig(replyConfig(actor.config, AT_LEVEL_211), AT_LEVEL_210, AT_LEVEL_211),
  created: formatTime(actor.created),
  state: streamState(actor, options),
  // A promoted mirror (its update removed `mirror`) keeps its follower object, stopped, and reports none.
  ...(actor.mirror !== undefined && actor.config.mirror !== undefined ? { mirror: actor.mirror.info(Date.now()) } : {}),
  ...(actor.sourceFollowers.size > 0 ?
    {
      sources: [...actor.sourceFollowers.values()].map((f) => f.follower.info(Date.now())).sort((a, b) =>
        String(a.name) < String(b.name) ? -1 : 1
      )
    } :
    {})
})

/** STREAM.MSG.GET's `message` object. */
export const storedMessage = (m: StoredMessage): Record<string, unknown> => {
  const out: Record<string, unknown> = { subject: fromWire(m.subject), seq: m.seq }
  if (m.hdr !== undefined && m.hdr.length > 0) {
    out.hdrs = Buffer.from(m.hdr.buffer, m.hdr.byteOffset, m.hdr.length).toString("base64")
  }
  if (m.data.length > 0) out.data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length).toString("base64")
  out.time = formatTime(m.ts)
  return out
}

/** STREAM.NAMES/LIST `subject` filter: streams whose subjects overlap it (`foo.*` overlaps `*.A`). */
export const streamHasSubject = (actor: StreamActor, filter: string): boolean =>
  actor.config.subjects.some((s) => overlaps(toWireSubject(s), filter))

const toWireSubject = (s: string) => Buffer.from(s, "utf8").toString("latin1")
