/**
 * The JetStream API level (ADR-44): an integer clients and assets use to say which server features
 * they need. It follows from the nats-server release we advertise (nats-server `JSApiLevel`: 1 in
 * 2.11, 2 in 2.12, 4 in 2.14; 2.13 was never released), so it moves with `ADVERTISED_NATS_VERSION`
 * and is never a second constant to keep in step.
 *
 * A request whose `Nats-Required-Api-Level` header asks for more than ours (or is not an integer) is
 * refused: API requests with 10185 (412), direct gets with a `412 Required Api Level` status.
 * nats-server 2.11 ignores the header (2.12 checks it); we check it from any level, as a header we
 * implement.
 */
import { ADVERTISED_NATS_VERSION, levelAtLeast } from "../../config/BrokerConfig.ts"
import { headerValue } from "../../protocol/Headers.ts"

/**
 * The API level of a nats-server release (`major.minor.patch`): 0 before 2.11, 1 for 2.11, 2 for
 * 2.12 and 4 for 2.14 (nats-server's `JSApiLevel` in those releases).
 */
export const apiLevelOf = (version: string): number =>
  levelAtLeast(version, 2, 14) ? 4 : levelAtLeast(version, 2, 12) ? 2 : levelAtLeast(version, 2, 11) ? 1 : 0

/** Our API level, from the advertised release. */
export const API_LEVEL = apiLevelOf(ADVERTISED_NATS_VERSION)

export const REQUIRED_API_LEVEL_HEADER = "Nats-Required-Api-Level"

/**
 * nats-server's errorOnRequiredApiLevel: the header is absent or empty (accepted), or must parse as
 * a Go `strconv.Atoi` integer no greater than `level`.
 */
export const refusesApiLevel = (hdr: Uint8Array, level: number = API_LEVEL): boolean => {
  const v = headerValue(hdr, REQUIRED_API_LEVEL_HEADER)
  if (v === undefined || v === "") return false
  if (!/^[+-]?\d+$/.test(v)) return true
  const n = BigInt(v)
  // Atoi fails (an error, so refused) past int64.
  return n > 2n ** 63n - 1n || n < -(2n ** 63n) || n > BigInt(level)
}
