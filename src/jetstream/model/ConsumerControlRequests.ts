/**
 * Bodies of `$JS.API.CONSUMER.PAUSE.<stream>.<consumer>` (`{pause_until}`) and
 * `$JS.API.CONSUMER.UNPIN.<stream>.<consumer>` (`{group}`), 2.11, decoded as nats-server does:
 * PAUSE reads a body only when it starts with `{` or `[` (anything else, e.g. none, resumes);
 * UNPIN requires a JSON body naming a valid group. Unknown keys are refused (strict mode).
 */
import { foldKey, ObjectLiteral, parseLiterals, TypeMismatch } from "../codec/GoJson.ts"
import { decodeUtf8 } from "../codec/Json.ts"
import { ApiError, ApiErrors } from "./ApiError.ts"
import { applyPriorityField, GROUP_NAME, zeroPriority } from "./ConsumerPriority.ts"
import { decodeStruct, invalidJson, unknownField } from "./Requests.ts"

/** PAUSE: the deadline in ns since the epoch, undefined = resume (none, or Go's zero time). */
export const pauseRequest = (body: Uint8Array): bigint | undefined | ApiError => {
  const text = decodeUtf8(body).trim()
  if (!text.startsWith("{") && !text.startsWith("[")) return undefined
  const parsed = parseLiterals(text)
  if (!parsed.ok || !(parsed.value instanceof ObjectLiteral)) return ApiErrors.invalidJSON()
  const into = zeroPriority()
  let first: ApiError | undefined
  for (const [key, v] of parsed.value.entries) {
    if (key !== "pause_until" && foldKey(key) !== "pause_until") {
      first ??= unknownField(key)
      continue
    }
    try {
      applyPriorityField(into, "pause_until", v)
    } catch (e) {
      if (!(e instanceof TypeMismatch)) throw e
      first ??= ApiErrors.invalidJSON()
    }
  }
  return first ?? into.pause_until
}

const UNPIN = { group: "string" } as const

/** UNPIN: the group named (checked against the consumer's groups by the caller, after the lookups). */
export const unpinRequest = (body: Uint8Array): string | ApiError => {
  const r = decodeStruct(body, UNPIN)
  // json.Unmarshal of an empty body is a syntax error, unlike the struct decoders' "empty request".
  if (body.length === 0) return ApiErrors.invalidJSON()
  if (!r.ok) return invalidJson(r.failure)
  if (r.value.group === "") {
    return new ApiError({ code: 400, err_code: 10025, description: "invalid JSON: consumer group not specified" })
  }
  if (!GROUP_NAME.test(r.value.group)) return ApiErrors.consumerInvalidGroupName()
  return r.value.group
}
