/**
 * The cluster store's URL: one PostgreSQL, or libpq's multi-host form for a replicated PostgreSQL
 * (`postgres://user@h1:p1,h2:p2,h3:p3/db?target_session_attrs=read-write`), where every session
 * must reach the host that currently accepts writes (src/cluster/store/PrimaryConnector.ts).
 *
 * node-postgres reads only single-host URLs, so the multi-host form is split here into one URL per
 * host (same user, database and parameters). A URL without target_session_attrs and with one host is
 * handed to node-postgres unchanged.
 */

export interface StoreHost {
  readonly host: string
  readonly port: number
  /** The single-host URL node-postgres connects with. */
  readonly url: string
}

/** libpq's two session attributes that mean "the writable server"; the others would pick a standby. */
export type SessionAttrs = "read-write" | "primary"

export type StoreUrl =
  | { readonly _tag: "Single"; readonly url: string }
  | { readonly _tag: "Primary"; readonly hosts: ReadonlyArray<StoreHost>; readonly attrs: SessionAttrs }

const shape = /^(postgres(?:ql)?):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/

const port = (text: string, whole: string): number | string => {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    return `port ${JSON.stringify(text)} of ${JSON.stringify(whole)} is not a port number (1-65535)`
  }
  return Number(text)
}

/** One `host[:port]` or `[ipv6][:port]` of the host list (libpq's default port 5432 when omitted). */
const hostPort = (item: string): { host: string; port: number } | string => {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(.*))?$/.exec(item)
  if (m === null) return `${JSON.stringify(item)} is not host[:port]`
  if (m[2] === undefined) return { host: m[1]!, port: 5432 }
  const p = port(m[2], item)
  return typeof p === "string" ? p : { host: m[1]!, port: p }
}

/** The URL decoded, or the reason it is refused (a message naming the offending part). */
export const parseStoreUrl = (url: string): StoreUrl | string => {
  const m = shape.exec(url)
  if (m === null) return `must be a postgres:// URL, got ${JSON.stringify(url)}`
  const [, scheme, authority, path = "", query = ""] = m
  const at = authority!.lastIndexOf("@")
  const userinfo = at < 0 ? "" : authority!.slice(0, at + 1)
  const list = authority!.slice(at + 1)
  const params = new URLSearchParams(query.slice(1))
  const attrs = params.getAll("target_session_attrs")
  const items = list.split(",")
  if (items.length === 1 && attrs.length === 0) return { _tag: "Single", url }
  if (attrs.length !== 1 || (attrs[0] !== "read-write" && attrs[0] !== "primary")) {
    const got = attrs.length === 0 ? "none" : attrs.map((a) => JSON.stringify(a)).join(", ")
    return `a cluster_store URL with several hosts needs target_session_attrs=read-write or primary ` +
      `(every session must reach the server that accepts writes), got ${got}`
  }
  for (const key of ["host", "hostaddr", "port"]) {
    if (params.has(key)) return `the ${key} parameter cannot be combined with a host list in the URL`
  }
  const hosts: Array<StoreHost> = []
  params.delete("target_session_attrs")
  const rest = params.size === 0 ? "" : `?${params.toString()}`
  for (const item of items) {
    if (item === "") return `empty host in the host list of ${JSON.stringify(url)}`
    const hp = hostPort(item)
    if (typeof hp === "string") return hp
    if (hosts.some((h) => h.host === hp.host && h.port === hp.port)) {
      return `host ${hp.host}:${hp.port} is listed twice`
    }
    hosts.push({ ...hp, url: `${scheme}://${userinfo}${hp.host}:${hp.port}${path}${rest}` })
  }
  return { _tag: "Primary", hosts, attrs: attrs[0] }
}
