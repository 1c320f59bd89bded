/**
 * The `MetaStore` service: durable stream and consumer metadata (configuration and creation time), with a
 * memory and a file layer. The file layer keeps one small JSON document per stream and per consumer, replaced
 * atomically (write, fsync, rename, fsync dir) so a crash leaves the old or the new version, never a torn one.
 * Memory streams are not persisted, as in nats-server (the registry only saves file streams).
 *
 * Documents read back are decoded strictly (`MetaDocuments.ts`); one that does not decode is reported as a
 * `Corrupt` StoreError naming its file, next to the documents that did, so one bad file cannot stop a restart.
 *
 * Encrypted (Cipher.ts): each document is an encryption header followed by the sealed JSON. A plaintext document
 * read while a key is configured is rewritten encrypted right away. A document the key does not open is not a
 * skippable problem: the load fails (the broker checks the whole store before this, see `Cipher.verifyStore`).
 */
import { Context, Effect, Exit, Layer, Schema } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Cipher from "./Cipher.ts"
import { type ConsumerMeta, ConsumerMetaDoc, type StreamMeta, StreamMetaDoc } from "./MetaDocuments.ts"
import { syncDir, writeFull } from "./Segment.ts"
import * as StoreError from "./StoreError.ts"

export type { ConsumerMeta, StreamMeta } from "./MetaDocuments.ts"

/** What a load found: the documents that decoded, and one typed error per file that did not. */
export interface Loaded<A> {
  readonly metas: ReadonlyArray<A>
  readonly problems: ReadonlyArray<StoreError.StoreError>
}

export class MetaStore extends Context.Service<MetaStore, {
  readonly saveStream: (meta: StreamMeta) => Effect.Effect<void, StoreError.StoreError>
  /** Removes a stream's document and those of all its consumers. */
  readonly removeStream: (name: string) => Effect.Effect<void, StoreError.StoreError>
  readonly saveConsumer: (
    stream: string,
    name: string,
    meta: ConsumerMeta
  ) => Effect.Effect<void, StoreError.StoreError>
  readonly removeConsumer: (stream: string, name: string) => Effect.Effect<void, StoreError.StoreError>
  /** Every stored stream, in file name order. */
  readonly loadStreams: Effect.Effect<Loaded<StreamMeta>, StoreError.StoreError>
  readonly loadConsumers: (stream: string) => Effect.Effect<Loaded<ConsumerMeta>, StoreError.StoreError>
}>()("effect-jetstream/store/MetaStore") {
  /** Documents kept as JSON text in the layer (decoded on load like the file layer's): nothing survives the process. */
  static readonly layerMemory: Layer.Layer<MetaStore> = Layer.sync(MetaStore, () => make(memoryFiles()))

  /** Documents under `dir` (`<dir>/streams/<name>.json`, `<dir>/consumers/<stream>/<name>.json`). */
  static readonly layerFile = (
    options: { readonly dir: string; readonly cipher?: Cipher.StoreCipher | undefined }
  ): Layer.Layer<MetaStore> => Layer.sync(MetaStore, () => make(diskFiles(options.dir, options.cipher)))
}

/** The file-backed service without a layer (one per JetStream account, each under its own directory). */
export const makeFile = (dir: string, cipher?: Cipher.StoreCipher): MetaStore["Service"] => make(diskFiles(dir, cipher))

// ---- decoding ------------------------------------------------------------------------------------------------

const strict = { onExcessProperty: "error", errors: "all" } as const
const decodeStream = Schema.decodeUnknownExit(StreamMetaDoc, strict)
const decodeConsumer = Schema.decodeUnknownExit(ConsumerMetaDoc, strict)

/** Parses and decodes one document; anything wrong with it is `Corrupt` naming the file. */
export const decodeDocument = <A>(
  file: string,
  text: string,
  decode: (u: unknown) => Exit.Exit<A, Schema.SchemaError>
): A => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw StoreError.corrupt(file, 0, `not JSON: ${(e as Error).message}`)
  }
  const exit = decode(json)
  if (Exit.isSuccess(exit)) return exit.value
  const issue = exit.cause.reasons.map((r) => (r._tag === "Fail" ? String(r.error.issue) : String(r))).join("; ")
  throw StoreError.corrupt(file, 0, `not a metadata document: ${issue}`)
}

// ---- file naming -----------------------------------------------------------------------------------------------

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

// ---- where the documents live ------------------------------------------------------------------------------------

/** The few file operations the store needs; the memory layer implements them over a Map. Synchronous; throw StoreError. */
interface Files {
  /** Replaces `dir/name` with `text` atomically. */
  readonly write: (dir: ReadonlyArray<string>, name: string, text: string) => void
  readonly remove: (dir: ReadonlyArray<string>, name: string) => void
  readonly removeDir: (dir: ReadonlyArray<string>) => void
  /** File names in `dir` (none when it does not exist), sorted. */
  readonly list: (dir: ReadonlyArray<string>) => ReadonlyArray<string>
  readonly read: (dir: ReadonlyArray<string>, name: string) => string
  /** The path named in errors. */
  readonly pathOf: (dir: ReadonlyArray<string>, name: string) => string
}

const NO_AAD = Buffer.alloc(0)

const diskFiles = (root: string, cipher: Cipher.StoreCipher | undefined): Files => {
  const at = (dir: ReadonlyArray<string>) => path.join(root, ...dir)
  const encode = (text: string): string | Buffer => {
    if (cipher === undefined) return text
    const { header, key } = cipher.newFile(Cipher.Purpose.Meta)
    return Buffer.concat([header, key.seal(Buffer.from(text, "utf8"), NO_AAD)])
  }
  const files: Files = {
    pathOf: (dir, name) => path.join(at(dir), name),
    write: (dir, name, text) => {
      const d = at(dir)
      const target = path.join(d, name)
      const tmp = `${target}.tmp`
      StoreError.ioSync(d, "mkdir", () => fs.mkdirSync(d, { recursive: true }))
      StoreError.ioSync(tmp, "write", () => {
        const fd = fs.openSync(tmp, "w")
        try {
          const body = encode(text)
          if (typeof body === "string") fs.writeSync(fd, body)
          else writeFull(tmp, fd, body, body.length, 0)
          fs.fsyncSync(fd)
        } finally {
          fs.closeSync(fd)
        }
      })
      StoreError.ioSync(target, "rename", () => fs.renameSync(tmp, target))
      syncDir(d)
    },
    remove: (dir, name) => {
      const file = path.join(at(dir), name)
      StoreError.ioSync(file, "remove", () => fs.rmSync(file, { force: true }))
      if (fs.existsSync(at(dir))) syncDir(at(dir))
    },
    removeDir: (dir) => {
      const d = at(dir)
      StoreError.ioSync(d, "remove", () => fs.rmSync(d, { recursive: true, force: true }))
    },
    list: (dir) => {
      const d = at(dir)
      try {
        return fs.readdirSync(d).sort()
      } catch (e) {
        if ((e as { code?: unknown }).code === "ENOENT") return []
        throw StoreError.io(d, "readdir", e)
      }
    },
    read: (dir, name) => {
      const file = path.join(at(dir), name)
      const bytes = StoreError.ioSync(file, "read", () => fs.readFileSync(file))
      if (!Cipher.isEncrypted(bytes)) {
        const text = bytes.toString("utf8")
        // Encryption was turned on after this was written: from now on it is stored encrypted.
        if (cipher !== undefined) files.write(dir, name, text)
        return text
      }
      if (cipher === undefined) throw Cipher.keyRequired(file)
      const key = cipher.openFile(file, bytes.subarray(0, Cipher.FILE_HEADER), Cipher.Purpose.Meta)
      const plain = key.open(bytes, Cipher.FILE_HEADER, bytes.length - Cipher.FILE_HEADER, NO_AAD)
      if (plain === undefined) throw StoreError.corrupt(file, Cipher.FILE_HEADER, "document failed authentication")
      return plain.toString("utf8")
    }
  }
  return files
}

const memoryFiles = (): Files => {
  const dirs = new Map<string, Map<string, string>>()
  const key = (dir: ReadonlyArray<string>) => dir.join("/")
  return {
    pathOf: (dir, name) => `memory:${key(dir)}/${name}`,
    write: (dir, name, text) => {
      let d = dirs.get(key(dir))
      if (d === undefined) dirs.set(key(dir), d = new Map())
      d.set(name, text)
    },
    remove: (dir, name) => void dirs.get(key(dir))?.delete(name),
    removeDir: (dir) => void dirs.delete(key(dir)),
    list: (dir) => [...(dirs.get(key(dir))?.keys() ?? [])].sort(),
    read: (dir, name) => {
      const text = dirs.get(key(dir))?.get(name)
      if (text === undefined) {
        throw new StoreError.StoreError({
          reason: new StoreError.NotFound({ stream: name, detail: "no such document" })
        })
      }
      return text
    }
  }
}

// ---- the service ---------------------------------------------------------------------------------------------------

const STREAMS = ["streams"]
const consumersOf = (stream: string) => ["consumers", fileName(stream, "")]

const make = (files: Files): MetaStore["Service"] => {
  const load = <A>(dir: ReadonlyArray<string>, decode: (u: unknown) => Exit.Exit<A, Schema.SchemaError>) =>
    StoreError.attempt((): Loaded<A> => {
      const metas: Array<A> = []
      const problems: Array<StoreError.StoreError> = []
      for (const f of files.list(dir)) {
        if (!f.endsWith(".json")) continue
        try {
          metas.push(decodeDocument(files.pathOf(dir, f), files.read(dir, f), decode))
        } catch (e) {
          if (!StoreError.isStoreError(e) || e.reason._tag === "Encryption") throw e
          problems.push(e)
        }
      }
      return { metas, problems }
    })
  return {
    saveStream: (meta) =>
      StoreError.attempt(() => files.write(STREAMS, fileName(meta.config.name, ".json"), JSON.stringify(meta))),
    removeStream: (name) =>
      StoreError.attempt(() => {
        files.remove(STREAMS, fileName(name, ".json"))
        files.removeDir(consumersOf(name))
      }),
    saveConsumer: (stream, name, meta) =>
      StoreError.attempt(() =>
        files.write(consumersOf(stream), fileName(name, ".json"), JSON.stringify({ ...meta, name }))
      ),
    removeConsumer: (stream, name) =>
      StoreError.attempt(() => files.remove(consumersOf(stream), fileName(name, ".json"))),
    loadStreams: load(STREAMS, decodeStream),
    loadConsumers: (stream) => load(consumersOf(stream), decodeConsumer)
  }
}
