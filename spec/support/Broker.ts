/**
 * Test support: an in-process broker on a random port, and nats-server when it is installed.
 */
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Broker from "../../src/Broker.ts"
import * as BrokerConfig from "../../src/config/BrokerConfig.ts"
import { Router } from "../../src/core/Router.ts"
import { Server } from "../../src/core/Server.ts"
import { Monitor } from "../../src/monitoring/Monitor.ts"

export interface RunningBroker {
  readonly port: number
  readonly url: string
  readonly server: (typeof Server)["Service"]
  readonly router: (typeof Router)["Service"]
  /** The bound monitoring port when started with `httpPort`. */
  readonly monitorPort: number | undefined
  stop(): Promise<void>
}

/**
 * Starts a broker in this process. With JetStream and no `storeDir`, a temporary store directory is
 * created and removed on `stop()`; pass `storeDir` to keep data across restarts.
 */
export const startBroker = async (
  overrides: BrokerConfig.BrokerConfigInput = {},
  options: Broker.BrokerLayerOptions = {}
): Promise<RunningBroker> => {
  const tmp = overrides.storeDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), "ejs-store-")) : undefined
  const config = BrokerConfig.make({ host: "127.0.0.1", port: -1, ...(tmp ? { storeDir: tmp } : {}), ...overrides })
  const scope = Effect.runSync(Scope.make())
  const ctx = await Effect.runPromise(Layer.buildWithScope(Broker.layer(config, { silent: true, ...options }), scope))
  const server = Context.get(ctx, Server)
  const router = Context.get(ctx, Router)
  return {
    port: server.port,
    url: `nats://127.0.0.1:${server.port}`,
    server,
    router,
    monitorPort: Option.getOrUndefined(Context.getOption(ctx, Monitor))?.port,
    stop: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true })
    }
  }
}

export const natsServerPath = (): string | undefined => {
  const r = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" })
  const p = r.stdout.trim()
  return r.status === 0 && p !== "" ? p : undefined
}

export interface RunningNatsServer {
  readonly port: number
  readonly url: string
  /** The monitoring port when started with `-m`. */
  readonly monitorPort: number | undefined
  /** The route port when started with a cluster listener. */
  readonly routePort: number | undefined
  stop(): Promise<void>
}

/** Starts nats-server on a random port (reads it back from the ports file). */
export const startNatsServer = async (args: ReadonlyArray<string> = []): Promise<RunningNatsServer> => {
  const exe = natsServerPath()
  if (exe === undefined) throw new Error("nats-server is not on PATH")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-nats-"))
  const child: ChildProcess = spawn(exe, ["-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir, ...args], {
    stdio: "ignore"
  })
  const portsFile = path.join(dir, `nats-server_${child.pid}.ports`)
  const deadline = Date.now() + 10_000
  // The file may exist before its content is written: read until it parses.
  let ports: { nats: Array<string>; monitoring?: Array<string>; cluster?: Array<string> } | undefined
  while (ports === undefined) {
    try {
      ports = JSON.parse(fs.readFileSync(portsFile, "utf8"))
    } catch {
      if (Date.now() > deadline) throw new Error("nats-server did not write its ports file")
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const url = ports.nats[0]!
  const monitoring = ports.monitoring?.[0]
  const cluster = ports.cluster?.[0]
  return {
    port: Number(new URL(url.replace("nats://", "http://")).port),
    url,
    monitorPort: monitoring === undefined ? undefined : Number(new URL(monitoring).port),
    routePort: cluster === undefined ? undefined : Number(new URL(cluster.replace("nats://", "http://")).port),
    stop: async () => {
      child.kill("SIGTERM")
      await new Promise((r) => child.once("exit", r))
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}
