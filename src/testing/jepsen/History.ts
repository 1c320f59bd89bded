/**
 * What a Jepsen run records: every publish (its attempts and the PubAcks it got), every consumer
 * delivery and confirmed ack, every fault, and the stream and durable as read after healing. The
 * checker is a pure function of this.
 */

/** A PubAck one attempt got (a retried id gets `duplicate: true` with the first store's seq). */
export interface PubAckRecord {
  readonly seq: number
  readonly duplicate: boolean
  /** `performance.now()` when the attempt that got it was sent, and when the ack arrived. */
  readonly sentAt: number
  readonly at: number
}

export interface PublishRecord {
  readonly publisher: number
  readonly msgId: string
  /** When the first attempt was sent. */
  readonly firstSentAt: number
  attempts: number
  readonly acks: Array<PubAckRecord>
  /** Errors of attempts that got no PubAck (timeouts, 503, disconnects), by message. */
  readonly errors: Array<string>
}

export interface DeliveryRecord {
  readonly worker: number
  readonly seq: number
  readonly deliveryCount: number
  /** When the pull request that brought it was issued, and when it arrived. */
  readonly pulledAt: number
  readonly at: number
  /** Part of the final drain (after every fault was healed and the workload stopped). */
  readonly drain: boolean
  /** The server the worker's connection was on. */
  readonly via: string
}

/** An ack the server confirmed (`ackAck()` resolved true). */
export interface ConfirmedAck {
  readonly worker: number
  readonly seq: number
  readonly at: number
  readonly via: string
}

export type FaultKind = "kill" | "stop" | "partition" | "kill-primary"

export interface FaultRecord {
  readonly kind: FaultKind
  /** The node it hit (the stream's owner when it was injected), none for the store's primary. */
  readonly node: string | undefined
  /** When it took effect: a primary kill's is set again once the primary is gone (Jepsen.ts). */
  at: number
  healedAt: number | undefined
  /** The first PubAck to an attempt sent after the fault. */
  firstAckAt: number | undefined
  /**
   * The first stream info answered by a node other than `node`, naming a leader other than `node`
   * (after the heal: any leader).
   */
  infoAt: number | undefined
  /** The leader that info named. */
  movedTo: string | undefined
}

/** The stream as read after the run: seq → the msg id its `Nats-Msg-Id` header holds. */
export interface StreamContents {
  readonly firstSeq: number
  readonly lastSeq: number
  readonly messages: number
  /** Every seq of firstSeq..lastSeq that could be read, with its msg id (undefined: no header). */
  readonly bySeq: ReadonlyMap<number, string | undefined>
  /** Seqs after lastSeq that could still be read (stream info behind the log), also in bySeq. */
  readonly beyondLast: number
}

/** The durable's state (consumer info) before the drain, and after it. */
export interface ConsumerSnapshot {
  /** `performance.now()` when it was asked for: acks confirmed before it must be covered. */
  readonly at: number
  readonly ackFloor: number
  readonly delivered: number
  readonly numAckPending: number
  readonly numPending: number
}

export interface History {
  /** `performance.now()` when the workload started: violations give times relative to it. */
  readonly startedAt: number
  readonly publishes: ReadonlyArray<PublishRecord>
  readonly deliveries: ReadonlyArray<DeliveryRecord>
  readonly confirmedAcks: ReadonlyArray<ConfirmedAck>
  readonly faults: ReadonlyArray<FaultRecord>
  readonly stream: StreamContents
  readonly consumerBefore: ConsumerSnapshot | undefined
  readonly consumerAfter: ConsumerSnapshot | undefined
}
