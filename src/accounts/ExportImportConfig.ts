/**
 * The `exports` and `imports` lists of an account in a configuration file, item by item, with
 * nats-server 2.9.10's keys and texts (`opts.go` parseAccountExports/Imports,
 * parseExportStreamOrService, parseImportStreamOrService). The checks that need every account
 * (unknown accounts, cycles, unauthorized imports) are AccountsConfigFile's.
 */
import type * as AuthConfigFile from "../auth/AuthConfigFile.ts"
import { type ConfigEntry, type ConfigValue, goType, type Position } from "../config/ConfigValue.ts"
import type { ResponseType, ServiceExport, ServiceImport, StreamExport, StreamImport } from "./AccountSettings.ts"

/** nats-server DEFAULT_SERVICE_EXPORT_RESPONSE_THRESHOLD. */
export const DEFAULT_RESPONSE_THRESHOLD_MS = 2 * 60 * 1000

export interface AccountsIssues {
  error(pos: Position, message: string): void
}

/** `Expected a parseable size for "k", got v` takes Go's %v of the value. */
export const goValue = (v: ConfigValue): string => {
  switch (v._tag) {
    case "Array":
      return `[${v.items.map(goValue).join(" ")}]`
    case "Map":
      return `map[${[...v.entries.values()].map((e) => `${e.key}:${goValue(e.value)}`).join(" ")}]`
    case "Datetime":
      return v.value.toISOString()
    default:
      return String(v.value)
  }
}

export const stringList = (e: ConfigEntry, issues: AccountsIssues): Array<string> | undefined => {
  if (e.value._tag !== "Array") {
    issues.error(e.keyPos, `${e.key}: expected an array of account names`)
    return undefined
  }
  const out: Array<string> = []
  for (const item of e.value.items) {
    if (item._tag !== "String") {
      issues.error(item.pos, `${e.key}: expected an array of account names`)
      return undefined
    }
    out.push(item.value)
  }
  return out
}

/** nats-server parseExportStreamOrService (keys in any order; the kind decides which apply). */
export const exportItem = (
  v: ConfigValue,
  duration: AuthConfigFile.DurationParser,
  issues: AccountsIssues
): { stream?: StreamExport; service?: ServiceExport } | undefined => {
  if (v._tag !== "Map") {
    issues.error(v.pos, `Export Items should be a map with type entry, got ${goType(v)}`)
    return undefined
  }
  let stream: string | undefined
  let service: string | undefined
  let accounts: Array<string> | undefined
  let responseType: ResponseType = "Singleton"
  let responseEntry: ConfigEntry | undefined
  let threshold: number | undefined
  let thresholdEntry: ConfigEntry | undefined
  for (const f of v.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "stream":
        if (service !== undefined) {
          issues.error(f.value.pos, `Detected stream ${JSON.stringify(goValue(f.value))} but already saw a service`)
        } else if (f.value._tag !== "String") {
          issues.error(f.value.pos, `Expected stream name to be string, got ${goType(f.value)}`)
        } else stream = f.value.value
        break
      case "service":
        if (stream !== undefined) {
          issues.error(f.value.pos, `Detected service ${JSON.stringify(goValue(f.value))} but already saw a stream`)
        } else if (f.value._tag !== "String") {
          issues.error(f.value.pos, `Expected service name to be string, got ${goType(f.value)}`)
        } else service = f.value.value
        break
      case "response":
      case "response_type": {
        if (responseEntry !== undefined) {
          issues.error(f.value.pos, "Duplicate response type definition")
          break
        }
        responseEntry = f
        if (f.value._tag !== "String") {
          issues.error(f.value.pos, `Expected response type to be string, got ${goType(f.value)}`)
          break
        }
        const t = f.value.value.toLowerCase()
        if (t === "single" || t === "singleton") responseType = "Singleton"
        else if (t === "stream") responseType = "Stream"
        else if (t === "chunk" || t === "chunked") responseType = "Chunked"
        else issues.error(f.value.pos, `Unknown response type: ${JSON.stringify(f.value.value)}`)
        break
      }
      case "threshold":
      case "response_threshold":
      case "response_max_time":
      case "response_time": {
        if (thresholdEntry !== undefined) {
          issues.error(f.value.pos, "Duplicate response threshold detected")
          break
        }
        thresholdEntry = f
        if (f.value._tag !== "String") {
          issues.error(
            f.value.pos,
            `Expected response threshold to be a parseable time duration, got ${goType(f.value)}`
          )
          break
        }
        const ms = duration(f.value.value)
        if (ms === undefined) {
          issues.error(
            f.value.pos,
            `Expected response threshold to be a parseable time duration, got ${JSON.stringify(f.value.value)}`
          )
        } else threshold = ms
        break
      }
      case "accounts":
        accounts = stringList(f, issues)
        break
      case "latency":
        issues.error(f.keyPos, "exports.latency: service latency tracking is not supported yet")
        break
      case "account_token_position":
        issues.error(f.keyPos, "exports.account_token_position: account token positions are not supported yet")
        break
      default:
        if (!f.usedAsVariable) issues.error(f.keyPos, `unknown field "${f.key}"`)
    }
  }
  if (stream !== undefined) {
    if (responseEntry !== undefined || thresholdEntry !== undefined) {
      issues.error((responseEntry ?? thresholdEntry)!.value.pos, "Detected response directive on non-service")
      return undefined
    }
    return { stream: { subject: stream, accounts } }
  }
  if (service !== undefined) {
    return {
      service: {
        subject: service,
        accounts,
        responseType,
        responseThresholdMs: threshold === undefined || threshold === 0 ? DEFAULT_RESPONSE_THRESHOLD_MS : threshold
      }
    }
  }
  return {}
}

/** nats-server parseAccount: `{ account, subject }` of an import. */
const importSource = (
  e: ConfigEntry,
  kind: "Stream" | "Service",
  issues: AccountsIssues
): { account: string; subject: string } | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.value.pos, `${kind} entry should be an account map, got ${goType(e.value)}`)
    return undefined
  }
  let account = ""
  let subject = ""
  for (const f of e.value.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "account":
      case "subject":
        if (f.value._tag !== "String") {
          issues.error(f.value.pos, `${f.key}: expected a string, got ${goType(f.value)}`)
          return undefined
        }
        if (f.key.toLowerCase() === "account") account = f.value.value
        else subject = f.value.value
        break
      default:
        if (!f.usedAsVariable) issues.error(f.keyPos, `unknown field "${f.key}"`)
    }
  }
  if (account === "" || subject === "") {
    issues.error(e.value.pos, "Expect an account name and a subject")
    return undefined
  }
  return { account, subject }
}

/** nats-server parseImportStreamOrService. */
export const importItem = (
  v: ConfigValue,
  issues: AccountsIssues
): { stream?: StreamImport; service?: ServiceImport } | undefined => {
  if (v._tag !== "Map") {
    issues.error(v.pos, `Import Items should be a map with type entry, got ${goType(v)}`)
    return undefined
  }
  let stream: { account: string; subject: string } | undefined
  let service: { account: string; subject: string } | undefined
  let prefix: string | undefined
  let to: ConfigEntry | undefined
  for (const f of v.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "stream":
        if (service !== undefined) issues.error(f.value.pos, "Detected stream but already saw a service")
        else stream = importSource(f, "Stream", issues)
        break
      case "service":
        if (stream !== undefined) issues.error(f.value.pos, "Detected service but already saw a stream")
        else service = importSource(f, "Service", issues)
        break
      case "prefix":
        if (f.value._tag !== "String") issues.error(f.value.pos, `prefix: expected a string, got ${goType(f.value)}`)
        else prefix = f.value.value
        break
      case "to":
        if (f.value._tag !== "String") issues.error(f.value.pos, `to: expected a string, got ${goType(f.value)}`)
        else to = f
        break
      case "share":
        if (f.value._tag !== "Bool") issues.error(f.value.pos, `share: expected a boolean, got ${goType(f.value)}`)
        else if (f.value.value) issues.error(f.keyPos, "imports.share: service latency sharing is not supported yet")
        break
      default:
        if (!f.usedAsVariable) issues.error(f.keyPos, `unknown field "${f.key}"`)
    }
  }
  const toValue = to?.value._tag === "String" ? to.value.value : undefined
  if (stream !== undefined) {
    if (prefix !== undefined && prefix !== "" && toValue !== undefined && toValue !== "") {
      issues.error(to!.value.pos, "Stream import can not have a 'prefix' and a 'to' property")
      return undefined
    }
    return {
      stream: {
        account: stream.account,
        subject: stream.subject,
        prefix: prefix === "" ? undefined : prefix,
        to: toValue === "" ? undefined : toValue
      }
    }
  }
  if (service !== undefined) {
    return {
      service: { account: service.account, subject: service.subject, to: toValue === "" ? undefined : toValue }
    }
  }
  return {}
}
