/**
 * Checks a client's CONNECT credentials against the server's settings, in nats-server 2.9.10's
 * order (`auth.go` processClientOrLeafAuthentication): nkey when the client sends one and nkey
 * users exist, else the users list (with `no_auth_user` standing in for a client that sent no
 * credentials), else the single token or user/password.
 *
 * Passwords and tokens that look like bcrypt hashes are compared with bcryptjs; nkey signatures
 * of the INFO nonce are ed25519, verified with node:crypto. In operator mode every client needs a
 * user JWT, checked by jwt/OperatorAuthenticator.ts.
 */
import bcrypt from "bcryptjs"
import { Buffer } from "node:buffer"
import * as crypto from "node:crypto"
import type { X509Certificate } from "node:crypto"
import type { AuthSettings, NkeyUser, PasswordUser } from "./AuthSettings.ts"
import { authRequired, nonceRequired } from "./AuthSettings.ts"
import { OperatorAuthenticator } from "./jwt/OperatorAuthenticator.ts"
import { verifyNonce } from "./NonceSignature.ts"
import { ClientPermissions } from "./Permissions.ts"

export interface Credentials {
  readonly user?: string | undefined
  readonly pass?: string | undefined
  readonly auth_token?: string | undefined
  readonly nkey?: string | undefined
  readonly sig?: string | undefined
  /** Operator mode: the user JWT. */
  readonly jwt?: string | undefined
}

export type AuthResult =
  | {
    readonly ok: true
    readonly permissions: ClientPermissions | undefined
    readonly who: string | undefined
    /** The account the client joins; undefined = the global account (`$G`). */
    readonly account?: string | undefined
    /** Operator mode: close the connection after this long with this error (the JWT expires). */
    readonly expires?: { readonly inMs: number; readonly errText: string; readonly reason: string } | undefined
    /**
     * Operator mode: the user's and account's JWT payload limit, the smaller one (-1 = unlimited);
     * the connection applies the smaller of it and the server's max_payload.
     */
    readonly maxPayload?: number | undefined
  }
  | {
    readonly ok: false
    readonly reason: string
    /** Set when nats-server answers with its own error instead of `Authorization Violation`. */
    readonly errText?: string | undefined
    readonly closeReason?: string | undefined
  }

/** nats-server isBcrypt. */
const BCRYPT = /^\$2[abxy]\$\d{2}\$/

export const comparePasswords = (server: string, client: string): boolean => {
  if (BCRYPT.test(server)) {
    // Synchronous on purpose: CONNECT is processed in order with the rest of the client's input,
    // and the cost (the hash's rounds) is what the operator chose.
    try {
      return bcrypt.compareSync(client, server)
    } catch {
      return false
    }
  }
  const a = Buffer.from(server, "utf8")
  const b = Buffer.from(client, "utf8")
  return a.length === b.length && crypto.timingSafeEqual(a, b)
}

/** nats-server checkAuthforWarnings: a password kept in clear text in the config. */
export const hasPlaintextPasswords = (s: AuthSettings): boolean =>
  ((s.password ?? "") !== "" && !BCRYPT.test(s.password!)) || s.users.some((u) => !BCRYPT.test(u.password))

export { verifyNonce } from "./NonceSignature.ts"

/** Server-wide authentication state, built once from the settings. */
export class Authenticator {
  readonly required: boolean
  readonly needsNonce: boolean
  readonly timeoutMs: number
  private readonly users = new Map<string, PasswordUser>()
  private readonly nkeys = new Map<string, NkeyUser>()
  private readonly operator: OperatorAuthenticator | undefined

  readonly settings: AuthSettings

  /** `connectionType`: the listener's, for JWT `allowed_connection_types` (users carry theirs, AuthSettings.forWebsocket/forMqtt). */
  constructor(settings: AuthSettings, connectionType: "STANDARD" | "WEBSOCKET" | "MQTT" = "STANDARD") {
    this.settings = settings
    this.required = authRequired(settings)
    this.needsNonce = nonceRequired(settings)
    this.timeoutMs = settings.timeoutMs
    for (const u of settings.users) this.users.set(u.user, u)
    for (const n of settings.nkeys) this.nkeys.set(n.nkey, n)
    this.operator = settings.operator === undefined
      ? undefined
      : new OperatorAuthenticator(settings.operator, Date.now, connectionType)
  }

  /**
   * Whether the user or nkey these credentials named still exists (nats-server
   * clientHasMovedToDifferentAccount). A reload closes, without an error, the clients whose user
   * is gone; clients without a user name are checked by authenticating again instead. Unlike
   * nats-server, the single `authorization { user }` counts as existing when it is unchanged
   * (nats-server closes those clients on every authorization reload).
   */
  knowsIdentity(c: Credentials): boolean {
    if ((c.nkey ?? "") !== "") return this.nkeys.has(c.nkey!)
    if ((c.user ?? "") === "") return true
    return this.users.has(c.user!) || (this.users.size === 0 && this.settings.user === c.user)
  }

  /** nats-server's nonce: 11 random bytes, raw URL base64. */
  makeNonce(): string {
    return crypto.randomBytes(11).toString("base64url")
  }

  /** The `no_auth_user`, for a client that sends a protocol message before CONNECT. */
  noAuthUser(): AuthResult | undefined {
    const name = this.settings.noAuthUser
    const u = name === undefined ? undefined : this.users.get(name)
    return u === undefined
      ? undefined
      : { ok: true, permissions: perms(u.permissions), who: u.user, account: u.account }
  }

  /**
   * TLS `verify_and_map` (nats-server checkClientTLSCertSubject): the user is the first of the
   * certificate's email SANs, DNS SANs, URI SANs, then its subject as an RFC 2253 string (Go's
   * RDNSequence order, last attribute first) that names a user. CONNECT's user is ignored, but its
   * password must still match the mapped user's (usually none), as in nats-server.
   */
  authenticateCertificate(cert: X509Certificate | undefined, pass: string | undefined): AuthResult {
    if (cert === undefined) return { ok: false, reason: "User required in cert, no peer certificates found" }
    for (const name of certificateNames(cert)) {
      const u = this.users.get(name)
      if (u === undefined || u.standardAllowed === false) continue
      return comparePasswords(u.password, pass ?? "")
        ? { ok: true, permissions: perms(u.permissions), who: u.user, account: u.account }
        : { ok: false, reason: `User "${u.user}"` }
    }
    return { ok: false, reason: "User required in cert, none matched" }
  }

  authenticate(c: Credentials, nonce: string | undefined, clientIp = ""): AuthResult {
    if (!this.required) return { ok: true, permissions: undefined, who: undefined }
    // nats-server: with trusted keys a user JWT is required, whatever else the client sends.
    if (this.operator !== undefined) return this.operator.authenticate(c, nonce, clientIp)
    const s = this.settings
    let user = c.user ?? ""
    let pass = c.pass ?? ""
    const token = c.auth_token ?? ""
    if (this.nkeys.size > 0 && (c.nkey ?? "") !== "") {
      const n = this.nkeys.get(c.nkey!)
      if (n === undefined || n.standardAllowed === false) return { ok: false, reason: `Nkey "${c.nkey}"` }
      if ((c.sig ?? "") === "") return { ok: false, reason: "Signature missing" }
      if (nonce === undefined || !verifyNonce(n.nkey, nonce, c.sig!)) {
        return { ok: false, reason: "Signature not verified" }
      }
      return { ok: true, permissions: perms(n.permissions), who: n.nkey, account: n.account }
    }
    if (this.users.size > 0) {
      if (s.noAuthUser !== undefined && user === "" && pass === "" && token === "") {
        const u = this.users.get(s.noAuthUser)
        // nats-server substitutes the user's stored password, so a bcrypt-hashed no_auth_user fails.
        if (u !== undefined) {
          user = u.user
          pass = u.password
        }
      }
      if (user !== "") {
        const u = this.users.get(user)
        if (u === undefined || u.standardAllowed === false || !comparePasswords(u.password, pass)) {
          return { ok: false, reason: `User "${user}"` }
        }
        return { ok: true, permissions: perms(u.permissions), who: u.user, account: u.account }
      }
    }
    if ((s.token ?? "") !== "") {
      return comparePasswords(s.token!, token)
        ? { ok: true, permissions: undefined, who: undefined }
        : { ok: false, reason: "token" }
    }
    if ((s.user ?? "") !== "") {
      return user === s.user && comparePasswords(s.password ?? "", pass)
        ? { ok: true, permissions: undefined, who: user }
        : { ok: false, reason: `User "${user}"` }
    }
    return { ok: false, reason: `User "${user}"` }
  }
}

/** Candidate user names of a certificate, in nats-server's order of preference. */
export const certificateNames = (cert: X509Certificate): ReadonlyArray<string> => {
  const sans = (cert.subjectAltName ?? "").split(", ").filter((s) => s !== "")
  const of = (prefix: string) => sans.filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length))
  const rdn = cert.subject.split("\n").filter((s) => s !== "").reverse().join(",")
  return [...of("email:"), ...of("DNS:"), ...of("URI:"), ...(rdn === "" ? [] : [rdn])]
}

const perms = (p: PasswordUser["permissions"]): ClientPermissions | undefined =>
  p === undefined ? undefined : new ClientPermissions(p)
