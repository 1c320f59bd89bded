/**
 * `/healthz` (nats-server 2.10 `healthz`, single server): `{"status":"ok"}` with 200, or a status and
 * the reason with the HTTP code 2.10 picks (400 a bad request, 404 a missing asset, 500 not ready,
 * 503 JetStream unavailable). 2.10's `account` / `stream` / `consumer` ask for that asset to exist;
 * `details` lists errors (`errors [ { type, account, stream, consumer, error } ]`) instead of one
 * `error`. A single server has no meta group or replicated assets, so `js-enabled-only` and
 * `js-server-only` only skip checks that are no-ops here; they are still decoded (a bad value is a
 * 400, as in nats-server). In cluster mode a node that knows no meta leader is unavailable (503).
 */
import { queryBool, QueryError } from "./GoFormat.ts"

export interface HealthState {
  /** The client listener is up (nats-server `readyForConnections`). */
  readonly serverReady: boolean
  /** JetStream was asked for (config). */
  readonly jetstreamConfigured: boolean
  /** JetStream finished recovering its streams and serves the API. */
  readonly jetstreamReady: boolean
  /** Cluster mode: whether some node holds the meta lease (undefined: not clustered). */
  readonly metaLeaderKnown?: boolean | undefined
  /**
   * Cluster mode: why this node is not current (the cluster store unreachable; with `streams`, a
   * replicated stream assigned here that it does not serve), or undefined.
   */
  readonly notCurrent?: (
    streams: boolean
  ) => { readonly account?: string; readonly stream?: string; readonly error: string } | undefined
  /** Which of the asked assets is missing: a JetStream account, its stream, the stream's consumer. */
  readonly missing?: (
    account: string,
    stream: string,
    consumer: string
  ) => "account" | "stream" | "consumer" | undefined
}

export interface HealthzError {
  readonly type: "BAD_REQUEST" | "CONNECTION" | "JETSTREAM" | "ACCOUNT" | "STREAM" | "CONSUMER"
  readonly account?: string
  readonly stream?: string
  readonly consumer?: string
  readonly error: string
}

export interface HealthStatus {
  readonly status: "ok" | "error" | "unavailable"
  /** The HTTP status (nats-server `status_code`, left out of the HTTP body). */
  readonly code: number
  readonly error?: string
  readonly errors?: ReadonlyArray<HealthzError>
}

export interface HealthzOptions {
  readonly jsEnabledOnly: boolean
  readonly jsServerOnly: boolean
  readonly account?: string
  readonly stream?: string
  readonly consumer?: string
  readonly details?: boolean
}

export const parseHealthzQuery = (q: URLSearchParams): HealthzOptions | QueryError => {
  // `js-enabled` is the deprecated spelling of `js-enabled-only` (still accepted by 2.10).
  const jsEnabled = queryBool(q, "js-enabled")
  if (jsEnabled instanceof QueryError) return jsEnabled
  const jsEnabledOnly = queryBool(q, "js-enabled-only")
  if (jsEnabledOnly instanceof QueryError) return jsEnabledOnly
  const jsServerOnly = queryBool(q, "js-server-only")
  if (jsServerOnly instanceof QueryError) return jsServerOnly
  const details = queryBool(q, "details")
  if (details instanceof QueryError) return details
  return {
    jsEnabledOnly: jsEnabled || jsEnabledOnly,
    jsServerOnly,
    account: q.get("account") ?? "",
    stream: q.get("stream") ?? "",
    consumer: q.get("consumer") ?? "",
    details
  }
}

/** Go's `%q` of a plain string (JSON's escaping covers the names a stream or account can have). */
const q = (s: string) => JSON.stringify(s)

export const healthz = (state: HealthState, opts: HealthzOptions): HealthStatus => {
  const account = opts.account ?? ""
  const stream = opts.stream ?? ""
  const consumer = opts.consumer ?? ""
  // One failure: `error` and the given status, or, with `details`, an `errors` entry and "error".
  const fail = (code: number, status: "error" | "unavailable", e: HealthzError): HealthStatus =>
    opts.details === true ? { status: "error", code, errors: [e] } : { status, code, error: e.error }
  if (account === "" && stream !== "") {
    return fail(400, "error", { type: "BAD_REQUEST", error: `"account" must not be empty when checking stream health` })
  }
  if (stream === "" && consumer !== "") {
    return fail(400, "error", {
      type: "BAD_REQUEST",
      error: `"stream" must not be empty when checking consumer health`
    })
  }
  // nats-server starts its monitor before JetStream and the client listener, exactly as we do, so a
  // probe during stream recovery sees JetStream not yet enabled; we name the reason more precisely.
  if (state.jetstreamConfigured && !state.jetstreamReady) {
    return fail(503, "unavailable", { type: "JETSTREAM", error: "JetStream is recovering (not enabled yet)" })
  }
  if (!state.serverReady) {
    return fail(500, "error", {
      type: "CONNECTION",
      error: "failed to be ready for connections after 1ms: startup did not complete"
    })
  }
  if (!state.jetstreamConfigured) return { status: "ok", code: 200 }
  if (opts.jsEnabledOnly) return { status: "ok", code: 200 }
  // Cluster mode, as nats-server's clustered check: `js-enabled-only` skips the meta group.
  if (state.metaLeaderKnown === false) {
    return fail(503, "unavailable", {
      type: "JETSTREAM",
      error: "JetStream has not established contact with a meta leader"
    })
  }
  // nats-server: then current with the meta group, then (unless js-server-only) every asset assigned here.
  const behind = state.notCurrent?.(!opts.jsServerOnly)
  if (behind !== undefined) {
    return fail(503, "unavailable", {
      type: behind.stream === undefined ? "JETSTREAM" : "STREAM",
      ...(behind.account === undefined ? {} : { account: behind.account }),
      ...(behind.stream === undefined ? {} : { stream: behind.stream }),
      error: behind.error
    })
  }
  if (account === "") return { status: "ok", code: 200 }
  // 2.10 looks for file stream directories, so it misses memory streams; we look at the streams.
  switch (state.missing?.(account, stream, consumer)) {
    case "account":
      return fail(404, "unavailable", { type: "ACCOUNT", account, error: `JetStream account ${q(account)} not found` })
    case "stream":
      return fail(404, "unavailable", {
        type: "STREAM",
        account,
        stream,
        error: `JetStream stream ${q(stream)} not found on account ${q(account)}`
      })
    case "consumer":
      return fail(404, "unavailable", {
        type: "CONSUMER",
        account,
        stream,
        consumer,
        error: `JetStream consumer ${q(consumer)} not found for stream ${q(stream)} on account ${q(account)}`
      })
    default:
      return { status: "ok", code: 200 }
  }
}

/** The JSON body nats-server writes (`status_code` left out over HTTP, where it is the status line). */
export const healthBody = (s: HealthStatus, withCode: boolean): Record<string, unknown> => ({
  status: s.status,
  ...(withCode ? { status_code: s.code } : {}),
  ...(s.error !== undefined ? { error: s.error } : {}),
  ...(s.errors !== undefined ? { errors: s.errors } : {})
})
