/**
 * Test support for operator mode: operator, account and user keys and JWTs made at run time with
 * @nats-io/jwt and @nats-io/nkeys (nothing secret is committed), the config text that trusts
 * them (operator file + `resolver: MEMORY` + `resolver_preload`), `.creds` text, and a raw client
 * that signs the INFO nonce.
 */
import {
  type Account,
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
  type KeyPair,
  type Operator as OperatorFields,
  type User
} from "@nats-io/jwt"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

/** What nsc writes: every limit explicit (Go reads an absent limit as 0). */
export const UNLIMITED_ACCOUNT_LIMITS = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1
}

export const nowSec = () => Math.floor(Date.now() / 1000)

export interface Operator {
  readonly kp: KeyPair
  readonly jwt: string
}

export const makeOperator = async (claims: Partial<OperatorFields> = {}): Promise<Operator> => {
  const kp = createOperator()
  return { kp, jwt: await encodeOperator("OP", kp, claims) }
}

export interface TestAccount {
  readonly kp: KeyPair
  readonly key: string
  readonly jwt: string
}

export const makeAccount = async (
  signer: KeyPair,
  claims: Partial<Account> = {},
  opts: { exp?: number; nbf?: number; kp?: KeyPair } = {}
): Promise<TestAccount> => {
  const kp = opts.kp ?? createAccount()
  const jwt = await encodeAccount("ACC", kp, { ...claims, limits: { ...UNLIMITED_ACCOUNT_LIMITS, ...claims.limits } }, {
    signer,
    ...(opts.exp === undefined ? {} : { exp: opts.exp }),
    ...(opts.nbf === undefined ? {} : { nbf: opts.nbf })
  })
  return { kp, key: kp.getPublicKey(), jwt }
}

export interface TestUser {
  readonly kp: KeyPair
  readonly key: string
  readonly jwt: string
  readonly creds: Uint8Array
}

export const makeUser = async (
  issuer: KeyPair,
  // `times_location` is Go's name for the time zone of `times` (@nats-io/jwt's type lacks it).
  claims: Partial<User> & { readonly times_location?: string } = {},
  opts: { exp?: number; nbf?: number; kp?: KeyPair } = {}
): Promise<TestUser> => {
  const kp = opts.kp ?? createUser()
  const jwt = await encodeUser("U", kp, issuer, claims, {
    ...(opts.exp === undefined ? {} : { exp: opts.exp }),
    ...(opts.nbf === undefined ? {} : { nbf: opts.nbf })
  })
  return { kp, key: kp.getPublicKey(), jwt, creds: fmtCreds(jwt, kp) }
}

export const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "ejs-jwt-"))

/** A config with the operator in a file, a MEMORY resolver and the accounts preloaded. */
export const operatorConf = (
  dir: string,
  operator: Operator,
  accounts: ReadonlyArray<TestAccount>,
  extra = ""
): string => {
  const opFile = path.join(dir, "op.jwt")
  fs.writeFileSync(opFile, operator.jwt)
  const preload = accounts.map((a) => `  ${a.key}: ${a.jwt}`).join("\n")
  return `operator: "${opFile}"\nresolver: MEMORY\nresolver_preload: {\n${preload}\n}\n${extra}\n`
}

export interface RawJwtResult {
  readonly info: Record<string, unknown> | undefined
  readonly text: string
  readonly closed: boolean
}

/**
 * Raw client: reads INFO, then sends what `input` makes of it (typically a CONNECT with a JWT and
 * the nonce signed by `kp`), and collects output until the server closes or `waitMs` passes quietly.
 */
export const rawJwtExchange = (
  port: number,
  input: (info: Record<string, unknown>) => string,
  // Generous: an answer that stops coming ends the exchange, and the machine may be busy.
  waitMs = 750
): Promise<RawJwtResult> =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1")
    let out = ""
    let info: Record<string, unknown> | undefined
    let timer: NodeJS.Timeout | undefined
    const finish = (closed: boolean) => {
      clearTimeout(timer)
      s.destroy()
      resolve({ info, text: info === undefined ? out : out.slice(out.indexOf("\r\n") + 2), closed })
    }
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => finish(false), waitMs)
    }
    s.on("data", (d) => {
      out += d.toString("latin1")
      if (info === undefined && out.includes("\r\n")) {
        const m = /^INFO (\{.*\}) \r\n/.exec(out)
        info = m ? (JSON.parse(m[1]!) as Record<string, unknown>) : {}
        s.write(Buffer.from(input(info), "latin1"))
      }
      arm()
    })
    s.on("close", () => finish(true))
    s.on("error", (e) => (info !== undefined ? undefined : reject(e)))
    arm()
  })

/** The nonce signature nats clients send: raw URL base64 of the ed25519 signature. */
export const signNonce = (kp: KeyPair, info: Record<string, unknown>): string =>
  Buffer.from(kp.sign(new TextEncoder().encode(String(info["nonce"] ?? "")))).toString("base64url")

export const connectLine = (o: Record<string, unknown>) =>
  `CONNECT ${JSON.stringify({ verbose: true, pedantic: false, ...o })}\r\n`

/**
 * A time zone whose wall clock is now well away from midnight, and HH:MM:SS there `offsetS`
 * seconds from now: connect-time windows built from it do not wrap past midnight.
 */
export const clockAwayFromMidnight = (
  candidates: ReadonlyArray<string> = ["UTC", "Asia/Tokyo", "America/New_York", "Asia/Kolkata"]
): { readonly locale: string; readonly at: (offsetS: number) => string } => {
  const fmt = (locale: string, ms: number) =>
    new Intl.DateTimeFormat("en-GB", {
      timeZone: locale,
      hourCycle: "h23",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit"
    }).format(new Date(ms))
  const locale = candidates.find((l) => {
    const h = Number(fmt(l, Date.now()).slice(0, 2))
    return h >= 3 && h <= 20
  })
  if (locale === undefined) throw new Error(`no time zone of ${candidates.join(", ")} is away from midnight now`)
  return { locale, at: (offsetS) => fmt(locale, Date.now() + offsetS * 1000) }
}
