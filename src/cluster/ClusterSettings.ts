/**
 * The `cluster { }` block and the `--cluster`/`--routes` flags as one record: where this server
 * listens for routes, which servers it dials, what it requires of servers that dial it.
 */

/** A route URL (`nats://[user:pass@]host:port`), parsed once at load. */
export interface RouteUrl {
  /** As written, for logs and /varz. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly user: string | undefined
  readonly password: string | undefined
}

export interface ClusterSettings {
  /** Undefined: a generated name that yields to a peer's (nats-server's dynamic cluster name). */
  readonly name: string | undefined
  readonly host: string
  /** -1 picks a random free port. */
  readonly port: number
  /** Explicit routes: dialled forever. */
  readonly routes: ReadonlyArray<RouteUrl>
  /** Required of servers that dial us, and sent with implicit routes we dial. */
  readonly auth: { readonly user: string; readonly password: string; readonly timeoutMs: number } | undefined
  /** `host:port` announced to other servers instead of the listen address. */
  readonly advertise: string | undefined
  /** Do not tell clients about the other servers' client URLs. */
  readonly noAdvertise: boolean
  /** Attempts for an implicit (gossiped) route before giving up; explicit routes retry forever. */
  readonly connectRetries: number
}

export const DEFAULT_ROUTE_PORT = 6222
/** nats-server DEFAULT_ROUTE_CONNECT: the pause between two attempts to dial a route. */
export const ROUTE_RECONNECT_MS = 1_000
/** nats-server AUTH_TIMEOUT for routes without `authorization { timeout }`. */
export const DEFAULT_ROUTE_AUTH_TIMEOUT_MS = 2_000

/** nats-server parseURL for a route: `nats://` (or `nats-route://`) with a host and a port. */
export const parseRouteUrl = (text: string): RouteUrl | string => {
  let u: URL
  try {
    u = new URL(text.trim())
  } catch {
    return `error parsing route url [${JSON.stringify(text)}]`
  }
  if (u.protocol !== "nats:" && u.protocol !== "nats-route:") {
    return `route url ${JSON.stringify(text)}: the scheme must be nats:// (got ${u.protocol}//)`
  }
  if (u.hostname === "") return `route url ${JSON.stringify(text)} has no host`
  const port = u.port === "" ? DEFAULT_ROUTE_PORT : Number(u.port)
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname
  return {
    url: text.trim(),
    host,
    port,
    user: u.username === "" ? undefined : decodeURIComponent(u.username),
    password: u.password === "" ? undefined : decodeURIComponent(u.password)
  }
}

/** What `--cluster`, `--routes`, `--cluster_name`, `--cluster_advertise` and `--no_advertise` set. */
export interface ClusterFlags {
  readonly listen?: RouteUrl
  readonly routes?: ReadonlyArray<RouteUrl>
  readonly name?: string
  readonly advertise?: string
  readonly noAdvertise?: boolean
  readonly connectRetries?: number
}

/** nats-server overrideCluster: flags replace the block's fields one by one; `--cluster` alone makes a cluster. */
export const mergeFlags = (
  file: ClusterSettings | undefined,
  flags: ClusterFlags | undefined
): ClusterSettings | undefined => {
  if (flags === undefined) return file
  const base: ClusterSettings = file ?? {
    name: undefined,
    host: "0.0.0.0",
    port: DEFAULT_ROUTE_PORT,
    routes: [],
    auth: undefined,
    advertise: undefined,
    noAdvertise: false,
    connectRetries: 0
  }
  if (file === undefined && flags.listen === undefined) return undefined
  const l = flags.listen
  return {
    ...base,
    ...(l === undefined ? {} : {
      host: l.host,
      port: l.port,
      // nats-server: credentials in --cluster are the ones required of inbound routes.
      ...(l.user === undefined ? {} : {
        auth: {
          user: l.user,
          password: l.password ?? "",
          timeoutMs: base.auth?.timeoutMs ?? DEFAULT_ROUTE_AUTH_TIMEOUT_MS
        }
      })
    }),
    ...(flags.routes === undefined ? {} : { routes: flags.routes }),
    ...(flags.name === undefined ? {} : { name: flags.name }),
    ...(flags.advertise === undefined ? {} : { advertise: flags.advertise }),
    ...(flags.noAdvertise === undefined ? {} : { noAdvertise: flags.noAdvertise }),
    ...(flags.connectRetries === undefined ? {} : { connectRetries: flags.connectRetries })
  }
}
