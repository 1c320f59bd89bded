/**
 * An account JWT's claims as AccountSettings, the model the account runtime builds accounts
 * from (nats-server `accounts.go` updateAccountClaimsWithRefresh): JetStream limits (plain or
 * per-tier), the connection limit, exports and imports, default permissions and revocations.
 *
 * Claims we do not implement are refused (a string naming the field), never dropped: subject
 * mappings, external authorization, activation tokens (`token_req`, import `token`), service
 * latency tracking, scoped signing keys (user permission templates), and any subscription/payload/data limit other than unlimited (-1). Note that
 * Go reads an absent limit as 0, so `conn`, `subs`, `payload` and `data` must be written
 * (nsc writes -1).
 */
import type { Account, Export, Import } from "@nats-io/jwt"
import type {
  AccountSettings,
  JetStreamLimits,
  ResponseType,
  ServiceExport,
  ServiceImport,
  StreamExport,
  StreamImport
} from "../../accounts/AccountSettings.ts"
import type { AccountClaims } from "./JwtClaims.ts"
import { permissionsFromJwt } from "./JwtPermissions.ts"

/** nats-server DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD. */
const RESPONSE_THRESHOLD_MS = 2 * 60 * 1000

const num = (v: unknown): number => (typeof v === "number" ? v : 0)
const toUnlimited = (v: unknown): number => (num(v) > 0 ? num(v) : -1)

type JsFields = Partial<NonNullable<Account["limits"]>>

/** jwt/v2 JetStreamLimits → nats-server JetStreamAccountLimits (0 storage = disabled, 0 stream bytes = unlimited). */
const jsLimits = (l: JsFields): JetStreamLimits => ({
  maxMemory: num(l.mem_storage),
  maxStore: num(l.disk_storage),
  maxStreams: num(l.streams),
  maxConsumers: num(l.consumer),
  maxAckPending: toUnlimited(l.max_ack_pending),
  memoryMaxStreamBytes: toUnlimited(l.mem_max_stream_bytes),
  storeMaxStreamBytes: toUnlimited(l.disk_max_stream_bytes),
  maxBytesRequired: l.max_bytes_required === true
})

const JS_FIELDS = [
  "mem_storage",
  "disk_storage",
  "streams",
  "consumer",
  "max_ack_pending",
  "mem_max_stream_bytes",
  "disk_max_stream_bytes",
  "max_bytes_required"
] as const

const enabled = (l: JsFields | undefined) => l !== undefined && (num(l.mem_storage) !== 0 || num(l.disk_storage) !== 0)

const responseType = (
  t: unknown
): ResponseType => (t === "Stream" ? "Stream" : t === "Chunked" ? "Chunked" : "Singleton")

export type AccountConversion =
  | { readonly ok: true; readonly account: AccountSettings }
  | { readonly ok: false; readonly error: string }

export const accountFromClaims = (claims: AccountClaims): AccountConversion => {
  const nats = (claims.nats ?? {}) as Partial<Account> & Record<string, unknown>
  const refuse = (what: string): AccountConversion => ({
    ok: false,
    error: `account ${claims.sub}: ${what} not supported yet`
  })
  const invalid = (issue: string): AccountConversion => ({
    ok: false,
    error: `account ${claims.sub}: validation error: ${issue}`
  })
  if (nats.mappings !== undefined && Object.keys(nats.mappings as object).length > 0) {
    return refuse("subject mappings are")
  }
  if (nats.authorization !== undefined && (nats.authorization.auth_users ?? []).length > 0) {
    return refuse("external authorization (auth callout) is")
  }
  if ((nats.signing_keys ?? []).some((k) => typeof k !== "string")) {
    return refuse("scoped signing keys (user_scope templates) are")
  }
  const limits = (nats.limits ?? {}) as JsFields
  // payload is applied per connection by the operator Authenticator; `data` nats-server 2.9.10
  // never reads; a subscription limit is not built yet.
  if (num(limits.subs) !== -1) return refuse(`limits.subs ${num(limits.subs)} (only -1, unlimited, is)`)

  const streamsExp: Array<StreamExport> = []
  const servicesExp: Array<ServiceExport> = []
  for (const e of (nats.exports ?? []) as ReadonlyArray<Export>) {
    if (e.token_req === true) return refuse(`export ${JSON.stringify(e.subject)}: token_req (activation tokens) is`)
    if (e.service_latency !== undefined) return refuse(`export ${JSON.stringify(e.subject)}: service_latency is`)
    if (e.type === "stream") streamsExp.push({ subject: e.subject, accounts: undefined })
    else if (e.type === "service") {
      servicesExp.push({
        subject: e.subject,
        accounts: undefined,
        responseType: responseType(e.response_type),
        // Go duration (ns) in the JWT.
        responseThresholdMs: num(e.response_threshold) > 0 ? num(e.response_threshold) / 1e6 : RESPONSE_THRESHOLD_MS
      })
    } else return refuse(`export of type ${JSON.stringify(e.type)} is`)
  }

  const streamsImp: Array<StreamImport> = []
  const servicesImp: Array<ServiceImport> = []
  for (const i of (nats.imports ?? []) as ReadonlyArray<Import>) {
    if ((i.token ?? "") !== "") return refuse(`import ${JSON.stringify(i.subject)}: activation tokens are`)
    if (i.share === true) return refuse(`import ${JSON.stringify(i.subject)}: share (latency tracing) is`)
    const local = i.local_subject ?? ""
    if (/\$\d/.test(local)) {
      return refuse(`import ${JSON.stringify(i.subject)}: local_subject wildcard references ($1) are`)
    }
    if (i.type === "stream") {
      // local_subject wins over the deprecated `to` (nats-server: "set local subject implies to is empty").
      if (local !== "") streamsImp.push({ account: i.account, subject: i.subject, prefix: undefined, to: local })
      else {
        streamsImp.push({
          account: i.account,
          subject: i.subject,
          prefix: (i.to ?? "") === "" ? undefined : i.to,
          to: undefined
        })
      }
    } else if (i.type === "service") {
      // nats-server: with local_subject, importers publish on it and the exporter gets `subject`;
      // without it they publish on `subject`, and the exporter gets the deprecated `to` if set.
      const to = i.to ?? ""
      if (local !== "") servicesImp.push({ account: i.account, subject: i.subject, to: local })
      else if (to !== "") servicesImp.push({ account: i.account, subject: to, to: i.subject })
      else servicesImp.push({ account: i.account, subject: i.subject, to: undefined })
    } else return refuse(`import of type ${JSON.stringify(i.type)} is`)
  }

  const tiers = new Map<string, JetStreamLimits>()
  let jetstream: JetStreamLimits | undefined
  const tiered = limits.tiered_limits as Record<string, JsFields> | undefined
  if (tiered !== undefined && Object.keys(tiered).length > 0) {
    // jwt/v2 OperatorLimits.Validate: both are blocking errors (nats-server's resolvers refuse such a
    // JWT; a preload only warns, then takes the flat limits, or a "" tier as the account's default).
    if (JS_FIELDS.some((f) => limits[f] !== undefined && limits[f] !== 0 && limits[f] !== false)) {
      return invalid("JetStream Limits and tiered JetStream Limits are mutually exclusive")
    }
    if ("" in tiered) return invalid(`Tiered JetStream Limits can not contain a blank "" tier name`)
    // Any other name is a tier; only R<n> is ever selected (by a stream's replicas).
    for (const [t, l] of Object.entries(tiered)) tiers.set(t, jsLimits(l))
    if (Object.values(tiered).some(enabled)) jetstream = tiers.get("R1") ?? jsLimits({})
  } else if (enabled(limits)) jetstream = jsLimits(limits)

  const revocations = new Map<string, number>()
  for (const [k, t] of Object.entries(nats.revocations ?? {})) if (typeof t === "number") revocations.set(k, t)

  return {
    ok: true,
    account: {
      name: claims.sub,
      users: [],
      nkeys: [],
      jetstream,
      ...(jetstream !== undefined && tiers.size > 0 ? { jetstreamTiers: tiers } : {}),
      exports: { streams: streamsExp, services: servicesExp },
      imports: { streams: streamsImp, services: servicesImp },
      defaultPermissions: permissionsFromJwt(nats.default_permissions),
      revocations,
      maxConnections: num(limits.conn)
    }
  }
}
