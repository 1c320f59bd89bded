/**
 * Who answers a `$JS.API` request in cluster mode, and the answers only the cluster can give:
 *
 * - account-level requests (INFO, STREAM.CREATE, STREAM.NAMES, STREAM.LIST): the meta leader;
 * - stream-scoped requests (STREAM.INFO/UPDATE/DELETE/PURGE/MSG.*, CONSUMER.*): the node whose
 *   registry runs the stream (its owner). The meta leader answers for a stream no node has (the
 *   local handler's "stream not found") and for one whose owner is down (10118 stream is offline);
 *   everyone else stays silent.
 *
 * A create is decided by the meta leader (decode, name check, placement), written as a pending
 * assignment under its meta term, carried out by the owner with the ordinary handler, and answered
 * once the owner confirmed; without a confirmation in CREATE_TIMEOUT_MS the assignment is removed
 * and nothing remains. Mutations of an owned stream commit their record in the same transaction
 * that checks the owner's term.
 */
import { Effect } from "effect"
import {
  type ClusterStoreError,
  Sql,
  type StaleTerm,
  type StreamRow,
  streamRow,
  type Tx
} from "../../cluster/store/ClusterStore.ts"
import { overlaps } from "../../subject/Subject.ts"
import type { ApiBody } from "../api/StreamApi.ts"
import { decodeUtf8 } from "../codec/Json.ts"
import { ApiError, ApiErrors } from "../model/ApiError.ts"
import * as Requests from "../model/Requests.ts"
import { decodeStreamCreate, type StreamConfig, subjectsOverlap } from "../model/StreamConfig.ts"
import { sameConfig } from "../model/StreamConfigEncode.ts"
import type { AccountGate, Decision, LocalAccount } from "./ClusterGate.ts"
import {
  type ClusterView,
  isMetaLeader,
  key,
  LEASE_MS,
  metaFence,
  nodeAlive,
  speaksForLeaderless,
  storedError,
  streamFence
} from "./ClusterView.ts"
import { applyMove, nextOwner } from "./Failover.ts"
import { placeGroup } from "./Placement.ts"
import { replicasOf } from "./ReplicaInfo.ts"
import { letGo } from "./ReplicatedOwner.ts"

export const CREATE_TIMEOUT_MS = 10_000
/** How long the meta leader waits for an owner's STREAM.INFO answer (list, idempotent create). */
const OWNER_TIMEOUT_MS = 2_000

type Classified =
  | { readonly scope: "account"; readonly op: "INFO" | "CREATE" | "NAMES" | "LIST"; readonly stream: string }
  | { readonly scope: "stream"; readonly op: string; readonly stream: string }

const API = "$JS.API."

const classify = (subject: string): Classified | undefined => {
  const rest = subject.slice(API.length)
  if (rest === "INFO") return { scope: "account", op: "INFO", stream: "" }
  if (rest === "STREAM.NAMES") return { scope: "account", op: "NAMES", stream: "" }
  if (rest === "STREAM.LIST") return { scope: "account", op: "LIST", stream: "" }
  const t = rest.split(".")
  if (t[0] === "STREAM" && t.length >= 3) {
    if (t[1] === "CREATE") return { scope: "account", op: "CREATE", stream: t[2]! }
    // Every other stream operation ends with the stream's name (STREAM.MSG.GET.<name> too).
    return { scope: "stream", op: t.slice(1, -1).join("."), stream: t[t.length - 1]! }
  }
  if (t[0] === "CONSUMER" && t.length >= 3) {
    if (t[1] === "DURABLE" && t.length >= 4) return { scope: "stream", op: "DURABLE.CREATE", stream: t[3]! }
    if (t[1] === "LEADER" && t.length >= 4) return { scope: "stream", op: "CONSUMER.LEADER.STEPDOWN", stream: t[3]! }
    if (t[1] === "MSG" && t.length >= 4) return { scope: "stream", op: "MSG.NEXT", stream: t[3]! }
    return { scope: "stream", op: `CONSUMER.${t[1]}`, stream: t[2]! }
  }
  return undefined
}

const CLUSTER_INFO_TYPES = [
  "stream_info",
  "stream_create",
  "stream_update",
  "consumer_info",
  "consumer_create",
  "consumer_reset"
]

/** A reply body from another node's handler, without the envelope members of its own response. */
const infoBody = (json: string): ApiBody | ApiError => {
  const parsed = JSON.parse(json) as Record<string, unknown>
  const err = storedError(parsed)
  if (err !== undefined) return err
  const { type: _type, total: _total, offset: _offset, limit: _limit, ...info } = parsed
  return info
}

export const makeGate = (view: ClusterView, local: LocalAccount): AccountGate => {
  const { store, options } = view
  const account = local.account
  const cluster = () => ({ name: options.clusterName, leader: options.serverName })

  const rowsOfAccount = (): Array<StreamRow> =>
    [...view.streams.values()].filter((r) => r.account === account && r.status === "ready").sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0
    )
  /** An assignment's config as the handlers see it (the request it was created or updated with). */
  const configOf = (row: StreamRow): StreamConfig | undefined => {
    const d = decodeStreamCreate(JSON.stringify(row.config), row.name, { clustered: true })
    return d.ok ? d.config : undefined
  }
  const notAvailable = () => ApiErrors.clusterNotAvail()

  const ownerInfo = (row: StreamRow): Effect.Effect<ApiBody, ApiError> =>
    Effect.flatMap(
      Effect.promise(() => local.request(`${API}STREAM.INFO.${row.name}`, "", OWNER_TIMEOUT_MS)),
      (json) => {
        if (json === undefined) return Effect.fail(ApiErrors.streamOffline())
        const body = infoBody(json)
        return body instanceof ApiError ? Effect.fail(body) : Effect.succeed(body)
      }
    )

  const readRow = (name: string) =>
    Effect.map(store.exec(Sql.streamByName, [account, name]), (rows) => {
      const r = rows[0]
      return r === undefined ? undefined : streamRow(r)
    })

  /** Waits for the owner's confirmation or refusal of a pending create; removes it on timeout. */
  const outcome = (name: string): Effect.Effect<StreamRow, ApiError | ClusterStoreError> =>
    Effect.gen(function*() {
      const deadline = Date.now() + CREATE_TIMEOUT_MS
      for (;;) {
        const row = yield* readRow(name)
        if (row === undefined) return yield* ApiErrors.streamCreate("stream create was abandoned")
        if (row.status === "ready") {
          view.streams.set(key(account, name), row)
          return row
        }
        if (row.status === "failed") {
          yield* store.exec(Sql.deleteFailed, [account, name])
          return yield* (storedError(row.result) ?? ApiErrors.streamCreate("stream create failed"))
        }
        if (Date.now() > deadline) {
          const removed = yield* store.exec(Sql.deletePending, [account, name])
          if (removed.length > 0) {
            return yield* ApiErrors.streamCreate(`timed out waiting for server ${row.owner} to create the stream`)
          }
          continue
        }
        yield* Effect.sleep(100)
      }
    })

  const createRequest = (name: string, body: Uint8Array): Effect.Effect<ApiBody, ApiError> =>
    Effect.gen(function*() {
      const existingConfig = (n: string) => {
        const r = view.streams.get(key(account, n))
        return r === undefined ? undefined : configOf(r)
      }
      const decoded = decodeStreamCreate(body, name, { ...local.ctx.limits, stream: existingConfig, clustered: true })
      if (!decoded.ok) return yield* decoded.error
      const config = decoded.config
      let row = view.streams.get(key(account, name)) ?? (yield* readRow(name))
      // A refusal nobody collected (its meta leader died waiting) does not hold the name.
      if (row?.status === "failed") {
        yield* store.exec(Sql.deleteFailed, [account, name])
        row = undefined
      }
      if (row === undefined) {
        // The account's stream count is the cluster's (the owner checks its other limits on its own store).
        const limit = local.limits.maxStreams
        if (limit > 0 && rowsOfAccount().length >= limit) return yield* ApiErrors.maximumStreamsLimit()
        const others = rowsOfAccount().filter((r) => r.name !== name)
        if (others.some((r) => subjectsOverlap(configOf(r)?.subjects ?? [], config.subjects))) {
          return yield* ApiErrors.streamSubjectOverlap()
        }
        // Placement reads the nodes afresh: a node that died a moment ago must not be picked from a
        // view up to a tick old (its create would wait for a confirmation that never comes).
        view.nodes = yield* store.nodes(LEASE_MS)
        const counts = new Map<string, number>()
        for (const r of view.streams.values()) counts.set(r.owner, (counts.get(r.owner) ?? 0) + 1)
        const replicas = config.num_replicas
        const placed = placeGroup(
          options.clusterName,
          { cluster: config.placement?.cluster, tags: config.placement?.tags ?? [] },
          view.nodes.map((n) => ({ ...n, streams: counts.get(n.serverName) ?? 0 })),
          replicas,
          replicas > 1 ? options.uniqueTag : undefined
        )
        if (!placed.ok) return yield* ApiErrors.clusterNoPeers(placed.error)
        const owner = placed.peers[0]!
        const fence = metaFence(view)
        if (fence === undefined) return yield* notAvailable()
        const peers = JSON.stringify(replicas > 1 ? placed.peers : [])
        const inserted = yield* store.fenced(
          fence,
          (tx) => tx.query(Sql.insertStream, [account, name, JSON.parse(decodeUtf8(body)), owner, replicas, peers])
        )
        if (inserted.length > 0) {
          yield* Effect.ignore(store.notify({ kind: "assigned", account, stream: name, owner }))
          const done = yield* outcome(name)
          return { ...(done.result as ApiBody), cluster: { name: options.clusterName, leader: done.owner } }
        }
        row = yield* readRow(name)
        if (row === undefined) return yield* ApiErrors.streamCreate("stream create raced with a delete")
      }
      // The name is taken (or being taken): the same config is an idempotent create, another is refused.
      if (row.status !== "ready") row = yield* outcome(name)
      const current = configOf(row)
      if (current === undefined || !sameConfig(current, config)) return yield* ApiErrors.streamNameExist()
      if (!nodeAlive(view, row.owner)) return yield* ApiErrors.streamOffline()
      const info = yield* ownerInfo(row)
      const { mirror: _m, sources: _s, ...created } = info
      return { ...created, did_create: true }
    }).pipe(Effect.catchTag(["ClusterStoreError", "StaleTerm"], () => Effect.fail(notAvailable())))

  const listRequest = (body: Uint8Array, names: boolean): Effect.Effect<ApiBody, ApiError> =>
    Effect.gen(function*() {
      const req = Requests.streamNamesRequest(body)
      if (req instanceof ApiError) return yield* req
      let rows = rowsOfAccount()
      if (req.subject !== "") {
        rows = rows.filter((r) => (configOf(r)?.subjects ?? []).some((s) => overlaps(s, req.subject)))
      }
      const limit = names ? 1024 : 256
      const offset = Math.min(Number(req.offset), rows.length)
      const page = rows.slice(offset, offset + limit)
      if (names) {
        return { total: rows.length, offset, limit, streams: page.length === 0 ? null : page.map((r) => r.name) }
      }
      const missing: Array<string> = []
      const infos: Array<ApiBody> = []
      const answers = yield* Effect.forEach(page, (r) => Effect.result(ownerInfo(r)), { concurrency: 8 })
      answers.forEach((a, i) => (a._tag === "Success" ? infos.push(a.success) : missing.push(page[i]!.name)))
      return { total: rows.length, offset, limit, streams: infos, ...(missing.length > 0 ? { missing } : {}) }
    })

  const accountInfo = (body: Uint8Array): Effect.Effect<ApiBody, ApiError> =>
    Effect.suspend(() => {
      const notEmpty = Requests.emptyRequest(body)
      if (notEmpty !== undefined) return Effect.fail(notEmpty)
      let memory = 0
      let storage = 0
      let consumers = 0
      for (const n of view.nodes) {
        const u = n.alive ? n.usage[account] : undefined
        if (u === undefined) continue
        memory += u.memory
        storage += u.storage
        consumers += u.consumers
      }
      return Effect.succeed({ ...local.accountInfo(), memory, storage, streams: rowsOfAccount().length, consumers })
    })

  /** The peer group after an update to `replicas`: this node first, the group's other peers, then live nodes. */
  const regroup = (row: StreamRow | undefined, replicas: number): Array<string> => {
    const keep = [options.serverName, ...(row?.peers ?? []).filter((p) => p !== options.serverName)].slice(0, replicas)
    if (keep.length >= replicas || row === undefined) return keep
    const counts = new Map<string, number>()
    for (const r of view.streams.values()) counts.set(r.owner, (counts.get(r.owner) ?? 0) + 1)
    const config = configOf(row)
    const g = placeGroup(
      options.clusterName,
      { cluster: config?.placement?.cluster, tags: config?.placement?.tags ?? [] },
      view.nodes.map((n) => ({ ...n, streams: counts.get(n.serverName) ?? 0 })),
      replicas,
      options.uniqueTag,
      keep
    )
    // Too few live nodes: the group stays smaller until the stream moves (nats-server keeps it under-replicated too).
    return g.ok ? [...g.peers] : keep
  }

  /**
   * `STREAM.LEADER.STEPDOWN` (and a consumer's: its leader is its stream's here) at the owner: the
   * stream moves to the next live peer, its lease handed over in the same transaction. An R1
   * stream has nobody to move to and answers success, as nats-server does without a Raft group.
   */
  const stepdown = (stream: string, consumer: string | undefined, body: Uint8Array): Effect.Effect<ApiBody, ApiError> =>
    Effect.gen(function*() {
      if (Requests.emptyRequest(body) !== undefined) return yield* ApiErrors.badRequest()
      if (consumer !== undefined && local.registry.getConsumer(stream, consumer) === undefined) {
        return yield* ApiErrors.consumerNotFound()
      }
      const row = view.streams.get(key(account, stream))
      if (row === undefined || row.replicas <= 1) return { success: true }
      const fence = streamFence(view, account, stream)
      if (fence === undefined) return yield* notAvailable()
      const move = nextOwner(view, { ...row, owner: options.serverName })
      if (move === undefined) return yield* ApiErrors.clusterNoPeers("no replacement peer connected")
      const moved = yield* applyMove(view, fence, move, true)
      if (!moved) return yield* notAvailable()
      yield* letGo(view, local, stream, `stepped down, now served by ${move.owner}`)
      return { success: true }
    }).pipe(Effect.catchTag(["ClusterStoreError", "StaleTerm"], () => Effect.fail(notAvailable())))

  /**
   * Runs an owner's mutation and its record under the stream's term. An R1 stream's handler runs
   * inside the transaction (its changes are local: the record commits with them or not at all). A
   * replicated stream's handler runs first and its record after: the handler waits for the stream
   * actor, whose commits lock the same lease row, so holding it meanwhile would deadlock; a record
   * that fails then answers with an error while this node loses the stream, and its next owner
   * loads what the store holds, without the change.
   */
  const fenced =
    (op: string, stream: string, consumer: string | undefined, request: Uint8Array) =>
    (handler: Effect.Effect<ApiBody, ApiError>): Effect.Effect<ApiBody, ApiError> => {
      const fence = streamFence(view, account, stream)
      if (fence === undefined) return Effect.fail(notAvailable())
      const k = key(account, stream)
      const record = (tx: Tx, body: ApiBody) =>
        Effect.gen(function*() {
          if (op === "UPDATE") {
            const config = JSON.parse(decodeUtf8(request))
            const row = view.streams.get(k)
            const replicas = local.registry.get(stream)?.config.num_replicas ?? row?.replicas ?? 1
            // A new replica count keeps the group's first peers and fills it from the live nodes.
            const peers = replicas <= 1 ? [] : regroup(row, replicas)
            yield* tx.query(Sql.updateStreamConfig, [account, stream, config, replicas, JSON.stringify(peers)])
            if (row !== undefined) view.streams.set(k, { ...row, config, replicas, peers })
          } else if (op === "DELETE") {
            yield* tx.query(Sql.deleteStream, [account, stream])
            yield* tx.query(Sql.deleteLease, [fence.asset])
            view.streams.delete(k)
            view.terms.delete(k)
          } else if (op === "CONSUMER.DELETE") {
            yield* tx.query(Sql.deleteConsumer, [account, stream, consumer])
            yield* tx.query(Sql.deleteConsumerState, [account, stream, consumer])
          } else if (op === "CONSUMER.PAUSE") {
            // The deadline is config (2.11): a durable's record carries it to the next owner.
            const paused = local.registry.getConsumer(stream, consumer!)
            if (paused !== undefined && (paused.config.durable_name ?? "") !== "") {
              const doc = { name: paused.name, config: paused.config, created: String(paused.created) }
              yield* tx.query(Sql.upsertConsumer, [account, stream, paused.name, JSON.stringify(doc)])
            }
          } else {
            // Durable consumers are recorded as the metadata documents a file store keeps (a replicated
            // stream's next owner restores them from here); ephemeral ones live and die with their owner.
            const actor = typeof body.name === "string" ? local.registry.getConsumer(stream, body.name) : undefined
            if (actor !== undefined && actor.config.durable_name !== undefined) {
              const doc = { name: actor.name, config: actor.config, created: String(actor.created) }
              yield* tx.query(Sql.upsertConsumer, [account, stream, actor.name, JSON.stringify(doc)])
            }
          }
        })
      const replicated = (view.streams.get(k)?.replicas ?? 1) > 1
      const run: Effect.Effect<ApiBody, ApiError | ClusterStoreError | StaleTerm> = replicated
        ? Effect.flatMap(handler, (body) => Effect.as(store.fenced(fence, (tx) => record(tx, body)), body))
        : store.fenced(fence, (tx) => Effect.flatMap(handler, (body) => Effect.as(record(tx, body), body)))
      return run.pipe(
        Effect.tap(() => Effect.ignore(store.notify({ kind: "changed", account, stream }))),
        Effect.catchTag(["ClusterStoreError", "StaleTerm"], () => Effect.fail(notAvailable()))
      )
    }

  const decide = (subject: string, body: Uint8Array): Decision => {
    const c = classify(subject)
    if (c === undefined) return { _tag: "Local" }
    const leader = isMetaLeader(view)
    if (c.scope === "account") {
      if (!leader) {
        return speaksForLeaderless(view) ? { _tag: "Cluster", run: Effect.fail(notAvailable()) } : { _tag: "Silent" }
      }
      switch (c.op) {
        case "INFO":
          return { _tag: "Cluster", run: accountInfo(body) }
        case "CREATE":
          return { _tag: "Cluster", run: createRequest(c.stream, body) }
        case "NAMES":
          return { _tag: "Cluster", run: listRequest(body, true) }
        case "LIST":
          return { _tag: "Cluster", run: listRequest(body, false) }
      }
    }
    const row = view.streams.get(key(account, c.stream))
    const mine = row === undefined || row.owner === options.serverName
    const isStepdown = c.op === "LEADER.STEPDOWN" || c.op === "CONSUMER.LEADER.STEPDOWN"
    if (local.registry.get(c.stream) !== undefined && mine) {
      const t = subject.slice(API.length).split(".")
      if (isStepdown) {
        return { _tag: "Cluster", run: stepdown(c.stream, c.op === "LEADER.STEPDOWN" ? undefined : t[4], body) }
      }
      const mutation = c.op === "UPDATE" || c.op === "DELETE" || c.op === "CONSUMER.CREATE" ||
        c.op === "DURABLE.CREATE" || c.op === "CONSUMER.DELETE" || c.op === "CONSUMER.PAUSE"
      if (!mutation) return { _tag: "Local" }
      const consumer = c.op === "CONSUMER.DELETE" || c.op === "CONSUMER.PAUSE" ? t[3] : undefined
      return { _tag: "Local", wrap: fenced(c.op, c.stream, consumer, body) }
    }
    if (!leader) return { _tag: "Silent" }
    // The meta leader speaks for streams no live node serves.
    if (row === undefined) {
      return isStepdown
        ? { _tag: "Cluster", run: Effect.fail(ApiErrors.streamNotFound()) }
        : { _tag: "Local" }
    }
    if (row.status === "ready" && !nodeAlive(view, row.owner)) {
      return { _tag: "Cluster", run: Effect.fail(ApiErrors.streamOffline()) }
    }
    // The owner answers while the stream exists; if the store says it is gone already (deleted a
    // moment ago), the owner is silent and the meta leader gives the "not found".
    return {
      _tag: "Confirm",
      confirm: Effect.map(Effect.orElseSucceed(readRow(c.stream), () => row), (now) => {
        if (now === undefined) view.streams.delete(key(account, c.stream))
        return now === undefined
      })
    }
  }

  return {
    decide,
    decorate: (type, body) => {
      if (!CLUSTER_INFO_TYPES.some((t) => type.endsWith(`.${t}_response`))) return body
      const stream = type.includes(".consumer_")
        ? body.stream_name
        : (body.config as { name?: unknown } | undefined)?.name
      const replicas = replicasOf(view, account, stream)
      return { ...body, cluster: replicas === undefined ? cluster() : { ...cluster(), replicas } }
    }
  }
}
