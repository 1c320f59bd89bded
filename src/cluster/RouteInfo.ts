/**
 * The INFO and CONNECT objects servers exchange on a route (nats-server `Info` / `connectInfo`
 * as a route fills them). Decoded field by field with their types checked; fields this server
 * does not use are let through, as nats-server's JSON decoding does, because a newer peer sends
 * more of them and a route must still form.
 */

export interface RouteInfo {
  readonly server_id: string
  readonly server_name: string
  readonly version: string
  readonly proto: number
  readonly go?: string
  readonly host: string
  readonly port: number
  readonly headers: boolean
  readonly auth_required?: boolean
  readonly tls_required?: boolean
  readonly max_payload: number
  readonly jetstream?: boolean
  readonly cluster?: string
  readonly dynamic?: boolean
  /** The sender's client URLs (what clients may connect to). */
  readonly connect_urls?: ReadonlyArray<string>
  /** The sender's WebSocket client URLs (what its WebSocket clients may connect to). */
  readonly ws_connect_urls?: ReadonlyArray<string>
  /** Gossip: where another server's routes listen (`nats-route://host:port/`). */
  readonly ip?: string
  readonly nonce?: string
  readonly lnoc?: boolean
  /** nats-server lame-duck notice to its routes. */
  readonly ldm?: boolean
}

export interface RouteConnectOptions {
  readonly user?: string
  readonly pass?: string
  readonly name?: string
  readonly cluster?: string
  readonly dynamic?: boolean
  readonly headers?: boolean
  /** Present only on client CONNECTs: a client dialled the route port. */
  readonly lang?: string
  readonly gateway?: string
}

type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string }

const types: Record<string, "string" | "number" | "boolean" | "strings"> = {
  server_id: "string",
  server_name: "string",
  version: "string",
  proto: "number",
  go: "string",
  host: "string",
  port: "number",
  headers: "boolean",
  auth_required: "boolean",
  tls_required: "boolean",
  max_payload: "number",
  jetstream: "boolean",
  cluster: "string",
  dynamic: "boolean",
  connect_urls: "strings",
  ws_connect_urls: "strings",
  ip: "string",
  nonce: "string",
  lnoc: "boolean",
  ldm: "boolean",
  user: "string",
  pass: "string",
  name: "string",
  lang: "string",
  gateway: "string"
}

const decodeObject = (json: string): Decoded<Record<string, unknown>> => {
  let v: unknown
  try {
    v = JSON.parse(json)
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { ok: false, reason: "not a JSON object" }
  const o = v as Record<string, unknown>
  for (const [k, t] of Object.entries(types)) {
    const x = o[k]
    if (x === undefined || x === null) continue
    const good = t === "strings" ? Array.isArray(x) && x.every((s) => typeof s === "string") : typeof x === t
    if (!good) return { ok: false, reason: `field ${k} must be ${t === "strings" ? "an array of strings" : `a ${t}`}` }
  }
  return { ok: true, value: o }
}

export const decodeRouteInfo = (json: string): Decoded<RouteInfo> => {
  const d = decodeObject(json)
  if (!d.ok) return d
  const o = d.value
  if (typeof o.server_id !== "string" || o.server_id === "") return { ok: false, reason: "INFO has no server_id" }
  return {
    ok: true,
    value: {
      ...o,
      server_name: typeof o.server_name === "string" ? o.server_name : o.server_id,
      version: typeof o.version === "string" ? o.version : "",
      proto: typeof o.proto === "number" ? o.proto : 0,
      host: typeof o.host === "string" ? o.host : "",
      port: typeof o.port === "number" ? o.port : 0,
      headers: o.headers === true,
      max_payload: typeof o.max_payload === "number" ? o.max_payload : 0
    } as RouteInfo
  }
}

export const decodeRouteConnect = (json: string): Decoded<RouteConnectOptions> => {
  const d = decodeObject(json)
  return d.ok ? { ok: true, value: d.value as RouteConnectOptions } : d
}
