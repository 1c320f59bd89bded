/**
 * Binding the "any address" host as nats-server does. Go listens on `0.0.0.0` dual-stack (one
 * socket that also answers IPv6, `::1` included), while Node binds `0.0.0.0` to IPv4 only; clients
 * that resolve `localhost` to `::1` first (Deno, newer Node) would be refused. So `0.0.0.0` binds
 * `::` with IPv6-only off, and falls back to `0.0.0.0` on a host without IPv6.
 */
import type * as net from "node:net"

/** Errors that mean "this host has no IPv6", after which binding IPv4 only is right. */
const NO_IPV6 = new Set(["EAFNOSUPPORT", "EADDRNOTAVAIL", "EPROTONOSUPPORT"])

/**
 * `server.listen(port, host)`; for `0.0.0.0`, dual-stack when the host allows. `listening` runs
 * once bound; `failed` with the error of the last attempt.
 */
export const listenWildcard = (
  server: net.Server,
  port: number,
  host: string,
  listening: () => void,
  failed: (err: NodeJS.ErrnoException) => void
): void => {
  const attempt = (bindHost: string, fallback: boolean) => {
    let bound = false
    // Stays attached once bound, as before: a later server error (EMFILE on accept) must not
    // become an uncaught exception.
    const onError = (err: NodeJS.ErrnoException) => {
      if (bound) return
      server.off("listening", onListening)
      server.off("error", onError)
      if (fallback && err.code !== undefined && NO_IPV6.has(err.code)) attempt(host, false)
      else failed(err)
    }
    const onListening = () => {
      bound = true
      listening()
    }
    server.on("error", onError)
    server.once("listening", onListening)
    server.listen(bindHost === "::" ? { port, host: bindHost, ipv6Only: false } : { port, host: bindHost })
  }
  attempt(host === "0.0.0.0" ? "::" : host, host === "0.0.0.0")
}
