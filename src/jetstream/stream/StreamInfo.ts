/**
 * Stream info and stored-message JSON in nats-server's shapes (key order matters for byte-level
 * comparisons; optional keys are omitted exactly where Go's `omitempty` omits them).
 */
import { Buffer } from "node:buffer"
import type { StoredMessage } from "../../store/MessageLog.ts"
import { fromWire, overlaps } from "../../subject/Subject.ts"
import { formatTime } from "../codec/Json.ts"
import { encodeStreamConfig } from "../model/StreamConfig.ts"
import type { StreamActor } from "./StreamActor.ts"

export interface StateOptions {
  readonly subjectsFilter?: string | undefined
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
  if (options.subjectsFilter !== undefined && options.subjectsFilter !== "") {
    const counts = actor.store.subjectCounts(toFilter(options.subjectsFilter))
    if (counts.size > 0) {
      const subjects: Record<string, number> = {}
      for (const [s, n] of counts) subjects[fromWire(s)] = n
      state.subjects = subjects
    }
  }
  if (st.numDeleted > 0) {
    if (st.deleted !== undefined && st.deleted.length > 0) state.deleted = st.deleted
    state.num_deleted = st.numDeleted
  }
  state.consumer_count = options.consumerCount ?? actor.consumers.size
  return state
}

const toFilter = (f: string) => Buffer.from(f, "utf8").toString("latin1")

export const streamInfo = (actor: StreamActor, options: StateOptions = {}): Record<string, unknown> => ({
  config: encodeStreamConfig(actor.config),
  created: formatTime(actor.created),
  state: streamState(actor, options),
  ...(actor.mirror !== undefined ? { mirror: actor.mirror.info(Date.now()) } : {}),
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
