/**
 * Operator mode (decentralised auth): a client proves who it is with a user JWT and a signature
 * of the INFO nonce by the user's nkey, the `.creds` flow of nats.js `credsAuthenticator` and
 * nats.go `UserCredentials`. Checked in nats-server 2.9.10's order (`auth.go`
 * processClientOrLeafAuthentication, `server.go` fetchAccountClaims/verifyAccountClaims,
 * `client.go` registerWithAccount): user JWT present, decodable and within `nbf`/`exp`;
 * connection type allowed; its account known to the resolver, signed by a trusted operator key,
 * not expired, and the user's issuer one of the account's keys; bearer tokens only where the
 * account allows them, otherwise the nonce signature; not revoked; source network allowed;
 * then the account's connection limit.
 *
 * Every failure but the last is `Authorization Violation` (the reason goes to the log, as
 * nats-server's debug lines); the connection limit answers nats-server's own error.
 */
import type { User } from "@nats-io/jwt"
import * as net from "node:net"
import { verifyNonce } from "../NonceSignature.ts"
import { ClientPermissions, type Permissions } from "../Permissions.ts"
import { decodeUser, timeIssue, type UserClaims } from "./JwtClaims.ts"
import { permissionsFromJwt } from "./JwtPermissions.ts"
import type { OperatorSettings, PreloadedAccount } from "./OperatorSettings.ts"

/** jwt/v2 `All`: a revocation of every user issued at or before the time. */
const ALL_USERS = "*"

/** Connection types nats-server 2.9.10 knows (convertAllowedConnectionTypes); ours are all STANDARD. */
const KNOWN_CONNECTION_TYPES = new Set(["STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS"])

export interface JwtCredentials {
  readonly jwt?: string | undefined
  readonly sig?: string | undefined
}

export type JwtAuthResult =
  | {
    readonly ok: true
    readonly permissions: ClientPermissions | undefined
    /** The user's public key. */
    readonly who: string
    /** The account's public key. */
    readonly account: string
    /** When the connection must be closed, and with which error: the user's or the account's JWT expiry. */
    readonly expires: { readonly inMs: number; readonly errText: string; readonly reason: string } | undefined
    /** The smaller of the user's and the account's JWT payload limits (-1 = unlimited). */
    readonly maxPayload: number
  }
  | {
    readonly ok: false
    readonly reason: string
    /** Set when nats-server answers something other than `Authorization Violation`. */
    readonly errText?: string
    readonly closeReason?: string
  }

interface AccountState {
  readonly preload: PreloadedAccount
  readonly signingKeys: ReadonlySet<string>
  readonly revocations: ReadonlyMap<string, number>
  readonly defaultPermissions: Permissions | undefined
  readonly disallowBearer: boolean
}

/** How many verified user JWTs are remembered. */
const VERIFIED_CACHE = 4096

const fail = (reason: string): JwtAuthResult => ({ ok: false, reason })

/** nats-server validateSrc: the client's address must be in one of the user's CIDR blocks. */
const sourceAllowed = (src: ReadonlyArray<string>, host: string): boolean => {
  if (src.length === 0) return true
  const family = net.isIP(host)
  if (family === 0) return false
  const list = new net.BlockList()
  for (const cidr of src) {
    const [addr, bits] = cidr.split("/")
    const f = net.isIP(addr ?? "")
    if (f === 0 || bits === undefined || !/^\d+$/.test(bits)) return false
    list.addSubnet(addr!, Number(bits), f === 4 ? "ipv4" : "ipv6")
  }
  return list.check(host, family === 4 ? "ipv4" : "ipv6")
}

const HMS = /^(\d{2}):(\d{2}):(\d{2})$/

const secondsOfDay = (hms: unknown): number | undefined => {
  const m = typeof hms === "string" ? HMS.exec(hms) : null
  if (m === null) return undefined
  const [h, mi, se] = [Number(m[1]), Number(m[2]), Number(m[3])]
  return h < 24 && mi < 60 && se < 60 ? h * 3600 + mi * 60 + se : undefined
}

/** Wall-clock seconds since midnight (with the milliseconds) in the IANA zone `zone`, or the local one. */
const wallClock = (nowMs: number, zone: string): number | undefined => {
  if (zone === "") {
    const d = new Date(nowMs)
    return d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds() + d.getMilliseconds() / 1000
  }
  let parts: Array<Intl.DateTimeFormatPart>
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit"
    }).formatToParts(new Date(nowMs))
  } catch {
    return undefined // Go: time.LoadLocation fails, the JWT is invalid
  }
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? NaN)
  return get("hour") * 3600 + get("minute") * 60 + get("second") + (nowMs % 1000) / 1000
}

/**
 * nats-server validateTimes: the user may connect when now (in the JWT's `times_location`, else
 * the server's time zone) is strictly inside one of the `times` ranges of today; a range whose
 * start is after its end ends tomorrow (and, as in nats-server, only admits times after its
 * start). Returns how long the connection may stay (ms; 0 = no ranges, no limit), or undefined
 * when outside every range.
 */
export const connectWindow = (
  times: ReadonlyArray<{ start?: string; end?: string }>,
  zone: string,
  nowMs: number
): number | undefined => {
  if (times.length === 0) return 0
  const now = wallClock(nowMs, zone)
  if (now === undefined) return undefined
  for (const t of times) {
    const start = secondsOfDay(t.start)
    const endOfDay = secondsOfDay(t.end)
    if (start === undefined || endOfDay === undefined) return undefined
    const end = start > endOfDay ? endOfDay + 86_400 : endOfDay
    if (start < now && end > now) return Math.round((end - now) * 1000)
  }
  return undefined
}

export class OperatorAuthenticator {
  private readonly trusted: ReadonlySet<string>
  private readonly accounts = new Map<string, AccountState>()
  private readonly verified = new Map<string, UserClaims>()
  private readonly now: () => number

  /** The listener's connection type a user JWT's `allowed_connection_types` must name. */
  private readonly connectionType: string

  constructor(settings: OperatorSettings, now: () => number = Date.now, connectionType = "STANDARD") {
    this.now = now
    this.connectionType = connectionType
    this.trusted = new Set(settings.trustedKeys)
    for (const [key, p] of settings.accounts) {
      const nats = p.claims.nats ?? {}
      const keys = new Set<string>()
      for (const k of nats.signing_keys ?? []) if (typeof k === "string") keys.add(k)
      // The account's own key signs users too, unless the account was issued by a signing key of
      // an operator that asks for strict signing-key use (nats-server processTrustedKeys).
      const strict = settings.operators.some((o) =>
        (o.claims.nats as { strict_signing_key_usage?: unknown }).strict_signing_key_usage === true
        && (o.claims.nats.signing_keys ?? []).includes(p.claims.iss)
      )
      if (!strict) keys.add(p.claims.sub)
      const revocations = new Map<string, number>()
      for (const [u, t] of Object.entries(nats.revocations ?? {})) if (typeof t === "number") revocations.set(u, t)
      const limits = nats.limits ?? {}
      this.accounts.set(key, {
        preload: p,
        signingKeys: keys,
        revocations,
        defaultPermissions: permissionsFromJwt(nats.default_permissions),
        disallowBearer: limits.disallow_bearer === true || nats.disallow_bearer === true
      })
    }
  }

  authenticate(c: JwtCredentials, nonce: string | undefined, clientIp: string): JwtAuthResult {
    if ((c.jwt ?? "") === "") return fail("Authentication requires a user JWT")
    const d = this.decodeCached(c.jwt!)
    if (!d.ok) return fail(`User JWT not valid: ${d.error}`)
    const juc: UserClaims = d.claims
    const nowSec = Math.floor(this.now() / 1000)
    const tIssue = timeIssue(juc, nowSec)
    if (tIssue !== undefined) return fail(`User JWT no longer valid: ${tIssue}`)
    const u: Partial<User> = juc.nats ?? {}
    const types = (u.allowed_connection_types ?? []) as ReadonlyArray<string>
    if (types.length > 0) {
      const known = types.filter((t) => KNOWN_CONNECTION_TYPES.has(t))
      if (known.length === 0 || !known.includes(this.connectionType)) return fail("Connection type not allowed")
    }
    const issuer = (u.issuer_account ?? "") !== "" ? u.issuer_account! : juc.iss
    const acc = this.accounts.get(issuer)
    if (acc === undefined) return fail(`Account JWT lookup error: account ${issuer} not found`)
    const ac = acc.preload.claims
    if (ac.sub !== issuer) return fail("Account JWT lookup error: account validation failed")
    if (!this.trusted.has(ac.iss)) return fail("Account JWT not signed by trusted operator")
    const accIssue = timeIssue(ac, nowSec)
    if (accIssue === "claim is not yet valid") return fail("Account JWT lookup error: account validation failed")
    if (!acc.signingKeys.has(juc.iss)) return fail("User JWT issuer is not known")
    if (accIssue !== undefined) return fail("Account JWT has expired")
    const bearer = u.bearer_token === true
    if (bearer && acc.disallowBearer) return fail("Account does not allow bearer token")
    if (!bearer) {
      if ((c.sig ?? "") === "") return fail("Signature missing")
      if (nonce === undefined || !verifyNonce(juc.sub, nonce, c.sig!)) return fail("Signature not verified")
    }
    if (this.revoked(acc, juc.sub, juc.iat)) return fail("User authentication revoked")
    if (!sourceAllowed((u.src ?? []) as ReadonlyArray<string>, clientIp)) return fail(`Bad src Ip ${clientIp}`)
    // Go's field is `times_location` (@nats-io/jwt's type calls it `locale`, which nats-server never reads).
    const location = (u as { times_location?: unknown }).times_location
    const window = connectWindow(u.times ?? [], typeof location === "string" ? location : "", this.now())
    if (window === undefined) return fail("Outside connect times")
    // nats-server 2.9.10 enforces subs and payload (`data` is never read); subs is not built yet.
    const subs = (u as Record<string, unknown>)["subs"]
    if (subs !== -1) return fail(`user JWT limit subs ${String(subs ?? 0)}: only -1 (unlimited) is supported yet`)
    const payload = (u as Record<string, unknown>)["payload"]
    // Go reads an absent limit as 0 (a v2 JWT; v1 ones were given -1 when decoded).
    const userPayload = typeof payload === "number" ? payload : 0
    const accountPayload = (ac.nats?.limits as Record<string, unknown> | undefined)?.["payload"]
    const own = permissionsFromJwt(u)
    const perms = own ?? acc.defaultPermissions
    // The account's `conn` limit is not checked here: the account runtime counts its clients when
    // they join it (nats-server registerWithAccount), once, across reloads and re-authorizations.
    return {
      ok: true,
      permissions: perms === undefined ? undefined : new ClientPermissions(perms, this.now),
      who: juc.sub,
      account: issuer,
      expires: this.expiry(juc, ac.exp, nowSec, window),
      maxPayload: minLimit(userPayload, typeof accountPayload === "number" ? accountPayload : 0)
    }
  }

  /**
   * nats-server setExpiration: a timer at the user's `exp` (whole seconds from now), or at the end
   * of the connect-time window when that comes first; the account's `exp` (its own timer there) too.
   */
  private expiry(
    juc: UserClaims,
    accountExp: number | undefined,
    nowSec: number,
    windowMs: number
  ): Extract<JwtAuthResult, { ok: true }>["expires"] {
    const userExp = typeof juc.exp === "number" && juc.exp > 0 ? juc.exp : undefined
    const accExp = typeof accountExp === "number" && accountExp > 0 ? accountExp : undefined
    let userMs = userExp === undefined ? undefined : Math.max(0, userExp - nowSec) * 1000
    if (windowMs > 0 && (userMs === undefined || windowMs < userMs)) userMs = windowMs
    const accMs = accExp === undefined ? undefined : Math.max(0, accExp - nowSec) * 1000
    if (accMs !== undefined && (userMs === undefined || accMs < userMs)) {
      return { inMs: accMs, errText: "Account Authentication Expired", reason: "Authentication Expired" }
    }
    if (userMs === undefined) return undefined
    return { inMs: userMs, errText: "User Authentication Expired", reason: "Authentication Expired" }
  }

  /**
   * @nats-io/jwt verifies a JWT's signature in pure JavaScript (tens of milliseconds of event-loop
   * time); clients reconnect with the same creds, so a verified JWT is remembered (by its exact
   * text, a bounded number of them). Time checks are made on every use, never cached.
   */
  private decodeCached(token: string): ReturnType<typeof decodeUser> {
    const hit = this.verified.get(token)
    if (hit !== undefined) {
      // Most recently used last, so the oldest entry is the first one evicted.
      this.verified.delete(token)
      this.verified.set(token, hit)
      return { ok: true, claims: hit }
    }
    const d = decodeUser(token)
    if (d.ok) {
      this.verified.set(token, d.claims)
      if (this.verified.size > VERIFIED_CACHE) this.verified.delete(this.verified.keys().next().value!)
    }
    return d
  }

  /** nats-server isRevoked: revoked when the user JWT was issued at or before the revocation time. */
  private revoked(acc: AccountState, user: string, issuedAt: number): boolean {
    if (acc.revocations.size === 0) return false
    const t = acc.revocations.get(user)
    if (t !== undefined && t >= issuedAt) return true
    const all = acc.revocations.get(ALL_USERS)
    return all !== undefined && all >= issuedAt
  }
}

/** nats-server minLimit: the smaller of two limits where -1 means unlimited. */
export const minLimit = (value: number, limit: number): number =>
  value === -1 ? limit : limit === -1 ? value : Math.min(value, limit)
