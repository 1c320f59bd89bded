/**
 * What an account is, as configured: by an `accounts { }` block in the config file or by an
 * account JWT (operator mode). Both sources produce these settings; the account runtime
 * (subject space, JetStream, exports and imports) is built from them and never reads either
 * source directly.
 *
 * nats-server: `accounts.go` Account, `opts.go` parseAccounts, jwt AccountClaims.
 */
import type { NkeyUser, PasswordUser } from "../auth/AuthSettings.ts"
import type { Permissions } from "../auth/Permissions.ts"
import type { AccountTrace } from "../core/MsgTrace.ts"

/** The account of clients that name none (nats-server globalAccountName). */
export const GLOBAL_ACCOUNT = "$G"
/** nats-server DEFAULT_SYSTEM_ACCOUNT. */
export const DEFAULT_SYSTEM_ACCOUNT = "$SYS"

/** nats-server ServiceRespType. */
export type ResponseType = "Singleton" | "Stream" | "Chunked"

export interface StreamExport {
  readonly subject: string
  /** Accounts allowed to import; undefined = public. */
  readonly accounts: ReadonlyArray<string> | undefined
}

export interface ServiceExport {
  readonly subject: string
  readonly accounts: ReadonlyArray<string> | undefined
  readonly responseType: ResponseType
  /** How long the responder has to answer (nats-server DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD 2 min). */
  readonly responseThresholdMs: number
}

export interface StreamImport {
  /** The exporting account. */
  readonly account: string
  /** The exported subject (may contain wildcards). */
  readonly subject: string
  /** `prefix`: messages appear in the importing account as `<prefix>.<subject>`. */
  readonly prefix: string | undefined
  /** `to`: the subject the messages appear under in the importing account (2.9: a literal remap). */
  readonly to: string | undefined
}

export interface ServiceImport {
  readonly account: string
  /** The exported subject requests are delivered on in the exporting account. */
  readonly subject: string
  /** The local subject importers publish requests on; undefined = `subject`. */
  readonly to: string | undefined
}

/**
 * Per-account JetStream limits; -1 = unlimited, as nats-server's JetStreamAccountLimits and the
 * `limits` object of `$JS.API.INFO`.
 */
export interface JetStreamLimits {
  readonly maxMemory: number
  readonly maxStore: number
  readonly maxStreams: number
  readonly maxConsumers: number
  readonly maxAckPending: number
  readonly memoryMaxStreamBytes: number
  readonly storeMaxStreamBytes: number
  readonly maxBytesRequired: boolean
}

export const UNLIMITED: JetStreamLimits = {
  maxMemory: -1,
  maxStore: -1,
  maxStreams: -1,
  maxConsumers: -1,
  maxAckPending: -1,
  memoryMaxStreamBytes: -1,
  storeMaxStreamBytes: -1,
  maxBytesRequired: false
}

export interface AccountSettings {
  /** The config block's key, or the account's public nkey (`A...`) in operator mode. */
  readonly name: string
  /** Users of this account from the config file (operator mode: empty, users come with JWTs). */
  readonly users: ReadonlyArray<PasswordUser>
  readonly nkeys: ReadonlyArray<NkeyUser>
  /** Undefined = JetStream not enabled for this account. */
  readonly jetstream: JetStreamLimits | undefined
  /**
   * JWT `tiered_limits`: limits per replica tier (`R1`, `R3`, ...) instead of flat ones; `jetstream`
   * then holds the R1 tier for what is not tier-aware. Config-file accounts have flat limits only.
   */
  readonly jetstreamTiers?: ReadonlyMap<string, JetStreamLimits> | undefined
  readonly exports: {
    readonly streams: ReadonlyArray<StreamExport>
    readonly services: ReadonlyArray<ServiceExport>
  }
  readonly imports: {
    readonly streams: ReadonlyArray<StreamImport>
    readonly services: ReadonlyArray<ServiceImport>
  }
  /** Permissions of users of this account that have none of their own (JWT `default_permissions`). */
  readonly defaultPermissions: Permissions | undefined
  /** Operator mode: user public key → revoked when the user JWT was issued at or before this (unix s). */
  readonly revocations: ReadonlyMap<string, number>
  /**
   * Operator mode: account connection limit (-1 unlimited), JWT `limits.conn`; enforced once, when a
   * client joins the account (Server joinAccount), not by the authenticator.
   */
  readonly maxConnections: number
  /** `msg_trace { dest, sampling }`: where sampled `traceparent` messages are traced; undefined = not traced. */
  readonly msgTrace?: AccountTrace | undefined
}

export interface AccountsSettings {
  /** Every account besides the global one, in the order configured. */
  readonly accounts: ReadonlyArray<AccountSettings>
  /** `system_account` (default `$SYS`, created when not configured); undefined with `no_system_account`. */
  readonly systemAccount: string | undefined
}

export const emptyAccount = (name: string): AccountSettings => ({
  name,
  users: [],
  nkeys: [],
  jetstream: undefined,
  exports: { streams: [], services: [] },
  imports: { streams: [], services: [] },
  defaultPermissions: undefined,
  revocations: new Map(),
  maxConnections: -1
})
