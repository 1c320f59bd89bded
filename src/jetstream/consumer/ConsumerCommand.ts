/** What a consumer actor's mailbox carries besides management calls: pull requests, acks, its own wake-ups. */
import type { PullRequest } from "../model/PullRequest.ts"

export type ConsumerCommand =
  | { readonly _tag: "Wake" }
  | { readonly _tag: "Pull"; readonly reply: string; readonly request: PullRequest }
  | { readonly _tag: "Ack"; readonly subject: string; readonly reply: string | undefined; readonly body: Uint8Array }
  | { readonly _tag: "Tick" }
  /** The client answered a flow-control request on `$JS.FC.<stream>.<consumer>.*` (headers: flow-control acks). */
  | { readonly _tag: "FlowControlReply"; readonly subject: string; readonly hdr?: Uint8Array }
  /** A dead-letter copy of `sseq` was answered (or timed out): finish giving it up (DeadLetter.ts). */
  | { readonly _tag: "DeadLettered"; readonly sseq: number }
