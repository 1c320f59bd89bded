/**
 * The operator-mode keys of a nats-server configuration file (`operator`, `resolver`,
 * `resolver_preload`, `trusted`, `system_account`), read into OperatorSettings with nats-server
 * 2.9.10's types and error texts (`opts.go` processConfigFileLine, `jwt.go` readOperatorJWT and
 * validateTrustedOperators, `server.go` configureResolver).
 *
 * nats-server reports the validateTrustedOperators problems only when it starts (`-t` passes
 * them); we report them at load, so `-t` catches them too. Account resolvers other than MEMORY
 * (URL, and the `{ dir, type: full|cache }` block) are refused: they fetch accounts from elsewhere
 * and we have not built that.
 */
import * as fs from "node:fs"
import type { AccountSettings, AccountsSettings } from "../../accounts/AccountSettings.ts"
import { DEFAULT_SYSTEM_ACCOUNT } from "../../accounts/AccountSettings.ts"
import { type ConfigEntry, goType, type Position } from "../../config/ConfigValue.ts"
import { accountFromClaims } from "./AccountFromClaims.ts"
import { decodeAccount, decodeOperator, isPublicKey, JWT_PREFIX, parseDecoratedJwt, timeIssue } from "./JwtClaims.ts"
import type { OperatorSettings, PreloadedAccount, TrustedOperator } from "./OperatorSettings.ts"

export interface OperatorIssues {
  error(pos: Position, message: string): void
  warn(pos: Position, message: string): void
}

/** Keys this reader owns (with nats-server's aliases). */
export const OPERATOR_KEYS = new Set([
  "operator",
  "operators",
  "roots",
  "root",
  "root_operators",
  "root_operator",
  "resolver",
  "account_resolver",
  "accounts_resolver",
  "resolver_preload",
  "trusted",
  "trusted_keys",
  "system_account",
  "system"
])

/** Go os.ReadFile's error for a failed read. */
const readError = (file: string, e: NodeJS.ErrnoException): string => {
  switch (e.code) {
    case "ENOENT":
      return `open ${file}: no such file or directory`
    case "EACCES":
      return `open ${file}: permission denied`
    case "EISDIR":
      return `read ${file}: is a directory`
    default:
      return `open ${file}: ${e.message}`
  }
}

export class OperatorConfig {
  private operator: ConfigEntry | undefined
  private resolver: ConfigEntry | undefined
  private preload: ConfigEntry | undefined
  private trusted: ConfigEntry | undefined
  private system: ConfigEntry | undefined
  private readonly issues: OperatorIssues
  private readonly preloadPos = new Map<string, Position>()

  private failures = 0

  constructor(issues: OperatorIssues) {
    this.issues = {
      error: (pos, message) => {
        this.failures++
        issues.error(pos, message)
      },
      warn: (pos, message) => issues.warn(pos, message)
    }
  }

  /** Remembers an operator-mode key; read in `finish`, once every key is known (Go reads them in map order). */
  take(e: ConfigEntry): void {
    switch (e.key.toLowerCase()) {
      case "resolver":
      case "account_resolver":
      case "accounts_resolver":
        this.resolver = e
        return
      case "resolver_preload":
        this.preload = e
        return
      case "trusted":
      case "trusted_keys":
        this.trusted = e
        return
      case "system_account":
      case "system":
        this.system = e
        return
      default:
        this.operator = e
    }
  }

  /** Whether the file names an operator (some checks of other keys depend on it). */
  hasOperator(): boolean {
    return this.operator !== undefined
  }

  /** Whether the file names trusted keys (operator mode without an operator JWT). */
  hasTrusted(): boolean {
    return this.trusted !== undefined
  }

  /** The `system_account` entry, for errors placed at it. */
  systemEntry(): ConfigEntry | undefined {
    return this.system
  }

  /** The `system_account` named in the file (also outside operator mode), or undefined. */
  systemAccount(): string | undefined {
    const e = this.system
    if (e === undefined) return undefined
    if (e.value._tag !== "String") {
      this.issues.error(e.keyPos, "system account name must be a string")
      return undefined
    }
    return e.value.value
  }

  /**
   * Operator mode's settings, or undefined when the file uses none of its keys. `users` and
   * `accounts` say whether the file also configures users or accounts directly, which operator
   * mode forbids.
   */
  finish(direct: { readonly users: boolean; readonly accounts: boolean }): OperatorSettings | undefined {
    if (this.operator === undefined && this.trusted === undefined) {
      // nats-server: without trusted keys no client needs a JWT, so a resolver is never asked.
      const r = this.resolver === undefined ? undefined : this.readResolver(this.resolver)
      if (this.preload !== undefined) this.readPreload(this.preload)
      const unused = this.resolver ?? this.preload
      if (r !== "refused" && this.failures === 0 && unused !== undefined) {
        this.issues.warn(unused.keyPos, `${unused.key} without operator or trusted keys is ignored`)
      }
      return undefined
    }
    const err = (e: ConfigEntry, message: string) => this.issues.error(e.keyPos, message)
    const fail = (e: ConfigEntry, message: string): undefined => {
      err(e, message)
      return undefined
    }
    const operators = this.operator === undefined ? [] : this.readOperators(this.operator)
    let systemAccount = this.systemAccount()
    const resolver = this.resolver === undefined ? undefined : this.readResolver(this.resolver)
    const preload = this.preload === undefined ? new Map<string, PreloadedAccount>() : this.readPreload(this.preload)
    const trustedKeys = this.trusted === undefined ? [] : this.readTrusted(this.trusted)
    // nats-server stops at the first bad key (`-t` reports it); only a well-formed set is validated further.
    if (resolver === "refused" || this.failures > 0) return undefined
    const first = this.operator ?? this.trusted ?? this.resolver!
    if (operators.length === 1 && resolver === undefined) {
      const url = operators[0]!.claims.nats.account_server_url
      if (typeof url === "string" && url !== "") {
        err(
          this.operator!,
          "the operator's account_server_url would make the account resolver a URL resolver, which is not supported yet; set resolver: MEMORY"
        )
        return undefined
      }
    }
    if (operators.length === 1 && systemAccount === undefined) {
      const s = operators[0]!.claims.nats.system_account
      if (typeof s === "string" && s !== "") systemAccount = s
    }
    if (operators.length > 0) {
      // nats-server validateTrustedOperators, in its order.
      if (resolver === undefined) return fail(first, "operators require an account resolver to be configured")
      if (direct.accounts) return fail(first, "operators do not allow Accounts to be configured directly")
      if (direct.users) return fail(first, "operators do not allow users to be configured directly")
      if (trustedKeys.length > 0) return fail(first, "conflicting options for 'TrustedKeys' and 'TrustedOperators'")
      if (this.system !== undefined && systemAccount !== undefined) {
        const named = operators.map((o) => o.claims.nats.system_account).filter((s) =>
          typeof s === "string" && s !== ""
        )
        if (named.length > 0 && !named.includes(systemAccount)) {
          return fail(first, "system_account in config and operator JWT must be identical")
        }
      }
      for (const o of operators) {
        const v = (o.claims.nats as { assert_server_version?: unknown }).assert_server_version
        if (v !== undefined && v !== "") {
          return fail(first, `operator ${o.claims.sub}: assert_server_version is not supported yet`)
        }
        const strict = (o.claims.nats as { strict_signing_key_usage?: unknown }).strict_signing_key_usage === true
        if (!strict) trustedKeys.push(o.claims.sub)
        // Operator signing keys are plain keys (JwtShapes checks they are strings).
        for (const k of o.claims.nats.signing_keys ?? []) trustedKeys.push(k as string)
      }
      for (const k of trustedKeys) {
        if (!isPublicKey(k, "operator")) {
          return fail(first, `trusted Keys ${JSON.stringify(k)} are required to be a valid public operator nkey`)
        }
      }
    } else if (resolver === undefined) {
      // Trusted keys without a resolver: no account can ever be found, so no client could connect.
      return fail(first, "trusted keys require an account resolver (resolver: MEMORY) to be configured")
    }
    if (systemAccount !== undefined) {
      // nats-server configureAccounts looks the system account up through the resolver at start.
      const missing = this.systemAccountProblem(systemAccount, preload, trustedKeys)
      if (missing !== undefined) return fail(this.system ?? first, `error resolving system account: ${missing}`)
    }
    return { operators, trustedKeys, accounts: preload, systemAccount }
  }

  /** Why the resolver would not produce the system account (nats-server fetchAccount's errors), if it would not. */
  private systemAccountProblem(
    name: string,
    preload: ReadonlyMap<string, PreloadedAccount>,
    trustedKeys: ReadonlyArray<string>
  ): string | undefined {
    if (!isPublicKey(name, "account")) return "will only fetch valid account keys"
    const p = preload.get(name)
    if (p === undefined) return "account missing"
    const valid = trustedKeys.includes(p.claims.iss) && p.claims.sub === name
      && timeIssue(p.claims, Math.floor(Date.now() / 1000)) === undefined
    return valid ? undefined : "account validation failed"
  }

  /**
   * The preloaded accounts an operator trusts, as AccountSettings for the account runtime; an
   * account using claims we have not built is an error at its preload entry. Accounts signed by
   * no trusted key are left out: no client can authenticate into them (nats-server fails their
   * lookup), so they never exist.
   */
  accountsOf(settings: OperatorSettings): AccountsSettings {
    const trusted = new Set(settings.trustedKeys)
    const accounts: Array<AccountSettings> = []
    for (const [key, p] of settings.accounts) {
      if (!trusted.has(p.claims.iss) || p.claims.sub !== key) continue
      const r = accountFromClaims(p.claims)
      if (!r.ok) {
        this.issues.error(this.preloadPos.get(key)!, r.error)
        continue
      }
      accounts.push(r.account)
    }
    return { accounts, systemAccount: settings.systemAccount ?? DEFAULT_SYSTEM_ACCOUNT }
  }

  private readOperators(e: ConfigEntry): Array<TrustedOperator> {
    // nats-server 2.9.10 accepts one string only: its `[]string` case never matches a config
    // array (decoded as []interface {}), so a list is a type error there and here.
    if (e.value._tag !== "String") {
      this.issues.error(e.keyPos, `error parsing operators: unsupported type ${goType(e.value)}`)
      return []
    }
    const name = e.value.value
    let contents: string
    try {
      contents = fs.readFileSync(name, "utf8")
    } catch (x) {
      if (!name.startsWith(JWT_PREFIX)) {
        this.issues.error(e.keyPos, `error parsing operator JWT: ${readError(name, x as NodeJS.ErrnoException)}`)
        return []
      }
      contents = name
    }
    const jwt = parseDecoratedJwt(contents)
    const d = decodeOperator(jwt)
    if (!d.ok) {
      this.issues.error(e.keyPos, `error parsing operator JWT: ${d.error}`)
      return []
    }
    return [{ jwt, claims: d.claims }]
  }

  /** "MEMORY", undefined after an error, or "refused" for resolvers we have not built. */
  private readResolver(e: ConfigEntry): "MEMORY" | "refused" | undefined {
    const v = e.value
    if (v._tag === "String") {
      if (/(MEM|MEMORY)\s*/i.test(v.value)) return "MEMORY"
      if (/(?:URL)(?:\(\s*"?([^\s"]*)"?\s*\))?\s*/i.test(v.value)) {
        this.issues.error(e.keyPos, `${e.key}: the URL account resolver is not supported yet; use MEMORY`)
        return "refused"
      }
    } else if (v._tag === "Map") {
      this.issues.error(
        e.keyPos,
        `${e.key}: the nats-based account resolvers (full/cache directory) are not supported yet; use MEMORY`
      )
      return "refused"
    } else {
      this.issues.error(e.keyPos, `error parsing operator resolver, wrong type ${goType(v)}`)
      return undefined
    }
    this.issues.error(
      e.keyPos,
      "error parsing account resolver, should be MEM or  URL(\"url\") or a map containing dir and type state=[FULL|CACHE])"
    )
    return undefined
  }

  private readPreload(e: ConfigEntry): Map<string, PreloadedAccount> {
    const out = new Map<string, PreloadedAccount>()
    if (e.value._tag !== "Map") {
      this.issues.error(e.keyPos, "preload should be a map of account_public_key:account_jwt")
      return out
    }
    for (const a of e.value.entries.values()) {
      if (a.value._tag !== "String") {
        this.issues.error(a.keyPos, "preload map value should be a string JWT")
        continue
      }
      const d = decodeAccount(a.value.value)
      if (!d.ok) {
        this.issues.error(a.keyPos, "invalid account JWT")
        continue
      }
      out.set(a.key, { key: a.key, jwt: a.value.value, claims: d.claims })
      this.preloadPos.set(a.key, a.keyPos)
    }
    return out
  }

  private readTrusted(e: ConfigEntry): Array<string> {
    const v = e.value
    let keys: Array<string> = []
    let pos = e.keyPos
    if (v._tag === "String") keys = [v.value]
    else if (v._tag === "Array") {
      for (const item of v.items) {
        pos = item.pos
        if (item._tag === "String") keys.push(item.value)
        else this.issues.error(item.pos, `error parsing trusted: unsupported type in array ${goType(item)}`)
      }
    } else {
      this.issues.error(e.keyPos, `error parsing trusted: unsupported type ${goType(v)}`)
    }
    for (const k of keys) {
      if (!isPublicKey(k, "operator")) {
        this.issues.error(pos, `trust key ${JSON.stringify(k)} required to be a valid public operator nkey`)
      }
    }
    return keys
  }
}
