/**
 * The shapes of the NATS JWT claims we read, as Effect Schemas: a field of the wrong JSON type
 * makes the whole JWT invalid, as Go's `json.Unmarshal` into jwt/v2's structs does (so
 * nats-server reports `invalid account JWT` at load, or refuses the user). Unknown fields are
 * ignored, as in Go; `null` reads as absent, as Go's zero values.
 */
import { Schema } from "effect"

const opt = <S extends Schema.Top>(s: S) => Schema.optionalKey(Schema.NullOr(s))
const Int = Schema.Number.check(Schema.isInt())
const Strings = Schema.Array(Schema.String)

const Permission = Schema.Struct({ allow: opt(Strings), deny: opt(Strings) })
const ResponsePermission = Schema.Struct({ max: opt(Int), ttl: opt(Int) })
const PermissionFields = { pub: opt(Permission), sub: opt(Permission), resp: opt(ResponsePermission) }

const Claims = {
  sub: Schema.String,
  iss: Schema.String,
  iat: opt(Int),
  exp: opt(Int),
  nbf: opt(Int),
  name: opt(Schema.String)
}

export const UserClaimsShape = Schema.Struct({
  ...Claims,
  nats: opt(Schema.Struct({
    ...PermissionFields,
    src: opt(Strings),
    times: opt(Schema.Array(Schema.Struct({ start: opt(Schema.String), end: opt(Schema.String) }))),
    times_location: opt(Schema.String),
    bearer_token: opt(Schema.Boolean),
    allowed_connection_types: opt(Strings),
    issuer_account: opt(Schema.String),
    subs: opt(Int),
    data: opt(Int),
    payload: opt(Int)
  }))
})

const JetStreamLimits = Schema.Struct({
  mem_storage: opt(Int),
  disk_storage: opt(Int),
  streams: opt(Int),
  consumer: opt(Int),
  max_ack_pending: opt(Int),
  mem_max_stream_bytes: opt(Int),
  disk_max_stream_bytes: opt(Int),
  max_bytes_required: opt(Schema.Boolean)
})

const Export = Schema.Struct({
  subject: Schema.String,
  type: Schema.String,
  token_req: opt(Schema.Boolean),
  response_type: opt(Schema.String),
  response_threshold: opt(Int),
  account_token_position: opt(Int)
})

const Import = Schema.Struct({
  subject: Schema.String,
  account: Schema.String,
  type: Schema.String,
  token: opt(Schema.String),
  to: opt(Schema.String),
  local_subject: opt(Schema.String),
  share: opt(Schema.Boolean)
})

export const AccountClaimsShape = Schema.Struct({
  ...Claims,
  nats: opt(Schema.Struct({
    imports: opt(Schema.Array(Import)),
    exports: opt(Schema.Array(Export)),
    limits: opt(Schema.Struct({
      ...JetStreamLimits.fields,
      subs: opt(Int),
      data: opt(Int),
      payload: opt(Int),
      imports: opt(Int),
      exports: opt(Int),
      wildcards: opt(Schema.Boolean),
      disallow_bearer: opt(Schema.Boolean),
      conn: opt(Int),
      leaf: opt(Int),
      tiered_limits: opt(Schema.Record(Schema.String, JetStreamLimits))
    })),
    signing_keys: opt(
      Schema.Array(Schema.Union([Schema.String, Schema.Struct({ kind: Schema.String, key: Schema.String })]))
    ),
    revocations: opt(Schema.Record(Schema.String, Int)),
    default_permissions: opt(Schema.Struct(PermissionFields)),
    disallow_bearer: opt(Schema.Boolean)
  }))
})

export const OperatorClaimsShape = Schema.Struct({
  ...Claims,
  nats: opt(Schema.Struct({
    signing_keys: opt(Strings),
    account_server_url: opt(Schema.String),
    system_account: opt(Schema.String),
    strict_signing_key_usage: opt(Schema.Boolean),
    assert_server_version: opt(Schema.String)
  }))
})

const checker = (s: Schema.Top) => {
  const decode = Schema.decodeUnknownResult(s as Schema.Codec<unknown>)
  return (claims: unknown): string | undefined => {
    const r = decode(claims)
    return r._tag === "Success" ? undefined : String(r.failure)
  }
}

export const userShapeError = checker(UserClaimsShape)
export const accountShapeError = checker(AccountClaimsShape)
export const operatorShapeError = checker(OperatorClaimsShape)
