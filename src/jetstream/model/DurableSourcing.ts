/**
 * Durable sourcing (2.14, ADR-60): a mirror or source that follows a durable push consumer the user
 * created on the origin (`consumer { name, deliver_subject }`) instead of one the stream asks for.
 * The consumer's own config says where to start and what to take, so the source may not say it too
 * (no opt_start_seq / opt_start_time / filter_subject); nats-server checkStreamCfg's rules, in its order.
 * Whether the consumer is acked by flow control is only known once the follower reaches it
 * (stream/ConsumerSource.ts reports 10214 / 10217 in the source's info).
 */
import { type ApiError, ApiErrors } from "./ApiError.ts"
import { indexName } from "./ExternalStream.ts"
import { hasPathSeparator, isGoValidName, isLiteralSubject, isValidSubject } from "./Names.ts"
import type { RawSource } from "./StreamConfigDecode.ts"

/** nats-server `StreamConsumerSource`: the consumer's name and the subject it delivers to. */
export interface StreamConsumerSource {
  readonly name: string
  readonly deliver_subject: string
}

/** The mirror's or a source's `consumer`: 10213 / 10215 when it cannot name a usable consumer. */
export const checkDurableSourcing = (src: RawSource, kind: "mirror" | "source"): ApiError | undefined => {
  const c = src.consumer
  if (c === undefined) return undefined
  const invalid = kind === "mirror"
    ? ApiErrors.mirrorDurableConsumerCfgInvalid
    : ApiErrors.sourceDurableConsumerCfgInvalid
  // nats-server isValidAssetName.
  if (!isGoValidName(c.name) || hasPathSeparator(c.name)) return invalid()
  if (!isValidSubject(c.deliver_subject) || !isLiteralSubject(c.deliver_subject)) return invalid()
  if (src.opt_start_seq !== 0n || src.opt_start_time !== undefined) return invalid()
  if (src.filter_subject !== "") return invalid()
  return undefined
}

/**
 * nats-server composeCName: two sources of one stream (other filters or transforms) may not follow
 * one consumer, each would take the other's deliveries. Called per source after checkDurableSourcing.
 */
export const checkDuplicateConsumer = (src: RawSource, seen: Set<string>): ApiError | undefined => {
  if (src.consumer === undefined) return undefined
  const key = `${indexName({ name: src.name, external: src.external })} ${src.consumer.name}`
  if (seen.has(key)) return ApiErrors.sourceDurableConsumerDuplicateDetected()
  seen.add(key)
  return undefined
}
