/**
 * `/varz` in nats-server's shape (monitor.go `Varz`; 2.10's at that level): keys in struct order, `omitempty`
 * fields left out when empty, durations in nanoseconds, times as RFC 3339 with nanoseconds.
 */
import { effectiveTimeoutMs } from "../auth/AuthSettings.ts"
import {
  ADVERTISED_NATS_VERSION,
  AT_LEVEL_210,
  AT_LEVEL_211,
  AT_LEVEL_214,
  BROKER_NAME,
  BROKER_VERSION
} from "../config/BrokerConfig.ts"
import { mergedFeatureFlags } from "../config/FeatureFlags.ts"
import { durationNs, timeMs, uptime } from "./GoFormat.ts"
import { jsLimitOpts } from "./JsLimitOpts.ts"
import { jetStreamConfig, jetStreamStats } from "./Jsz.ts"
import { clusterVarz } from "./Routez.ts"
import type { JetStreamLimits, Sample, Sources } from "./Sources.ts"
import { websocketVarz } from "./WebsocketVarz.ts"

/** Our stand-in for Go's runtime version (`go`): product, version and JS runtime. */
export const runtimeLabel = (): string => {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } }
  const rt = g.Bun !== undefined
    ? `bun ${g.Bun.version}`
    : g.Deno !== undefined
    ? `deno ${g.Deno.version.deno}`
    : `node ${process.version}`
  return `${BROKER_NAME} ${BROKER_VERSION} (${rt})`
}

export const varz = (src: Sources, sample: Sample, limits: JetStreamLimits | undefined): Record<string, unknown> => {
  const { config, server, router } = src
  let inMsgs = 0
  let inBytes = 0
  let outMsgs = 0
  let outBytes = 0
  // Client traffic only, as nats-server counts it: what connections sent and received.
  for (const c of server.connections) {
    inMsgs += c.stats.inMsgs
    inBytes += c.stats.inBytes
    outMsgs += c.stats.outMsgs
    outBytes += c.stats.outBytes
  }
  const closed = server.closedStats()
  const js = src.jetstream
  const requests: Record<string, number> = {}
  for (const k of [...src.requests.keys()].sort()) requests[k] = src.requests.get(k)!
  return {
    server_id: server.serverId,
    server_name: server.serverName,
    version: ADVERTISED_NATS_VERSION,
    proto: 1,
    go: runtimeLabel(),
    host: config.host,
    port: server.port,
    ...(src.cluster === undefined || src.cluster.settings.noAdvertise
      ? {}
      : { connect_urls: src.cluster.clientUrls() }),
    ...(config.tls === undefined ? {} : { tls_required: true, ...(config.tls.verify ? { tls_verify: true } : {}) }),
    max_connections: config.maxConnections,
    ping_interval: durationNs(config.pingIntervalMs),
    ping_max: config.pingMax,
    http_host: config.httpHost ?? config.host,
    http_port: src.http.secure ? 0 : src.http.port,
    http_base_path: "",
    https_port: src.http.secure ? src.http.port : 0,
    auth_timeout: effectiveTimeoutMs(config.auth, config.tls?.timeoutMs) / 1000,
    max_control_line: config.maxControlLine,
    max_payload: config.maxPayload,
    max_pending: config.maxPending,
    cluster: clusterVarz(src.cluster),
    gateway: {},
    leaf: {},
    // nats-server shows the mqtt options here (we show the effective ack_wait and max_ack_pending).
    mqtt: config.mqtt === undefined || config.mqtt.port === 0 ? {} : {
      host: config.mqtt.host,
      port: config.mqtt.port,
      ...((config.mqtt.noAuthUser ?? "") === "" ? {} : { no_auth_user: config.mqtt.noAuthUser }),
      ...((config.mqtt.authTimeoutSeconds ?? 0) === 0 ? {} : { auth_timeout: config.mqtt.authTimeoutSeconds }),
      ...(config.mqtt.tls === undefined ? {} : { tls_timeout: config.mqtt.tls.timeoutMs / 1000 }),
      ack_wait: durationNs(config.mqtt.ackWaitMs),
      max_ack_pending: config.mqtt.maxAckPending
    },
    websocket: websocketVarz(server.websocket),
    jetstream: js === undefined || limits === undefined
      ? {}
      : {
        config: jetStreamConfig(js, limits, config.domain, config.sync),
        stats: jetStreamStats(js),
        ...(AT_LEVEL_211 ? { limits: jsLimitOpts(config.batchLimits) } : {})
      },
    tls_timeout: (config.tls?.timeoutMs ?? 2_000) / 1000,
    write_deadline: durationNs(config.writeDeadlineMs),
    start: timeMs(server.startedAt.getTime()),
    now: timeMs(sample.nowMs),
    uptime: uptime(sample.nowMs - server.startedAt.getTime()),
    mem: sample.mem,
    cores: sample.cores,
    gomaxprocs: sample.cores,
    cpu: sample.cpu,
    connections: server.connections.size,
    total_connections: server.totalConnections(),
    routes: src.cluster?.routes().length ?? 0,
    remotes: src.cluster?.routes().length ?? 0,
    leafnodes: 0,
    in_msgs: inMsgs + closed.inMsgs,
    out_msgs: outMsgs + closed.outMsgs,
    in_bytes: inBytes + closed.inBytes,
    out_bytes: outBytes + closed.outBytes,
    slow_consumers: server.slowConsumers(),
    subscriptions: (src.routers ?? [router]).reduce((n, r) => n + r.sublist.size, 0),
    http_req_stats: requests,
    config_load_time: timeMs(server.startedAt.getTime()),
    // 2.14: every flag the server knows with its effective value (so never empty, never omitted).
    ...(AT_LEVEL_214 ? { feature_flags: mergedFeatureFlags(config.featureFlags) } : {}),
    ...(src.systemAccount === undefined ? {} : { system_account: src.systemAccount }),
    // 2.10 splits slow consumers by connection kind (no omitempty); clients are our only kind.
    ...(AT_LEVEL_210 ?
      { slow_consumer_stats: { clients: server.slowConsumers(), routes: 0, gateways: 0, leafs: 0 } } :
      {})
  }
}
