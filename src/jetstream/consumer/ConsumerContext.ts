/** What a consumer actor is given by the registry around it: its services and the stream's hooks. */
import type { InternalClient } from "../../core/InternalClient.ts"
import type { Logger } from "../../log/Log.ts"
import type { AckForm } from "./AckSubjects.ts"

/** What the hooks are told about the consumer (kept structural to avoid an import cycle). */
export interface HookedConsumer {
  readonly name: string
}

export interface ConsumerContext {
  readonly client: InternalClient
  readonly log: Logger
  readonly nowMs: () => number
  /** Runs `f` after `ms` on the broker clock; returns a cancel function. */
  readonly schedule: (ms: number, f: () => void) => () => void
  /** Retention hook: the stream decides whether an acked message can go. */
  readonly acked: (consumer: HookedConsumer, sseqs: ReadonlyArray<number>, term: boolean) => void
  /** Consumer idle past its inactive threshold (ephemerals always have one; durables when set, as 2.10). */
  readonly inactive: (consumer: HookedConsumer) => void
  /** Cluster mode, replicated streams: false while this node may no longer hold the stream (deliver nothing). */
  readonly mayDeliver?: () => boolean
  /** Domain, account hash and reply form of the ack subjects (AckSubjects.ts); default: no domain, `$G`, v1. */
  readonly ackForm?: AckForm
}
