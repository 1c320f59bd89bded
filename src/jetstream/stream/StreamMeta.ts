/**
 * Durable stream metadata (configuration and creation time) for file-backed streams: one small JSON
 * document per stream, replaced atomically (write, fsync, rename, fsync dir) so a crash leaves the
 * old or the new version, never a torn one. Memory streams are not persisted, as in nats-server.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ConsumerConfig } from "../api/ConsumerConfig.ts"
import type { StreamConfig } from "../api/StreamConfig.ts"

export interface StreamMeta {
  readonly config: StreamConfig
  /** Creation time, ns since the epoch, as a decimal string (JSON has no bigint). */
  readonly created: string
}

export interface ConsumerMeta {
  /** The consumer's name (ephemerals have none in their config). */
  readonly name?: string
  readonly config: ConsumerConfig
  readonly created: string
}

/**
 * A file name for a stream or consumer name: percent-encoded, and when that would pass the 255-byte
 * file name limit (names may be 255 bytes), a prefix plus a hash of the whole name. The documents
 * carry the real name, so the mapping is only ever computed, never reversed.
 */
const fileName = (name: string, suffix: string): string => {
  const encoded = encodeURIComponent(name)
  if (encoded.length + suffix.length <= 240) return encoded + suffix
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 24)
  return `${encoded.slice(0, 180)}~${hash}${suffix}`
}

/** Writes `value` as JSON to `target` atomically. */
const writeAtomic = (dir: string, target: string, value: unknown): void => {
  fs.mkdirSync(dir, { recursive: true })
  const tmp = `${target}.tmp`
  const fd = fs.openSync(tmp, "w")
  try {
    fs.writeSync(fd, JSON.stringify(value))
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, target)
  syncDir(dir)
}

export class StreamMetaStore {
  private readonly dir: string
  private readonly consumersDir: string

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, "meta", "streams")
    this.consumersDir = path.join(storeDir, "meta", "consumers")
  }

  private file(name: string) {
    return path.join(this.dir, fileName(name, ".json"))
  }

  private consumerDir(stream: string) {
    return path.join(this.consumersDir, fileName(stream, ""))
  }

  save(meta: StreamMeta): void {
    writeAtomic(this.dir, this.file(meta.config.name), meta)
  }

  remove(name: string): void {
    fs.rmSync(this.file(name), { force: true })
    fs.rmSync(this.consumerDir(name), { recursive: true, force: true })
    syncDir(this.dir)
  }

  saveConsumer(stream: string, name: string, meta: ConsumerMeta): void {
    const dir = this.consumerDir(stream)
    writeAtomic(dir, path.join(dir, fileName(name, ".json")), { ...meta, name })
  }

  removeConsumer(stream: string, name: string): void {
    fs.rmSync(path.join(this.consumerDir(stream), fileName(name, ".json")), { force: true })
  }

  loadConsumers(stream: string): { metas: Array<ConsumerMeta>; problems: Array<string> } {
    const dir = this.consumerDir(stream)
    const metas: Array<ConsumerMeta> = []
    const problems: Array<string> = []
    let names: Array<string>
    try {
      names = fs.readdirSync(dir)
    } catch {
      return { metas, problems }
    }
    for (const f of names.sort()) {
      if (!f.endsWith(".json")) continue
      try {
        metas.push(JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as ConsumerMeta)
      } catch (e) {
        problems.push(`${path.join(dir, f)}: ${(e as Error).message}`)
      }
    }
    return { metas, problems }
  }

  /** Every stored stream; unreadable documents are reported, not thrown, so one bad file cannot stop startup. */
  loadAll(): { metas: Array<StreamMeta>; problems: Array<string> } {
    const metas: Array<StreamMeta> = []
    const problems: Array<string> = []
    let names: Array<string>
    try {
      names = fs.readdirSync(this.dir)
    } catch {
      return { metas, problems }
    }
    for (const f of names.sort()) {
      if (!f.endsWith(".json")) continue
      try {
        const meta = JSON.parse(fs.readFileSync(path.join(this.dir, f), "utf8")) as StreamMeta
        if (typeof meta?.config?.name !== "string" || typeof meta.created !== "string") throw new Error("not a stream document")
        metas.push(meta)
      } catch (e) {
        problems.push(`${path.join(this.dir, f)}: ${(e as Error).message}`)
      }
    }
    return { metas, problems }
  }
}

const syncDir = (dir: string) => {
  try {
    const fd = fs.openSync(dir, "r")
    try {
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    // Directory fsync is not supported everywhere (e.g. some platforms); the rename is still atomic.
  }
}
