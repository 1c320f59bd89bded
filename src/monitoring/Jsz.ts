/**
 * `/jsz` and the JetStream parts of `/varz`, in nats-server 2.9.10's shapes (monitor.go `JSInfo`,
 * `AccountDetail`, `StreamDetail`; jetstream.go `JetStreamConfig`, `JetStreamStats`).
 *
 * We have one account, nats-server's global account `$G`, so account filters and paging are trivial.
 */
import { consumerInfo } from "../jetstream/api/ConsumerApi.ts"
import { formatTime } from "../jetstream/codec/Json.ts"
import type { JetStreamShape } from "../jetstream/JetStream.ts"
import { encodeStreamConfig } from "../jetstream/model/StreamConfig.ts"
import { streamState } from "../jetstream/stream/StreamInfo.ts"
import { queryBool, QueryError, queryInt, timeMs } from "./GoFormat.ts"
import type { JetStreamLimits } from "./Sources.ts"

/** uint64(-1): what nats-server prints for an account's unlimited reserved memory/storage. */
const U64_MAX = 2n ** 64n - 1n

export interface JetStreamUsage {
  readonly memory: number
  readonly storage: number
}

export const usage = (js: JetStreamShape): JetStreamUsage => {
  let memory = 0
  let storage = 0
  for (const s of js.registry.all()) {
    const bytes = s.store.state().bytes
    if (s.config.storage === "memory") memory += bytes
    else storage += bytes
  }
  return { memory, storage }
}

/** `JetStreamConfig`: limits, store dir, domain (omitempty). */
export const jetStreamConfig = (js: JetStreamShape, limits: JetStreamLimits, domain: string | undefined) => ({
  max_memory: limits.maxMemory,
  max_storage: limits.maxStorage,
  store_dir: js.storeDir === "" ? undefined : js.storeDir,
  domain: domain === undefined || domain === "" ? undefined : domain
})

/** Server-wide `JetStreamStats` (one JetStream-enabled account, nothing reserved). */
export const jetStreamStats = (js: JetStreamShape, used: JetStreamUsage = usage(js)) => ({
  memory: used.memory,
  storage: used.storage,
  reserved_memory: 0,
  reserved_storage: 0,
  accounts: 1,
  ha_assets: 0,
  api: { total: js.stats.total, errors: js.stats.errors }
})

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
      api: { total: 0, errors: 0 },
      streams: 0,
      consumers: 0,
      messages: 0,
      bytes: 0
    }
  }
  const used = usage(js)
  const streams = js.registry.all()
  let messages = 0
  let bytes = 0
  let consumers = 0
  for (const s of streams) {
    const st = s.store.state()
    messages += st.msgs
    bytes += st.bytes
    consumers += s.consumers.size
  }
  const out: Record<string, unknown> = {
    server_id: input.serverId,
    now: timeMs(input.nowMs),
    config: jetStreamConfig(js, input.limits, input.domain),
    ...jetStreamStats(js, used),
    streams: streams.length,
    consumers,
    messages,
    bytes
  }
  // Only the global account exists; an `acc` filter naming another one selects nothing.
  const listAccounts = opts.account === "$G" || (opts.accounts && opts.offset === 0 && opts.limit > 0)
  if (listAccounts) out.account_details = [accountDetail(input, js, used, opts)]
  return out
}

const accountDetail = (input: JszInput, js: JetStreamShape, used: JetStreamUsage, opts: JszOptions) => {
  const detail: Record<string, unknown> = {
    name: "$G",
    id: "$G",
    memory: used.memory,
    storage: used.storage,
    reserved_memory: U64_MAX,
    reserved_storage: U64_MAX,
    accounts: 0,
    ha_assets: 0,
    api: { total: js.stats.total, errors: js.stats.errors }
  }
  if (!opts.streams) return detail
  const streams = js.registry.all().map((s) => {
    const consumers = opts.consumers
      ? js.registry.consumersOf(s.name).map((c) => {
        const info = consumerInfo(c)
        if (!opts.config) delete info.config
        return info
      })
      : []
    return {
      name: s.name,
      created: formatTime(s.created),
      // A single server leads every stream it has (nats-server `clusterInfo` without a raft group).
      cluster: { leader: input.serverName },
      config: opts.config ? encodeStreamConfig(s.config) : undefined,
      state: streamState(s),
      consumer_detail: consumers.length > 0 ? consumers : undefined
    }
  })
  if (streams.length > 0) detail.stream_detail = streams
  return detail
}
