/**
 * Typed failures of the store: one outer `StoreError` whose `reason` says what went wrong, so callers can
 * `Effect.catchReason("StoreError", "Corrupt", ...)` or switch on `error.reason._tag`.
 *
 * The synchronous `MessageLog` operations throw a `StoreError` (they are plain TypeScript on the hot path);
 * `attempt` turns such a call into an Effect that fails with it, and any other exception into a defect.
 */
import { Data, Effect } from "effect"

/** The log (or the layer holding it) was closed; no further operations are possible. */
export class Closed extends Data.TaggedError("Closed")<{ readonly stream: string }> {}

/** A named stream or event log does not exist. */
export class NotFound extends Data.TaggedError("NotFound")<{ readonly stream: string; readonly detail: string }> {}

/** Bytes on disk failed a checksum or are not in our format; the data is never served. */
export class Corrupt extends Data.TaggedError("Corrupt")<{
  readonly path: string
  readonly offset: number
  readonly detail: string
}> {}

/** A hard capacity limit of the layer (not a stream limit, those are enforced by `enforceLimits`). */
export class LimitExceeded extends Data.TaggedError("LimitExceeded")<{
  readonly limit: string
  readonly max: number
  readonly requested: number
}> {}

/** An operating-system call failed; `code` is the errno name (`ENOSPC`, `EACCES`, ...). */
export class Io extends Data.TaggedError("Io")<{
  readonly path: string
  readonly op: string
  readonly code: string
  readonly detail: string
}> {}

/**
 * Sequences are JS numbers: exact up to 2^53 - 1. JetStream sequences are u64, but at one million messages a
 * second 2^53 takes 285 years, so we refuse to go past it instead of paying for bigint on every message.
 */
export class SequenceOverflow extends Data.TaggedError("SequenceOverflow")<{ readonly seq: number }> {}

/** The log is already open in this layer (a stream has exactly one writer). */
export class InUse extends Data.TaggedError("InUse")<{ readonly stream: string }> {}

/**
 * Encryption at rest refused a file: wrong key, an encrypted file without a key, or a damaged encryption header.
 * Never repaired: the store stops before changing anything.
 */
export class Encryption extends Data.TaggedError("Encryption")<{ readonly path: string; readonly detail: string }> {}

export type StoreErrorReason =
  | Closed
  | NotFound
  | Corrupt
  | LimitExceeded
  | Io
  | SequenceOverflow
  | InUse
  | Encryption

export class StoreError extends Data.TaggedError("StoreError")<{ readonly reason: StoreErrorReason }> {
  override get message(): string {
    const r = this.reason
    switch (r._tag) {
      case "Closed":
        return `store for "${r.stream}" is closed`
      case "NotFound":
        return `not found: "${r.stream}": ${r.detail}`
      case "Corrupt":
        return `corrupt data in ${r.path} at offset ${r.offset}: ${r.detail}`
      case "LimitExceeded":
        return `${r.limit} exceeded: ${r.requested} > ${r.max}`
      case "Io":
        return `${r.op} ${r.path} failed: ${r.code} ${r.detail}`
      case "SequenceOverflow":
        return `sequence ${r.seq} is beyond 2^53 - 1`
      case "InUse":
        return `store for "${r.stream}" is already open`
      case "Encryption":
        return `encrypted store file ${r.path}: ${r.detail}`
    }
  }
}

/** Largest sequence the store hands out (Number.MAX_SAFE_INTEGER). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER

export const closed = (stream: string): StoreError => new StoreError({ reason: new Closed({ stream }) })

export const corrupt = (path: string, offset: number, detail: string): StoreError =>
  new StoreError({ reason: new Corrupt({ path, offset, detail }) })

/** Wraps a Node fs exception (which carries `code`) as a typed Io error. */
export const io = (path: string, op: string, cause: unknown): StoreError => {
  const e = cause as { code?: unknown; message?: unknown } | null
  const code = e !== null && typeof e === "object" && typeof e.code === "string" ? e.code : "EUNKNOWN"
  const detail = e !== null && typeof e === "object" && typeof e.message === "string" ? e.message : String(cause)
  return new StoreError({ reason: new Io({ path, op, code, detail }) })
}

export const isStoreError = (u: unknown): u is StoreError => u instanceof StoreError

/**
 * Runs a synchronous store call: a thrown `StoreError` becomes the typed failure, anything else is a bug and
 * becomes a defect.
 */
export const attempt = <A>(f: () => A): Effect.Effect<A, StoreError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      return isStoreError(e) ? Effect.fail(e) : Effect.die(e)
    }
  })

/** Runs `f`, turning a Node fs exception into `io(path, op, e)`; StoreErrors pass through. */
export const ioSync = <A>(path: string, op: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    if (isStoreError(e)) throw e
    throw io(path, op, e)
  }
}
