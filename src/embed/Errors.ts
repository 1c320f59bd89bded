/**
 * Typed failures of the embedded client. They mirror what a socket client can observe, so code
 * written against the embedded API handles the same cases it would over TCP.
 */
import { Schema } from "effect"

/**
 * The JetStream API answered with an error: nats-server's HTTP-ish `code`, its stable `errCode`
 * (e.g. 10059 stream not found, 10071 wrong last sequence) and the description.
 */
export class JetStreamApiError extends Schema.TaggedError<JetStreamApiError>()("JetStreamApiError", {
  code: Schema.Number,
  errCode: Schema.Number,
  description: Schema.String
}) {
  override get message(): string {
    return `${this.description} (code ${this.code}, err_code ${this.errCode})`
  }
}

/** Nobody is subscribed to the subject of a request (for a JetStream publish: no stream captures it). */
export class NoRespondersError extends Schema.TaggedError<NoRespondersError>()("NoRespondersError", {
  subject: Schema.String
}) {
  override get message(): string {
    return `no responders for ${this.subject}`
  }
}

/** A request got no reply in time. */
export class RequestTimeoutError extends Schema.TaggedError<RequestTimeoutError>()("RequestTimeoutError", {
  subject: Schema.String
}) {
  override get message(): string {
    return `request on ${this.subject} timed out`
  }
}

/** A subject that cannot be published or subscribed to (empty token, wildcard in a publish, …). */
export class InvalidSubjectError extends Schema.TaggedError<InvalidSubjectError>()("InvalidSubjectError", {
  subject: Schema.String
}) {
  override get message(): string {
    return `invalid subject ${JSON.stringify(this.subject)}`
  }
}

/**
 * A pull consumer's stream ended because the broker refused or cancelled the pull, with the
 * status it sent (e.g. `409 Consumer Deleted`).
 */
export class ConsumeError extends Schema.TaggedError<ConsumeError>()("ConsumeError", {
  stream: Schema.String,
  consumer: Schema.String,
  status: Schema.String
}) {
  override get message(): string {
    return `consumer ${this.stream} > ${this.consumer}: ${this.status}`
  }
}

/** The embedded broker's configuration did not decode. */
export class BrokerConfigError extends Schema.TaggedError<BrokerConfigError>()("BrokerConfigError", {
  message: Schema.String
}) {}

/**
 * Every failure of a request to the JetStream API (an invalid subject: a stream or consumer name
 * that cannot be a subject token).
 */
export type JetStreamError = JetStreamApiError | NoRespondersError | RequestTimeoutError | InvalidSubjectError
