/**
 * `-a 0.0.0.0` (the default bind) answers on IPv6 loopback too, as nats-server's dual-stack
 * listener does: clients that resolve `localhost` to `::1` first (Deno, nats.js' TLS tests) connect.
 * Checked against nats-server when it is on PATH; the IPv4-only fallback on a host without IPv6 is
 * driven through a stand-in server that refuses `::`.
 */
import { EventEmitter } from "node:events"
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import { listenWildcard } from "../../src/platform/WildcardListen.ts"
import { natsServerPath, startNatsServer } from "../support/Broker.ts"
import { startCli } from "../support/Process.ts"

/** The first line the server sends to a TCP client at `host:port` (its INFO), or the error code. */
const firstLine = (host: string, port: number) =>
  new Promise<string>((resolve) => {
    const s = net.connect({ host, port })
    let buf = ""
    s.on("data", (d) => {
      buf += d.toString()
      const i = buf.indexOf("\r\n")
      if (i >= 0) {
        s.destroy()
        resolve(buf.slice(0, i).split(" ")[0]!)
      }
    })
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
  })

const monitorStatus = (host: string, port: number) =>
  fetch(`http://${host}:${port}/healthz`).then((r) => r.status, (e: Error) => String(e.cause ?? e))

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("wildcard bind differential skipped: nats-server is not on PATH")

describe("binding 0.0.0.0", () => {
  it("accepts clients and monitoring on 127.0.0.1 and ::1", async () => {
    const broker = await startCli(["-a", "0.0.0.0", "-m", "-1"])
    try {
      const m = /Starting http monitor on [^\s]+:(\d+)/.exec(broker.log())
      const mport = Number(m![1])
      expect([await firstLine("127.0.0.1", broker.port), await firstLine("::1", broker.port)]).toEqual(["INFO", "INFO"])
      expect([await monitorStatus("127.0.0.1", mport), await monitorStatus("[::1]", mport)]).toEqual([200, 200])
    } finally {
      await broker.stop()
    }
  })

  it("an explicit IPv4 address stays IPv4 only", async () => {
    const broker = await startCli(["-a", "127.0.0.1"])
    try {
      expect([await firstLine("127.0.0.1", broker.port), await firstLine("::1", broker.port)])
        .toEqual(["INFO", "ECONNREFUSED"])
    } finally {
      await broker.stop()
    }
  })

  it.skipIf(natsServer === undefined)("nats-server answers the same two addresses", async () => {
    const ns = await startNatsServer(["-a", "0.0.0.0"])
    try {
      expect([await firstLine("127.0.0.1", ns.port), await firstLine("::1", ns.port)]).toEqual(["INFO", "INFO"])
    } finally {
      await ns.stop()
    }
  })

  it("falls back to IPv4 when the host refuses an IPv6 socket, and reports other errors", () => {
    const fake = (refuse: string) => {
      const e = new EventEmitter() as EventEmitter & { listen(o: { host: string }): void; hosts: Array<string> }
      e.hosts = []
      e.listen = (o) => {
        e.hosts.push(o.host)
        queueMicrotask(() => {
          if (o.host === "::") e.emit("error", Object.assign(new Error(refuse), { code: refuse }))
          else e.emit("listening")
        })
      }
      return e
    }
    const run = (refuse: string) =>
      new Promise<{ hosts: Array<string>; outcome: string }>((resolve) => {
        const f = fake(refuse)
        listenWildcard(
          f as unknown as net.Server,
          0,
          "0.0.0.0",
          () => resolve({ hosts: f.hosts, outcome: "listening" }),
          (err) => resolve({ hosts: f.hosts, outcome: err.code ?? "" })
        )
      })
    return Promise.all([run("EAFNOSUPPORT"), run("EADDRINUSE")]).then((r) =>
      expect(r).toEqual([
        { hosts: ["::", "0.0.0.0"], outcome: "listening" },
        { hosts: ["::"], outcome: "EADDRINUSE" }
      ])
    )
  })
})
