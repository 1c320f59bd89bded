/**
 * Atomic batches across kill -9: a child-process broker receives batches of random sizes (fast-check) from
 * several publishers at once and is killed at a random moment, commits in flight. After the restart every
 * batch is entirely present or entirely absent, and every batch whose commit was acknowledged is present.
 * (The torn-write cases the kill rarely hits are covered exhaustively in spec/store/AtomicAppend.spec.ts.)
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, headers } from "@nats-io/transport-node"
import fc from "fast-check"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startCli } from "../support/Process.ts"

describe("atomic batches survive kill -9 all or nothing", () => {
  it(
    "after a restart each batch is whole or absent, and acknowledged ones are whole",
    { timeout: 120_000 },
    async () => {
      const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-batch-kill-"))
      let round = 0
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 2, maxLength: 12 }),
            fc.integer({ min: 0, max: 60 }),
            async (sizes, killAfterMs) => {
              const name = `KILL${++round}`
              let broker = await startCli(["-js", "-sd", storeDir])
              let nc = await connect({ servers: `127.0.0.1:${broker.port}` })
              await (await jetstreamManager(nc)).streams.add({ name, subjects: [`${name}.*`], allow_atomic: true })
              const acked = new Set<string>()
              const body = new Uint8Array(4096).fill(7)
              const publishers = sizes.map(async (size, b) => {
                const id = `${name}-${b}`
                for (let seq = 1; seq <= size; seq++) {
                  const h = headers()
                  h.set("Nats-Batch-Id", id)
                  h.set("Nats-Batch-Sequence", String(seq))
                  if (seq === size) {
                    h.set("Nats-Batch-Commit", "1")
                    const r = await nc.request(`${name}.${b % 3}`, body, { headers: h, timeout: 1500 }).catch(() =>
                      undefined
                    )
                    if (r !== undefined && JSON.parse(new TextDecoder().decode(r.data)).count === size) acked.add(id)
                  } else nc.publish(`${name}.${b % 3}`, body, { headers: h })
                }
              })
              await new Promise((r) => setTimeout(r, killAfterMs))
              expect(await broker.stop("SIGKILL")).toBe(null)
              await Promise.allSettled(publishers)
              nc.close().catch(() => {})

              broker = await startCli(["-js", "-sd", storeDir])
              nc = await connect({ servers: `127.0.0.1:${broker.port}` })
              try {
                const jsm = await jetstreamManager(nc)
                const st = (await jsm.streams.info(name)).state
                const found = new Map<string, Array<number>>()
                for (let seq = st.first_seq; seq <= st.last_seq && st.messages > 0; seq++) {
                  const m = (await jsm.streams.getMessage(name, { seq }))!
                  const id = m.header.get("Nats-Batch-Id")
                  found.set(id, [...(found.get(id) ?? []), Number(m.header.get("Nats-Batch-Sequence"))])
                }
                sizes.forEach((size, b) => {
                  const id = `${name}-${b}`
                  const got = found.get(id) ?? []
                  // Whole (1..size in order, consecutive) or absent.
                  if (got.length > 0 || acked.has(id)) {
                    expect([id, got]).toEqual([id, Array.from({ length: size }, (_, i) => i + 1)])
                  }
                })
              } finally {
                await nc.close()
                await broker.stop("SIGKILL")
              }
            }
          ),
          { numRuns: 6 }
        )
      } finally {
        fs.rmSync(storeDir, { recursive: true, force: true })
      }
    }
  )
})
