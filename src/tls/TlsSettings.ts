/**
 * Client TLS as the broker runs it: PEM material already read from disk (a config that names an
 * unreadable file never starts) and the handshake rules of nats-server 2.9.10's `tls {}` block.
 */
export interface TlsSettings {
  readonly cert: Buffer
  readonly key: Buffer
  /** Trusted roots for client certificates; undefined = the runtime's default roots. */
  readonly ca: Buffer | undefined
  /** mTLS: a client without a certificate signed by `ca` fails the handshake. */
  readonly verify: boolean
  /** `verify_and_map`: the client certificate names the user (authorization.users), not CONNECT. */
  readonly map: boolean
  /** `handshake_first` (nats-server 2.10): TLS before INFO, for clients that start with a handshake. */
  readonly handshakeFirst: boolean
  /** The handshake must complete within this long (nats-server TLS_TIMEOUT: 2 s). */
  readonly timeoutMs: number
}

export const DEFAULT_TLS_TIMEOUT_MS = 2_000
