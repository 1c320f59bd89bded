/**
 * The `authorization { ... }` block and `no_auth_user` of a nats-server configuration file, read
 * into AuthSettings with nats-server 2.9.10's keys, aliases and checks (`opts.go`
 * parseAuthorization, parseUsers, parseUserPermissions, parseAllowResponses, checkPermSubjectArray,
 * validateNoAuthUser). Every problem is reported at its key; nothing is defaulted silently.
 */
import { fromPublic } from "@nats-io/nkeys"
import type { ConfigEntry, ConfigValue, Position } from "../config/ConfigValue.ts"
import { isValidSubject } from "../subject/Subject.ts"
import { type AuthSettings, DEFAULT_AUTH_TIMEOUT_MS, type NkeyUser, type PasswordUser } from "./AuthSettings.ts"
import { DEFAULT_RESPONSE, type Permissions, type ResponsePermission, type SubjectPermission } from "./Permissions.ts"

export interface AuthIssues {
  error(pos: Position, message: string): void
}

/** Go `time.ParseDuration`, shared with the rest of the config reader. */
export type DurationParser = (text: string) => number | undefined

/** Connection types nats-server knows (jwt.ConnectionType*). */
const CONNECTION_TYPES = new Set(["STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS"])

const str = (e: ConfigEntry, issues: AuthIssues): string | undefined => {
  if (e.value._tag === "String") return e.value.value
  issues.error(e.keyPos, `${e.key}: expected a string`)
  return undefined
}

/** nats-server checkPermSubjectArray: a subject, or "subject queue". */
const checkSubject = (s: string): string | undefined => {
  if (isValidSubject(s)) return undefined
  const fields = s.trim().split(/\s+/).filter((f) => f !== "")
  if (fields.length !== 2) return `subject ${JSON.stringify(s)} is not a valid subject`
  if (!isValidSubject(fields[0]!)) return `subject ${JSON.stringify(fields[0])} is not a valid subject`
  return undefined
}

const subjects = (e: ConfigEntry | { key: string; keyPos: Position; value: ConfigValue }, issues: AuthIssues) => {
  const v = e.value
  let list: Array<string>
  if (v._tag === "String") list = [v.value]
  else if (v._tag === "Array") {
    list = []
    for (const item of v.items) {
      if (item._tag !== "String") {
        issues.error(item.pos, "Subject in permissions array cannot be cast to string")
        return undefined
      }
      list.push(item.value)
    }
  } else {
    issues.error(e.keyPos, `${e.key}: expected subject permissions to be a subject, or array of subjects`)
    return undefined
  }
  for (const s of list) {
    const bad = checkSubject(s)
    if (bad !== undefined) {
      issues.error(e.keyPos, bad)
      return undefined
    }
  }
  // nats-server reads an empty array as no list at all: `allow: []` allows everything.
  return list.length === 0 ? undefined : list
}

const subjectPermission = (e: ConfigEntry, issues: AuthIssues): SubjectPermission | undefined => {
  const v = e.value
  if (v._tag !== "Map") {
    return { allow: subjects(e, issues) }
  }
  if (v.entries.size === 0) return undefined
  let allow: Array<string> | undefined
  let deny: Array<string> | undefined
  for (const f of v.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "allow":
        allow = subjects(f, issues)
        break
      case "deny":
        deny = subjects(f, issues)
        break
      default:
        if (!f.usedAsVariable) {
          issues.error(
            f.keyPos,
            `Unknown field name "${f.key}" parsing subject permissions, only 'allow' or 'deny' are permitted`
          )
        }
    }
  }
  return { allow, deny }
}

const allowResponses = (e: ConfigEntry, duration: DurationParser, issues: AuthIssues) => {
  const v = e.value
  if (v._tag === "Bool") return v.value ? DEFAULT_RESPONSE : undefined
  if (v._tag !== "Map") {
    issues.error(e.keyPos, "error parsing response permissions, expected a boolean or a map")
    return undefined
  }
  let { maxMsgs, expiresMs }: ResponsePermission = DEFAULT_RESPONSE
  for (const f of v.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "max":
      case "max_msgs":
      case "max_messages":
      case "max_responses":
        if (f.value._tag !== "Integer") {
          issues.error(f.keyPos, `${f.key}: expected an integer`)
          return undefined
        }
        // Negative means unlimited; 0 keeps the default (nats-server).
        if (f.value.value !== 0) maxMsgs = f.value.value
        break
      case "expires":
      case "expiration":
      case "ttl": {
        if (f.value._tag !== "String") {
          issues.error(f.keyPos, "error parsing expires, not a duration string")
          return undefined
        }
        const ms = duration(f.value.value)
        if (ms === undefined) {
          issues.error(f.keyPos, `error parsing expires: time: invalid duration ${JSON.stringify(f.value.value)}`)
          return undefined
        }
        if (ms !== 0) expiresMs = ms
        break
      }
      default:
        if (!f.usedAsVariable) issues.error(f.keyPos, `Unknown field "${f.key}" parsing permissions`)
    }
  }
  return { maxMsgs, expiresMs }
}

export const permissions = (e: ConfigEntry, duration: DurationParser, issues: AuthIssues): Permissions | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.keyPos, "Expected permissions to be a map/struct")
    return undefined
  }
  let publish: SubjectPermission | undefined
  let subscribe: SubjectPermission | undefined
  let response: ResponsePermission | undefined
  for (const f of e.value.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "pub":
      case "publish":
      case "import":
        publish = subjectPermission(f, issues)
        break
      case "sub":
      case "subscribe":
      case "export":
        subscribe = subjectPermission(f, issues)
        break
      case "publish_allow_responses":
      case "allow_responses":
        response = allowResponses(f, duration, issues)
        break
      default:
        if (!f.usedAsVariable) issues.error(f.keyPos, `Unknown field "${f.key}" parsing permissions`)
    }
  }
  // nats-server: allowing responses turns off the blanket publish allow.
  if (response !== undefined && publish?.allow === undefined) publish = { allow: [], deny: publish?.deny }
  return { publish, subscribe, response }
}

export interface ParsedUsers {
  readonly users: Array<PasswordUser>
  readonly nkeys: Array<NkeyUser>
}

/** nats-server parseUsers: the `users` array of `authorization` or of an account. */
export const users = (e: ConfigEntry, duration: DurationParser, issues: AuthIssues): ParsedUsers | undefined => {
  if (e.value._tag !== "Array") {
    issues.error(e.keyPos, "Expected users field to be an array")
    return undefined
  }
  const out: ParsedUsers = { users: [], nkeys: [] }
  for (const item of e.value.items) {
    if (item._tag !== "Map") {
      issues.error(item.pos, "Expected user entry to be a map/struct")
      continue
    }
    let nkey = ""
    let user = ""
    let password = ""
    let perms: Permissions | undefined
    let types: Array<string> | undefined
    for (const f of item.entries.values()) {
      switch (f.key.toLowerCase()) {
        case "nkey":
          nkey = str(f, issues) ?? nkey
          break
        case "user":
        case "username":
          user = str(f, issues) ?? user
          break
        case "pass":
        case "password":
          password = str(f, issues) ?? password
          break
        case "permission":
        case "permissions":
        case "authorization":
          perms = permissions(f, duration, issues)
          break
        case "allowed_connection_types":
        case "connection_types":
        case "clients": {
          const list = f.value._tag === "Array" ? f.value.items : [f.value]
          types = []
          for (const t of list) {
            if (t._tag !== "String") {
              issues.error(f.keyPos, `${f.key}: expected a string or an array of strings`)
              continue
            }
            if (!CONNECTION_TYPES.has(t.value.toUpperCase())) {
              issues.error(f.keyPos, `unknown connection type ${JSON.stringify(t.value)}`)
            }
            types.push(t.value.toUpperCase())
          }
          break
        }
        default:
          if (!f.usedAsVariable) issues.error(f.keyPos, `unknown field "${f.key}"`)
      }
    }
    const standardAllowed = types === undefined || types.length === 0 || types.includes("STANDARD")
    const websocketAllowed = types === undefined || types.length === 0 || types.includes("WEBSOCKET")
    // An MQTT client over TCP is connection type MQTT (MQTT_WS is MQTT over WebSocket, not served here).
    const mqttAllowed = types === undefined || types.length === 0 || types.includes("MQTT")
    if (nkey === "" && user === "") {
      issues.error(item.pos, "User entry requires a user")
      return undefined
    }
    if (nkey !== "") {
      if (!validUserNkey(nkey)) {
        issues.error(item.pos, "Not a valid public nkey for a user")
        return undefined
      }
      if (user !== "" || password !== "") {
        issues.error(item.pos, "Nkey users do not take usernames or passwords")
        return undefined
      }
      out.nkeys.push({
        nkey,
        permissions: perms,
        standardAllowed,
        ...(websocketAllowed ? {} : { websocketAllowed }),
        ...(mqttAllowed ? {} : { mqttAllowed })
      })
    } else {
      out.users.push({
        user,
        password,
        permissions: perms,
        standardAllowed,
        ...(websocketAllowed ? {} : { websocketAllowed }),
        ...(mqttAllowed ? {} : { mqttAllowed })
      })
    }
  }
  return out
}

const validUserNkey = (nkey: string): boolean => {
  if (!nkey.startsWith("U")) return false
  try {
    fromPublic(nkey)
    return true
  } catch {
    return false
  }
}

/** The `authorization` block; `noAuthUser` is the top-level key, validated against the users here. */
export const authorization = (
  e: ConfigEntry,
  duration: DurationParser,
  issues: AuthIssues
): Omit<AuthSettings, "noAuthUser"> | undefined => {
  if (e.value._tag !== "Map") {
    issues.error(e.keyPos, `${e.key}: expected a block`)
    return undefined
  }
  let user: string | undefined
  let password: string | undefined
  let token: string | undefined
  let timeoutMs = DEFAULT_AUTH_TIMEOUT_MS
  let timeoutSet = false
  let parsed: ParsedUsers | undefined
  let usersPresent = false
  let defaults: Permissions | undefined
  for (const f of e.value.entries.values()) {
    switch (f.key.toLowerCase()) {
      case "user":
      case "username":
        user = str(f, issues)
        break
      case "pass":
      case "password":
        password = str(f, issues)
        break
      case "token":
        token = str(f, issues)
        break
      case "timeout": {
        // nats-server: seconds as an integer or a float; any other type means 1 second.
        const v = f.value
        const seconds = v._tag === "Integer" || v._tag === "Float" ? v.value : 1
        timeoutMs = seconds === 0 ? DEFAULT_AUTH_TIMEOUT_MS : seconds * 1000
        timeoutSet = seconds !== 0
        break
      }
      case "users":
        usersPresent = true
        parsed = users(f, duration, issues)
        break
      case "default_permission":
      case "default_permissions":
      case "permissions":
        defaults = permissions(f, duration, issues)
        break
      default:
        if (!f.usedAsVariable) issues.error(f.keyPos, `unknown field "${f.key}"`)
    }
  }
  if (((user ?? "") !== "" || (password ?? "") !== "") && (token ?? "") !== "") {
    issues.error(e.keyPos, "Cannot have a user/pass and token")
    return undefined
  }
  if (usersPresent) {
    if ((user ?? "") !== "") {
      issues.error(e.keyPos, "Can not have a single user/pass and a users array")
      return undefined
    }
    if ((token ?? "") !== "") {
      issues.error(e.keyPos, "Can not have a token and a users array")
      return undefined
    }
  }
  const seen = new Set<string>()
  for (const u of parsed?.users ?? []) {
    if (seen.has(u.user)) {
      issues.error(e.keyPos, `Duplicate user ${JSON.stringify(u.user)} detected`)
      return undefined
    }
    seen.add(u.user)
  }
  for (const n of parsed?.nkeys ?? []) {
    if (seen.has(n.nkey)) {
      issues.error(e.keyPos, `Duplicate nkey ${JSON.stringify(n.nkey)} detected`)
      return undefined
    }
    seen.add(n.nkey)
  }
  const withDefaults = <T extends { readonly permissions: Permissions | undefined }>(u: T): T =>
    u.permissions === undefined && defaults !== undefined ? { ...u, permissions: defaults } : u
  return {
    user,
    password,
    token,
    timeoutMs,
    ...(timeoutSet ? { timeoutSet } : {}),
    users: (parsed?.users ?? []).map(withDefaults),
    nkeys: (parsed?.nkeys ?? []).map(withDefaults)
  }
}

/** nats-server validateNoAuthUser. */
export const checkNoAuthUser = (
  noAuthUser: string,
  users: ReadonlyArray<PasswordUser> | undefined,
  pos: Position,
  issues: AuthIssues
): void => {
  if (users === undefined || users.length === 0) {
    issues.error(pos, `no_auth_user: "${noAuthUser}" present, but users are not defined`)
  } else if (!users.some((u) => u.user === noAuthUser)) {
    issues.error(
      pos,
      `no_auth_user: "${noAuthUser}" not present as user in authorization block or account configuration`
    )
  }
}
