/**
 * NATS JWTs decoded and signature-checked by @nats-io/jwt, with the checks and error texts of the
 * Go library nats-server 2.9.10 uses (nats-io/jwt/v2 `Decode`, `DecodeOperatorClaims`, ...): the
 * claim type must match, the issuer must be a key of the expected kind, and `exp`/`nbf` are the
 * "time checks" nats-server treats as blocking.
 */
import { type Account, type ClaimsData, decode, type Operator, type User } from "@nats-io/jwt"
import { fromPublic } from "@nats-io/nkeys"
import { Buffer } from "node:buffer"
import { verifyEd25519 } from "../NonceSignature.ts"
import { accountShapeError, operatorShapeError, userShapeError } from "./JwtShapes.ts"

export type OperatorClaims = ClaimsData<Operator>
export type AccountClaims = ClaimsData<Account>
export type UserClaims = ClaimsData<User>

type Kind = "operator" | "account" | "user"

export type Decoded<T> = { readonly ok: true; readonly claims: T } | { readonly ok: false; readonly error: string }

/** The one-letter nkey prefix of each role (O, A, U). */
const PREFIX: Record<Kind, string> = { operator: "O", account: "A", user: "U" }

/** Public nkey of the given role: prefix, base32 and CRC16 checked by @nats-io/nkeys. */
export const isPublicKey = (key: unknown, role: Kind): key is string => {
  if (typeof key !== "string" || !key.startsWith(PREFIX[role])) return false
  try {
    fromPublic(key)
    return true
  } catch {
    return false
  }
}

/** Who may sign a claim of this kind (jwt/v2 ExpectedPrefixes). */
const ISSUER: Record<Kind, Kind> = { operator: "operator", account: "operator", user: "account" }

const SHAPE: Record<Kind, (claims: unknown) => string | undefined> = {
  operator: operatorShapeError,
  account: accountShapeError,
  user: userShapeError
}

const claimKind = (c: ClaimsData<unknown>): unknown => {
  const v1 = (c as { type?: unknown }).type
  if (typeof v1 === "string" && v1 !== "") return v1
  return (c.nats as { type?: unknown } | undefined)?.type
}

/** Maps the JavaScript library's exceptions to the Go library's messages where they mean the same. */
const goError = (e: unknown): string => {
  const m = e instanceof Error ? e.message : String(e)
  if (m.startsWith("invalid jwt - ")) return "expected 3 chunks"
  if (m === "sig verification failed") return "claim failed V2 signature verification"
  if (m.startsWith("not a nats jwt - typ")) return "not supported type"
  if (m.startsWith("not a nats jwt - alg")) return "unexpected algorithm"
  return `invalid JWT: ${m}`
}

/**
 * True for a well-formed JWT whose signature its issuer's key does not verify. The library checks
 * signatures in pure JavaScript (~30 ms of event loop each); node:crypto refuses a forged token in a
 * fraction of a millisecond, so unauthenticated clients cannot stall the broker with junk JWTs. Only
 * the issuer is read here; everything else is decoded and checked by the library.
 */
const forged = (token: string): boolean => {
  const parts = token.split(".")
  if (parts.length !== 3) return false
  let alg: unknown
  let iss: unknown
  try {
    alg = (JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8")) as { alg?: unknown } | null)?.alg
    iss = (JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { iss?: unknown } | null)?.iss
  } catch {
    return false
  }
  if (typeof iss !== "string") return false
  // What each version signs: v2 ("ed25519-nkey") the header and the claims, v1 ("ed25519") the claims only.
  const input = alg === "ed25519-nkey" ? `${parts[0]}.${parts[1]}` : alg === "ed25519" ? parts[1]! : undefined
  if (input === undefined) return false
  return verifyEd25519(iss, Buffer.from(input, "utf8"), Buffer.from(parts[2]!, "base64url")) === false
}

export const decodeClaims = <T>(token: string, kind: Kind): Decoded<ClaimsData<T>> => {
  if (forged(token)) return { ok: false, error: "claim failed V2 signature verification" }
  let claims: ClaimsData<T>
  try {
    claims = decode<T>(token)
  } catch (e) {
    return { ok: false, error: goError(e) }
  }
  if (typeof claims !== "object" || claims === null) return { ok: false, error: "invalid JWT: not an object" }
  if (claimKind(claims) !== kind) return { ok: false, error: `not ${kind} claim` }
  const shape = SHAPE[kind](claims)
  if (shape !== undefined) return { ok: false, error: `json: cannot unmarshal ${kind} claims: ${shape}` }
  if (!isPublicKey(claims.iss, ISSUER[kind])) {
    return { ok: false, error: `unable to validate expected prefixes - [${ISSUER[kind]}]` }
  }
  if (!isPublicKey(claims.sub, kind)) return { ok: false, error: `invalid subject: ${String(claims.sub)}` }
  // Go decodes a `null` or absent `nats` object as its zero value; so do we, once, here.
  const nats = (claims.nats ?? {}) as Record<string, unknown>
  if (kind === "user" && isV1(claims)) {
    return { ok: true, claims: { ...claims, nats: migrateV1User(claims, nats) as T } }
  }
  return { ok: true, claims: claims.nats == null ? { ...claims, nats: nats as T } : claims }
}

/** jwt/v2 `identifier.Version`: a top-level `type` marks a version 1 JWT. */
const isV1 = (c: ClaimsData<unknown>): boolean => {
  const t = (c as { type?: unknown }).type
  return typeof t === "string" && t !== ""
}

/**
 * jwt/v2 `loadUser` for version 1: the subs/data/payload limits start at -1 (unlimited) before the
 * JSON is read, so a v1 user JWT that leaves them out is unlimited (a v2 one reads 0). The v1 `nats`
 * object holds only permissions, limits and bearer_token; `issuer_account` is read from the top level.
 */
const migrateV1User = (c: ClaimsData<unknown>, nats: Record<string, unknown>): Record<string, unknown> => {
  const { allowed_connection_types: _types, issuer_account: _issuer, ...v1 } = nats
  const top = (c as { issuer_account?: unknown }).issuer_account
  return { subs: -1, data: -1, payload: -1, ...v1, ...(typeof top === "string" ? { issuer_account: top } : {}) }
}

export const decodeOperator = (token: string) => decodeClaims<Operator>(token, "operator")
export const decodeAccount = (token: string) => decodeClaims<Account>(token, "account")
export const decodeUser = (token: string) => decodeClaims<User>(token, "user")

/**
 * jwt/v2 ClaimsData.Validate time checks: expired (`exp` passed) or not yet valid (`nbf` ahead);
 * undefined when neither. `nowSec` is unix seconds.
 */
export const timeIssue = (c: ClaimsData<unknown>, nowSec: number): string | undefined => {
  if (typeof c.exp === "number" && c.exp > 0 && nowSec > c.exp) return "claim is expired"
  if (typeof c.nbf === "number" && c.nbf > 0 && nowSec < c.nbf) return "claim is not yet valid"
  return undefined
}

/** nats-server jwtPrefix: a string that starts so may be an inline JWT rather than a file name. */
export const JWT_PREFIX = "eyJ"

/**
 * jwt/v2 ParseDecoratedJWT: a `.jwt`/`.creds` file with `-----BEGIN ...-----` armour yields the
 * first armoured block; anything else is the token itself.
 */
export const parseDecoratedJwt = (contents: string): string => {
  const m = /\s*(?:-{3,}.*-{3,}\r?\n)([\w\-.=]+)(?:\r?\n-{3,}.*-{3,}(?:\r?\n|$))/.exec(contents)
  return m === null ? contents : m[1]!
}
