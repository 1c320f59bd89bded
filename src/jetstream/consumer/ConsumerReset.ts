/**
 * CONSUMER.RESET (2.14, ADR-60): where a reset puts a consumer, as nats-server's
 * resetStartingSeqLocked decides it. Sequence 0 goes back to just above the ack floor, allowed for
 * any consumer. A given sequence moves it anywhere for deliver policy "all", but not before the
 * configured start for by_start_sequence / by_start_time (a reset must not deliver what the config
 * excludes), and not at all for the other policies, whose start is not a stream position.
 */
import type { MessageLog } from "../../store/MessageLog.ts"
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"
import type { StreamActor } from "../stream/StreamActor.ts"
import { startSequence } from "./StartSequence.ts"

/** The stream sequence the consumer restarts at, or the reason nats-server gives for refusing. */
export const resetTarget = (
  config: ConsumerConfig,
  requested: number,
  ackFloorStream: number,
  stream: StreamActor
): number | string => {
  if (requested === 0) return ackFloorStream + 1
  switch (config.deliver_policy) {
    case "all":
      return requested
    case "by_start_sequence":
      return requested < (config.opt_start_seq ?? 0) ? "below start seq" : requested
    case "by_start_time":
      // The first sequence at or after the start time, as the consumer was created with.
      return requested < startSequence(stream, config) ? "below start time" : requested
    default:
      return "not allowed"
  }
}

/**
 * Interest retention: what a forward reset lets go. The consumer was still holding stream sequences
 * between its old ack floor and the new start; those it now skips may be removed if no other
 * consumer needs them (the stream decides, as for acks).
 */
export const skippedByReset = (store: MessageLog, oldFloor: number, seq: number): Array<number> => {
  const out: Array<number> = []
  const last = Math.min(seq - 1, store.lastSequence())
  // Sequences the store no longer has are skipped by the stream's retention check.
  for (let s = Math.max(oldFloor + 1, store.firstSequence()); s <= last; s++) out.push(s)
  return out
}
