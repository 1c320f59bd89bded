/**
 * The store's sessions on a multi-host URL (src/cluster/store/PrimaryConnector.ts), against one
 * temporary PostgreSQL and a port nothing listens on: hosts are tried in order, a host is kept only
 * when it accepts writes and commits synchronously, and a refusal names every host's reason.
 */
import * as net from "node:net"
import pg from "pg"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makePool, mustReconnect, openClient } from "../../src/cluster/store/PrimaryConnector.ts"
import { startPostgres, type TestPostgres } from "../../src/testing/TestPostgres.ts"
import { describePostgres, postgresPort } from "../support/Postgres.ts"

/** A loopback port with no listener (bound, then released). */
const deadPort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

describePostgres("sessions on the writable host of a multi-host URL", () => {
  let server: TestPostgres
  let admin: pg.Client
  let dead: number
  beforeAll(async () => {
    // Not the specs' fast server: its synchronous_commit is off on the command line, which ALTER SYSTEM cannot undo.
    server = await startPostgres({ port: postgresPort() })
    admin = new pg.Client({ connectionString: server.url })
    await admin.connect()
    dead = await deadPort()
  }, 60_000)
  afterAll(async () => {
    await admin?.end()
    await server?.stop()
  })
  const url = (attrs = "read-write") =>
    `postgres://ejs@127.0.0.1:${dead},127.0.0.1:${server.port}/ejs?target_session_attrs=${attrs}`
  const setting = async (name: string, value: string | undefined) => {
    await admin.query(value === undefined ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = '${value}'`)
    await admin.query("SELECT pg_reload_conf()")
    // The reload reaches the postmaster's children asynchronously.
    await new Promise((r) => setTimeout(r, 300))
  }

  it("a server without a synchronous standby is refused (its commits would be on one server), each host's reason named", async () => {
    const e = await openClient(url()).then(() => undefined, (err: unknown) => err as Error)
    expect(e?.message).toMatch(
      new RegExp(
        `^no host accepts writes \\(127\\.0\\.0\\.1:${dead} .*ECONNREFUSED.*; 127\\.0\\.0\\.1:${server.port} ` +
          `accepts writes without a synchronous standby \\(synchronous_standby_names '', synchronous_commit on\\)\\)$`
      )
    )
  })

  it("the first host that accepts writes is used, after the ones that refuse; a read-only one is skipped", async () => {
    // Synchronous commit configured (nothing is committed here, so no standby is waited for).
    await setting("synchronous_standby_names", "ANY 1 (s1, s2)")
    try {
      const c = await openClient(url())
      expect((await c.query("SELECT inet_server_port() AS p")).rows).toEqual([{ p: server.port }])
      await c.end()
      const pool = makePool(url("primary"), { max: 2 })
      expect((await pool.query("SELECT inet_server_port() AS p")).rows).toEqual([{ p: server.port }])
      // The pool's clients were checked (a second session while the first is out).
      const [a, b] = [await pool.connect(), await pool.connect()]
      expect((await b.query("SHOW synchronous_standby_names")).rows).toEqual([{
        synchronous_standby_names: "ANY 1 (s1, s2)"
      }])
      a.release()
      b.release()
      await pool.end()

      await setting("default_transaction_read_only", "on")
      const ro = await openClient(url()).then(() => undefined, (err: unknown) => err as Error)
      expect(ro?.message).toContain(`127.0.0.1:${server.port} read-only`)
      // `primary` asks only that the server is not in recovery: a read-only primary is one.
      const p = await openClient(url("primary"))
      expect((await p.query("SELECT pg_is_in_recovery() AS r")).rows).toEqual([{ r: false }])
      await p.end()
      const refusedPool = makePool(url(), { max: 1 })
      await expect(refusedPool.query("SELECT 1")).rejects.toThrow(/no host accepts writes/)
      await refusedPool.end()
    } finally {
      await setting("default_transaction_read_only", undefined)
      await setting("synchronous_standby_names", undefined)
    }
  })

  it("a single-host URL connects as given, without the checks", async () => {
    const c = await openClient(server.url)
    expect((await c.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }])
    await c.end()
  })

  it("mustReconnect: read-only, shutdown and connection errors drop the session; a statement's own error does not", () => {
    expect(mustReconnect(Object.assign(new Error("ro"), { code: "25006" }))).toBe(true)
    expect(mustReconnect(Object.assign(new Error("admin shutdown"), { code: "57P01" }))).toBe(true)
    expect(mustReconnect(Object.assign(new Error("conn"), { code: "08006" }))).toBe(true)
    expect(mustReconnect(new Error("Connection terminated unexpectedly"))).toBe(true)
    expect(mustReconnect(Object.assign(new Error("dup"), { code: "23505" }))).toBe(false)
    expect(mustReconnect(Object.assign(new Error("fk"), { code: "23503" }))).toBe(false)
  })
})
