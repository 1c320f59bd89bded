/**
 * The `accounts { }` block of a nats-server configuration file, read into AccountsSettings with
 * nats-server 2.9.10's keys, aliases and checks (`opts.go` parseAccounts, parseJetStreamForAccount,
 * and the checks `accounts.go` makes when the parsed exports and imports are added:
 * addStreamImport, AddMappedStreamImport, AddServiceImport; the items of the export and import
 * lists are ExportImportConfig.ts's). Every problem is reported with nats-server's text.
 *
 * Refused (not built): account `nkey`, `mappings`, `limits`, export `latency` and
 * `account_token_position`, import `share: true`.
 */
import * as AuthConfigFile from "../auth/AuthConfigFile.ts"
import type { NkeyUser, PasswordUser } from "../auth/AuthSettings.ts"
import type { Permissions } from "../auth/Permissions.ts"
import { type ConfigEntry, goType, type Position } from "../config/ConfigValue.ts"
import { hasWildcard, isValidSubject } from "../subject/Subject.ts"
import { compileTransform, tokenizeWildcards } from "../subject/SubjectTransform.ts"
import {
  type AccountSettings,
  DEFAULT_SYSTEM_ACCOUNT,
  emptyAccount,
  GLOBAL_ACCOUNT,
  type JetStreamLimits,
  type ServiceExport,
  type ServiceImport,
  type StreamExport,
  type StreamImport,
  UNLIMITED
} from "./AccountSettings.ts"
import { type AccountsIssues, exportItem, goValue, importItem } from "./ExportImportConfig.ts"
import {
  findExport,
  mergeExports,
  serviceImportFormsCycle,
  streamImportFormsCycle,
  streamTarget
} from "./ImportRules.ts"
import { parseAccountMsgTrace } from "./MsgTraceConfig.ts"

export interface ParsedAccounts {
  readonly accounts: ReadonlyArray<AccountSettings>
  /** Every account user, tagged with its account, for the server's authenticator. */
  readonly users: ReadonlyArray<PasswordUser>
  readonly nkeys: ReadonlyArray<NkeyUser>
  /** Where the first account `users` key is (the single user/token conflict is reported there). */
  readonly usersPos: Position | undefined
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface Draft {
  readonly name: string
  settings: Mutable<AccountSettings>
  streamExports: Array<StreamExport>
  serviceExports: Array<ServiceExport>
  streamImports: Array<StreamImport>
  serviceImports: Array<ServiceImport>
}

/** nats-server parseJetStreamForAccount. */
const jetstream = (e: ConfigEntry, issues: AccountsIssues): JetStreamLimits | undefined => {
  const v = e.value
  if (v._tag === "Bool") return v.value ? UNLIMITED : undefined
  if (v._tag === "String") {
    const s = v.value.toLowerCase()
    if (s === "enabled" || s === "enable") return UNLIMITED
    if (s === "disabled" || s === "disable") return undefined
    issues.error(v.pos, `Expected 'enabled' or 'disabled' for string value, got '${v.value}'`)
    return undefined
  }
  if (v._tag !== "Map") {
    issues.error(v.pos, `Expected map, bool or string to define JetStream, got ${goType(v)}`)
    return undefined
  }
  const limits: Mutable<JetStreamLimits> = { ...UNLIMITED }
  const size = (f: ConfigEntry): number | undefined => {
    if (f.value._tag === "Integer") return f.value.value
    issues.error(f.value.pos, `Expected a parseable size for ${JSON.stringify(f.key)}, got ${goValue(f.value)}`)
    return undefined
  }
  for (const f of v.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "max_memory":
      case "max_mem":
      case "mem":
      case "memory":
        limits.maxMemory = size(f) ?? limits.maxMemory
        break
      case "max_store":
      case "max_file":
      case "max_disk":
      case "store":
      case "disk":
        limits.maxStore = size(f) ?? limits.maxStore
        break
      case "max_streams":
      case "streams":
        limits.maxStreams = size(f) ?? limits.maxStreams
        break
      case "max_consumers":
      case "consumers":
        limits.maxConsumers = size(f) ?? limits.maxConsumers
        break
      case "max_bytes_required":
      case "max_stream_bytes":
      case "max_bytes":
        if (f.value._tag !== "Bool") {
          issues.error(f.value.pos, `Expected a parseable bool for ${JSON.stringify(f.key)}, got ${goValue(f.value)}`)
        } else limits.maxBytesRequired = f.value.value
        break
      case "mem_max_stream_bytes":
      case "memory_max_stream_bytes":
        limits.memoryMaxStreamBytes = size(f) ?? limits.memoryMaxStreamBytes
        break
      case "disk_max_stream_bytes":
      case "store_max_stream_bytes":
        limits.storeMaxStreamBytes = size(f) ?? limits.storeMaxStreamBytes
        break
      case "max_ack_pending":
        limits.maxAckPending = size(f) ?? limits.maxAckPending
        break
      default:
        if (!f.usedAsVariable) issues.error(f.keyPos, `unknown field "${f.key}"`)
    }
  }
  return limits
}

/**
 * The `accounts` block. `accounts: [A, B]` (names only) gives accounts without users; the map
 * form is the common one.
 */
export const accounts = (
  e: ConfigEntry,
  duration: AuthConfigFile.DurationParser,
  issues: AccountsIssues
): ParsedAccounts | undefined => {
  const drafts: Array<Draft> = []
  const users: Array<PasswordUser> = []
  const nkeys: Array<NkeyUser> = []
  let usersPos: Position | undefined
  const seenUsers = new Set<string>()
  const draft = (name: string): Draft => ({
    name,
    settings: { ...emptyAccount(name) },
    streamExports: [],
    serviceExports: [],
    streamImports: [],
    serviceImports: []
  })
  const v = e.value
  if (v._tag === "Array") {
    const names = new Set<string>()
    for (const item of v.items) {
      if (item._tag !== "String") {
        issues.error(item.pos, `accounts: expected account names, got ${goType(item)}`)
        continue
      }
      if (item.value === GLOBAL_ACCOUNT) {
        issues.error(item.pos, `${JSON.stringify(item.value)} is a Reserved Account`)
        continue
      }
      if (names.has(item.value)) {
        issues.error(item.pos, `Duplicate Account Entry: ${item.value}`)
        continue
      }
      names.add(item.value)
      drafts.push(draft(item.value))
    }
    return { accounts: drafts.map((d) => d.settings), users, nkeys, usersPos }
  }
  if (v._tag !== "Map") {
    issues.error(e.keyPos, `${e.key}: expected a block or an array of account names`)
    return undefined
  }
  let failed = false
  const fail = (pos: Position, message: string) => {
    failed = true
    issues.error(pos, message)
  }
  const local: AccountsIssues = { error: fail }
  for (const acc of v.entries.values()) {
    if (acc.usedAsVariable) continue
    if (acc.value._tag !== "Map") {
      fail(acc.value.pos, "Expected map entries for accounts")
      continue
    }
    if (acc.key === GLOBAL_ACCOUNT) {
      fail(acc.value.pos, `${JSON.stringify(acc.key)} is a Reserved Account`)
      continue
    }
    const d = draft(acc.key)
    drafts.push(d)
    let accUsers: AuthConfigFile.ParsedUsers | undefined
    let accUsersPos: Position | undefined
    let defaults: Permissions | undefined
    for (const f of acc.value.entries.values()) {
      switch (f.key.toLowerCase()) {
        case "users":
          accUsersPos = f.keyPos
          accUsers = AuthConfigFile.users(f, duration, local)
          break
        case "jetstream":
          d.settings.jetstream = jetstream(f, local)
          break
        case "exports":
          if (f.value._tag !== "Array") {
            fail(f.value.pos, `Exports should be an array, got ${goType(f.value)}`)
            break
          }
          for (const item of f.value.items) {
            const x = exportItem(item, duration, local)
            if (x?.stream !== undefined) d.streamExports.push(x.stream)
            if (x?.service !== undefined) d.serviceExports.push(x.service)
          }
          break
        case "imports": {
          if (f.value._tag !== "Array") {
            fail(f.value.pos, `Imports should be an array, got ${goType(f.value)}`)
            break
          }
          for (const item of f.value.items) {
            const x = importItem(item, local)
            if (x?.stream !== undefined) d.streamImports.push(x.stream)
            if (x?.service !== undefined) {
              const s = x.service
              const to = s.to ?? s.subject
              const dup = d.serviceImports.find((o) => (o.to ?? o.subject) === to)
              if (dup !== undefined) {
                fail(
                  item.pos,
                  `Duplicate service import subject ${JSON.stringify(to)}, previously used in import for account ${
                    JSON.stringify(dup.account)
                  }, subject ${JSON.stringify(dup.subject)}`
                )
              } else d.serviceImports.push(s)
            }
          }
          break
        }
        case "msg_trace":
        case "trace_dest": {
          const t = parseAccountMsgTrace(f, local)
          if (t !== undefined) d.settings.msgTrace = t
          break
        }
        case "default_permissions":
          defaults = AuthConfigFile.permissions(f, duration, local)
          break
        case "nkey":
          fail(f.keyPos, `accounts.${acc.key}.nkey: account nkeys (operator mode) are not supported yet`)
          break
        case "mappings":
        case "maps":
          fail(f.keyPos, `accounts.${acc.key}.${f.key}: subject mappings are not supported yet`)
          break
        case "limits":
          fail(f.keyPos, `accounts.${acc.key}.limits: account limits are not supported yet`)
          break
        default:
          if (!f.usedAsVariable) fail(f.keyPos, `unknown field "${f.key}"`)
      }
    }
    d.settings.defaultPermissions = defaults
    const withDefaults = <T extends { readonly permissions: Permissions | undefined }>(u: T): T =>
      u.permissions === undefined && defaults !== undefined ? { ...u, permissions: defaults } : u
    const accPasswordUsers: Array<PasswordUser> = []
    const accNkeyUsers: Array<NkeyUser> = []
    for (const n of accUsers?.nkeys ?? []) {
      if (seenUsers.has(n.nkey)) {
        fail(accUsersPos!, `Duplicate nkey ${JSON.stringify(n.nkey)} detected`)
        continue
      }
      seenUsers.add(n.nkey)
      accNkeyUsers.push({ ...withDefaults(n), account: acc.key })
    }
    for (const u of accUsers?.users ?? []) {
      if (seenUsers.has(u.user)) {
        fail(accUsersPos!, `Duplicate user ${JSON.stringify(u.user)} detected`)
        continue
      }
      seenUsers.add(u.user)
      accPasswordUsers.push({ ...withDefaults(u), account: acc.key })
    }
    if (accPasswordUsers.length + accNkeyUsers.length > 0 && usersPos === undefined) usersPos = accUsersPos
    d.settings.users = accPasswordUsers
    d.settings.nkeys = accNkeyUsers
    users.push(...accPasswordUsers)
    nkeys.push(...accNkeyUsers)
  }
  // nats-server bails before exports and imports are checked when the accounts themselves are wrong.
  if (failed) return undefined
  for (const d of drafts) {
    d.streamExports = mergeExports(d.streamExports, (a, b) => ({ ...a, accounts: b.accounts }))
    d.serviceExports = mergeExports(d.serviceExports, (a, b) => ({
      ...a,
      accounts: b.accounts,
      responseType: b.responseType !== "Singleton" ? b.responseType : a.responseType,
      responseThresholdMs: b.responseThresholdMs
    }))
  }

  // Exports first (imports are authorized against them); errors at the `accounts` key, as nats-server.
  const byName = new Map(drafts.map((d) => [d.settings.name, d]))
  const at = e.keyPos
  for (const d of drafts) {
    for (const x of d.streamExports) {
      for (const a of x.accounts ?? []) {
        if (!byName.has(a)) issues.error(at, `${JSON.stringify(a)} account not defined for stream export`)
      }
      // Deliberate difference: nats-server 2.9.10 accepts an invalid export subject that can never match.
      if (!isValidSubject(x.subject)) {
        issues.error(at, `Error adding stream export ${JSON.stringify(x.subject)}: invalid subject`)
      }
    }
    for (const x of d.serviceExports) {
      for (const a of x.accounts ?? []) {
        if (!byName.has(a)) issues.error(at, `${JSON.stringify(a)} account not defined for service export`)
      }
      if (!isValidSubject(x.subject)) {
        issues.error(at, `Error adding service export ${JSON.stringify(x.subject)}: invalid subject`)
      }
    }
  }
  for (const d of drafts) {
    const me = d.settings.name
    const seen: Array<StreamImport> = []
    for (const i of d.streamImports) {
      const exporter = byName.get(i.account)
      if (exporter === undefined) {
        issues.error(at, `${JSON.stringify(i.account)} account not defined for stream import`)
        continue
      }
      const bad = (why: string) => issues.error(at, `Error adding stream import ${JSON.stringify(i.subject)}: ${why}`)
      if (!findExport(exporter.streamExports, me, i.subject).authorized) {
        bad("stream import not authorized")
        continue
      }
      if (i.prefix !== undefined && (hasWildcard(i.prefix) || !isValidSubject(i.prefix.replace(/\.$/, "")))) {
        bad("stream import prefix can not contain wildcard tokens")
        continue
      }
      if (i.to !== undefined && !isValidSubject(i.to)) {
        bad("invalid subject")
        continue
      }
      if (seen.some((o) => o.account === i.account && o.subject === i.subject)) {
        bad("stream import already exists")
        continue
      }
      if (streamImportFormsCycle(byName, me, exporter, streamTarget(i))) {
        bad("import forms a cycle")
        continue
      }
      seen.push(i)
    }
    for (const i of d.serviceImports) {
      const exporter = byName.get(i.account)
      if (exporter === undefined) {
        issues.error(at, `${JSON.stringify(i.account)} account not defined for service import`)
        continue
      }
      const bad = (why: string) => issues.error(at, `Error adding service import ${JSON.stringify(i.subject)}: ${why}`)
      if (!isValidSubject(i.subject) || !isValidSubject(i.to ?? i.subject)) {
        bad("invalid subject")
        continue
      }
      if (!findExport(exporter.serviceExports, me, i.subject).authorized) {
        bad("service import not authorized")
        continue
      }
      if (serviceImportFormsCycle(byName, me, exporter, i.to ?? i.subject)) {
        bad("import forms a cycle")
        continue
      }
      // nats-server addServiceImport: a wildcard import under another local subject needs a transform
      // back to the exported subject, so the local subject must use every wildcard.
      const local = i.to ?? i.subject
      if (local !== i.subject && hasWildcard(i.subject)) {
        const t = compileTransform(i.subject, tokenizeWildcards(local))
        if (!t.ok) {
          bad(
            `failed to create mapping transform for service import subject ${JSON.stringify(local)} to ${
              JSON.stringify(i.subject)
            }: ${t.error}`
          )
        }
      }
    }
    d.settings.exports = { streams: d.streamExports, services: d.serviceExports }
    d.settings.imports = { streams: d.streamImports, services: d.serviceImports }
  }
  return { accounts: drafts.map((d) => d.settings), users, nkeys, usersPos }
}

export type { AccountsIssues }
export { DEFAULT_SYSTEM_ACCOUNT }
