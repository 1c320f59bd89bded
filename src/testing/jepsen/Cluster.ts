/**
 * Asking the cluster about the Jepsen stream: one connection per node (each only to its node, so
 * a question through a dead node fails instead of moving elsewhere), the meta leader from /jsz,
 * and the stream and durable read back after the run.
 */
import { AckPolicy, DeliverPolicy, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import type { ConsumerSnapshot, StreamContents } from "./History.ts"
import type { BrokerNode } from "./Topology.ts"
import { DURABLE, sleep, STREAM, SUBJECT } from "./Workload.ts"

export interface StreamView {
  readonly leader: string | undefined
}

export interface ClusterClient {
  /** Stream info through `node` (fails when the node cannot answer within `timeoutMs`). */
  streamInfo(node: BrokerNode, timeoutMs?: number): Promise<StreamView>
  /** The first of `nodes` that answers stream info, retried until `ms` passed. */
  leader(nodes: ReadonlyArray<BrokerNode>, ms: number): Promise<string | undefined>
  createStream(): Promise<void>
  readStream(node: BrokerNode): Promise<StreamContents>
  consumerState(node: BrokerNode): Promise<ConsumerSnapshot>
  close(): Promise<void>
}

/** Until every running node's /jsz names the same meta leader of a 3-node cluster. */
export const awaitMeta = async (nodes: ReadonlyArray<BrokerNode>, ms: number): Promise<void> => {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      const metas = await Promise.all(nodes.map(async (n) => {
        const jsz = (await (await fetch(`${n.monitorUrl}/jsz`, { signal: AbortSignal.timeout(1000) })).json()) as {
          meta_cluster?: { leader?: string; cluster_size?: number }
        }
        return jsz.meta_cluster
      }))
      const first = metas[0]?.leader
      if (first !== undefined && metas.every((m) => m?.leader === first && m.cluster_size === 3)) return
    } catch {
      // a node not answering yet
    }
    if (Date.now() > deadline) throw new Error(`no agreed meta leader after ${ms} ms`)
    await sleep(250)
  }
}

export const clusterClient = async (nodes: ReadonlyArray<BrokerNode>): Promise<ClusterClient> => {
  const conns = new Map<string, NatsConnection>()
  for (const n of nodes) {
    conns.set(
      n.name,
      await connect({
        servers: n.clientUrl,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: 1000,
        maxPingOut: 2,
        timeout: 2000
      })
    )
  }
  const jsm = (node: BrokerNode, timeout = 2000) => jetstreamManager(conns.get(node.name)!, { timeout })
  const streamInfo = async (node: BrokerNode, timeoutMs = 1000) => {
    const info = await (await jsm(node, timeoutMs)).streams.info(STREAM)
    return { leader: info.cluster?.leader }
  }
  const retry = async <A>(ms: number, f: () => Promise<A>): Promise<A> => {
    const deadline = Date.now() + ms
    for (;;) {
      try {
        return await f()
      } catch (e) {
        if (Date.now() > deadline) throw e
        await sleep(250)
      }
    }
  }
  return {
    streamInfo,
    leader: async (candidates, ms) => {
      const deadline = Date.now() + ms
      while (Date.now() < deadline) {
        for (const n of candidates) {
          try {
            const { leader } = await streamInfo(n)
            if (leader !== undefined) return leader
          } catch {
            // try the next node
          }
        }
        await sleep(250)
      }
      return undefined
    },
    createStream: () =>
      retry(20_000, async () => {
        const m = await jsm(nodes[0]!, 5000)
        await m.streams.add({ name: STREAM, subjects: [`${SUBJECT}.>`], num_replicas: 3 })
        await m.consumers.add(STREAM, {
          durable_name: DURABLE,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: 2_000_000_000,
          max_ack_pending: 1000
        })
      }),
    readStream: async (node) => {
      const m = await jsm(node, 5000)
      const { state } = await retry(30_000, () => m.streams.info(STREAM))
      const bySeq = new Map<number, string | undefined>()
      const seqs = Array.from({ length: state.last_seq }, (_, i) => i + 1)
      for (let i = 0; i < seqs.length; i += 64) {
        await Promise.all(
          seqs.slice(i, i + 64).map(async (seq) => {
            const sm = await retry(10_000, () => m.streams.getMessage(STREAM, { seq }))
            if (sm !== null) bySeq.set(seq, sm.header?.get("Nats-Msg-Id") || undefined)
          })
        )
      }
      // Stream info must not be behind the log: nothing after its last_seq may be readable.
      let beyondLast = 0
      for (let seq = state.last_seq + 1;; seq++) {
        const sm = await retry(10_000, () => m.streams.getMessage(STREAM, { seq }))
        if (sm === null) break
        bySeq.set(seq, sm.header?.get("Nats-Msg-Id") || undefined)
        beyondLast++
      }
      return { firstSeq: state.first_seq, lastSeq: state.last_seq, messages: state.messages, bySeq, beyondLast }
    },
    consumerState: async (node) => {
      const m = await jsm(node, 5000)
      const ci = await retry(30_000, () => m.consumers.info(STREAM, DURABLE))
      return {
        at: performance.now(),
        ackFloor: ci.ack_floor.stream_seq,
        delivered: ci.delivered.stream_seq,
        numAckPending: ci.num_ack_pending,
        numPending: ci.num_pending
      }
    },
    close: async () => {
      await Promise.all([...conns.values()].map((c) => c.close().catch(() => undefined)))
    }
  }
}
