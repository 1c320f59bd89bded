/**
 * CONNECT options: decoded once per connection with a Schema. Unknown fields are ignored (as
 * nats-server does) but a field of the wrong type rejects the whole CONNECT.
 */
import { Schema } from "effect"

export const ConnectOptions = Schema.Struct({
  verbose: Schema.optionalKey(Schema.Boolean),
  pedantic: Schema.optionalKey(Schema.Boolean),
  echo: Schema.optionalKey(Schema.Boolean),
  headers: Schema.optionalKey(Schema.Boolean),
  no_responders: Schema.optionalKey(Schema.Boolean),
  tls_required: Schema.optionalKey(Schema.Boolean),
  name: Schema.optionalKey(Schema.String),
  lang: Schema.optionalKey(Schema.String),
  version: Schema.optionalKey(Schema.String),
  protocol: Schema.optionalKey(Schema.Number),
  user: Schema.optionalKey(Schema.String),
  pass: Schema.optionalKey(Schema.String),
  auth_token: Schema.optionalKey(Schema.String),
  nkey: Schema.optionalKey(Schema.String),
  sig: Schema.optionalKey(Schema.String),
  jwt: Schema.optionalKey(Schema.String)
})
export type ConnectOptions = typeof ConnectOptions.Type

const decode = Schema.decodeUnknownResult(ConnectOptions)

export type ConnectDecode =
  | { readonly ok: true; readonly options: ConnectOptions }
  | { readonly ok: false; readonly reason: string }

export const decodeConnect = (json: string): ConnectDecode => {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch (e) {
    return { ok: false, reason: `CONNECT is not JSON: ${(e as Error).message}` }
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: "CONNECT must be a JSON object" }
  }
  const r = decode(raw)
  return r._tag === "Success" ? { ok: true, options: r.success } : { ok: false, reason: String(r.failure) }
}
