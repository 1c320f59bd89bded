/**
 * Server-wide JetStream storage limits (`max_memory_store`, `max_file_store`) against the real usage.
 *
 * Usage is the stores' running totals (updated by every append and removal), never a walk over the
 * streams; the publish path compares it with a configured limit. An unconfigured file limit is
 * nats-server's 75% of the space available under the store directory, but of the space available
 * now, not at start (a restart on a filled disk would otherwise refuse every new stream for good,
 * even after the stream that filled it is deleted). It is what a new stream's `max_bytes` must fit
 * in; the free space is asked at most once a second, and always before a stream is created.
 */
import type { BrokerConfig } from "../config/BrokerConfig.ts"
import { type MachineProbe, nodeProbe, resolveJetStreamLimits } from "../config/ConfigFile.ts"

export interface StoreUsageSource {
  readonly file: () => number
  readonly memory: () => number
}

const REFRESH_MS = 1000

export class StoreLimits {
  private readonly config: BrokerConfig
  private readonly usage: StoreUsageSource
  private readonly probe: MachineProbe
  private readonly nowMs: () => number
  private readonly memoryMax: number
  private freeShare = 0
  private probedAt = Number.NEGATIVE_INFINITY

  constructor(config: BrokerConfig, usage: StoreUsageSource, nowMs: () => number, probe: MachineProbe = nodeProbe) {
    this.config = config
    this.usage = usage
    this.probe = probe
    this.nowMs = nowMs
    this.memoryMax = config.maxMemoryStore ?? resolveJetStreamLimits(config, probe).maxMemoryStore
  }

  get maxMemoryStore(): number {
    return this.memoryMax
  }

  /** The file limit now; for a computed one the free space is at most a second old. */
  get maxFileStore(): number {
    if (this.config.maxFileStore !== undefined) return this.config.maxFileStore
    if (this.nowMs() - this.probedAt >= REFRESH_MS) this.refresh()
    return this.freeShare
  }

  /** Asks the file system again (before a stream is created: a deleted stream's space counts at once). */
  refresh(): void {
    if (this.config.maxFileStore !== undefined) return
    this.freeShare = resolveJetStreamLimits({ ...this.config, maxFileStore: undefined }, this.probe).maxFileStore
    this.probedAt = this.nowMs()
  }

  /**
   * Publish-path check (one comparison): a configured limit that the stored bytes reached. A computed
   * file limit is never "reached" this way; a full disk shows up as the write's own storage error.
   */
  full(storage: "file" | "memory"): boolean {
    const max = storage === "memory" ? this.config.maxMemoryStore : this.config.maxFileStore
    if (max === undefined || max <= 0) return false
    return (storage === "memory" ? this.usage.memory() : this.usage.file()) >= max
  }
}
