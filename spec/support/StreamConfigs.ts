/**
 * A stream config as decoding a create request with only `name` and `subjects` leaves it (nats-server's
 * defaults), for specs that need a whole StreamConfig without going through the API.
 */
import type { StreamConfig } from "../../src/jetstream/model/StreamConfig.ts"

export const defaultStreamConfig = (name: string, over: Partial<StreamConfig> = {}): StreamConfig => ({
  name,
  subjects: [`${name}.>`],
  retention: "limits",
  max_consumers: -1,
  max_msgs: -1,
  max_bytes: -1,
  max_age: 0,
  max_msgs_per_subject: -1,
  max_msg_size: -1,
  discard: "old",
  storage: "file",
  num_replicas: 1,
  duplicate_window: 120_000_000_000,
  allow_direct: false,
  mirror_direct: false,
  sealed: false,
  deny_delete: false,
  deny_purge: false,
  allow_rollup_hdrs: false,
  ...over
})
