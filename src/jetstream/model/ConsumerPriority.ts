/**
 * The 2.11 consumer config fields `pause_until`, `priority_groups`, `priority_policy` and
 * `priority_timeout` (ADR-42): their Go decoding, defaults and `checkConsumerCfg` rules, kept
 * apart from ConsumerConfigDecode.ts / ConsumerConfig.ts which call in here.
 *
 * `priority_policy` is a Go enum with its own `UnmarshalJSON`: any other value (a number, `null`)
 * aborts the decode with `unknown priority policy: <json>`, which nats-server reports as
 * `invalid JSON: <that>`. "prioritized" (2.12) is accepted at every level we advertise: a consumer
 * config field is gated by its flag, not by the release.
 */
import { decodeInt, decodeStrings, int64Json, kindOf, NumberLiteral, TypeMismatch } from "../codec/GoJson.ts"
import { normalizeTime, parseTime } from "../codec/GoTime.ts"
import { formatTime, GO_ZERO_TIME } from "../codec/Json.ts"
import { type ApiError, ApiErrors } from "./ApiError.ts"

export type PriorityPolicy = "none" | "overflow" | "pinned_client" | "prioritized"

/** nats-server `JsDefaultPinnedTTL`: 2 minutes, in ns. */
export const DEFAULT_PINNED_TTL = 120_000_000_000

/** nats-server `validGroupName`. */
export const GROUP_NAME = /^[a-zA-Z0-9/_=-]{1,16}$/

/** A decode error Go does not recover from (an `UnmarshalJSON` failure): the whole body is invalid JSON with it. */
export class FatalJsonError {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

/** The priority fields of nats-server's `ConsumerConfig` after `json.Unmarshal`. */
export interface RawPriority {
  /** ns since the epoch (0n is the epoch itself, which nats.js `resume` sends); undefined = nil or Go's zero time. */
  pause_until: bigint | undefined
  priority_groups: Array<string> | null
  priority_policy: PriorityPolicy
  priority_timeout: bigint
}

export const zeroPriority = (): RawPriority => ({
  pause_until: undefined,
  priority_groups: null,
  priority_policy: "none",
  priority_timeout: 0n
})

export const PRIORITY_FIELDS = ["pause_until", "priority_groups", "priority_policy", "priority_timeout"] as const
export type PriorityField = (typeof PRIORITY_FIELDS)[number]

/** The JSON text Go hands to UnmarshalJSON (numbers as written); containers are summarized, no client sends them. */
const jsonText = (v: unknown): string =>
  typeof v === "string"
    ? JSON.stringify(v)
    : v instanceof NumberLiteral
    ? v.text
    : v === null || typeof v === "boolean"
    ? String(v)
    : Array.isArray(v)
    ? "[...]"
    : "{...}"

/** Decodes one priority field into `into`; throws TypeMismatch (invalid JSON) or FatalJsonError. */
export const applyPriorityField = (into: RawPriority, field: PriorityField, v: unknown): void => {
  switch (field) {
    case "pause_until": {
      if (v === null) {
        into.pause_until = undefined
        return
      }
      const t = typeof v === "string" ? normalizeTime(v) : undefined
      if (t === undefined || typeof v !== "string") throw new TypeMismatch(kindOf(v), field)
      into.pause_until = t.text === GO_ZERO_TIME ? undefined : t.ns
      return
    }
    case "priority_groups":
      into.priority_groups = decodeStrings(v, field)
      return
    case "priority_policy":
      if (v === "none" || v === "overflow" || v === "pinned_client" || v === "prioritized") {
        into.priority_policy = v
        return
      }
      throw new FatalJsonError(`unknown priority policy: ${jsonText(v)}`)
    case "priority_timeout":
      into.priority_timeout = decodeInt(v, field) ?? into.priority_timeout
      return
  }
}

/** nats-server `setConsumerConfigDefaults` for the pinned TTL (a negative one is 0 outside pedantic mode). */
export const priorityDefaults = (c: RawPriority): void => {
  if (c.priority_timeout < 0n) c.priority_timeout = 0n
  if (c.priority_policy === "pinned_client" && c.priority_timeout === 0n) {
    c.priority_timeout = BigInt(DEFAULT_PINNED_TTL)
  }
}

/** The priority rules at the end of nats-server's `checkConsumerCfg`, in its order. */
export const checkPriority = (c: RawPriority, push: boolean): ApiError | undefined => {
  const groups = c.priority_groups ?? []
  if (c.priority_policy !== "none") {
    if (push) return ApiErrors.consumerPushWithPriorityGroup()
    if (groups.length === 0) return ApiErrors.consumerPriorityPolicyWithoutGroup()
    for (const g of groups) {
      if (g === "") return ApiErrors.consumerEmptyGroupName()
      if (!GROUP_NAME.test(g)) return ApiErrors.consumerInvalidGroupName()
    }
    return undefined
  }
  if (groups.length > 0) return ApiErrors.consumerPriorityGroupWithPolicyNone()
  if (c.priority_timeout > 0n) return ApiErrors.consumerPinnedTTLWithoutPriorityPolicyNone()
  return undefined
}

/** The normalized (ConsumerConfig) shape of the priority fields: set ones only. */
export interface PriorityConfig {
  /** RFC 3339 in UTC, as nats-server stores it. */
  readonly pause_until?: string
  readonly priority_groups?: ReadonlyArray<string>
  readonly priority_policy?: Exclude<PriorityPolicy, "none">
  /** ns */
  readonly priority_timeout?: number
}

export const toPriorityConfig = (c: RawPriority): PriorityConfig => ({
  ...(c.pause_until !== undefined ? { pause_until: utcTime(c.pause_until) } : {}),
  ...(c.priority_groups !== null && c.priority_groups.length > 0 ? { priority_groups: [...c.priority_groups] } : {}),
  ...(c.priority_policy !== "none" ? { priority_policy: c.priority_policy } : {}),
  ...(c.priority_timeout !== 0n ? { priority_timeout: Number(c.priority_timeout) } : {})
})

export const rawPriorityOf = (c: PriorityConfig): RawPriority => ({
  pause_until: c.pause_until === undefined ? undefined : parseTime(c.pause_until),
  priority_groups: c.priority_groups === undefined ? null : [...c.priority_groups],
  priority_policy: c.priority_policy ?? "none",
  priority_timeout: BigInt(Math.trunc(c.priority_timeout ?? 0))
})

/** nats-server's JSON members for the fields, after `metadata` (all `omitempty`). */
export const encodePriority = (c: PriorityConfig, out: Record<string, unknown>): void => {
  if (c.pause_until !== undefined) out.pause_until = c.pause_until
  if (c.priority_groups !== undefined && c.priority_groups.length > 0) out.priority_groups = [...c.priority_groups]
  if (c.priority_policy !== undefined) out.priority_policy = c.priority_policy
  if (c.priority_timeout !== undefined && c.priority_timeout !== 0) out.priority_timeout = int64Json(c.priority_timeout)
}

/** A deadline as nats-server writes it (UTC); unlike `formatTime`, 0n is the epoch, not Go's zero time. */
export const utcTime = (ns: bigint): string => (ns === 0n ? "1970-01-01T00:00:00Z" : formatTime(ns))

/** ns since the epoch of the pause deadline, 0 when not set. */
export const pauseUntilNs = (c: PriorityConfig): bigint =>
  c.pause_until === undefined ? 0n : parseTime(c.pause_until) ?? 0n
