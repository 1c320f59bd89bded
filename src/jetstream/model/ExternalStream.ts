/**
 * A mirror's or source's `external { api, deliver }` (nats-server `ExternalStream`): its index
 * name and the checks nats-server `checkStreamCfg` makes of its prefixes. Which account a prefix
 * reaches is the imports' rule (accounts/ExternalJetStream.ts).
 */
import { createHash } from "node:crypto"
import { goQuote } from "../codec/GoJson.ts"
import { type ApiError, ApiErrors } from "./ApiError.ts"
import { isLiteralSubject, isValidSubject } from "./Names.ts"

/** nats-server `ExternalStream`: the origin's API prefix and the prefix its deliveries come back on. */
export interface ExternalStream {
  readonly api: string
  readonly deliver: string
}

/**
 * nats-server `setIndexName`: a source reached through `external` is told apart from a local
 * stream of its name by 8 characters of the API prefix's hash (also its `Nats-Stream-Source` name),
 * and one following a named consumer (2.14 durable sourcing) by `:C=` and the name's hash.
 */
export const indexName = (s: {
  readonly name: string
  readonly external?: ExternalStream | undefined
  readonly consumer?: { readonly name: string } | undefined
}): string => {
  const base = s.external === undefined ? s.name : `${s.name}:${hash8(s.external.api)}`
  return s.consumer === undefined ? base : `${base}:C=${hash8(s.consumer.name)}`
}

const HASH_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
/** nats-server `getHash`: the first 8 bytes of the SHA-256, each as one of 62 digits. */
export const hash8 = (text: string): string => {
  const b = createHash("sha256").update(text, "utf8").digest()
  let out = ""
  for (let i = 0; i < 8; i++) out += HASH_DIGITS[b[i]! % 62]
  return out
}

/**
 * nats-server `checkStreamCfg` on the external prefixes, after the mirror and sources: each
 * delivery prefix literal and not catching an origin's subjects, then each API prefix literal and
 * apart from `$JS.API`.
 */
export const checkExternalPrefixes = (
  externals: ReadonlyArray<ExternalStream>,
  streamSubs: ReadonlyArray<string>,
  /** StreamConfig's `subjectsCollide` (nats-server SubjectsCollide). */
  subjectsCollide: (a: string, b: string) => boolean
): ApiError | undefined => {
  const literal = (s: string) => isValidSubject(s) && isLiteralSubject(s)
  for (const { deliver } of externals) {
    if (deliver === "") continue
    if (!literal(deliver)) return ApiErrors.streamInvalidExternalDeliverySubj(deliver)
    for (const sub of streamSubs) {
      if (subjectsCollide(sub, `${deliver}.${sub}`)) return ApiErrors.streamExternalDelPrefixOverlaps(deliver, sub)
    }
  }
  for (const { api } of externals) {
    if (api === "") continue
    if (!literal(api)) {
      return ApiErrors.streamInvalidConfig(
        `stream external api prefix ${goQuote(api)} must be a valid subject without wildcards`
      )
    }
    if (subjectsCollide(api, "$JS.API")) return ApiErrors.streamExternalApiOverlap(api, "$JS.API")
  }
  return undefined
}
