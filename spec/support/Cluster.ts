/**
 * Test support: brokers joined by routes, in this process, on loopback. Route ports are fixed
 * (a node restarted must be found where its peers dial it); each spec file picks its own range.
 */
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import * as Broker from "../../src/Broker.ts"
import { Cluster, type ClusterShape } from "../../src/cluster/Cluster.ts"
import type { ClusterSettings } from "../../src/cluster/ClusterSettings.ts"
import * as BrokerConfig from "../../src/config/BrokerConfig.ts"
import { InternalClient } from "../../src/core/InternalClient.ts"
import { Router } from "../../src/core/Router.ts"
import { Server } from "../../src/core/Server.ts"
import { Monitor } from "../../src/monitoring/Monitor.ts"

export interface ClusterNode {
  readonly name: string
  readonly port: number
  readonly url: string
  readonly routePort: number
  readonly cluster: ClusterShape
  readonly server: (typeof Server)["Service"]
  readonly router: (typeof Router)["Service"]
  readonly monitorPort: number | undefined
  stop(): Promise<void>
}

export interface NodeOptions {
  readonly name: string
  readonly routePort: number
  /** Route ports to dial (explicit routes). */
  readonly routes?: ReadonlyArray<number | string>
  readonly clusterName?: string
  readonly clientPort?: number
  readonly cluster?: Partial<ClusterSettings>
  readonly config?: BrokerConfig.BrokerConfigInput
}

export const startNode = async (o: NodeOptions): Promise<ClusterNode> => {
  const cluster: ClusterSettings = {
    name: o.clusterName ?? "test",
    host: "127.0.0.1",
    port: o.routePort,
    routes: (o.routes ?? []).map((r) => {
      const url = typeof r === "number" ? `nats://127.0.0.1:${r}` : r
      const u = new URL(url)
      return {
        url,
        host: u.hostname,
        port: Number(u.port),
        user: u.username === "" ? undefined : decodeURIComponent(u.username),
        password: u.password === "" ? undefined : decodeURIComponent(u.password)
      }
    }),
    auth: undefined,
    advertise: undefined,
    noAdvertise: false,
    connectRetries: 3,
    ...o.cluster
  }
  const config = BrokerConfig.make({
    host: "127.0.0.1",
    port: o.clientPort ?? -1,
    serverName: o.name,
    ...o.config,
    cluster
  })
  const scope = Effect.runSync(Scope.make())
  const ctx = await Effect.runPromise(Layer.buildWithScope(Broker.layer(config, { silent: true }), scope))
  const server = Context.get(ctx, Server)
  const shape = Context.get(ctx, Cluster)
  if (shape === undefined) throw new Error("cluster layer did not start")
  return {
    name: o.name,
    port: server.port,
    url: `nats://127.0.0.1:${server.port}`,
    routePort: shape.port,
    cluster: shape,
    server,
    router: Context.get(ctx, Router),
    monitorPort: Option.getOrUndefined(Context.getOption(ctx, Monitor))?.port,
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `check` until it holds (or fails the test after `ms`). */
export const until = async (what: string, check: () => boolean, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** Every node has a route to every other one. */
export const untilMesh = (nodes: ReadonlyArray<ClusterNode>, ms = 15_000) =>
  until(
    `a full mesh of ${nodes.length}`,
    () => nodes.every((n) => n.cluster.routes().length === nodes.length - 1),
    ms
  )

let sentinel = 0
/**
 * Waits until every node has seen all the interest changes the others announced so far: a route
 * is one ordered stream, so once a fresh sentinel subscription of each node is known everywhere,
 * every RS+/RS- sent before it has been applied too.
 */
export const settle = async (nodes: ReadonlyArray<ClusterNode>): Promise<void> => {
  const subs: Array<{ node: ClusterNode; subject: string; stop: () => void }> = []
  for (const n of nodes) {
    const subject = `_SETTLE.${++sentinel}`
    const c = new InternalClient(n.router)
    c.subscribe(subject, () => {})
    subs.push({ node: n, subject, stop: () => c.unsubscribeAll() })
  }
  await until(
    "interest to settle",
    () => subs.every((s) => nodes.every((n) => n === s.node || n.router.hasInterest(s.subject)))
  )
  for (const s of subs) s.stop()
}
