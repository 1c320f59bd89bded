/**
 * The cluster store's tables (PostgreSQL). Created when missing; `ejs_schema` holds the version so
 * a later release can migrate. Version 2 added the replicated stream logs (ejs_logs, ejs_msgs), keyed
 * by the same (account, name) as ejs_streams.
 *
 * Every time the brokers compare is PostgreSQL's `now()`: broker clocks may drift apart, the
 * store's clock is the one all of them read.
 */
export const SCHEMA_VERSION = 2

/** One statement per entry: run in one transaction under an advisory lock, so racing starts agree. */
export const DDL: ReadonlyArray<string> = [
  `CREATE TABLE IF NOT EXISTS ejs_schema (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  // A node is live while its heartbeat is recent; `tags` are its server_tags (placement); `usage`
  // is what its streams hold per account (account INFO sums it over the live nodes).
  `CREATE TABLE IF NOT EXISTS ejs_nodes (
    server_name TEXT PRIMARY KEY,
    server_id TEXT NOT NULL,
    cluster TEXT NOT NULL,
    client_url TEXT NOT NULL,
    tags JSONB NOT NULL DEFAULT '[]',
    usage JSONB NOT NULL DEFAULT '{}',
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`,
  // A lease on one asset ('meta', or a stream): `term` grows by one on every acquisition and is the
  // fencing token every write on behalf of the asset checks in its transaction.
  `CREATE TABLE IF NOT EXISTS ejs_leases (
    asset TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    term BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
  )`,
  // A stream's assignment: `owner` runs it; `status` is 'pending' until the owner confirms the
  // create ('ready') with `result` (its create response), or
  // refuses it ('failed', `result` holds the error). `replicas` and `peers` are for R3.
  `CREATE TABLE IF NOT EXISTS ejs_streams (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    config JSONB NOT NULL,
    owner TEXT NOT NULL,
    replicas INTEGER NOT NULL DEFAULT 1,
    peers JSONB NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    result JSONB,
    created TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account, name)
  )`,
  `CREATE TABLE IF NOT EXISTS ejs_consumers (
    account TEXT NOT NULL,
    stream TEXT NOT NULL,
    name TEXT NOT NULL,
    config JSONB NOT NULL,
    created TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account, stream, name),
    FOREIGN KEY (account, stream) REFERENCES ejs_streams (account, name) ON DELETE CASCADE
  )`,
  // Version 2: a replicated stream's log. `first_seq`/`last_seq`/`last_ts` are its bounds after the last commit
  // (a purge past the end or deletes at the tail leave no row to tell them); `ejs_msgs` holds the live
  // messages (a removed message is a deleted row). Subjects are bytes: any subject round-trips exactly.
  `CREATE TABLE IF NOT EXISTS ejs_logs (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    last_ts BIGINT NOT NULL,
    PRIMARY KEY (account, name),
    FOREIGN KEY (account, name) REFERENCES ejs_streams (account, name) ON DELETE CASCADE
  )`,
  `CREATE TABLE IF NOT EXISTS ejs_msgs (
    account TEXT NOT NULL,
    name TEXT NOT NULL,
    seq BIGINT NOT NULL,
    subject BYTEA NOT NULL,
    hdr BYTEA,
    data BYTEA NOT NULL,
    ts BIGINT NOT NULL,
    PRIMARY KEY (account, name, seq),
    FOREIGN KEY (account, name) REFERENCES ejs_logs (account, name) ON DELETE CASCADE
  )`,
  // Version 2: a replicated stream's consumer journals, each as its folded state (JSON text), written
  // by the stream's owner under the stream's lease.
  `CREATE TABLE IF NOT EXISTS ejs_consumer_states (
    account TEXT NOT NULL,
    stream TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (account, stream, name),
    FOREIGN KEY (account, stream) REFERENCES ejs_streams (account, name) ON DELETE CASCADE
  )`
]

/** The NOTIFY channel: payloads are JSON `ClusterEvent`s (a hint to reconcile; the tables are the truth). */
export const CHANNEL = "ejs_events"

/** Serializes schema creation across brokers starting together (pg_advisory_xact_lock key). */
export const SCHEMA_LOCK = 0x656a73 // "ejs"

/** The lease asset of a stream (account names may hold any character: encoded). */
export const streamAsset = (account: string, name: string): string =>
  `stream:${encodeURIComponent(account)}:${encodeURIComponent(name)}`

export const META_ASSET = "meta"
