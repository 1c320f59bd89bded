/**
 * `ack_policy: "flow_control"` (2.14, ADR-60): the ack policy of the durable push consumers that
 * source or mirror a WorkQueue / Interest stream reliably. Acked like "all", but by the answers to
 * flow-control requests, so the consumer must be push with flow control and heartbeats, and has no
 * ack wait, backoff or max deliver (nothing times out; a lost message is recovered by a reset).
 * nats-server's setConsumerConfigDefaults / checkConsumerCfg rules, in their order.
 */
import { type ApiError, ApiErrors } from "./ApiError.ts"
import type { RawConfig } from "./ConsumerConfigDecode.ts"

/** nats-server `sourceHealthHB`: the one heartbeat a flow-control-acked consumer may have (1s, ns). */
export const FLOW_CONTROL_ACK_HEARTBEAT = 1_000_000_000n

/**
 * Outside pedantic mode nats-server turns flow control on and sets the heartbeat, whatever was sent:
 * the sourcing server's health checks rely on exactly that heartbeat.
 */
export const flowControlAckDefaults = (c: RawConfig, pedantic: boolean): void => {
  if (c.ack_policy !== "flow_control" || pedantic) return
  c.flow_control = true
  c.idle_heartbeat = FLOW_CONTROL_ACK_HEARTBEAT
}

export const checkFlowControlAck = (c: RawConfig): ApiError | undefined => {
  if (c.ack_policy !== "flow_control") return undefined
  if (c.deliver_subject === "") return ApiErrors.consumerAckFCRequiresPush()
  if (!c.flow_control) return ApiErrors.consumerAckFCRequiresFC()
  if (c.idle_heartbeat !== FLOW_CONTROL_ACK_HEARTBEAT) {
    return ApiErrors.streamInvalidConfig("flow control ack policy heartbeat needs to be 1s")
  }
  if (c.max_ack_pending <= 0n) return ApiErrors.consumerAckFCRequiresMaxAckPending()
  if (c.ack_wait !== 0n || (c.backoff?.length ?? 0) > 0) return ApiErrors.consumerAckFCRequiresNoAckWait()
  if (c.max_deliver > 0n) return ApiErrors.consumerAckFCRequiresNoMaxDeliver()
  return undefined
}
