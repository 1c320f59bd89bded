/**
 * Decentralised authentication (operator mode), as a nats-server configuration sets it up:
 * trusted operators (`operator`) or bare trusted keys (`trusted`), and a MEMORY account
 * resolver filled from `resolver_preload`. Users are not configured: they arrive with user JWTs
 * signed by an account (or one of its signing keys) whose JWT an operator signed.
 */
import type { AccountClaims, OperatorClaims } from "./JwtClaims.ts"

export interface TrustedOperator {
  /** The operator JWT as configured (inline or read from its file). */
  readonly jwt: string
  readonly claims: OperatorClaims
}

export interface PreloadedAccount {
  /** The preload map's key (nats-server looks accounts up by it and requires it to be the JWT's subject). */
  readonly key: string
  readonly jwt: string
  /** Decoded and signature-checked; issuer trust and expiry are checked when a client uses it. */
  readonly claims: AccountClaims
}

export interface OperatorSettings {
  readonly operators: ReadonlyArray<TrustedOperator>
  /**
   * Keys whose signature makes an account JWT trusted: `trusted` as configured, or each
   * operator's own key (unless it asks for strict signing-key use) and its signing keys
   * (nats-server validateTrustedOperators).
   */
  readonly trustedKeys: ReadonlyArray<string>
  /** `resolver: MEMORY`: the accounts, by public key. */
  readonly accounts: ReadonlyMap<string, PreloadedAccount>
  /** `system_account`, else the first operator's `system_account`; undefined when neither names one. */
  readonly systemAccount: string | undefined
}
