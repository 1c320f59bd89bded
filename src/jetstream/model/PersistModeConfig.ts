/**
 * The 2.12 `persist_mode` of a stream config (`default` / `async`), checked as nats-server's
 * checkStreamCfg and configUpdateCheck do: `async` is for R1 file streams only, not beside atomic
 * batches, and no update may change the mode.
 *
 * What `async` changes here (StreamStore.ts): the stream's log never fsyncs before an ack, even
 * under the broker's `sync: always`; writes still reach the OS before the ack, as under `default`.
 */
import type { RawConfig } from "./StreamConfigDecode.ts"

/** Validates the mode on create and update; the error text, or undefined. */
export const checkPersistMode = (
  // allow_atomic is read structurally: the atomic batch decoder adds it to the raw config.
  cfg: Pick<RawConfig, "persist_mode" | "storage" | "num_replicas"> & { readonly allow_atomic?: boolean }
): string | undefined => {
  if (cfg.persist_mode !== "async") return undefined
  if (cfg.storage !== "file") return "async persist mode is only supported on file storage"
  if (cfg.num_replicas > 1n) return "async persist mode is not supported on replicated streams"
  if (cfg.allow_atomic === true) return "async persist mode is not supported with atomic batch publish"
  return undefined
}

/** nats-server configUpdateCheck: the mode is fixed at create. */
export const persistModeUpdateError = (
  next: RawConfig["persist_mode"],
  current: "async" | undefined
): string | undefined =>
  next !== (current ?? "default") ? "stream configuration update can not change persist mode" : undefined
