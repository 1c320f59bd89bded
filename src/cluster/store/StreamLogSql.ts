/**
 * The SQL of replicated stream logs (ejs_logs, ejs_msgs) and their consumers' states
 * (ejs_consumer_states): the owner's fenced commit of a batch of log operations or of a consumer's
 * folded state, and what a new owner rebuilds them from.
 *
 * This is the publish path, so it is plain promises over one dedicated connection per log (no Effect
 * per commit). Each commit is one transaction: lock the stream's lease row, check the writer's term,
 * apply the operations in order (consecutive appends are one multi-row INSERT over unnest), record the
 * log's bounds, COMMIT. A writer whose term moved commits nothing (`StaleTerm`), and a takeover
 * (which updates the lease row) waits for a commit in flight, so every commit precedes it or fails.
 */
import pg from "pg"
import { type Fence, StaleTerm } from "./ClusterStore.ts"
import { mustReconnect, openClient } from "./PrimaryConnector.ts"

// The shapes of src/store/ReplicatedLog.ts's batch and snapshot, restated: the cluster layer does not
// import the store (scripts/check-layers.mjs), and TypeScript matches the two structurally.

export interface LogMessage {
  readonly seq: number
  readonly subject: string
  readonly hdr: Uint8Array | undefined
  readonly data: Uint8Array
  readonly ts: bigint
}

export type LogOp =
  | { readonly kind: "append"; readonly msgs: ReadonlyArray<LogMessage> }
  | { readonly kind: "remove"; readonly seq: number }
  | { readonly kind: "floor"; readonly seq: number }

export interface LogBatch {
  readonly ops: ReadonlyArray<LogOp>
  readonly firstSeq: number
  readonly lastSeq: number
  readonly lastTs: bigint
}

export interface LogSnapshot {
  readonly firstSeq: number
  readonly lastSeq: number
  readonly lastTs: bigint
  readonly msgs: ReadonlyArray<LogMessage>
}

/** Where the log is: the stream's (account, name) in ejs_streams. */
export interface LogKey {
  readonly account: string
  readonly name: string
}

const leaseCheck = `SELECT owner, term FROM ejs_leases WHERE asset = $1 FOR UPDATE`
const insertMsgs = `INSERT INTO ejs_msgs (account, name, seq, subject, hdr, data, ts)
  SELECT $1, $2, m.seq, m.subject, m.hdr, m.data, m.ts
  FROM unnest($3::bigint[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bigint[]) AS m(seq, subject, hdr, data, ts)`
const removeMsg = `DELETE FROM ejs_msgs WHERE account = $1 AND name = $2 AND seq = $3`
const removeBelow = `DELETE FROM ejs_msgs WHERE account = $1 AND name = $2 AND seq < $3`
const upsertBounds = `INSERT INTO ejs_logs (account, name, first_seq, last_seq, last_ts) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (account, name) DO UPDATE
  SET first_seq = EXCLUDED.first_seq, last_seq = EXCLUDED.last_seq, last_ts = EXCLUDED.last_ts`

/**
 * The error a failed commit rejects with: an errno-like code and `CODE: text` message, the form the
 * store's errors take (the stream actor shows the text after the code in its PubAck error).
 */
const failure = (e: unknown): Error => {
  const stale = e instanceof StaleTerm
  const text = e instanceof Error ? e.message : String(e)
  const code = stale ? "ESTALE" : "ECLUSTERSTORE"
  return Object.assign(new Error(`${code}: ${stale ? text : `cluster store: ${text}`}`), { code })
}

/**
 * The append-only commit as one statement: the lease row locked and checked (a takeover in progress
 * is waited for, then its new term fails the check), the bounds and the rows written only when it
 * matched. The rows' foreign key on the bounds row is checked at the end of the statement.
 */
const appendOnly = `WITH lease AS (
    SELECT 1 FROM ejs_leases WHERE asset = $1 AND owner = $2 AND term = $3::bigint FOR UPDATE
  ), bounds AS (
    INSERT INTO ejs_logs (account, name, first_seq, last_seq, last_ts)
    SELECT $4, $5, $6, $7, $8 FROM lease
    ON CONFLICT (account, name) DO UPDATE
    SET first_seq = EXCLUDED.first_seq, last_seq = EXCLUDED.last_seq, last_ts = EXCLUDED.last_ts
    RETURNING 1
  ), msgs AS (
    INSERT INTO ejs_msgs (account, name, seq, subject, hdr, data, ts)
    SELECT $4, $5, m.seq, m.subject, m.hdr, m.data, m.ts
    FROM unnest($9::bigint[], $10::bytea[], $11::bytea[], $12::bytea[], $13::bigint[]) AS m(seq, subject, hdr, data, ts)
    WHERE EXISTS (SELECT 1 FROM lease)
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM lease) AS held`

/** The five column arrays of an append (unnest's arguments). */
const columns = (
  msgs: ReadonlyArray<LogMessage>
): [Array<number>, Array<Buffer>, Array<Buffer | null>, Array<Buffer>, Array<string>] => {
  const n = msgs.length
  const seqs = new Array<number>(n)
  const subjects = new Array<Buffer>(n)
  const hdrs = new Array<Buffer | null>(n)
  const datas = new Array<Buffer>(n)
  const tss = new Array<string>(n)
  for (let i = 0; i < n; i++) {
    const m = msgs[i]!
    seqs[i] = m.seq
    subjects[i] = Buffer.from(m.subject, "latin1")
    hdrs[i] = m.hdr === undefined ? null : bytes(m.hdr)
    datas[i] = bytes(m.data)
    tss[i] = m.ts.toString()
  }
  return [seqs, subjects, hdrs, datas, tss]
}

const bytes = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/**
 * Fenced transactions on one dedicated connection (closed by `end`), opened on first use; after a
 * failure the session is dropped and the next transaction opens a new one (the logs refuse writes
 * after a failure anyway). `body` runs between the lease check and COMMIT.
 */
const fencedConnection = (url: string, fence: Fence) => {
  let client: Promise<pg.Client> | undefined
  const connect = (): Promise<pg.Client> => {
    if (client === undefined) {
      // With a replicated store, the session is opened on the host that accepts writes now. A commit
      // never waits long on the lease row or a stalled server: it fails, and the log is reloaded from
      // the store (a takeover in progress is a lease-row lock held for milliseconds).
      client = openClient(url, { keepAlive: true, options: "-c lock_timeout=5000 -c statement_timeout=15000" }).then(
        (c) => {
          // A dead session surfaces as the failure of the query in flight; the event alone must not crash.
          c.on("error", () => {})
          return c
        }
      )
      client.catch(() => (client = undefined))
    }
    return client
  }
  const run = async (body: (c: pg.Client) => Promise<void>): Promise<void> => {
    const c = await connect().catch((e: unknown) => {
      throw failure(e)
    })
    try {
      await c.query("BEGIN")
      const { rows } = await c.query(leaseCheck, [fence.asset])
      const row = rows[0] as { owner: string; term: string } | undefined
      const current = row === undefined ? undefined : BigInt(row.term)
      if (row === undefined || row.owner !== fence.owner || current !== fence.term) {
        throw new StaleTerm({ asset: fence.asset, term: fence.term, current })
      }
      await body(c)
      await c.query("COMMIT")
    } catch (e) {
      const drop = () => {
        client = undefined
        c.end().catch(() => undefined)
      }
      // The session is gone (nothing of the transaction was committed) or on a demoted primary: the
      // next transaction reconnects.
      await c.query("ROLLBACK").then(() => {
        if (!(e instanceof StaleTerm) && mustReconnect(e)) drop()
      }, drop)
      throw failure(e)
    }
  }
  const end = async () => {
    const c = client
    client = undefined
    if (c !== undefined) await c.then((x) => x.end()).catch(() => undefined)
  }
  /**
   * One statement as its own transaction (autocommit), for the append-only commit: `held` tells
   * whether the lease matched; when it did not, the statement changed nothing.
   */
  const single = async (sql: string, params: ReadonlyArray<unknown>): Promise<void> => {
    const c = await connect().catch((e: unknown) => {
      throw failure(e)
    })
    let held: boolean
    try {
      const { rows } = await c.query(sql, params as Array<unknown>)
      held = (rows[0] as { held: boolean } | undefined)?.held === true
    } catch (e) {
      client = undefined
      c.end().catch(() => undefined)
      throw failure(e)
    }
    if (!held) {
      const { rows } = await c.query(`SELECT term FROM ejs_leases WHERE asset = $1`, [fence.asset]).catch(() => ({
        rows: []
      }))
      const term = (rows[0] as { term: string } | undefined)?.term
      throw failure(
        new StaleTerm({ asset: fence.asset, term: fence.term, current: term === undefined ? undefined : BigInt(term) })
      )
    }
  }
  return { run, single, end }
}

export interface SqlLogWriter {
  readonly write: (batch: LogBatch) => Promise<void>
  readonly end: () => Promise<void>
}

/** The log writer of stream `key`, fenced by `fence` (the stream's lease). */
export const makeWriter = (url: string, key: LogKey, fence: Fence): SqlLogWriter => {
  const conn = fencedConnection(url, fence)
  const write = (batch: LogBatch): Promise<void> => {
    // The publish path's usual batch, appends only: one statement, one round trip.
    const only = batch.ops.length === 1 ? batch.ops[0]! : undefined
    if (only?.kind === "append") {
      return conn.single(appendOnly, [
        fence.asset,
        fence.owner,
        fence.term.toString(),
        key.account,
        key.name,
        batch.firstSeq,
        batch.lastSeq,
        batch.lastTs.toString(),
        ...columns(only.msgs)
      ])
    }
    return conn.run(async (c) => {
      // The bounds row first: ejs_msgs rows reference it.
      await c.query(upsertBounds, [key.account, key.name, batch.firstSeq, batch.lastSeq, batch.lastTs.toString()])
      for (const op of batch.ops) {
        if (op.kind === "append") await c.query(insertMsgs, [key.account, key.name, ...columns(op.msgs)])
        else await c.query(op.kind === "remove" ? removeMsg : removeBelow, [key.account, key.name, op.seq])
      }
    })
  }
  return { write, end: conn.end }
}

export interface SqlStateWriter {
  readonly write: (json: string) => Promise<void>
  readonly end: () => Promise<void>
}

/**
 * A consumer state commit as one statement, as the append-only log commit: the lease row locked and
 * checked, the state written only when it matched. A double ack waits for this commit, and on a
 * loaded machine every round trip waits for both processes to be scheduled: BEGIN, lease check,
 * upsert and COMMIT as four round trips made its latency four times that of a publish.
 */
const upsertState = `WITH lease AS (
    SELECT 1 FROM ejs_leases WHERE asset = $1 AND owner = $2 AND term = $3::bigint FOR UPDATE
  ), state AS (
    INSERT INTO ejs_consumer_states (account, stream, name, state)
    SELECT $4, $5, $6, $7::text FROM lease
    ON CONFLICT (account, stream, name) DO UPDATE SET state = EXCLUDED.state
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM lease) AS held`

/** The state writer of consumer `consumer` of stream `key`, fenced by the stream's lease. */
export const makeStateWriter = (url: string, key: LogKey, consumer: string, fence: Fence): SqlStateWriter => {
  const conn = fencedConnection(url, fence)
  return {
    write: (json) =>
      conn.single(upsertState, [
        fence.asset,
        fence.owner,
        fence.term.toString(),
        key.account,
        key.name,
        consumer,
        json
      ]),
    end: conn.end
  }
}

/** The committed state (JSON text) of a consumer of stream `key`, or undefined when it was never written. */
export const loadState = async (
  db: pg.Pool | pg.Client,
  key: LogKey,
  consumer: string
): Promise<string | undefined> => {
  const { rows } = await db.query(
    `SELECT state FROM ejs_consumer_states WHERE account = $1 AND stream = $2 AND name = $3`,
    [key.account, key.name, consumer]
  )
  return (rows[0] as { state: string } | undefined)?.state
}

/** The committed log of `key` (empty with `firstSeq` when it was never written). */
export const loadSnapshot = async (
  db: pg.Pool | pg.Client,
  key: LogKey,
  firstSeq: number
): Promise<LogSnapshot> => {
  const bounds = await db.query(`SELECT first_seq, last_seq, last_ts FROM ejs_logs WHERE account = $1 AND name = $2`, [
    key.account,
    key.name
  ])
  const b = bounds.rows[0] as { first_seq: string; last_seq: string; last_ts: string } | undefined
  if (b === undefined) return { firstSeq, lastSeq: firstSeq - 1, lastTs: 0n, msgs: [] }
  const { rows } = await db.query(
    `SELECT seq, subject, hdr, data, ts FROM ejs_msgs WHERE account = $1 AND name = $2 ORDER BY seq`,
    [key.account, key.name]
  )
  return {
    firstSeq: Number(b.first_seq),
    lastSeq: Number(b.last_seq),
    lastTs: BigInt(b.last_ts),
    msgs: rows.map((r: { seq: string; subject: Buffer; hdr: Buffer | null; data: Buffer; ts: string }) => ({
      seq: Number(r.seq),
      subject: r.subject.toString("latin1"),
      hdr: r.hdr === null ? undefined : new Uint8Array(r.hdr),
      data: new Uint8Array(r.data),
      ts: BigInt(r.ts)
    }))
  }
}
