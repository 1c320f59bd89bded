/** What a stream actor's mailbox carries besides management calls: publishes, copied messages, its own wake-ups. */
import type { MsgTrace } from "../../core/MsgTrace.ts"
import type { SourcedRecord } from "./StreamSource.ts"

export type StreamCommand =
  | {
    readonly _tag: "Publish"
    readonly subject: string
    readonly reply: string | undefined
    readonly hdrLen: number
    readonly msg: Uint8Array
    readonly trace: MsgTrace | undefined
  }
  | { readonly _tag: "Expire" }
  /** An open atomic batch may have been idle too long (AtomicBatch.ts). */
  | { readonly _tag: "AtomicSweep" }
  /** A message schedule may be due (MessageSchedule.ts). */
  | { readonly _tag: "Schedule" }
  /** Messages a mirror copied from its origin, stored under their origin sequences (StreamSource.ts). */
  | {
    readonly _tag: "Ingest"
    readonly records: ReadonlyArray<SourcedRecord>
    readonly done: (ok: boolean) => void
    /** Set for a source (new sequences, tagged); unset for the mirror (the origin's sequences). */
    readonly source: string | undefined
  }
