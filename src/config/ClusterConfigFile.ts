/**
 * The `cluster { ... }` block of a nats-server configuration file (nats-server 2.9.10 `opts.go`
 * parseCluster): keys, aliases and error texts as there; unknown keys are errors. Keys nats-server
 * knows that are not built here (`tls`, `permissions`) and 2.10's `pool_size`, `compression`,
 * `accounts` are refused: each changes who may route or how, and ignoring it would run a
 * different cluster from the one configured.
 */
import * as AuthConfigFile from "../auth/AuthConfigFile.ts"
import {
  type ClusterSettings,
  DEFAULT_ROUTE_AUTH_TIMEOUT_MS,
  DEFAULT_ROUTE_PORT,
  parseRouteUrl,
  type RouteUrl
} from "../cluster/ClusterSettings.ts"
import type { ConfigEntry, Position } from "./ConfigValue.ts"

export interface ClusterIssues {
  error(pos: Position, message: string): void
  warn(pos: Position, message: string): void
}

const NOT_BUILT: Record<string, string> = {
  tls: "cluster tls is not supported yet; refusing to start with plaintext routes",
  permissions: "cluster permissions are not supported yet; refusing to start with routes unrestricted",
  pool_size: "cluster pool_size (nats-server 2.10 route pooling) is not supported",
  compression: "cluster compression (nats-server 2.10) is not supported",
  accounts: "cluster accounts (nats-server 2.10 pinned-account routes) are not supported"
}

type DurationParser = (text: string) => number | undefined

export const clusterBlock = (
  e: ConfigEntry,
  duration: DurationParser,
  issues: ClusterIssues
): ClusterSettings | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.keyPos, `Expected map to define cluster, got ${e.value._tag.toLowerCase()}`)
    return undefined
  }
  let name: string | undefined
  let host = "0.0.0.0"
  let port: number | undefined
  let routes: Array<RouteUrl> = []
  let auth: ClusterSettings["auth"]
  let advertise: string | undefined
  let noAdvertise = false
  let connectRetries = 0
  let ok = true
  const bad = (f: ConfigEntry, message: string) => {
    ok = false
    issues.error(f.keyPos, message)
  }
  const str = (f: ConfigEntry): string | undefined => {
    if (f.value._tag === "String") return f.value.value
    bad(f, `${f.key}: expected a string`)
    return undefined
  }
  const int = (f: ConfigEntry): number | undefined => {
    if (f.value._tag === "Integer") return f.value.value
    bad(f, `${f.key}: expected an integer`)
    return undefined
  }
  for (const f of e.value.entries.values()) {
    const key = f.key.toLowerCase()
    switch (key) {
      case "name": {
        const v = str(f)
        if (v !== undefined && (v === "" || /\s/.test(v))) bad(f, "cluster name cannot contain spaces or new lines")
        else name = v
        break
      }
      case "listen": {
        const v = f.value
        if (v._tag === "Integer") port = v.value
        else if (v._tag === "String") {
          const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(-?\d+)$/.exec(v.value)
          if (m === null) bad(f, `could not parse address string ${JSON.stringify(v.value)}`)
          else {
            const h = m[1] ?? m[2] ?? ""
            if (h !== "") host = h
            port = Number(m[3])
          }
        } else bad(f, `${f.key}: expected port or host:port`)
        break
      }
      case "port":
        port = int(f)
        break
      case "host":
      case "net": {
        const v = str(f)
        if (v !== undefined) host = v
        break
      }
      case "authorization": {
        const before = { ok }
        const a = AuthConfigFile.authorization(f, duration, {
          error: (pos, message) => {
            before.ok = false
            issues.error(pos, message)
          }
        })
        if (!before.ok || a === undefined) {
          ok = false
          break
        }
        if (a.users.length > 0 || a.nkeys.length > 0) {
          bad(f, "Cluster authorization does not allow multiple users")
          break
        }
        if ((a.token ?? "") !== "") {
          bad(f, "Cluster authorization does not support tokens")
          break
        }
        auth = {
          user: a.user ?? "",
          password: a.password ?? "",
          timeoutMs: a.timeoutSet === true ? a.timeoutMs : DEFAULT_ROUTE_AUTH_TIMEOUT_MS
        }
        break
      }
      case "routes": {
        const v = f.value
        if (v._tag !== "Array") {
          bad(f, `${f.key}: expected an array of route URLs`)
          break
        }
        const seen = new Set<string>()
        routes = []
        for (const item of v.items) {
          if (item._tag !== "String") {
            bad(f, `${f.key}: each route must be a URL string`)
            continue
          }
          if (seen.has(item.value)) {
            issues.warn(f.keyPos, `${item.value}: Duplicate route entry detected`)
            continue
          }
          seen.add(item.value)
          const r = parseRouteUrl(item.value)
          if (typeof r === "string") bad(f, r)
          else routes.push(r)
        }
        break
      }
      case "cluster_advertise":
      case "advertise":
        advertise = str(f)
        break
      case "no_advertise": {
        if (f.value._tag === "Bool") noAdvertise = f.value.value
        else bad(f, `${f.key}: expected a boolean`)
        break
      }
      case "connect_retries": {
        const v = int(f)
        if (v !== undefined && v < 0) bad(f, `${f.key}: must be 0 or more`)
        else if (v !== undefined) connectRetries = v
        break
      }
      default: {
        const why = NOT_BUILT[key]
        if (why !== undefined) bad(f, why)
        else if (!f.usedAsVariable) bad(f, `unknown field "${f.key}"`)
      }
    }
  }
  if (port === undefined || port === 0) {
    // nats-server runs no routing at all for a cluster block without a port: say so instead.
    issues.error(e.keyPos, `cluster: a listen port is required (for example listen: 0.0.0.0:${DEFAULT_ROUTE_PORT})`)
    return undefined
  }
  if (port < -1 || port > 65535) {
    issues.error(e.keyPos, `cluster port ${port} is out of range (use 0..65535, or -1 for a random port)`)
    return undefined
  }
  if (!ok) return undefined
  return {
    name,
    host,
    port,
    routes,
    auth,
    advertise,
    noAdvertise,
    connectRetries
  }
}
