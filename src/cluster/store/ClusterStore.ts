/**
 * The cluster store: PostgreSQL holds the nodes, the leases and the stream and consumer
 * assignments of a JetStream cluster. Every SQL statement the broker runs is in this folder.
 *
 * Leases are plain rows (not advisory locks: a lock held by a frozen session is invisible to the
 * writes of a second session, a row with a term is not). Acquiring a lease increments its term;
 * renewing keeps it. A write on behalf of an asset runs in `fenced`: its transaction locks the lease
 * row `FOR UPDATE` and commits nothing when the writer's term is no longer the row's (`StaleTerm`).
 * An acquisition blocks on that row lock, so a write either commits before a takeover or not at all.
 */
import { Data, Effect, type Scope } from "effect"
import pg from "pg"
import { CHANNEL, DDL, SCHEMA_LOCK, SCHEMA_VERSION } from "./ClusterSchema.ts"
import { makePool, openClient } from "./PrimaryConnector.ts"

export class ClusterStoreError extends Data.TaggedError("ClusterStoreError")<{
  readonly op: string
  readonly detail: string
}> {
  override get message() {
    return `cluster store: ${this.op}: ${this.detail}`
  }
}

/** A write on behalf of `asset` by a holder whose term is not the lease's any more: nothing was committed. */
export class StaleTerm extends Data.TaggedError("StaleTerm")<{
  readonly asset: string
  readonly term: bigint
  /** The lease's term now (undefined: no lease row). */
  readonly current: bigint | undefined
}> {
  override get message() {
    return `stale term ${this.term} for ${this.asset} (current ${this.current ?? "none"})`
  }
}

/** What a holder presents with each write: the asset, who it is, and the term it acquired. */
export interface Fence {
  readonly asset: string
  readonly owner: string
  readonly term: bigint
}

export interface NodeInfo {
  readonly serverName: string
  readonly serverId: string
  readonly cluster: string
  readonly clientUrl: string
  readonly tags: ReadonlyArray<string>
}

/** One account's figures on one node (heartbeat), summed by the meta leader for account INFO. */
export interface AccountUsage {
  readonly memory: number
  readonly storage: number
  readonly consumers: number
}

export interface NodeRow extends NodeInfo {
  readonly usage: Readonly<Record<string, AccountUsage>>
  /** Heartbeat within the liveness window, judged by PostgreSQL's clock. */
  readonly alive: boolean
  /** Milliseconds since its last heartbeat, by PostgreSQL's clock. */
  readonly heartbeatAgeMs: number
}

export interface LeaseRow {
  readonly asset: string
  readonly owner: string
  readonly term: bigint
  /** Not expired by PostgreSQL's clock. */
  readonly live: boolean
}

export type StreamStatus = "pending" | "ready" | "failed"

export interface StreamRow {
  readonly account: string
  readonly name: string
  readonly config: unknown
  readonly owner: string
  readonly status: StreamStatus
  readonly result: unknown
  /** `num_replicas` (1: the owner's own store; more: the log is in this store). */
  readonly replicas: number
  /** The replicated stream's peer group, owner included (empty for R1). */
  readonly peers: ReadonlyArray<string>
}

export interface ConsumerRow {
  readonly account: string
  readonly stream: string
  readonly name: string
  readonly config: unknown
}

/** NOTIFY payload: a hint that rows changed (receivers re-read; a lost hint is caught by the poll). */
export interface ClusterEvent {
  readonly kind: "assigned" | "confirmed" | "removed" | "changed"
  readonly account: string
  readonly stream: string
  readonly owner?: string
}

/** A statement runner inside a transaction (or on the pool). */
export interface Tx {
  readonly query: (
    sql: string,
    params?: ReadonlyArray<unknown>
  ) => Effect.Effect<Array<Record<string, unknown>>, ClusterStoreError>
}

const detail = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const run = (
  client: pg.Pool | pg.PoolClient | pg.Client,
  op: string,
  sql: string,
  params: ReadonlyArray<unknown> = []
): Effect.Effect<Array<Record<string, unknown>>, ClusterStoreError> =>
  Effect.tryPromise({
    try: () => client.query(sql, params as Array<unknown>).then((r) => r.rows as Array<Record<string, unknown>>),
    catch: (e) => new ClusterStoreError({ op, detail: detail(e) })
  })

const big = (v: unknown): bigint => BigInt(v as string)

export const streamRow = (r: Record<string, unknown>): StreamRow => ({
  account: r.account as string,
  name: r.name as string,
  config: r.config,
  owner: r.owner as string,
  status: r.status as StreamStatus,
  result: r.result ?? undefined,
  replicas: Number(r.replicas ?? 1),
  peers: Array.isArray(r.peers) ? (r.peers as Array<string>) : []
})

export interface ClusterStoreShape {
  readonly url: string
  /** The store's pool (replicated logs read their snapshots through it). */
  readonly pool: pg.Pool
  /** Inserts or refreshes this node's row (its heartbeat). */
  readonly heartbeat: (
    node: NodeInfo,
    usage: Readonly<Record<string, AccountUsage>>
  ) => Effect.Effect<void, ClusterStoreError>
  /** Every node ever seen, with `alive` = heartbeat within `windowMs` of PostgreSQL's now. */
  readonly nodes: (windowMs: number) => Effect.Effect<Array<NodeRow>, ClusterStoreError>
  /**
   * Takes `asset` for `owner` when it is free, expired, or already `owner`'s (a restarted owner
   * takes it anew): the new term, or undefined while another holder's lease is live.
   */
  readonly acquire: (
    asset: string,
    owner: string,
    ttlMs: number
  ) => Effect.Effect<bigint | undefined, ClusterStoreError>
  /** Extends the leases `owner` still holds at the given terms; returns the assets renewed. */
  readonly renew: (
    owner: string,
    held: ReadonlyArray<{ readonly asset: string; readonly term: bigint }>,
    ttlMs: number
  ) => Effect.Effect<Set<string>, ClusterStoreError>
  /** Gives a lease up (graceful stop): it expires now, its term stays (the next acquisition increments it). */
  readonly release: (fence: Fence) => Effect.Effect<void, ClusterStoreError>
  readonly lease: (asset: string) => Effect.Effect<LeaseRow | undefined, ClusterStoreError>
  /** Runs `body` in one transaction that commits only while `fence.term` is the lease's term. */
  readonly fenced: <A, E>(
    fence: Fence,
    body: (tx: Tx) => Effect.Effect<A, E>
  ) => Effect.Effect<A, E | StaleTerm | ClusterStoreError>
  /**
   * One statement outside any fence: only for writes guarded by their own row condition (an owner
   * refusing the pending create assigned to it).
   */
  readonly exec: (
    sql: string,
    params?: ReadonlyArray<unknown>
  ) => Effect.Effect<Array<Record<string, unknown>>, ClusterStoreError>
  readonly streams: () => Effect.Effect<Array<StreamRow>, ClusterStoreError>
  readonly consumers: () => Effect.Effect<Array<ConsumerRow>, ClusterStoreError>
  /** Publishes a hint on the channel (outside any transaction: a hint never blocks a commit). */
  readonly notify: (event: ClusterEvent) => Effect.Effect<void, ClusterStoreError>
  /**
   * Delivers every hint to `onEvent` while the scope lasts, on a dedicated connection that is
   * re-opened after a failure (`onReconnect` runs then: hints may have been missed).
   */
  readonly listen: (
    onEvent: (event: ClusterEvent) => void,
    onReconnect: () => void
  ) => Effect.Effect<void, never, Scope.Scope>
}

/** Statements used by the handlers (assignment writes run inside `fenced`). */
export const Sql = {
  insertStream: `INSERT INTO ejs_streams (account, name, config, owner, status, replicas, peers)
    VALUES ($1, $2, $3, $4, 'pending', $5, $6) ON CONFLICT (account, name) DO NOTHING RETURNING name`,
  streamByName: `SELECT account, name, config, owner, status, result, replicas, peers FROM ejs_streams
    WHERE account = $1 AND name = $2`,
  confirmStream: `UPDATE ejs_streams SET status = 'ready', result = $4
    WHERE account = $1 AND name = $2 AND owner = $3 AND status = 'pending' RETURNING name`,
  refuseStream: `UPDATE ejs_streams SET status = 'failed', result = $4
    WHERE account = $1 AND name = $2 AND owner = $3 AND status = 'pending' RETURNING name`,
  deleteFailed: `DELETE FROM ejs_streams WHERE account = $1 AND name = $2 AND status = 'failed' RETURNING name`,
  adoptStream: `INSERT INTO ejs_streams (account, name, config, owner, status)
    VALUES ($1, $2, $3, $4, 'ready') ON CONFLICT (account, name) DO NOTHING RETURNING name`,
  deletePending: `DELETE FROM ejs_streams WHERE account = $1 AND name = $2 AND status = 'pending' RETURNING name`,
  deleteStream: `DELETE FROM ejs_streams WHERE account = $1 AND name = $2 RETURNING name`,
  updateStreamConfig: `UPDATE ejs_streams SET config = $3, replicas = $4, peers = $5
    WHERE account = $1 AND name = $2 RETURNING name`,
  /** A replicated stream given to another peer (failover by the meta leader, or the owner's stepdown). */
  moveStream: `UPDATE ejs_streams SET owner = $3, peers = $4
    WHERE account = $1 AND name = $2 AND owner = $5 AND status = 'ready' RETURNING name`,
  consumersOfStream: `SELECT name, config FROM ejs_consumers WHERE account = $1 AND stream = $2 ORDER BY name`,
  deleteConsumerState: `DELETE FROM ejs_consumer_states WHERE account = $1 AND stream = $2 AND name = $3`,
  /** A stepdown hands the stream's lease over at once (inside the fenced transaction that moves it). */
  expireLease: `UPDATE ejs_leases SET expires_at = now() WHERE asset = $1`,
  upsertConsumer: `INSERT INTO ejs_consumers (account, stream, name, config) VALUES ($1, $2, $3, $4)
    ON CONFLICT (account, stream, name) DO UPDATE SET config = EXCLUDED.config`,
  deleteConsumer: `DELETE FROM ejs_consumers WHERE account = $1 AND stream = $2 AND name = $3`,
  deleteLease: `DELETE FROM ejs_leases WHERE asset = $1`
} as const

export const make = (url: string): Effect.Effect<ClusterStoreShape, ClusterStoreError, Scope.Scope> =>
  Effect.gen(function*() {
    // Control-plane traffic only: a few connections suffice (one more is the LISTEN connection).
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const p = makePool(url, { max: 4, idleTimeoutMillis: 30_000 })
        // An idle client's error (server restart) must not crash the process; the next query reconnects.
        p.on("error", () => {})
        return p
      }),
      (p) => Effect.promise(() => p.end().catch(() => undefined))
    )
    yield* migrate(pool)

    const withClient = <A, E>(op: string, body: (c: pg.PoolClient) => Effect.Effect<A, E>) =>
      Effect.acquireUseRelease(
        Effect.tryPromise({
          try: () => pool.connect(),
          catch: (e) => new ClusterStoreError({ op, detail: detail(e) })
        }),
        body,
        (c, exit) => Effect.sync(() => c.release(exit._tag === "Failure"))
      )

    const fenced = <A, E>(fence: Fence, body: (tx: Tx) => Effect.Effect<A, E>) =>
      withClient("fenced write", (c) => {
        const tx: Tx = { query: (sql, params) => run(c, "fenced write", sql, params) }
        const rollback = Effect.ignore(run(c, "rollback", "ROLLBACK"))
        return Effect.gen(function*() {
          yield* run(c, "begin", "BEGIN")
          const rows = yield* run(c, "lease check", "SELECT owner, term FROM ejs_leases WHERE asset = $1 FOR UPDATE", [
            fence.asset
          ])
          const row = rows[0]
          const current = row === undefined ? undefined : big(row.term)
          if (row === undefined || row.owner !== fence.owner || current !== fence.term) {
            return yield* new StaleTerm({ asset: fence.asset, term: fence.term, current })
          }
          const out = yield* body(tx)
          yield* run(c, "commit", "COMMIT")
          return out
        }).pipe(Effect.onError(() => rollback))
      })

    const listen = (onEvent: (event: ClusterEvent) => void, onReconnect: () => void) =>
      Effect.gen(function*() {
        let closed = false
        let client: pg.Client | undefined
        let timer: ReturnType<typeof setTimeout> | undefined
        const open = () => {
          if (closed) return
          // With a replicated store the session is opened on the current primary (a standby cannot LISTEN).
          openClient(url).then((c) => {
            if (closed) return c.end()
            client = c
            let retried = false
            const retry = () => {
              if (retried) return
              retried = true
              c.removeAllListeners()
              c.on("error", () => {})
              c.end().catch(() => undefined)
              if (!closed) timer = setTimeout(open, 500)
            }
            // A server restart ends the session with an error, or just ends it: either way, listen again.
            c.on("error", retry)
            c.on("end", retry)
            c.on("notification", (n) => {
              if (n.channel !== CHANNEL || n.payload === undefined) return
              try {
                onEvent(JSON.parse(n.payload) as ClusterEvent)
              } catch {
                // A malformed hint is only a hint: the periodic reconcile still sees the rows.
              }
            })
            return c.query(`LISTEN ${CHANNEL}`).then(() => onReconnect(), retry)
          }, () => {
            if (!closed) timer = setTimeout(open, 500)
          })
        }
        yield* Effect.acquireRelease(
          Effect.sync(open),
          () =>
            Effect.promise(() => {
              closed = true
              if (timer !== undefined) clearTimeout(timer)
              return client?.end().catch(() => undefined) ?? Promise.resolve()
            })
        )
      })

    const shape: ClusterStoreShape = {
      url,
      pool,
      heartbeat: (n, usage) =>
        Effect.asVoid(run(
          pool,
          "heartbeat",
          `INSERT INTO ejs_nodes (server_name, server_id, cluster, client_url, tags, usage)
             VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (server_name) DO UPDATE SET server_id = EXCLUDED.server_id, cluster = EXCLUDED.cluster,
             client_url = EXCLUDED.client_url, tags = EXCLUDED.tags, usage = EXCLUDED.usage, heartbeat_at = now()`,
          [n.serverName, n.serverId, n.cluster, n.clientUrl, JSON.stringify(n.tags), JSON.stringify(usage)]
        )),
      nodes: (windowMs) =>
        Effect.map(
          run(
            pool,
            "nodes",
            `SELECT server_name, server_id, cluster, client_url, tags, usage,
               heartbeat_at > now() - ($1::bigint * interval '1 millisecond') AS alive,
               (extract(epoch FROM (now() - heartbeat_at)) * 1000)::bigint AS age_ms
             FROM ejs_nodes ORDER BY server_name`,
            [windowMs]
          ),
          (rows) =>
            rows.map((r) => ({
              serverName: r.server_name as string,
              serverId: r.server_id as string,
              cluster: r.cluster as string,
              clientUrl: r.client_url as string,
              tags: r.tags as Array<string>,
              usage: r.usage as Record<string, AccountUsage>,
              alive: r.alive === true,
              heartbeatAgeMs: Math.max(0, Number(r.age_ms ?? 0))
            }))
        ),
      acquire: (asset, owner, ttlMs) =>
        Effect.map(
          run(
            pool,
            "acquire",
            `INSERT INTO ejs_leases (asset, owner, term, expires_at)
               VALUES ($1, $2, 1, now() + ($3::bigint * interval '1 millisecond'))
             ON CONFLICT (asset) DO UPDATE SET owner = EXCLUDED.owner, term = ejs_leases.term + 1,
               expires_at = EXCLUDED.expires_at
             WHERE ejs_leases.expires_at <= now() OR ejs_leases.owner = EXCLUDED.owner
             RETURNING term`,
            [asset, owner, ttlMs]
          ),
          (rows) => (rows[0] === undefined ? undefined : big(rows[0].term))
        ),
      renew: (owner, held, ttlMs) =>
        held.length === 0 ? Effect.succeed(new Set()) : Effect.map(
          run(
            pool,
            "renew",
            `UPDATE ejs_leases SET expires_at = now() + ($2::bigint * interval '1 millisecond')
             FROM unnest($3::text[], $4::bigint[]) AS h(asset, term)
             WHERE ejs_leases.owner = $1 AND ejs_leases.asset = h.asset AND ejs_leases.term = h.term
             RETURNING ejs_leases.asset`,
            [owner, ttlMs, held.map((h) => h.asset), held.map((h) => h.term.toString())]
          ),
          (rows) => new Set(rows.map((r) => r.asset as string))
        ),
      release: (f) =>
        Effect.asVoid(
          run(
            pool,
            "release",
            `UPDATE ejs_leases SET expires_at = now() WHERE asset = $1 AND owner = $2 AND term = $3`,
            [
              f.asset,
              f.owner,
              f.term.toString()
            ]
          )
        ),
      lease: (asset) =>
        Effect.map(
          run(pool, "lease", `SELECT asset, owner, term, expires_at > now() AS live FROM ejs_leases WHERE asset = $1`, [
            asset
          ]),
          (rows) =>
            rows[0] === undefined
              ? undefined
              : {
                asset: rows[0].asset as string,
                owner: rows[0].owner as string,
                term: big(rows[0].term),
                live: rows[0].live === true
              }
        ),
      fenced,
      exec: (sql, params) => run(pool, "exec", sql, params),
      streams: () =>
        Effect.map(
          run(
            pool,
            "streams",
            `SELECT account, name, config, owner, status, result, replicas, peers FROM ejs_streams
             ORDER BY account, name`
          ),
          (rows) => rows.map(streamRow)
        ),
      consumers: () =>
        Effect.map(
          run(
            pool,
            "consumers",
            `SELECT account, stream, name, config FROM ejs_consumers ORDER BY account, stream, name`
          ),
          (rows) =>
            rows.map((r) => ({
              account: r.account as string,
              stream: r.stream as string,
              name: r.name as string,
              config: r.config
            }))
        ),
      notify: (event) =>
        Effect.asVoid(run(pool, "notify", `SELECT pg_notify($1, $2)`, [CHANNEL, JSON.stringify(event)])),
      listen
    }
    return shape
  })

/** Creates the tables when missing and records the schema version (one broker at a time). */
const migrate = (pool: pg.Pool): Effect.Effect<void, ClusterStoreError> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => pool.connect(),
      catch: (e) => new ClusterStoreError({ op: "connect", detail: detail(e) })
    }),
    (c) =>
      Effect.gen(function*() {
        yield* run(c, "migrate", "BEGIN")
        yield* run(c, "migrate", "SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK])
        for (const stmt of DDL) yield* run(c, "migrate", stmt)
        const rows = yield* run(c, "migrate", "SELECT max(version) AS v FROM ejs_schema")
        const v = rows[0]?.v
        // Every version's tables are created above when missing, so an older store is brought up by
        // recording the new version.
        if (v === null || v === undefined || Number(v) < SCHEMA_VERSION) {
          yield* run(c, "migrate", "INSERT INTO ejs_schema (version) VALUES ($1)", [SCHEMA_VERSION])
        } else if (Number(v) > SCHEMA_VERSION) {
          yield* run(c, "migrate", "ROLLBACK")
          return yield* new ClusterStoreError({
            op: "migrate",
            detail: `the store has schema version ${v}, this broker knows up to ${SCHEMA_VERSION}`
          })
        }
        yield* run(c, "migrate", "COMMIT")
      }).pipe(Effect.onError(() => Effect.ignore(run(c, "rollback", "ROLLBACK")))),
    (c, exit) => Effect.sync(() => c.release(exit._tag === "Failure"))
  )
