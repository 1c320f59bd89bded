/**
 * `pedantic` (2.11) on STREAM.CREATE / STREAM.UPDATE / CONSUMER.CREATE: where nats-server would
 * silently fill in or adjust a value of the config it was sent, a pedantic request is refused with
 * 10157 instead, so the stored config is exactly the one sent. These are the adjustments of
 * checkStreamCfg and setConsumerConfigDefaults that 2.11 guards, with its texts (some of which
 * carry the "pedantic mode: " prefix twice, since the error template adds it again).
 */
import { type ApiError, ApiErrors } from "./ApiError.ts"

const TEXTS = {
  /** The default duplicate window would be shortened to max_age. */
  duplicatesOverMaxAge: "pedantic mode: duplicate window cannot be bigger than max age",
  /** A mirror's mirror_direct would be overwritten by the origin's allow_direct. */
  mirrorDirect: "origin stream has direct get set, mirror has it disabled",
  /** An empty republish source would become `>`. */
  republishSource: "pedantic mode: republish source can not be empty",
  /** `>` → `>` would be rewritten to the subject transform's destination. */
  implicitRepublish: "implicit republish based on subject transform",
  /** ack_wait would be replaced by the first backoff. */
  backoffAckWait: "first backoff value has to equal batch AckWait",
  /** max_ack_pending would come from the stream's consumer_limits. */
  maxAckPending: "max_ack_pending must be set if it's configured in stream limits",
  /** inactive_threshold would come from the stream's consumer_limits. */
  inactiveThreshold: "inactive_threshold must be set if it's configured in stream limits",
  /** A pull consumer's max_batch would come from the server's max_request_batch. */
  maxRequestBatch: "max_request_batch must be set if it's JetStream limits are set"
} as const

export type PedanticRule = keyof typeof TEXTS

export const pedanticError = (rule: PedanticRule): ApiError => ApiErrors.pedantic(TEXTS[rule])
