/**
 * The ports file (`--ports_file_dir`): `<dir>/nats-server_<pid>.ports` holding the bound URLs, so
 * client test harnesses that start the server with random ports (`-p -1 -m -1`) can find them.
 *
 * nats-server names the file after its executable (`filepath.Base(os.Args[0])`); harnesses look for
 * `nats-server_<pid>.ports`, so that is the name we use. Content follows nats-server `PortsInfo`:
 * `{"nats":[...],"monitoring":[...],"websocket":[...]}` with empty lists omitted (Go `omitempty`), and for a wildcard
 * listen address one URL per interface address (`resolveHostPorts`), loopback first.
 */
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { ServerConfig } from "../config/BrokerConfig.ts"
import { Server } from "../core/Server.ts"
import { Log } from "../log/Log.ts"
import { Monitor } from "./Monitor.ts"

/** `host:port` for every address a listener on `host` answers on (nats-server `resolveHostPorts`). */
export const hostPorts = (host: string, port: number, interfaces = os.networkInterfaces()): Array<string> => {
  const join = (ip: string) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`)
  // "0.0.0.0" is bound dual-stack where the host has IPv6 (platform/WildcardListen), but may have
  // fallen back to IPv4 only, so only the IPv4 addresses, which answer either way, are listed.
  const family = host === "0.0.0.0" ? "IPv4" : host === "::" ? "any" : undefined
  if (family === undefined) return [join(host)]
  const out: Array<string> = []
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      if (family === "IPv4" && a.family !== "IPv4") continue
      out.push(join(a.address))
    }
  }
  return out.length > 0 ? out : [join(net.isIPv6(host) ? "::1" : "127.0.0.1")]
}

export interface Ports {
  readonly nats: ReadonlyArray<string>
  readonly monitoring?: ReadonlyArray<string>
  readonly websocket?: ReadonlyArray<string>
}

export const portsFileName = (dir: string, pid = process.pid): string => path.join(dir, `nats-server_${pid}.ports`)

export const portsJson = (ports: Ports): string => JSON.stringify(ports)

/** Writes the ports file once the client listener is up and removes it at shutdown. */
export const layer: Layer.Layer<never, never, ServerConfig | Server | Log> = Layer.effectDiscard(
  Effect.gen(function*() {
    const config = yield* ServerConfig
    const dir = config.portsFileDir
    if (dir === undefined || dir === "") return
    const server = yield* Server
    const log = yield* Log
    const monitor = yield* Effect.serviceOption(Monitor)
    const ports: Ports = {
      nats: hostPorts(config.host, server.port).map((hp) => `nats://${hp}`),
      ...(Option.isSome(monitor)
        ? {
          monitoring: hostPorts(monitor.value.host, monitor.value.port).map((hp) =>
            `${monitor.value.secure ? "https" : "http"}://${hp}`
          )
        }
        : {}),
      ...(server.websocket === undefined
        ? {}
        : {
          websocket: hostPorts(server.websocket.host, server.websocket.port).map((hp) =>
            `${server.websocket!.tls ? "wss" : "ws"}://${hp}`
          )
        })
    }
    const file = portsFileName(dir)
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        try {
          // Write then rename: harnesses poll for the file and must never read it half written.
          fs.writeFileSync(`${file}.tmp`, portsJson(ports), { mode: 0o666 })
          fs.renameSync(`${file}.tmp`, file)
        } catch (e) {
          // As nats-server: a ports file that cannot be written is logged, the server keeps running.
          log.error(`Error writing ports file (${file}): ${String(e)}`)
        }
      }),
      () =>
        Effect.sync(() => {
          try {
            fs.rmSync(file, { force: true })
          } catch (e) {
            log.error(`Error cleaning up ports file ${file}: ${String(e)}`)
          }
        })
    )
  })
)
