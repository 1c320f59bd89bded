/**
 * The WebSocket listener against nats-server 2.9.10, both started from the same configuration
 * text: NATS and raw WebSocket clients observe the same values from each (messages between a
 * WebSocket and a TCP client, `-ERR` texts and close frames, upgrade statuses and negotiated
 * extensions, the `/varz` section, authorization with `no_auth_user`, the block's override and
 * `allowed_connection_types`). Skipped with a printed reason without nats-server.
 */
import { wsconnect } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerAvailable, rawWs, startBrokerFrom, startNatsServerFrom, type WsServer } from "./WsServers.ts"
import { upgrade } from "./WsServers.ts"

const available = natsServerAvailable("websocket differential tests")

/** Starts both servers from `conf` for the enclosing describe; each scenario runs on both and must agree. */
const bothFrom = (conf: string) => {
  const servers: Array<WsServer> = []
  beforeAll(async () => {
    servers.push(...(await Promise.all([startBrokerFrom(conf), startNatsServerFrom(conf)])))
  }, 20_000)
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
  })
  return async <T>(scenario: (s: WsServer) => Promise<T>): Promise<T> => {
    const [ours, theirs] = await Promise.all(servers.map(scenario))
    expect(ours).toEqual(theirs)
    return ours!
  }
}

/** CONNECT with these options then PING: what the server answers, and the close frame if it closes. */
const connectRaw = async (port: number, connect: Record<string, unknown>) => {
  const c = await rawWs(`ws://127.0.0.1:${port}`)
  c.ws.send(`CONNECT ${JSON.stringify({ verbose: false, ...connect })}\r\nPING\r\n`)
  const answer = await c.waitFor(/PONG\r\n|-ERR '[^']*'\r\n/)
  if (answer.startsWith("PONG")) {
    c.ws.close()
    return { answer }
  }
  return { answer, close: await c.closed }
}

describe.skipIf(!available)("websocket: core protocol, errors and the upgrade", () => {
  const both = bothFrom(`
http: "127.0.0.1:-1"
websocket { port: -1, no_tls: true, compression: true, same_origin: true }
`)

  it("a WebSocket client and a TCP client exchange messages and requests", async () => {
    const r = await both(async (s) => {
      const ws = await wsconnect({ servers: `ws://127.0.0.1:${s.wsPort}` })
      const tcp = await connect({ servers: `127.0.0.1:${s.port}` })
      const got: Array<string> = []
      const sub = ws.subscribe("orders.>", { max: 2 })
      const fromWs = tcp.subscribe("replies.ws", { max: 1 })
      tcp.subscribe("svc.echo", { callback: (_e, m) => void m.respond(`echo:${m.string()}`) })
      await Promise.all([ws.flush(), tcp.flush()])
      tcp.publish("orders.new", "a".repeat(300))
      tcp.publish("orders.old", "b")
      for await (const m of sub) got.push(`${m.subject}:${m.data.length}`)
      ws.publish("replies.ws", "from the browser side")
      for await (const m of fromWs) got.push(`${m.subject}:${m.string()}`)
      const reply = await ws.request("svc.echo", "hi", { timeout: 2000 })
      got.push(reply.string())
      await ws.close()
      await tcp.close()
      return got
    })
    expect(r).toEqual(["orders.new:300", "orders.old:1", "replies.ws:from the browser side", "echo:hi"])
  })

  it("text frames carry the protocol too, verbose answers +OK", async () => {
    const r = await both(async (s) => {
      const c = await rawWs(`ws://127.0.0.1:${s.wsPort}`)
      c.ws.send(`CONNECT {"verbose":true}\r\nPING\r\n`, { binary: false })
      await c.waitFor(/PONG\r\n/)
      c.ws.close()
      return c.text().split("\r\n").slice(1)
    })
    expect(r).toEqual(["+OK", "PONG", ""])
  })

  it("an unknown operation gets nats-server's -ERR and a protocol-error close frame", async () => {
    const r = await both(async (s) => {
      const c = await rawWs(`ws://127.0.0.1:${s.wsPort}`)
      c.ws.send("FOO\r\n")
      const close = await c.closed
      return { lines: c.text().split("\r\n").slice(1), close }
    })
    expect(r).toEqual({
      lines: ["-ERR 'Unknown Protocol Operation'", ""],
      close: { code: 1002, reason: "Protocol Violation" }
    })
  })

  it("a payload over max_payload is refused as on TCP", async () => {
    const r = await both(async (s) => {
      const c = await rawWs(`ws://127.0.0.1:${s.wsPort}`)
      c.ws.send(`CONNECT {"verbose":false}\r\nPUB big 2000000\r\n`)
      const close = await c.closed
      return { lines: c.text().split("\r\n").slice(1), close }
    })
    expect(r).toEqual({
      lines: ["-ERR 'Maximum Payload Violation'", ""],
      close: { code: 1009, reason: "Maximum Message Payload Exceeded" }
    })
  })

  it("upgrades: origin checks answer 403, bad versions 400, deflate is negotiated without context takeover", async () => {
    const r = await both(async (s) => {
      const answer = async (h: Record<string, string>) => {
        const u = await upgrade(s.wsPort, h)
        return {
          status: u.status,
          extensions: u.headers["sec-websocket-extensions"],
          version: u.headers["sec-websocket-version"]
        }
      }
      return [
        await answer({ Origin: "http://elsewhere.example" }),
        await answer({ Origin: `http://127.0.0.1:${s.wsPort}` }),
        await answer({}),
        await answer({ "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" }),
        await answer({ "Sec-WebSocket-Version": "12" }),
        await answer({ "Sec-WebSocket-Key": "" })
      ]
    })
    expect(r.map((a) => a.status)).toEqual([403, 101, 101, 101, 400, 400])
    expect(r[3]!.extensions).toBe("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    expect(r[0]!.version).toBe("13")
  })

  it("compressed messages arrive intact both ways", async () => {
    const r = await both(async (s) => {
      // Node's WebSocket offers permessage-deflate; the payload is large and repetitive enough to be compressed.
      const ws = await wsconnect({ servers: `ws://127.0.0.1:${s.wsPort}` })
      const tcp = await connect({ servers: `127.0.0.1:${s.port}` })
      const body = "compress me ".repeat(2000)
      const sub = ws.subscribe("z", { max: 1 })
      const back = tcp.subscribe("z.back", { max: 1 })
      await Promise.all([ws.flush(), tcp.flush()])
      tcp.publish("z", body)
      let out = ""
      for await (const m of sub) out += m.string() === body ? "down ok;" : "down corrupt;"
      ws.publish("z.back", body)
      for await (const m of back) out += m.string() === body ? "up ok" : "up corrupt"
      await ws.close()
      await tcp.close()
      return out
    })
    expect(r).toBe("down ok;up ok")
  })

  it("/varz has the same websocket section", async () => {
    const r = await both(async (s) => {
      const v = (await fetch(`http://127.0.0.1:${s.monitorPort}/varz`).then((res) => res.json())) as {
        websocket: Record<string, unknown>
      }
      return { ...v.websocket, port: v.websocket.port === s.wsPort ? "bound port" : v.websocket.port }
    })
    expect(r).toEqual({ host: "0.0.0.0", port: "bound port", no_tls: true, same_origin: true, compression: true })
  })
})

describe.skipIf(!available)("websocket: users, no_auth_user and allowed_connection_types", () => {
  const both = bothFrom(`
authorization {
  users: [
    { user: alice, password: a }
    { user: tcponly, password: t, allowed_connection_types: ["STANDARD"] }
    { user: wsonly, password: w, allowed_connection_types: ["WEBSOCKET"] }
  ]
}
websocket { port: -1, no_tls: true, no_auth_user: alice }
`)

  it("WebSocket clients without credentials are the block's no_auth_user", async () => {
    expect(await both((s) => connectRaw(s.wsPort, {}))).toEqual({ answer: "PONG\r\n" })
  })

  it("a user may connect only over the connection types it allows", async () => {
    const r = await both(async (s) => ({
      wsAsTcpOnly: await connectRaw(s.wsPort, { user: "tcponly", pass: "t" }),
      wsAsWsOnly: await connectRaw(s.wsPort, { user: "wsonly", pass: "w" }),
      tcpAsWsOnly: await connect({ servers: `127.0.0.1:${s.port}`, user: "wsonly", pass: "w" }).then(
        (nc) => nc.close().then(() => "connected"),
        (e: Error) => e.message
      )
    }))
    expect(r.wsAsTcpOnly.answer).toBe("-ERR 'Authorization Violation'\r\n")
    expect(r.wsAsTcpOnly.close!.code).toBe(1008)
    expect(r.wsAsWsOnly).toEqual({ answer: "PONG\r\n" })
    expect(r.tcpAsWsOnly).not.toBe("connected")
  })

  it("wrong credentials are an authorization violation with a policy close", async () => {
    const r = await both((s) => connectRaw(s.wsPort, { user: "alice", pass: "nope" }))
    expect(r).toEqual({
      answer: "-ERR 'Authorization Violation'\r\n",
      close: { code: 1008, reason: "Authentication Failure" }
    })
  })
})

describe.skipIf(!available)("websocket: the block's authorization overrides the top level for its clients", () => {
  const both = bothFrom(
    `websocket { port: -1, no_tls: true, authorization { user: wsuser, password: wspw, timeout: 3 } }`
  )

  it("TCP stays open, WebSocket needs the block's user", async () => {
    const r = await both(async (s) => {
      const tcp = await connect({ servers: `127.0.0.1:${s.port}` })
      await tcp.close()
      const info = await rawWs(`ws://127.0.0.1:${s.wsPort}`).then(async (c) => {
        const line = await c.waitFor(/INFO .*\r\n/)
        c.ws.close()
        return JSON.parse(line.slice(5)) as { auth_required?: boolean }
      })
      return {
        authRequired: info.auth_required,
        anonymous: await connectRaw(s.wsPort, {}),
        right: await connectRaw(s.wsPort, { user: "wsuser", pass: "wspw" })
      }
    })
    expect(r.authRequired).toBe(true)
    expect(r.anonymous.answer).toBe("-ERR 'Authorization Violation'\r\n")
    expect(r.right).toEqual({ answer: "PONG\r\n" })
  })
})
