/**
 * `/jsz` and the JetStream parts of `/varz`, in nats-server's shapes (monitor.go `JSInfo`,
 * `AccountDetail`, `StreamDetail`; jetstream.go `JetStreamConfig`, `JetStreamStats`): 2.9.10's, plus
 * what 2.10 adds where `AT_LEVEL_210` says so.
 *
 * Server-wide figures add up every JetStream-enabled account; `account_details` lists them by
 * name (nats-server sorts only when paging; its map order is random otherwise).
 */
import { AT_LEVEL_210, AT_LEVEL_211, AT_LEVEL_212, type BrokerConfig } from "../config/BrokerConfig.ts"
import { type AccountJetStream, apiSection } from "../jetstream/AccountJetStream.ts"
import { consumerInfo } from "../jetstream/api/ConsumerApi.ts"
import { formatTime } from "../jetstream/codec/Json.ts"
import type { JetStreamShape } from "../jetstream/JetStream.ts"
import { encodeStreamConfig } from "../jetstream/model/StreamConfigEncode.ts"
import { streamState } from "../jetstream/stream/StreamInfo.ts"
import { queryBool, QueryError, queryInt, timeMs } from "./GoFormat.ts"
import { jsLimitOpts } from "./JsLimitOpts.ts"
import type { JetStreamLimits } from "./Sources.ts"

/** uint64(-1): what nats-server prints for an account's unlimited reserved memory/storage. */
const U64_MAX = 2n ** 64n - 1n

export interface JetStreamUsage {
  readonly memory: number
  readonly storage: number
}

/** The accounts that have JetStream, by name. */
export const enabledAccounts = (js: JetStreamShape): Array<AccountJetStream> =>
  js.accounts.filter((a) => a.enabled).sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0))

/** Replicated streams this node serves and their consumers (nats-server: its Raft groups). */
const haAssets = (a: AccountJetStream): number => {
  let n = 0
  for (const s of a.registry.all()) if (s.config.num_replicas > 1) n += 1 + a.registry.consumersOf(s.name).length
  return n
}

/** `cluster` of a stream detail, with the replicas of a replicated stream. */
const withReplicas = (c: { name: string; leader: string }, replicas: ReadonlyArray<unknown> | undefined) =>
  replicas === undefined ? c : { ...c, replicas }

const accountUsage = (a: AccountJetStream): JetStreamUsage => {
  let memory = 0
  let storage = 0
  for (const s of a.registry.all()) {
    const bytes = s.store.state().bytes
    if (s.config.storage === "memory") memory += bytes
    else storage += bytes
  }
  return { memory, storage }
}

export const usage = (js: JetStreamShape): JetStreamUsage => {
  let memory = 0
  let storage = 0
  for (const a of enabledAccounts(js)) {
    const u = accountUsage(a)
    memory += u.memory
    storage += u.storage
  }
  return { memory, storage }
}

/** nats-server's `defaultSyncInterval` (filestore.go), what 2.10 reports when no interval is set. */
const DEFAULT_SYNC_INTERVAL_NS = 120_000_000_000

/**
 * `JetStreamConfig`: limits, store dir, domain (omitempty). 2.10 adds `sync_interval` (the options
 * always carry one: the 2-minute default, also with `sync: always`) and `sync_always`.
 */
export const jetStreamConfig = (
  js: JetStreamShape,
  limits: JetStreamLimits,
  domain: string | undefined,
  sync: BrokerConfig["sync"]
) => ({
  max_memory: limits.maxMemory,
  max_storage: limits.maxStorage,
  store_dir: js.storeDir === "" ? undefined : js.storeDir,
  ...(AT_LEVEL_210 ?
    {
      sync_interval: typeof sync === "object" ? sync.intervalMs * 1_000_000 : DEFAULT_SYNC_INTERVAL_NS,
      ...(sync === "always" ? { sync_always: true } : {})
    } :
    {}),
  domain: domain === undefined || domain === "" ? undefined : domain,
  // 2.12: strict request decoding is the default (and ours at every level), reported as `strict`.
  ...(AT_LEVEL_212 ? { strict: true } : {})
})

/** Server-wide `JetStreamStats` (every JetStream-enabled account; nothing reserved). */
export const jetStreamStats = (js: JetStreamShape, used: JetStreamUsage = usage(js)) => {
  const accounts = enabledAccounts(js)
  let total = 0
  let errors = 0
  let ha = 0
  for (const a of accounts) {
    total += a.stats.total
    errors += a.stats.errors
    ha += haAssets(a)
  }
  return {
    memory: used.memory,
    storage: used.storage,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: accounts.length,
    ha_assets: ha,
    api: apiSection({ total, errors })
  }
}

export interface JszOptions {
  readonly accounts: boolean
  readonly streams: boolean
  readonly consumers: boolean
  readonly config: boolean
  readonly offset: number
  readonly limit: number
  readonly account: string
}

/** nats-server `HandleJsz` query decoding (`consumers` implies `streams`, which implies `accounts`). */
export const parseJszQuery = (q: URLSearchParams): JszOptions | QueryError => {
  const accounts = queryBool(q, "accounts")
  if (accounts instanceof QueryError) return accounts
  const streams = queryBool(q, "streams")
  if (streams instanceof QueryError) return streams
  const consumers = queryBool(q, "consumers")
  if (consumers instanceof QueryError) return consumers
  const config = queryBool(q, "config")
  if (config instanceof QueryError) return config
  const offset = queryInt(q, "offset")
  if (offset instanceof QueryError) return offset
  const limit = queryInt(q, "limit")
  if (limit instanceof QueryError) return limit
  const leader = queryBool(q, "leader-only")
  if (leader instanceof QueryError) return leader
  const withStreams = streams || consumers
  return {
    accounts: accounts || withStreams,
    streams: withStreams,
    consumers,
    config,
    offset,
    limit: limit === 0 ? 1024 : limit,
    account: q.get("acc") ?? ""
  }
}

export interface JszInput {
  readonly serverId: string
  readonly serverName: string
  readonly js: JetStreamShape | undefined
  readonly limits: JetStreamLimits
  readonly domain: string | undefined
  readonly sync: BrokerConfig["sync"]
  readonly batchLimits: BrokerConfig["batchLimits"]
  readonly nowMs: number
}

export const jsz = (input: JszInput, opts: JszOptions): Record<string, unknown> => {
  const { js } = input
  if (js === undefined) {
    // JetStream off: Go's zero values for every non-omitempty field, plus `disabled`.
    return {
      server_id: input.serverId,
      now: timeMs(input.nowMs),
      disabled: true,
      config: { max_memory: 0, max_storage: 0 },
      memory: 0,
      storage: 0,
      reserved_memory: 0,
      reserved_storage: 0,
      accounts: 0,
      ha_assets: 0,
      api: apiSection({ total: 0, errors: 0 }),
      streams: 0,
      consumers: 0,
      messages: 0,
      bytes: 0,
      ...(AT_LEVEL_210 ? { total: 0 } : {})
    }
  }
  const used = usage(js)
  const accounts = enabledAccounts(js)
  let streams = 0
  let messages = 0
  let bytes = 0
  let consumers = 0
  for (const a of accounts) {
    for (const s of a.registry.all()) {
      const st = s.store.state()
      streams++
      messages += st.msgs
      bytes += st.bytes
      consumers += s.consumers.size
    }
  }
  const out: Record<string, unknown> = {
    server_id: input.serverId,
    now: timeMs(input.nowMs),
    config: jetStreamConfig(js, input.limits, input.domain, input.sync),
    ...(AT_LEVEL_211 ? { limits: jsLimitOpts(input.batchLimits) } : {}),
    ...jetStreamStats(js, used),
    streams,
    consumers,
    messages,
    bytes,
    // Cluster mode: the meta leader as the cluster store names it (nats-server's meta group).
    ...(js.cluster === undefined ? {} : { meta_cluster: js.cluster.metaCluster() })
  }
  // nats-server Jsz: an `acc` naming a JetStream account selects it alone; else `accounts` pages them.
  const named = accounts.find((a) => a.account === opts.account)
  const listed = named !== undefined
    ? [named]
    : opts.accounts
    ? accounts.slice(Math.min(opts.offset, accounts.length)).slice(0, opts.limit > 0 ? opts.limit : undefined)
    : []
  if (listed.length > 0) out.account_details = listed.map((a) => accountDetail(input, a, opts))
  // 2.10 JSInfo `total`: the JetStream accounts, however many a page lists.
  if (AT_LEVEL_210) out.total = accounts.length
  return out
}

/**
 * One account's detail alone (nats-server JszAccount, `$SYS.REQ.ACCOUNT.<acc>.JSZ`), or the text of
 * its refusal.
 */
export const jszAccount = (input: JszInput, opts: JszOptions, exists: boolean): Record<string, unknown> | string => {
  if (input.js === undefined) return "jetstream not enabled"
  if (!exists) return `account ${JSON.stringify(opts.account)} not found`
  const js = enabledAccounts(input.js).find((a) => a.account === opts.account)
  if (js === undefined) return `account ${JSON.stringify(opts.account)} not jetstream enabled`
  return accountDetail(input, js, opts)
}

/** uint64 of an account limit, as nats-server prints it (-1 = unlimited = 2^64-1). */
const u64 = (n: number | undefined): bigint => (n === undefined || n < 0 ? U64_MAX : BigInt(n))

const accountDetail = (input: JszInput, js: AccountJetStream, opts: JszOptions) => {
  const used = accountUsage(js)
  const detail: Record<string, unknown> = {
    name: js.account,
    id: js.account,
    memory: used.memory,
    storage: used.storage,
    reserved_memory: u64(js.limits?.maxMemory),
    reserved_storage: u64(js.limits?.maxStore),
    accounts: 0,
    ha_assets: haAssets(js),
    api: apiSection(js.stats)
  }
  if (!opts.streams) return detail
  const streams = js.registry.all().map((s) => {
    const consumers = opts.consumers
      ? js.registry.consumersOf(s.name).map((c) => {
        // 2.11 monitor.go reads `consumer.info()`: the stored config, without the dynamic metadata.
        const info = consumerInfo(c, false)
        if (!opts.config) delete info.config
        // 2.10 ConsumerInfo ends with `ts`, when it was gathered (consumer.go `info`).
        if (AT_LEVEL_210) info.ts = timeMs(input.nowMs)
        return info
      })
      : []
    return {
      name: s.name,
      created: formatTime(s.created),
      // A single server leads every stream it has (nats-server `clusterInfo` without a raft group).
      cluster: input.js?.cluster === undefined
        ? { leader: input.serverName }
        : withReplicas(
          { name: input.js.cluster.clusterName, leader: input.serverName },
          input.js.cluster.replicas(js.account, s.name)
        ),
      // The stored config (2.11 monitor.go: `stream.config()`, so `_nats.req.level` but no dynamic keys),
      // with 2.11's `allow_msg_ttl` that has no omitempty.
      config: opts.config ? encodeStreamConfig(s.config, AT_LEVEL_210, AT_LEVEL_211) : undefined,
      state: streamState(s),
      consumer_detail: consumers.length > 0 ? consumers : undefined
    }
  })
  if (streams.length > 0) detail.stream_detail = streams
  return detail
}
