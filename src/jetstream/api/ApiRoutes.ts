/**
 * The `$JS.API.<op>` routing table: each operation's response type, handler and nats-server's
 * error-reply members, and the subject parser that finds the route and its name token.
 * Shared by every account's JetStream (AccountJetStream.ts).
 */
import { Cause, Effect } from "effect"
import { type ApiError, ApiErrors } from "../model/ApiError.ts"
import * as ConsumerApi from "./ConsumerApi.ts"
import * as StreamApi from "./StreamApi.ts"

/** Response types are `io.nats.jetstream.api.v1.<type>`. */
export const T = "io.nats.jetstream.api.v1."

export type Route = (ctx: StreamApi.ApiContext, token: string, body: Uint8Array) => StreamApi.ApiHandler

export interface RouteSpec {
  /** The response type, without the `io.nats.jetstream.api.v1.` prefix. */
  readonly type: string
  readonly run: Route
  /** Members of nats-server's response struct without `omitempty`: they are in its error replies too. */
  readonly zero?: Record<string, unknown>
  /** nats-server's catch-all error for the operation, for a failure that is not an `ApiError` (a defect). */
  readonly general?: (err: string) => ApiError
  /** False: nobody answers (nats-server serves the operation from a subscription of the asset, if it exists). */
  readonly answers?: (ctx: StreamApi.ApiContext) => boolean
}

const PAGED_ZERO = { total: 0, offset: 0, limit: 0 }
/** `JSApiConsumerPauseResponse` members without omitempty (a Go time.Time is never omitted). */
const PAUSE_ZERO = { paused: false, pause_until: "0001-01-01T00:00:00Z" }

/** `$JS.API.<op>` → response type and handler; `token` is the stream name where the subject has one. */
const routes: Record<string, RouteSpec & { readonly named: boolean }> = {
  // A single server has no leaders to move (cluster mode answers before this route runs).
  "STREAM.LEADER.STEPDOWN": {
    type: "stream_leader_stepdown_response",
    named: true,
    run: () => Effect.fail(ApiErrors.clusterRequired())
  },
  "STREAM.CREATE": {
    type: "stream_create_response",
    named: true,
    run: StreamApi.createStream,
    general: ApiErrors.streamCreate
  },
  "STREAM.UPDATE": {
    type: "stream_update_response",
    named: true,
    run: StreamApi.updateStream,
    general: ApiErrors.streamUpdate
  },
  "STREAM.INFO": { type: "stream_info_response", named: true, run: StreamApi.streamInfoRequest, zero: PAGED_ZERO },
  "STREAM.DELETE": {
    type: "stream_delete_response",
    named: true,
    run: StreamApi.deleteStream,
    general: ApiErrors.streamDelete
  },
  "STREAM.PURGE": { type: "stream_purge_response", named: true, run: StreamApi.purgeStream, zero: { purged: 0 } },
  "STREAM.MSG.GET": { type: "stream_msg_get_response", named: true, run: StreamApi.getMessage },
  "STREAM.MSG.DELETE": {
    type: "stream_msg_delete_response",
    named: true,
    run: StreamApi.deleteMessage,
    general: ApiErrors.streamMsgDeleteFailed
  },
  "STREAM.NAMES": {
    type: "stream_names_response",
    named: false,
    run: (ctx, _t, body) => StreamApi.streamNames(ctx, body),
    zero: { ...PAGED_ZERO, streams: null }
  },
  "STREAM.LIST": {
    type: "stream_list_response",
    named: false,
    run: (ctx, _t, body) => StreamApi.streamList(ctx, body),
    zero: { ...PAGED_ZERO, streams: [] }
  }
}

export const PREFIX = "$JS.API."
export const NEXT_PREFIX = "$JS.API.CONSUMER.MSG.NEXT."
/** Answered by each stream's own subscription (DirectGet.ts), never by an API route. */
export const DIRECT_GET_PREFIX = "$JS.API.DIRECT.GET."

export type Resolved = { readonly route: RouteSpec; readonly token: string }

/** `$JS.API.CONSUMER.*` subjects carry one or two names (and a filter for CREATE). */
const resolveConsumer = (subject: string): Resolved | undefined => {
  const t = subject.split(".")
  const run = (
    type: string,
    f: (ctx: StreamApi.ApiContext, body: Uint8Array) => StreamApi.ApiHandler,
    extra: Omit<RouteSpec, "type" | "run"> = {}
  ): Resolved => ({ route: { type, run: (ctx, _token, body) => f(ctx, body), ...extra }, token: "" })
  const create = { general: ApiErrors.consumerCreate }
  const list = { zero: { ...PAGED_ZERO, consumers: [] } }
  switch (t[3]) {
    case "CREATE":
      if (t.length >= 5 && t[4] !== "") {
        return run("consumer_create_response", (ctx, b) => ConsumerApi.createConsumer(ctx, subject, t[4]!, b), create)
      }
      return undefined
    case "DURABLE":
      if (t[4] === "CREATE" && t.length === 7) {
        return run("consumer_create_response", (ctx, b) => ConsumerApi.createConsumer(ctx, subject, t[5]!, b), create)
      }
      return undefined
    case "INFO":
      if (t.length === 6) {
        return run("consumer_info_response", (ctx, b) => ConsumerApi.consumerInfoRequest(ctx, t[4]!, t[5]!, b))
      }
      return undefined
    case "DELETE":
      if (t.length === 6) {
        return run("consumer_delete_response", (ctx, b) => ConsumerApi.deleteConsumer(ctx, t[4]!, t[5]!, b))
      }
      return undefined
    case "PAUSE":
      if (t.length === 6) {
        return run("consumer_pause_response", (ctx, b) => ConsumerApi.pauseConsumer(ctx, t[4]!, t[5]!, b), {
          zero: PAUSE_ZERO
        })
      }
      return undefined
    case "RESET":
      // 2.14: served by the consumer's own subscription in nats-server, so a missing one is silence.
      if (t.length === 6) {
        return run("consumer_reset_response", (ctx, b) => ConsumerApi.resetConsumer(ctx, t[4]!, t[5]!, b), {
          zero: { reset_seq: 0 },
          answers: (ctx) => ctx.registry.getConsumer(t[4]!, t[5]!) !== undefined
        })
      }
      return undefined
    case "UNPIN":
      if (t.length === 6) {
        return run("consumer_unpin_response", (ctx, b) => ConsumerApi.unpinConsumer(ctx, t[4]!, t[5]!, b))
      }
      return undefined
    case "NAMES":
      if (t.length === 5) {
        return run("consumer_names_response", (ctx, b) => ConsumerApi.consumerNames(ctx, t[4]!, b), list)
      }
      return undefined
    case "LIST":
      if (t.length === 5) {
        return run("consumer_list_response", (ctx, b) => ConsumerApi.consumerList(ctx, t[4]!, b), list)
      }
      return undefined
    case "LEADER":
      // A single server has no leaders to move (cluster mode answers before this route runs).
      if (t[4] === "STEPDOWN" && t.length === 7) {
        return run("consumer_leader_stepdown_response", () => Effect.fail(ApiErrors.clusterRequired()))
      }
      return undefined
    default:
      return undefined
  }
}

/** Splits `$JS.API.STREAM.MSG.GET.ORDERS` into the route and the name token. */
export const resolve = (subject: string): Resolved | undefined => {
  const rest = subject.slice(PREFIX.length)
  if (rest.startsWith("CONSUMER.")) return resolveConsumer(subject)
  for (const [op, route] of Object.entries(routes)) {
    if (route.named) {
      if (rest.startsWith(op + ".")) {
        const token = rest.slice(op.length + 1)
        // A name is a single token; deeper subjects belong to other operations or none.
        if (token !== "" && !token.includes(".")) return { route, token }
      }
    } else if (rest === op) {
      return { route, token: "" }
    }
  }
  return undefined
}

/**
 * System-level directives nats-server's apiDispatch drops before routing (meta leader stepdown,
 * server removal, the `$JS.API.ACCOUNT.` operations): never answered from an account's API.
 */
export const isSystemDirective = (subject: string): boolean =>
  subject === `${PREFIX}META.LEADER.STEPDOWN` || subject === `${PREFIX}SERVER.REMOVE` ||
  subject.startsWith(`${PREFIX}ACCOUNT.`)

/** The text of a defect for the catch-all error: the thrown error's message, never a rendered cause. */
export const defectText = (cause: Cause.Cause<unknown>): string => {
  const e = Cause.squash(cause)
  return e instanceof Error ? e.message : "internal error"
}
