/**
 * A stream's store-failure bookkeeping: a failed store call must not stop the batch, the actor's view of the
 * tail follows what the store took back, and the acks queued for lost appends become the store error.
 */
import { headerValue } from "../../protocol/Headers.ts"
import type { MessageLog, StoredMessage } from "../../store/MessageLog.ts"
import { isStoreError, type StoreError } from "../../store/StoreError.ts"
import { ApiErrors } from "../model/ApiError.ts"
import type { Dedupe } from "./Dedupe.ts"
import type { PubAcks } from "./PubAcks.ts"
import type { StreamContext } from "./StreamContext.ts"

/** The part of a stream actor that a store failure changes. */
export interface StoringStream {
  readonly name: string
  readonly store: MessageLog
  readonly ctx: Pick<StreamContext, "log">
  readonly dedupe: Dedupe
  readonly acks: PubAcks
  lastSeq: number
  lastTs: bigint
  lastMsgId: string
  /**
   * The store error the last write failed with, until a write succeeds again: logged when it starts (and when
   * it changes), not once per publish.
   */
  writeFailure: string | undefined
}

/** Runs a store call whose failure must not stop the batch (see `storeFailed`). */
export const tryStore = <A>(s: StoringStream, what: string, f: () => A): A | undefined => {
  try {
    return f()
  } catch (e) {
    if (!isStoreError(e)) throw e
    storeFailed(s, e, what)
    return undefined
  }
}

/**
 * Any store call can write the pending records (a removal may roll a segment), so after any failure the store
 * may have taken back appends of this batch: follow it, and turn their queued acks into the error.
 */
export const storeFailed = (s: StoringStream, e: StoreError, what?: string): void => {
  writeFailed(s, e, what)
  rollback(s)
  failAcksAbove(s, s.lastSeq, e)
}

export const writeFailed = (s: StoringStream, e: StoreError, what = "store a msg"): void => {
  const text = storeErrorText(e)
  if (s.writeFailure === text) return
  s.writeFailure = text
  s.ctx.log.error(
    `JetStream failed to ${what} on stream '${s.name}': ${text}` +
      (s.store.failure === undefined
        ? ""
        : "; the stream refuses writes until the server restarts (it stays readable)")
  )
}

export const writeSucceeded = (s: StoringStream): void => {
  if (s.writeFailure === undefined) return
  s.writeFailure = undefined
  s.ctx.log.info(`JetStream stream '${s.name}' is storing messages again`)
}

/** After the store took back unwritten appends: the actor's view of the tail follows it. */
const rollback = (s: StoringStream): void => {
  const st = s.store.state()
  if (st.lastSeq >= s.lastSeq) return
  s.lastSeq = st.lastSeq
  s.lastTs = st.lastTs
  s.dedupe.forgetAbove(st.lastSeq)
  let last: StoredMessage | undefined
  try {
    last = st.msgs > 0 ? s.store.get(st.lastSeq) : undefined
  } catch {
    // Unreadable last message: no id to expect (Nats-Expected-Last-Msg-Id then fails, as it should).
  }
  s.lastMsgId = last?.hdr === undefined ? "" : headerValue(last.hdr, "Nats-Msg-Id") ?? ""
}

/** Turns every pending ack for a sequence above `seq` into the store error (nats-server's PubAck error). */
export const failAcksAbove = (s: StoringStream, seq: number, e: StoreError): void => {
  s.acks.failAbove(seq, ApiErrors.streamStoreFailed(storeErrorText(e)))
}

/**
 * The text nats-server puts in a PubAck's store error: Go's `<op> <path>: <strerror>` for an OS error (Node's
 * message is `ENOSPC: no space left on device, write`), our own message otherwise.
 */
export const storeErrorText = (e: StoreError): string => {
  const r = e.reason
  if (r._tag !== "Io") return e.message
  const m = /^[A-Z0-9]+: ([^,]+)/.exec(r.detail)
  return `${r.op} ${r.path}: ${m === null ? r.code : m[1]}`
}
