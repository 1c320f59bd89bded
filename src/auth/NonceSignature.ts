/**
 * The nonce challenge of nkey and JWT users: an ed25519 signature of the INFO nonce by the user's
 * nkey, checked with node:crypto (a fraction of a millisecond, where a pure-JS ed25519 takes tens
 * of milliseconds of event-loop time per CONNECT). The key is validated by @nats-io/nkeys.
 */
import { fromPublic } from "@nats-io/nkeys"
import { Buffer } from "node:buffer"
import * as crypto from "node:crypto"

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

/** The 32 raw ed25519 bytes of a public nkey (validated, prefix and CRC16 checked, by @nats-io/nkeys). */
const rawPublicKey = (nkey: string): Uint8Array | undefined => {
  try {
    fromPublic(nkey)
  } catch {
    return undefined
  }
  let bits = 0
  let value = 0
  const out: Array<number> = []
  for (const ch of nkey) {
    value = (value << 5) | BASE32.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  // prefix byte, 32 key bytes, 2 CRC bytes
  return Uint8Array.from(out.slice(1, 33))
}

/** DER SubjectPublicKeyInfo header of an ed25519 key (RFC 8410). */
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex")

const decodeSig = (sig: string): Buffer | undefined => {
  // nats-server: raw URL base64 first, then standard base64.
  if (/^[A-Za-z0-9_-]*$/.test(sig)) return Buffer.from(sig, "base64url")
  if (/^[A-Za-z0-9+/]*={0,2}$/.test(sig) && sig.length % 4 === 0) return Buffer.from(sig, "base64")
  return undefined
}

export const verifyNonce = (nkey: string, nonce: string, sig: string): boolean => {
  const s = decodeSig(sig)
  return s !== undefined && verifyEd25519(nkey, Buffer.from(nonce, "latin1"), s) === true
}

/** Key objects of recently seen nkeys (issuers and users repeat; building one costs more than a verify). */
const keys = new Map<string, crypto.KeyObject>()
const KEYS_KEPT = 1024

const keyObject = (nkey: string): crypto.KeyObject | undefined => {
  const known = keys.get(nkey)
  if (known !== undefined) return known
  const raw = rawPublicKey(nkey)
  if (raw === undefined) return undefined
  const key = crypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: "der", type: "spki" })
  if (keys.size >= KEYS_KEPT) keys.delete(keys.keys().next().value!)
  keys.set(nkey, key)
  return key
}

/** An ed25519 signature of `data` by a public nkey; undefined when the key is not a valid public nkey. */
export const verifyEd25519 = (nkey: string, data: Uint8Array, sig: Uint8Array): boolean | undefined => {
  let key: crypto.KeyObject | undefined
  try {
    key = keyObject(nkey)
  } catch {
    return undefined
  }
  if (key === undefined) return undefined
  try {
    return crypto.verify(null, data, key, sig)
  } catch {
    return false
  }
}
