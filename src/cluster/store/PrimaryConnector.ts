/**
 * Every session the cluster store opens (the pool's, the LISTEN connection, each log writer's)
 * goes through here, so that with a replicated PostgreSQL (a multi-host URL, src/cluster/store/StoreUrl.ts)
 * it reaches the host that accepts writes now: the hosts are tried in order and a session is kept
 * only where `transaction_read_only` is off (`read-write`) or `pg_is_in_recovery()` is false
 * (`primary`), as libpq's target_session_attrs does, and that commits synchronously to a standby.
 *
 * Nothing here retries a statement: during a promotion no host accepts writes, so opening a session
 * fails, and a commit on a lost session fails; the caller decides. Its next session is opened anew and
 * finds the promoted host. A session that meets a read-only error (a demoted primary) must be dropped
 * by its owner (`mustReconnect`).
 */
import pg from "pg"
import { parseStoreUrl, type SessionAttrs, type StoreHost, type StoreUrl } from "./StoreUrl.ts"

/** How long one host may take to accept a session before the next is tried. */
const CONNECT_TIMEOUT_MS = 3_000

const text = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const decode = (url: string): StoreUrl => {
  const parsed = parseStoreUrl(url)
  // The config decoder refuses such a URL; reaching here with one is a programming error.
  if (typeof parsed === "string") throw new Error(`cluster_store ${parsed}`)
  return parsed
}

/**
 * Why `c` is not the session the store may write on, or undefined when it is. Besides libpq's
 * check, the server must commit synchronously: a replicated store promises that every commit is on
 * two servers, and pg_auto_failover's just-promoted primary (wait_primary) accepts writes with
 * `synchronous_standby_names` emptied until a standby follows it; such a commit would be lost with it.
 */
const writable = async (c: pg.Client, attrs: SessionAttrs): Promise<string | undefined> => {
  const { rows } = await c.query(
    `SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS ro,
       current_setting('synchronous_standby_names') AS sync, current_setting('synchronous_commit') AS commit`
  )
  const row = rows[0] as { recovery: boolean; ro: string; sync: string; commit: string }
  if (attrs === "primary" && row.recovery) return "in recovery (a standby)"
  if (attrs === "read-write" && row.ro === "on") return `read-only${row.recovery ? " (a standby)" : ""}`
  if (row.sync === "" || !["on", "remote_write", "remote_apply"].includes(row.commit)) {
    return `accepts writes without a synchronous standby (synchronous_standby_names '${row.sync}', synchronous_commit ${row.commit})`
  }
  return undefined
}

/** A connected session on the first host of `hosts` that accepts writes, or an error naming each host's refusal. */
const connectPrimary = async (
  hosts: ReadonlyArray<StoreHost>,
  attrs: SessionAttrs,
  config: pg.ClientConfig
): Promise<{ client: pg.Client; host: StoreHost }> => {
  const refusals: Array<string> = []
  for (const host of hosts) {
    const c = new pg.Client({ connectionTimeoutMillis: CONNECT_TIMEOUT_MS, ...config, connectionString: host.url })
    // A session dropped while it is checked surfaces as the failed query; the event alone must not crash.
    c.on("error", () => {})
    try {
      await c.connect()
      const refused = await writable(c, attrs)
      if (refused === undefined) return { client: c, host }
      refusals.push(`${host.host}:${host.port} ${refused}`)
    } catch (e) {
      refusals.push(`${host.host}:${host.port} ${text(e)}`)
    }
    await c.end().catch(() => undefined)
  }
  throw new Error(`no host accepts writes (${refusals.join("; ")})`)
}

/** A connected session to the store's writable server (for a single-host URL, that host as given). */
export const openClient = async (url: string, config: pg.ClientConfig = {}): Promise<pg.Client> => {
  const target = decode(url)
  if (target._tag === "Single") {
    const c = new pg.Client({ ...config, connectionString: url })
    await c.connect()
    return c
  }
  return (await connectPrimary(target.hosts, target.attrs, config)).client
}

/**
 * The pool's client for a multi-host URL: `connect` first finds the writable host with a probe
 * session, then connects itself there and checks again (the primary may have changed in between;
 * then the connect fails, as it would during a promotion). The pool connects rarely (its sessions
 * live until idle or broken), so the probe's extra session costs little.
 */
const primaryClient = (hosts: ReadonlyArray<StoreHost>, attrs: SessionAttrs) =>
  class PrimaryClient extends pg.Client {
    constructor(config: pg.ClientConfig = {}) {
      super({ connectionTimeoutMillis: CONNECT_TIMEOUT_MS, ...config, connectionString: hosts[0]!.url })
    }
    override connect(): Promise<pg.Client>
    override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void
    override connect(
      callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)
    ): Promise<pg.Client> | void {
      const done = (async () => {
        const probe = await connectPrimary(hosts, attrs, {})
        await probe.client.end().catch(() => undefined)
        // pg.Client dials `host`/`port` when it connects (set from the constructor's URL until now).
        this.host = probe.host.host.replace(/^\[(.*)\]$/, "$1")
        this.port = probe.host.port
        await super.connect()
        const refused = await writable(this, attrs)
        if (refused !== undefined) {
          await this.end().catch(() => undefined)
          throw new Error(`${probe.host.host}:${probe.host.port} became ${refused} while connecting`)
        }
        return this as pg.Client
      })()
      if (callback === undefined) return done
      // pg-pool passes a node-style callback: (error) or (null, client).
      const cb = callback as (err: Error | null, c?: pg.Client) => void
      done.then((c) => cb(null, c), (e: Error) => cb(e))
    }
  }

/** A pool whose every session is on the store's writable server. */
export const makePool = (url: string, config: pg.PoolConfig): pg.Pool => {
  const target = decode(url)
  if (target._tag === "Single") return new pg.Pool({ ...config, connectionString: url })
  return new pg.Pool({ ...config, Client: primaryClient(target.hosts, target.attrs) })
}

/**
 * Whether a failed statement means the session is on the wrong server or gone: read-only (25006, a
 * demoted primary or a standby), shut down by the server (57P01-57P03), or a lost connection (no SQLSTATE).
 */
export const mustReconnect = (e: unknown): boolean => {
  const code = (e as { code?: unknown } | null)?.code
  return typeof code !== "string" || code === "25006" || code.startsWith("57P") || code.startsWith("08")
}
