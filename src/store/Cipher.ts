/**
 * Encryption at rest (`jetstream { cipher, key }`): the one place that knows how store files are encrypted.
 * Segment, journal, snapshot and metadata writers and readers all go through it.
 *
 * Every encrypted file starts with a 64-byte header:
 *
 *    0  "EJSENC01"   magic and format version
 *    8  u8 cipher    1 = ChaCha20-Poly1305, 2 = AES-256-GCM (the file's own: a file is read with the cipher it
 *                    was written with, so changing `cipher` keeps old files readable; new files use the new one)
 *    9  u8 purpose   segment, events, snapshot or metadata document (bound into the key and the check)
 *   10  6 bytes 0
 *   16  32-byte salt, random per file
 *   48  16-byte key check: the AEAD tag of an empty message under the file key, with bytes [0, 48) as AAD
 *
 * The file key is HKDF-SHA256(configured key, salt, info naming the cipher and purpose), so no two files share
 * a key and a key never encrypts more than one file's records. Each sealed item is nonce (12 random bytes) |
 * ciphertext | tag (16): random nonces because a record slot can be written twice in one file (a failed write
 * or a torn tail is cut off and the same sequence appended again), which would repeat a counter-derived nonce.
 *
 * The key check lets a wrong key be told from corruption before anything is read or repaired: `verifyStore`
 * walks a store directory and refuses (naming the file) on the first encrypted file the key does not open, or
 * on an encrypted file when no key is configured.
 */
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as StoreError from "./StoreError.ts"

export type CipherName = "chacha" | "aes"

/** nats-server's names for the ciphers (`cipher: chacha|chachapoly|aes`). */
export const cipherLabel = (c: CipherName): string => (c === "chacha" ? "ChaCha20-Poly1305" : "AES-GCM")

const ALGORITHM = { 1: "chacha20-poly1305", 2: "aes-256-gcm" } as const
type CipherId = keyof typeof ALGORITHM
const ID_OF: Record<CipherName, CipherId> = { chacha: 1, aes: 2 }

export const Purpose = { Segment: 1, Events: 2, Snapshot: 3, Meta: 4, SubjectIndex: 5 } as const
export type Purpose = (typeof Purpose)[keyof typeof Purpose]

export const MAGIC = "EJSENC01"
export const FILE_HEADER = 64
export const NONCE = 12
export const TAG = 16
/** Bytes a sealed item takes beyond its plaintext. */
export const OVERHEAD = NONCE + TAG
const ZERO_NONCE = Buffer.alloc(NONCE)
const EMPTY = Buffer.alloc(0)

/** True when `buf` starts with the encrypted-file magic. */
export const isEncrypted = (buf: Uint8Array): boolean =>
  buf.length >= MAGIC.length && Buffer.from(buf.buffer, buf.byteOffset, MAGIC.length).toString("latin1") === MAGIC

/** The file is encrypted and no key is configured. */
export const keyRequired = (file: string): StoreError.StoreError =>
  new StoreError.StoreError({
    reason: new StoreError.Encryption({
      path: file,
      detail: "the file is encrypted and no key is configured (set jetstream.key)"
    })
  })

const wrongKey = (file: string): StoreError.StoreError =>
  new StoreError.StoreError({
    reason: new StoreError.Encryption({
      path: file,
      detail: "the configured jetstream.key does not open this file (a wrong key, or a damaged encryption header); " +
        "nothing was changed"
    })
  })

const badHeader = (file: string, why: string): StoreError.StoreError =>
  new StoreError.StoreError({ reason: new StoreError.Encryption({ path: file, detail: why }) })

/** Random bytes for nonces, drawn from a pool so a batch of records does not call into OpenSSL per record. */
const pool = Buffer.allocUnsafe(4096)
let poolAt = pool.length
const nonceInto = (buf: Buffer, at: number): void => {
  if (poolAt + NONCE > pool.length) {
    crypto.randomFillSync(pool)
    poolAt = 0
  }
  pool.copy(buf, at, poolAt, poolAt + NONCE)
  poolAt += NONCE
}

type Algorithm = (typeof ALGORITHM)[CipherId]

// Two branches so each call resolves to its AEAD overload of node:crypto (a union of the names matches none).
const encryptor = (algorithm: Algorithm, key: Buffer, nonce: Buffer) =>
  algorithm === "aes-256-gcm"
    ? crypto.createCipheriv(algorithm, key, nonce, { authTagLength: TAG })
    : crypto.createCipheriv(algorithm, key, nonce, { authTagLength: TAG })
const decryptor = (algorithm: Algorithm, key: Buffer, nonce: Buffer) =>
  algorithm === "aes-256-gcm"
    ? crypto.createDecipheriv(algorithm, key, nonce, { authTagLength: TAG })
    : crypto.createDecipheriv(algorithm, key, nonce, { authTagLength: TAG })

/** The key of one file. */
export class FileKey {
  private readonly algorithm: Algorithm
  private readonly key: Buffer

  constructor(algorithm: Algorithm, key: Buffer) {
    this.algorithm = algorithm
    this.key = key
  }

  /**
   * Encrypts `buf[at + NONCE, at + NONCE + len)` in place, writing the nonce before it and the tag after it
   * (the caller left room: the item takes `len + OVERHEAD` bytes from `at`).
   */
  sealInPlace(buf: Buffer, at: number, len: number, aad: Uint8Array): void {
    nonceInto(buf, at)
    const c = encryptor(this.algorithm, this.key, buf.subarray(at, at + NONCE))
    c.setAAD(aad, { plaintextLength: len })
    const start = at + NONCE
    const ct = c.update(buf.subarray(start, start + len))
    ct.copy(buf, start)
    c.final()
    c.getAuthTag().copy(buf, start + len)
  }

  /** nonce | ciphertext | tag of `plain`. */
  seal(plain: Uint8Array, aad: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(plain.length + OVERHEAD)
    out.set(plain, NONCE)
    this.sealInPlace(out, 0, plain.length, aad)
    return out
  }

  /** The plaintext of the sealed item `buf[at, at + len)`, or undefined when it does not authenticate. */
  open(buf: Uint8Array, at: number, len: number, aad: Uint8Array): Buffer | undefined {
    if (len < OVERHEAD) return undefined
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
    const d = decryptor(this.algorithm, this.key, b.subarray(at, at + NONCE))
    const plainLen = len - OVERHEAD
    d.setAAD(aad, { plaintextLength: plainLen })
    d.setAuthTag(b.subarray(at + NONCE + plainLen, at + len))
    const out = d.update(b.subarray(at + NONCE, at + NONCE + plainLen))
    try {
      d.final()
    } catch {
      return undefined
    }
    return out
  }

  /**
   * The first `n` plaintext bytes of a sealed item, NOT authenticated: recovery reads a record's subject to
   * rebuild the index without decrypting (and hashing) the whole payload. Every read of the record still
   * authenticates all of it, so a tampered record is never served.
   */
  peek(buf: Uint8Array, at: number, n: number): Buffer {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
    const d = decryptor(this.algorithm, this.key, b.subarray(at, at + NONCE))
    return d.update(b.subarray(at + NONCE, at + NONCE + n))
  }

  /** The header's key check: the tag of an empty message (a fixed nonce is safe: the key is this file's alone). */
  check(aad: Uint8Array): Buffer {
    const c = encryptor(this.algorithm, this.key, ZERO_NONCE)
    c.setAAD(aad, { plaintextLength: 0 })
    c.update(EMPTY)
    c.final()
    return c.getAuthTag()
  }
}

/** The configured key and cipher of a store. */
export class StoreCipher {
  readonly cipher: CipherName
  private readonly secret: Buffer

  constructor(cipher: CipherName, key: string) {
    if (key === "") throw new TypeError("an encryption key must not be empty")
    this.cipher = cipher
    this.secret = Buffer.from(key, "utf8")
  }

  private derive(id: CipherId, purpose: number, salt: Uint8Array): FileKey {
    const info = `effect-jetstream store v1 ${ALGORITHM[id]} purpose ${purpose}`
    const key = Buffer.from(crypto.hkdfSync("sha256", this.secret, salt, info, 32))
    return new FileKey(ALGORITHM[id], key)
  }

  /** The header and key of a new file. */
  newFile(purpose: Purpose): { readonly header: Buffer; readonly key: FileKey } {
    const header = Buffer.alloc(FILE_HEADER)
    header.write(MAGIC, 0, "latin1")
    const id = ID_OF[this.cipher]
    header[8] = id
    header[9] = purpose
    crypto.randomFillSync(header, 16, 32)
    const key = this.derive(id, purpose, header.subarray(16, 48))
    key.check(header.subarray(0, 48)).copy(header, 48)
    return { header, key }
  }

  /** The key of an existing file from its header; a key that does not pass the check is a typed refusal. */
  openFile(file: string, header: Uint8Array, purpose: Purpose): FileKey {
    const h = Buffer.from(header.buffer, header.byteOffset, header.byteLength)
    if (h.length < FILE_HEADER || !isEncrypted(h)) throw badHeader(file, "not an encrypted store file")
    const id = h[8]!
    if (id !== 1 && id !== 2) throw badHeader(file, `unknown cipher id ${id} in the encryption header`)
    if (h[9] !== purpose) throw badHeader(file, `encryption header is for another kind of file (${h[9]})`)
    const key = this.derive(id, purpose, h.subarray(16, 48))
    if (!crypto.timingSafeEqual(key.check(h.subarray(0, 48)), h.subarray(48, 64))) throw wrongKey(file)
    return key
  }

  /** Checks an encrypted file's header against the key without knowing what kind of file it is. */
  verifyHeader(file: string, header: Uint8Array): void {
    if (header.length < FILE_HEADER) throw badHeader(file, "truncated encryption header")
    const purpose = header[9]!
    if (!Object.values(Purpose).includes(purpose as Purpose)) {
      throw badHeader(file, `unknown file kind ${purpose} in the encryption header`)
    }
    this.openFile(file, header, purpose as Purpose)
  }
}

/**
 * Checks every file under `root` before the store opens anything: an encrypted file the key does not open, or
 * any encrypted file when `cipher` is undefined, is a refusal naming the file. Reads only; nothing is changed,
 * so a wrong key leaves the store byte for byte as it was. Plaintext files are allowed with a key (a store that
 * had encryption turned on: they stay readable and are replaced by encrypted ones as they are rewritten).
 * A file shorter than the header that starts like one is a torn creation, which the owner repairs.
 * Returns the number of plaintext files found while a key is configured.
 */
export const verifyStore = (root: string, cipher: StoreCipher | undefined): number => {
  let plain = 0
  const walk = (dir: string): void => {
    let entries: Array<fs.Dirent>
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true })
    } catch (e) {
      if ((e as { code?: unknown }).code === "ENOENT") return
      throw StoreError.io(dir, "readdir", e)
    }
    for (const e of entries) {
      const file = path.join(dir, e.name)
      if (e.isDirectory()) {
        walk(file)
        continue
      }
      if (!e.isFile() || e.name.endsWith(".tmp")) continue
      const header = Buffer.alloc(FILE_HEADER)
      const n = StoreError.ioSync(file, "read", () => {
        const fd = fs.openSync(file, "r")
        try {
          return fs.readSync(fd, header, 0, FILE_HEADER, 0)
        } finally {
          fs.closeSync(fd)
        }
      })
      if (n < MAGIC.length || !isEncrypted(header)) {
        if (cipher !== undefined && n > 0 && isPlainData(e.name)) plain++
        continue
      }
      if (cipher === undefined) throw keyRequired(file)
      if (n < FILE_HEADER) continue
      cipher.verifyHeader(file, header)
    }
  }
  walk(root)
  return plain
}

/** Files that hold stored data (as opposed to the manifest and floor, which hold only sequence numbers). */
const isPlainData = (name: string): boolean =>
  name.endsWith(".seg") || name.endsWith(".events") || name.endsWith(".snap") ||
  (name.endsWith(".json") && name !== "manifest.json")
