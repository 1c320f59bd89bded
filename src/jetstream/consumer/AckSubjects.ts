/**
 * The two forms of a consumer's ack and flow-control reply subjects (ADR-15, nats-server 2.14):
 *
 * - v1: `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>` (9 tokens), `$JS.FC.<stream>.<consumer>.<id>`;
 * - v2: `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>[.<more>]`
 *   (11 tokens or more, the extra ones reserved), `$JS.FC.<domain>.<account hash>.<stream>.<consumer>.<id>`;
 *   the domain is `_` when there is none, the hash nats-server's getHash of the account name.
 *
 * Both are always accepted from clients; replies are written in v2 only with `feature_flags { js_ack_fc_v2: true }`.
 */
import { hash8 } from "../model/ExternalStream.ts"

export interface AckForm {
  /** The JetStream domain, `_` when none. */
  readonly domain: string
  readonly accountHash: string
  /** Write v2 replies (the `js_ack_fc_v2` feature flag). */
  readonly v2: boolean
}

export const ackForm = (domain: string | undefined, account: string, v2: boolean): AckForm => ({
  domain: domain === undefined || domain === "" ? "_" : domain,
  accountHash: hash8(account),
  v2
})

/** The subjects one consumer listens on and the prefixes its replies start with. */
export interface ConsumerAckSubjects {
  /** Subscriptions for acks: the v1 form, then the v2 form. */
  readonly ack: readonly [string, string]
  readonly fc: readonly [string, string]
  /** `$JS.ACK.…<consumer>.` of the form replies are written in. */
  readonly replyPrefix: string
  /** `$JS.FC.…<consumer>` of the form flow-control requests are written in. */
  readonly fcPrefix: string
}

export const consumerAckSubjects = (form: AckForm, stream: string, consumer: string): ConsumerAckSubjects => {
  const v2 = `${form.domain}.${form.accountHash}.${stream}.${consumer}`
  const v1 = `${stream}.${consumer}`
  return {
    ack: [`$JS.ACK.${v1}.*.*.*.*.*`, `$JS.ACK.${v2}.*.*.*.*.>`],
    fc: [`$JS.FC.${v1}.*`, `$JS.FC.${v2}.*`],
    replyPrefix: `$JS.ACK.${form.v2 ? v2 : v1}.`,
    fcPrefix: `$JS.FC.${form.v2 ? v2 : v1}`
  }
}

/**
 * nats-server ackReplyInfo's token rule: the index of the stream token of an ack subject with `tokens`
 * tokens (2 for v1's 9, 4 for v2's 11 or more), undefined for any other count.
 */
export const ackStreamToken = (tokens: number): 2 | 4 | undefined => tokens === 9 ? 2 : tokens >= 11 ? 4 : undefined
