/**
 * Durable stream metadata (configuration and creation time) for file-backed streams: one small JSON
 * document per stream, replaced atomically (write, fsync, rename, fsync dir) so a crash leaves the
 * old or the new version, never a torn one. Memory streams are not persisted, as in nats-server.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { StreamConfig } from "../api/StreamConfig.ts"

export interface StreamMeta {
  readonly config: StreamConfig
  /** Creation time, ns since the epoch, as a decimal string (JSON has no bigint). */
  readonly created: string
}

export class StreamMetaStore {
  private readonly dir: string

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, "meta", "streams")
  }

  private file(name: string) {
    return path.join(this.dir, `${encodeURIComponent(name)}.json`)
  }

  save(meta: StreamMeta): void {
    fs.mkdirSync(this.dir, { recursive: true })
    const target = this.file(meta.config.name)
    const tmp = `${target}.tmp`
    const fd = fs.openSync(tmp, "w")
    try {
      fs.writeSync(fd, JSON.stringify(meta))
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, target)
    syncDir(this.dir)
  }

  remove(name: string): void {
    fs.rmSync(this.file(name), { force: true })
    syncDir(this.dir)
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
