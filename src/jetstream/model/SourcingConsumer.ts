/**
 * The consumer a sourcing or mirroring stream asks for (2.14, ADR-60). The follower always asks for
 * a direct ephemeral-style push consumer marked `sourcing`; on a WorkQueue or Interest stream
 * nats-server's jsConsumerCreateRequest turns it into a durable one acked by flow-control answers,
 * so the origin keeps each message (and its interest) until the sourcing stream says it stored it.
 * Done before the defaults, as nats-server does, so max_deliver and max_ack_pending get theirs.
 */
import type { RawConfig } from "./ConsumerConfigDecode.ts"
import type { StreamConfig } from "./StreamConfig.ts"

export const upgradeSourcingConsumer = (c: RawConfig, stream: StreamConfig): void => {
  if (!c.direct || !c.sourcing || c.name === "" || stream.retention === "limits") return
  c.direct = false
  c.durable_name = c.name
  c.ack_policy = "flow_control"
  c.ack_wait = 0n
  c.max_deliver = 0n
  c.inactive_threshold = 0n
}
