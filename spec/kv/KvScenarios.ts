/**
 * Key/value and object store scenarios through the official `@nats-io/kv` and `@nats-io/obj`
 * clients. Each returns what the client observed (no timestamps) so it can be asserted against our
 * broker and compared with nats-server.
 */
import { type KvEntry, Kvm } from "@nats-io/kv"
import { Objm } from "@nats-io/obj"
import { clientFailure as failure, sleep, withNc } from "../support/Js.ts"

const dc = new TextDecoder()

const entry = (e: KvEntry | null) =>
  e === null
    ? null
    : { key: e.key, revision: e.revision, operation: e.operation, value: dc.decode(e.value), delta: e.delta }

export const kvScenarios = {
  /** put/get/create/update/delete/purge/history/keys with revisions and CAS errors. */
  async basics(url: string) {
    return withNc(url, async (nc) => {
      const kv = await new Kvm(nc).create("basics", { history: 3 })
      const revs = [await kv.put("a", "1"), await kv.put("a", "2"), await kv.put("b.c", "x"), await kv.put("b.d", "y")]
      const latest = entry(await kv.get("a"))
      const byRevision = entry(await kv.get("a", { revision: 1 }))
      const missing = await kv.get("nope")
      const createDup = await failure(kv.create("a", "z"))
      const createNew = await kv.create("fresh", "f")
      const updateOk = await kv.update("a", "3", 2)
      const updateBad = await failure(kv.update("a", "4", 2))
      await kv.delete("b.c")
      const afterDelete = entry(await kv.get("b.c"))
      const createAfterDelete = await kv.create("b.c", "again")
      const history: Array<unknown> = []
      for await (const e of await kv.history({ key: "a" })) history.push(entry(e))
      const keys: Array<string> = []
      for await (const k of await kv.keys()) keys.push(k)
      const filtered: Array<string> = []
      for await (const k of await kv.keys("b.*")) filtered.push(k)
      await kv.purge("a")
      const afterPurge = entry(await kv.get("a"))
      const purgedHistory: Array<unknown> = []
      for await (const e of await kv.history({ key: "a" })) purgedHistory.push(entry(e))
      const status = await kv.status()
      await kv.destroy()
      return {
        revs,
        latest,
        byRevision,
        missing,
        createDup,
        createNew,
        updateOk,
        updateBad,
        afterDelete,
        createAfterDelete,
        history,
        keys: keys.sort(),
        filtered: filtered.sort(),
        afterPurge,
        purgedHistory,
        status: {
          bucket: status.bucket,
          values: status.values,
          history: status.history,
          ttl: status.ttl,
          storage: status.storage
        }
      }
    })
  },

  /** watch: initial values, then updates and deletes in order; headers-only; from a revision. */
  async watch(url: string) {
    return withNc(url, async (nc) => {
      const kv = await new Kvm(nc).create("watched", { history: 5 })
      await kv.put("x", "1")
      await kv.put("y", "2")
      await kv.put("x", "3")
      const collect = async (opts: Parameters<typeof kv.watch>[0], n: number, during: () => Promise<void>) => {
        const w = await kv.watch(opts)
        const seen: Array<unknown> = []
        const done = (async () => {
          for await (const e of w) {
            seen.push(entry(e))
            if (seen.length === n) break
          }
        })()
        await during()
        await Promise.race([done, sleep(3000)])
        w.stop()
        return seen
      }
      const all = await collect({}, 4, async () => {
        await sleep(100)
        await kv.delete("y")
        await kv.put("z", "9")
      })
      const headersOnly = await collect({ key: "x", headers_only: true }, 1, async () => {})
      const fromRevision = await collect({ key: ">", resumeFromRevision: 2 } as never, 3, async () => {})
      await kv.destroy()
      return { all, headersOnly, fromRevision }
    })
  },

  /** Buckets with ttl, max value size and max bytes report them and enforce them. */
  async limits(url: string) {
    return withNc(url, async (nc) => {
      const kvm = new Kvm(nc)
      const kv = await kvm.create("limited", {
        maxValueSize: 8,
        history: 2,
        ttl: 60_000,
        max_bytes: 4096,
        storage: "memory" as never
      })
      const small = await kv.put("k", "12345678")
      const tooBig = await failure(kv.put("k", "123456789"))
      const st = await kv.status()
      await kv.put("k", "again")
      await kv.put("k", "third")
      const history: Array<unknown> = []
      for await (const e of await kv.history({ key: "k" })) history.push(entry(e))
      await kv.destroy()
      const opened = await failure(kvm.open("never-created", { bindOnly: true } as never))
      return {
        small,
        tooBig,
        maxValueSize: st.maxValueSize,
        ttl: st.ttl,
        history: st.history,
        max_bytes: st.max_bytes,
        storage: st.storage,
        values: history,
        opened
      }
    })
  },

  /** Object store: multi-chunk put/get, info, list, metadata update, link, delete, seal. */
  async objects(url: string) {
    return withNc(url, async (nc) => {
      const os = await new Objm(nc).create("files")
      const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 7) % 251)
      const put = await os.putBlob({ name: "big.bin", description: "three megabytes" }, data)
      const back = await os.getBlob("big.bin")
      const intact = back !== null && back.length === data.length && back.every((v, i) => v === data[i])
      const info = await os.info("big.bin")
      await os.putBlob({ name: "small.txt" }, new TextEncoder().encode("hello"))
      await os.update("small.txt", { name: "small.txt", description: "updated" })
      const link = await os.link("alias", (await os.info("small.txt"))!)
      const viaLink = dc.decode((await os.getBlob("alias"))!)
      const list = (await os.list()).map((o) => o.name).sort()
      await os.delete("small.txt")
      const afterDelete = (await os.list()).map((o) => o.name).sort()
      const status = await os.status()
      await os.seal()
      const sealedPut = await failure(os.putBlob({ name: "late" }, new Uint8Array(1)))
      await os.destroy()
      return {
        put: { name: put.name, size: put.size, chunks: put.chunks, deleted: put.deleted },
        intact,
        info: {
          size: info?.size,
          chunks: info?.chunks,
          description: info?.description,
          digestPrefix: info?.digest.slice(0, 8)
        },
        link: { name: link.name, hasLink: link.options?.link !== undefined },
        viaLink,
        list,
        afterDelete,
        status: { bucket: status.bucket, sealed: status.sealed },
        sealedPut: sealedPut.split(":")[0]
      }
    })
  }
}

export type KvScenarioName = keyof typeof kvScenarios
