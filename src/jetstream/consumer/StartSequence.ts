/**
 * Where a new consumer starts reading its stream: the first stream sequence its deliver policy
 * (and start sequence / time, filters) selects, as nats-server's `selectStartingSeqNo`.
 */
import type { ConsumerConfig } from "../model/ConsumerConfig.ts"
import type { StreamActor } from "../stream/StreamActor.ts"
import { ConsumerFilter } from "./ConsumerFilter.ts"

export const startSequence = (stream: StreamActor, config: ConsumerConfig): number => {
  const store = stream.store
  const st = store.state()
  switch (config.deliver_policy) {
    case "new":
      return st.lastSeq + 1
    case "last": {
      // Several filters: the latest of their last messages (nats-server `selectStartingSeqNo`).
      const seq = new ConsumerFilter(config).lastSeq(store)
      return seq === undefined ? st.lastSeq + 1 : seq
    }
    case "by_start_sequence":
      return Math.max(config.opt_start_seq ?? 1, 1)
    case "by_start_time": {
      const t = config.opt_start_time !== undefined ? parseStartTime(config.opt_start_time) : undefined
      const s = t === undefined ? undefined : store.firstSeqAtOrAfterTime(t)
      return s ?? st.lastSeq + 1
    }
    default:
      return st.firstSeq
  }
}

const parseStartTime = (s: string): bigint | undefined => {
  const ms = Date.parse(s)
  if (Number.isNaN(ms)) return undefined
  const frac = /\.(\d+)/.exec(s)?.[1] ?? ""
  const ns = BigInt(Math.floor(ms / 1000)) * 1_000_000_000n + BigInt((frac + "000000000").slice(0, 9))
  return ns
}
