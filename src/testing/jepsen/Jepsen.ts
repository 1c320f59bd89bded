/**
 * A Jepsen-style run against an R3 stream on three brokers: the workload publishes and consumes
 * while the owner of the stream is killed, frozen past its lease, cut off (namespace mode) or the
 * store's primary is killed (an HA store), one fault at a time on a seeded schedule; then every
 * fault is healed, the stream and the durable are read back and the history is checked.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { check } from "./Checker.ts"
import { awaitMeta, clusterClient } from "./Cluster.ts"
import { faultPlan } from "./Faults.ts"
import type { FaultKind, FaultRecord, History } from "./History.ts"
import type { FaultReport, JepsenReport } from "./Report.ts"
import { freshSeed, makeRng } from "./Rng.ts"
import { singlePostgres, type StoreFactory } from "./Store.ts"
import { type BrokerNode, makeTopology } from "./Topology.ts"
import { drainDurable, sleep, startWorkload, type WorkloadHistory } from "./Workload.ts"

export interface JepsenOptions {
  /** How long faults are injected for; at least every offered kind runs once. */
  readonly durationMs: number
  readonly seed?: number
  readonly publishers?: number
  readonly workers?: number
  readonly store?: StoreFactory
  /** Kinds to inject (default: all the topology and the store offer). */
  readonly faults?: ReadonlyArray<FaultKind>
  /** false: loopback even where namespaces could be made. */
  readonly namespaces?: boolean
  readonly publishPauseMs?: number
  readonly log?: (line: string) => void
}

const now = () => performance.now()

export const runJepsen = async (options: JepsenOptions): Promise<JepsenReport> => {
  const seed = options.seed ?? freshSeed()
  const log = options.log ?? (() => undefined)
  const rng = makeRng(seed)
  const publishers = Math.max(options.publishers ?? 3, 1)
  const workers = options.workers ?? 2
  log(`jepsen: seed ${seed}`)
  const topo = await makeTopology({
    store: options.store ?? singlePostgres,
    ...(options.namespaces === false ? { namespaces: false } : {})
  })
  log(`jepsen: ${topo.mode}${topo.loopbackReason === undefined ? "" : ` (no partitions: ${topo.loopbackReason})`}`)
  const offered: Array<FaultKind> = ["kill", "stop"]
  if (topo.partition !== undefined) offered.push("partition")
  if (topo.store.killPrimary !== undefined) offered.push("kill-primary")
  const kinds = options.faults === undefined ? offered : offered.filter((k) => options.faults!.includes(k))
  const faults: Array<FaultRecord> = []
  const history: WorkloadHistory = { publishes: [], deliveries: [], confirmedAcks: [] }
  const client = await (async () => {
    try {
      await awaitMeta(topo.nodes, 60_000)
      return await clusterClient(topo.nodes)
    } catch (e) {
      await topo.stop()
      throw e
    }
  })()
  try {
    await client.createStream()
    const urls = topo.nodes.map((n) => n.clientUrl)
    const workload = await startWorkload({
      urls,
      publishers,
      workers,
      publishTimeoutMs: 2000,
      publishPauseMs: options.publishPauseMs ?? 0,
      history,
      onAck: (sentAt, at) => {
        for (const f of faults) if (f.firstAckAt === undefined && sentAt > f.at) f.firstAckAt = at
      }
    })
    const t0 = now()
    log(`jepsen: workload started at ${new Date().toISOString()}`)
    await sleep(2000)
    const up = () => topo.nodes.filter((n) => n.state === "up")

    /**
     * Until stream info through another node names a leader other than the faulted node (or, once
     * that node is back, any leader: a killed owner restarted before its lease ran out reclaims
     * the stream).
     */
    const probe = async (f: FaultRecord, healed: () => boolean, until: () => boolean) => {
      while (f.infoAt === undefined && !until()) {
        for (const n of topo.nodes.filter((n) => n.name !== f.node && n.state === "up")) {
          try {
            const { leader } = await client.streamInfo(n, 1000)
            if (leader !== undefined && (leader !== f.node || healed())) {
              f.infoAt = now()
              f.movedTo = leader
              break
            }
          } catch {
            // not served yet
          }
        }
        await sleep(100)
      }
    }

    const plan = faultPlan(rng, kinds)
    let round = 0
    while (round < kinds.length || now() - t0 < options.durationMs) {
      const next = plan.next()
      if (next.done === true) {
        await sleep(Math.max(options.durationMs - (now() - t0), 0))
        break
      }
      const p = next.value
      round++
      await sleep(p.gapMs)
      const ownerName = p.kind === "kill-primary" ? undefined : await client.leader(up(), 30_000)
      const owner = topo.nodes.find((n) => n.name === ownerName)
      if (p.kind !== "kill-primary" && owner === undefined) {
        log(`jepsen: no stream leader answered; ${p.kind} skipped`)
        continue
      }
      const f: FaultRecord = {
        kind: p.kind,
        node: owner?.name,
        at: now(),
        healedAt: undefined,
        firstAckAt: undefined,
        infoAt: undefined,
        movedTo: undefined
      }
      faults.push(f)
      let healed = false
      const probing = probe(f, () => healed, () => healed && now() - f.at > p.holdMs + 30_000)
      const inject = async (node: BrokerNode | undefined): Promise<() => Promise<void>> => {
        switch (p.kind) {
          case "kill":
            await topo.kill(node!)
            return () => topo.start(node!)
          case "stop":
            topo.freeze(node!)
            return async () => topo.thaw(node!)
          case "partition":
            topo.partition!(node!)
            return async () => topo.heal!(node!)
          case "kill-primary":
            return await topo.store.killPrimary!()
        }
      }
      log(
        `jepsen: ${((f.at - t0) / 1000).toFixed(1)} s (${new Date().toISOString()}) ${p.kind} ` +
          `${f.node ?? "store primary"} for ${p.holdMs} ms`
      )
      const heal = await inject(owner)
      // A primary kill takes seconds to finish (freeze, then kill the keeper's tree): its clock starts
      // once the primary is gone, or the PubAcks of commits made before would count as after it.
      if (p.kind === "kill-primary") f.at = now()
      await sleep(p.holdMs)
      await heal()
      f.healedAt = now()
      healed = true
      await awaitMeta(topo.nodes, 60_000).catch((e) => log(`jepsen: ${e instanceof Error ? e.message : e}`))
      await probing
      await client.leader(topo.nodes, 30_000)
    }
    const durationS = (now() - t0) / 1000
    log(`jepsen: faults done after ${durationS.toFixed(1)} s; stopping the workload`)
    await workload.stopPublishers(30_000)
    await workload.stopWorkers()
    await workload.close()
    const reader = topo.nodes[0]!
    const consumerBefore = await client.consumerState(reader)
    const stream = await client.readStream(reader)
    await drainDurable(urls, history, async () => {
      const s = await client.consumerState(reader)
      return s.numPending === 0 && s.numAckPending === 0
    }, 60_000)
    const consumerAfter = await client.consumerState(reader)
    const h: History = { ...history, startedAt: t0, faults, stream, consumerBefore, consumerAfter }
    const result = check(h)
    const errors: Record<string, number> = {}
    for (const p of history.publishes) {
      for (const e of p.errors) errors[e] = (errors[e] ?? 0) + 1
    }
    const report: JepsenReport = {
      seed,
      mode: topo.mode,
      loopbackReason: topo.loopbackReason,
      durationS,
      publishers,
      workers,
      faultKinds: kinds,
      faults: faults.map((f): FaultReport => ({
        kind: f.kind,
        node: f.node,
        atS: (f.at - t0) / 1000,
        heldMs: f.healedAt === undefined ? undefined : Math.round(f.healedAt - f.at),
        firstAckMs: f.firstAckAt === undefined ? undefined : Math.round(f.firstAckAt - f.at),
        infoMs: f.infoAt === undefined ? undefined : Math.round(f.infoAt - f.at),
        movedTo: f.movedTo
      })),
      publishAttempts: history.publishes.reduce((n, p) => n + p.attempts, 0),
      publishErrors: errors,
      deliveries: history.deliveries.length,
      drainDeliveries: history.deliveries.filter((d) => d.drain).length,
      consumerBefore,
      consumerAfter,
      check: result,
      logs: result.valid ? undefined : Object.fromEntries(topo.nodes.map((n) => [n.name, n.log().slice(-6000)])),
      logFiles: result.valid ? undefined : topo.nodes.map((n) => {
        const file = path.join(os.tmpdir(), `ejs-jepsen-${seed}-${Date.now()}-${n.name}.log`)
        fs.writeFileSync(file, n.log())
        return file
      })
    }
    return report
  } finally {
    await client.close()
    await topo.stop()
  }
}
