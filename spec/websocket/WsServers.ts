/**
 * WebSocket test support: our broker (in process) and nats-server started from the same
 * configuration text, each with its WebSocket port, plus small raw clients for what the NATS
 * clients hide (the upgrade's status and headers, close frames, text frames, cookies).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import WebSocket from "ws"
import type { BrokerConfigInput } from "../../src/config/BrokerConfig.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { natsServerPath, type RunningBroker, startBroker } from "../support/Broker.ts"

export interface WsServer {
  readonly name: "broker" | "nats-server"
  /** TCP port for NATS clients. */
  readonly port: number
  readonly wsPort: number
  readonly monitorPort: number | undefined
  readonly broker: RunningBroker | undefined
  stop(): Promise<void>
}

/** Our broker from `conf` (a nats-server config text), on random ports. */
export const startBrokerFrom = async (conf: string, extra: BrokerConfigInput = {}): Promise<WsServer> => {
  const loaded = ConfigFile.load("/ws-test.conf", { readFile: () => conf, env: {} })
  if (loaded._tag === "Failure") throw new Error(loaded.errors.map(ConfigFile.renderIssue).join("\n"))
  const broker = await startBroker({ ...loaded.config, host: "127.0.0.1", port: -1, ...extra })
  return {
    name: "broker",
    port: broker.port,
    wsPort: broker.server.websocket!.port,
    monitorPort: broker.monitorPort,
    broker,
    stop: () => broker.stop()
  }
}

/** nats-server from the same text; the ports file gives its client, WebSocket and monitoring ports. */
export const startNatsServerFrom = async (conf: string, args: ReadonlyArray<string> = []): Promise<WsServer> => {
  const exe = natsServerPath()
  if (exe === undefined) throw new Error("nats-server is not on PATH")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-nats-ws-"))
  const file = path.join(dir, "server.conf")
  fs.writeFileSync(file, conf)
  const child: ChildProcess = spawn(
    exe,
    ["-c", file, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir, ...args],
    {
      stdio: "ignore"
    }
  )
  const portsFile = path.join(dir, `nats-server_${child.pid}.ports`)
  const deadline = Date.now() + 10_000
  let ports: { nats: Array<string>; websocket?: Array<string>; monitoring?: Array<string> } | undefined
  while (ports === undefined) {
    try {
      ports = JSON.parse(fs.readFileSync(portsFile, "utf8"))
    } catch {
      if (Date.now() > deadline) throw new Error("nats-server did not write its ports file")
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const portOf = (url: string) => Number(new URL(url.replace(/^\w+:/, "http:")).port)
  return {
    name: "nats-server",
    port: portOf(ports.nats[0]!),
    wsPort: portOf(ports.websocket![0]!),
    monitorPort: ports.monitoring === undefined ? undefined : portOf(ports.monitoring[0]!),
    broker: undefined,
    stop: async () => {
      child.kill("SIGTERM")
      await new Promise((r) => child.once("exit", r))
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

export const natsServerAvailable = (label: string): boolean => {
  const ok = natsServerPath() !== undefined
  if (!ok) console.log(`${label} skipped: nats-server is not on PATH (apt-get install nats-server)`)
  return ok
}

export interface UpgradeAnswer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
}

/** A hand-made upgrade request: the status and headers the server answers with, then the socket is closed. */
export const upgrade = (port: number, headers: Record<string, string>): Promise<UpgradeAnswer> =>
  new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/",
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        ...headers
      }
    })
    req.on("upgrade", (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode!, headers: res.headers })
    })
    req.on("response", (res) => {
      res.resume()
      resolve({ status: res.statusCode!, headers: res.headers })
    })
    req.on("error", reject)
    req.end()
  })

/** A raw WebSocket client that records every frame's text and the close frame. */
export interface RawWs {
  readonly ws: WebSocket
  /** Everything received so far, frames joined. */
  text(): string
  /** Resolves once the received text matches. */
  waitFor(re: RegExp, ms?: number): Promise<string>
  readonly closed: Promise<{ code: number; reason: string }>
}

export const rawWs = (url: string, options: WebSocket.ClientOptions = {}): Promise<RawWs> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options })
    let received = ""
    const waiters: Array<() => void> = []
    ws.on("message", (d) => {
      received += (d as Buffer).toString("latin1")
      for (const w of waiters.splice(0)) w()
    })
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on("close", (code, reason) => r({ code, reason: reason.toString() }))
    )
    ws.on("error", reject)
    ws.on("open", () =>
      resolve({
        ws,
        text: () => received,
        waitFor: (re, ms = 5000) =>
          new Promise((res, rej) => {
            const timer = setTimeout(
              () => rej(new Error(`timed out waiting for ${re} in ${JSON.stringify(received)}`)),
              ms
            )
            const check = () => {
              const m = re.exec(received)
              if (m !== null) {
                clearTimeout(timer)
                res(m[0])
              } else waiters.push(check)
            }
            check()
          }),
        closed
      }))
  })
