/**
 * A JWT's `pub`/`sub`/`resp` (user claims, or an account's `default_permissions`) as Permissions,
 * as nats-server buildPermissionsFromJwt reads them: an empty allow/deny pair means no
 * restriction, `resp` turns off the blanket publish allow and 0 fields take the defaults
 * (validateResponsePermissions). `resp.ttl` is a Go duration in nanoseconds.
 */
import type { Permissions as JwtPermissionFields } from "@nats-io/jwt"
import { DEFAULT_RESPONSE, type Permissions, type SubjectPermission } from "../Permissions.ts"

const list = (v: unknown): ReadonlyArray<string> => Array.isArray(v) ? v.filter((s) => typeof s === "string") : []

const side = (p: { allow?: unknown; deny?: unknown } | undefined): SubjectPermission | undefined => {
  const allow = list(p?.allow)
  const deny = list(p?.deny)
  if (allow.length === 0 && deny.length === 0) return undefined
  return { allow: allow.length > 0 ? allow : undefined, deny: deny.length > 0 ? deny : undefined }
}

export const permissionsFromJwt = (p: Partial<JwtPermissionFields> | undefined): Permissions | undefined => {
  let publish = side(p?.pub)
  const subscribe = side(p?.sub)
  const resp = p?.resp
  if (resp === undefined || resp === null) {
    return publish === undefined && subscribe === undefined ? undefined : { publish, subscribe }
  }
  const max = typeof resp.max === "number" && resp.max !== 0 ? resp.max : DEFAULT_RESPONSE.maxMsgs
  const ttl = typeof resp.ttl === "number" && resp.ttl !== 0 ? resp.ttl / 1e6 : DEFAULT_RESPONSE.expiresMs
  if (publish?.allow === undefined) publish = { allow: [], deny: publish?.deny }
  return { publish, subscribe, response: { maxMsgs: max, expiresMs: ttl } }
}
