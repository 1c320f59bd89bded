/**
 * The top-level `tls { ... }` block of a nats-server configuration file, read into TlsSettings with
 * nats-server 2.9.10's keys and error texts (`opts.go` parseTLS, GenTLSConfig): files are read and
 * parsed while the config is checked, so `-t` reports a missing or broken certificate.
 *
 * Keys nats-server knows that we have not built (`cipher_suites`,
 * `curve_preferences`, `pinned_certs`, ...) are refused rather than ignored: each narrows who may
 * connect, so running without it would accept clients the operator meant to keep out.
 * `handshake_first` is nats-server 2.10's (2.9.10 calls it an unknown field); we accept its boolean
 * form, as the config reader accepts other 2.10 keys. Its duration form (a fallback to plaintext
 * after a delay) is refused.
 */
import * as fs from "node:fs"
import * as tls from "node:tls"
import type { ConfigEntry } from "../config/ConfigValue.ts"
import { DEFAULT_TLS_TIMEOUT_MS, type TlsSettings } from "./TlsSettings.ts"

export interface TlsIssues {
  error(e: ConfigEntry, message: string): void
}

const NOT_BUILT = new Set([
  "verify_cert_and_check_known_urls",
  "cipher_suites",
  "curve_preferences",
  "pinned_certs",
  "connection_rate_limit",
  "insecure"
])

/** Go's `open <path>: <reason>` for an unreadable file. */
const readFile = (path: string): Buffer | string => {
  try {
    return fs.readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === "ENOENT"
      ? "no such file or directory"
      : code === "EACCES"
      ? "permission denied"
      : code === "EISDIR"
      ? "is a directory"
      : (err as Error).message
    return `open ${path}: ${reason}`
  }
}

/** Go `time.ParseDuration`, shared with the rest of the config reader. */
export type DurationParser = (text: string) => number | undefined

export const tlsBlock = (e: ConfigEntry, parseDuration: DurationParser, issues: TlsIssues): TlsSettings | undefined => {
  const v = e.value
  if (v._tag !== "Map") {
    issues.error(e, `${e.key}: expected a block`)
    return undefined
  }
  let certFile: string | undefined
  let keyFile: string | undefined
  let caFile: string | undefined
  let verify = false
  let map = false
  let handshakeFirst = false
  let timeoutMs = DEFAULT_TLS_TIMEOUT_MS
  let ok = true
  const fail = (f: ConfigEntry, message: string) => {
    ok = false
    issues.error(f, message)
  }
  const file = (f: ConfigEntry): string | undefined => {
    if (f.value._tag === "String") return f.value.value
    fail(f, `error parsing tls config, expected '${f.key.toLowerCase()}' to be filename`)
    return undefined
  }
  for (const f of v.entries.values()) {
    const k = f.key.toLowerCase()
    switch (k) {
      case "cert_file":
        certFile = file(f)
        break
      case "key_file":
        keyFile = file(f)
        break
      case "ca_file":
        caFile = file(f)
        break
      case "verify":
        if (f.value._tag === "Bool") verify = f.value.value
        else fail(f, "error parsing tls config, expected 'verify' to be a boolean")
        break
      case "verify_and_map":
        // nats-server: mapping implies verifying (a certificate must be there to map).
        if (f.value._tag === "Bool") {
          map = f.value.value
          if (map) verify = true
        } else fail(f, "error parsing tls config, expected 'verify_and_map' to be a boolean")
        break
      case "handshake_first":
        if (f.value._tag === "Bool") handshakeFirst = f.value.value
        else fail(f, `${e.key}.${f.key}: only true or false is supported (not the fallback delay form)`)
        break
      case "timeout": {
        // nats-server: a number of seconds (integer or float) or a Go duration string.
        const t = f.value
        if (t._tag === "Integer" || t._tag === "Float") timeoutMs = t.value * 1000
        else if (t._tag === "String") {
          const ms = parseDuration(t.value)
          if (ms === undefined) {
            fail(f, `error parsing tls config, 'timeout' time: invalid duration ${JSON.stringify(t.value)}`)
          } else timeoutMs = ms
        } else fail(f, "error parsing tls config, 'timeout' wrong type")
        break
      }
      default:
        if (NOT_BUILT.has(k)) fail(f, `${e.key}.${f.key}: not supported yet; refusing to start without it`)
        else fail(f, `error parsing tls config, unknown field [${JSON.stringify(f.key)}]`)
    }
  }
  if (!ok) return undefined
  if (certFile === undefined && keyFile === undefined) {
    // nats-server would serve TLS without a certificate and fail every handshake; refuse instead.
    issues.error(e, "missing 'cert_file' in TLS configuration")
    return undefined
  }
  const loaded = loadTls({ certFile, keyFile, caFile, verify, map, handshakeFirst, timeoutMs })
  if (typeof loaded === "string") issues.error(e, loaded)
  return typeof loaded === "string" ? undefined : loaded
}

export interface TlsFiles {
  readonly certFile: string | undefined
  readonly keyFile: string | undefined
  readonly caFile: string | undefined
  readonly verify: boolean
  readonly map?: boolean
  readonly handshakeFirst?: boolean
  readonly timeoutMs: number
}

/** nats-server GenTLSConfig: read and parse the files; a problem is its error text. */
export const loadTls = (f: TlsFiles): TlsSettings | string => {
  const { certFile, keyFile, caFile, verify, timeoutMs } = f
  const map = f.map ?? false
  const handshakeFirst = f.handshakeFirst ?? false
  if (certFile !== undefined && keyFile === undefined) return "missing 'key_file' in TLS configuration"
  if (certFile === undefined || keyFile === undefined) return "missing 'cert_file' in TLS configuration"
  const cert = readFile(certFile)
  if (typeof cert === "string") return `error parsing X509 certificate/key pair: ${cert}`
  const key = readFile(keyFile)
  if (typeof key === "string") return `error parsing X509 certificate/key pair: ${key}`
  let ca: Buffer | undefined
  if (caFile !== undefined) {
    const read = readFile(caFile)
    if (typeof read === "string") return read
    ca = read
  }
  try {
    tls.createSecureContext({ cert, key })
  } catch (err) {
    return `error parsing X509 certificate/key pair: ${(err as Error).message}`
  }
  if (ca !== undefined) {
    try {
      tls.createSecureContext({ ca })
    } catch {
      return "failed to parse root ca certificate"
    }
  }
  return { cert, key, ca, verify, map, handshakeFirst, timeoutMs }
}
