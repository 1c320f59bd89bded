/**
 * `/healthz` (nats-server 2.9.10 `healthz`): 200 `{"status":"ok"}`, or 503 with a status and the
 * reason. A single server has no meta group or replicated assets, so `js-enabled-only` and
 * `js-server-only` can only skip checks that are no-ops there; they are still decoded (a bad value is
 * a 400, as in nats-server). In cluster mode a node that knows no meta leader is unavailable.
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
}

export interface HealthStatus {
  readonly status: "ok" | "error" | "unavailable"
  readonly error?: string
}

export interface HealthzOptions {
  readonly jsEnabledOnly: boolean
  readonly jsServerOnly: boolean
}

export const parseHealthzQuery = (q: URLSearchParams): HealthzOptions | QueryError => {
  // `js-enabled` is the deprecated spelling of `js-enabled-only` (still accepted by 2.9.10).
  const jsEnabled = queryBool(q, "js-enabled")
  if (jsEnabled instanceof QueryError) return jsEnabled
  const jsEnabledOnly = queryBool(q, "js-enabled-only")
  if (jsEnabledOnly instanceof QueryError) return jsEnabledOnly
  const jsServerOnly = queryBool(q, "js-server-only")
  if (jsServerOnly instanceof QueryError) return jsServerOnly
  return { jsEnabledOnly: jsEnabled || jsEnabledOnly, jsServerOnly }
}

export const healthz = (state: HealthState, opts: HealthzOptions): HealthStatus => {
  // nats-server starts its monitor before JetStream and the client listener, exactly as we do, so a
  // probe during stream recovery sees JetStream not yet enabled; we name the reason more precisely.
  if (state.jetstreamConfigured && !state.jetstreamReady) {
    return { status: "unavailable", error: "JetStream is recovering (not enabled yet)" }
  }
  if (!state.serverReady) {
    return { status: "error", error: "failed to be ready for connections after 1ms: startup did not complete" }
  }
  // Cluster mode, as nats-server's clustered check: `js-enabled-only` skips the meta group.
  if (state.metaLeaderKnown === false && !opts.jsEnabledOnly) {
    return { status: "unavailable", error: "JetStream has not established contact with a meta leader" }
  }
  return { status: "ok" }
}
