/**
 * The WebSocket listener's behaviour beyond what nats-server 2.9.10 can be compared on (its newer
 * keys and fixes, and this broker's back-pressure): cookies standing in for CONNECT credentials,
 * wss with the block's certificate, INFO naming the WebSocket listener, the block's ping interval,
 * extra response headers, the same-origin scheme check, X-Forwarded-For, the handshake timeout,
 * the shutdown close frame, and a slow WebSocket consumer cut off alone while a reader keeps up.
 */
import { wsconnect } from "@nats-io/nats-core"
import { connect } from "@nats-io/transport-node"
import { Buffer } from "node:buffer"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import { connectUrls } from "../../src/core/WebsocketServer.ts"
import { makeCerts, type TestCerts } from "../tls/TlsCerts.ts"
import { rawWs, startBrokerFrom, upgrade, type WsServer } from "./WsServers.ts"

const firstInfo = async (url: string, options: Parameters<typeof rawWs>[1] = {}) => {
  const c = await rawWs(url, options)
  const line = await c.waitFor(/INFO .*\r\n/)
  c.ws.close()
  return JSON.parse(line.slice(5)) as Record<string, unknown>
}

describe("cookies stand in for the credentials CONNECT leaves empty", () => {
  let s: WsServer
  beforeAll(async () => {
    s = await startBrokerFrom(`websocket {
  port: -1, no_tls: true
  authorization { user: cu, password: cp }
  user_cookie: nu, pass_cookie: np
}`)
  })
  afterAll(() => s.stop())

  const attempt = async (cookie: string | undefined, connectJson: string) => {
    const c = await rawWs(`ws://127.0.0.1:${s.wsPort}`, cookie === undefined ? {} : { headers: { Cookie: cookie } })
    c.ws.send(`CONNECT ${connectJson}\r\nPING\r\n`)
    const answer = await c.waitFor(/PONG\r\n|-ERR '[^']*'\r\n/)
    c.ws.close()
    return answer.trim()
  }

  it("admits a client whose cookies hold the user and password", async () => {
    expect(await attempt(`other=1; nu=cu; np="cp"`, `{"verbose":false}`)).toBe("PONG")
  })
  it("refuses without the cookies, and CONNECT's own credentials win over them", async () => {
    expect(await attempt(undefined, `{"verbose":false}`)).toBe("-ERR 'Authorization Violation'")
    expect(await attempt(`nu=cu; np=cp`, `{"verbose":false,"user":"cu","pass":"wrong"}`)).toBe(
      "-ERR 'Authorization Violation'"
    )
  })
})

describe("wss with the block's own certificate", () => {
  let certs: TestCerts
  let s: WsServer
  beforeAll(async () => {
    certs = makeCerts()
    s = await startBrokerFrom(`websocket {
  port: -1
  tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}" }
}`)
  })
  afterAll(async () => {
    await s.stop()
    certs.remove()
  })

  it("INFO names the WebSocket listener and its TLS, and the protocol runs inside TLS", async () => {
    const ca = fs.readFileSync(certs.ca)
    const info = await firstInfo(`wss://127.0.0.1:${s.wsPort}`, { ca })
    expect([info.host, info.port, info.tls_required, info.tls_available]).toEqual(["0.0.0.0", s.wsPort, true, true])
    const c = await rawWs(`wss://127.0.0.1:${s.wsPort}`, { ca })
    c.ws.send(`CONNECT {"verbose":false}\r\nPING\r\n`)
    expect(await c.waitFor(/PONG\r\n/)).toBe("PONG\r\n")
    c.ws.close()
  })

  it("a plaintext upgrade to the wss port gets no WebSocket", async () => {
    await expect(rawWs(`ws://127.0.0.1:${s.wsPort}`)).rejects.toThrow()
  })
})

describe("wss with verify_and_map: the client certificate names the user", () => {
  let certs: TestCerts
  let s: WsServer
  beforeAll(async () => {
    certs = makeCerts()
    s = await startBrokerFrom(`
authorization { users: [{ user: "CN=carol,O=Acme", permissions: { publish: "carol.>" } }] }
websocket {
  port: -1
  tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.ca}", verify_and_map: true }
}`)
  })
  afterAll(async () => {
    await s.stop()
    certs.remove()
  })

  const session = async (cert: string, key: string) => {
    const c = await rawWs(`wss://127.0.0.1:${s.wsPort}`, {
      ca: fs.readFileSync(certs.ca),
      cert: fs.readFileSync(cert),
      key: fs.readFileSync(key)
    })
    c.ws.send(`CONNECT {"verbose":false}\r\nPUB carol.x 0\r\n\r\nPUB alice.x 0\r\n\r\nPING\r\n`)
    const answer = await c.waitFor(/PONG\r\n|-ERR 'Authorization Violation'\r\n/)
    c.ws.close()
    return c.text().split("\r\n").slice(1, -1).concat(answer.startsWith("PONG") ? [] : ["closed"])
  }

  it("admits the mapped user with its permissions, refuses an unmapped certificate", async () => {
    expect(await session(certs.carolCert, certs.carolKey)).toEqual([
      `-ERR 'Permissions Violation for Publish to "alice.x"'`,
      "PONG"
    ])
    expect(await session(certs.daveCert, certs.daveKey)).toEqual(["-ERR 'Authorization Violation'", "closed"])
  })
})

describe("the block's ping_interval, headers, origins, forwarded address and handshake timeout", () => {
  let s: WsServer
  beforeAll(async () => {
    s = await startBrokerFrom(`websocket {
  port: -1, no_tls: true
  ping_interval: "500ms"
  headers { "X-Frame-Options": "DENY" }
  same_origin: true
  handshake_timeout: "400ms"
}`)
  })
  afterAll(() => s.stop())

  it("pings WebSocket clients on the block's interval, not the top level's 2 minutes", async () => {
    const c = await rawWs(`ws://127.0.0.1:${s.wsPort}`)
    c.ws.send(`CONNECT {"verbose":false}\r\n`)
    const tcp = new net.Socket()
    let tcpText = ""
    tcp.on("data", (d) => (tcpText += d.toString()))
    await new Promise<void>((r) => tcp.connect(s.port, "127.0.0.1", r))
    tcp.write(`CONNECT {"verbose":false}\r\n`)
    expect(await c.waitFor(/PING\r\n/, 3000)).toBe("PING\r\n")
    c.ws.close()
    tcp.destroy()
    expect(tcpText).not.toContain("PING")
  })

  it("adds the configured headers to the 101 response", async () => {
    const u = await upgrade(s.wsPort, {})
    expect([u.status, u.headers["x-frame-options"]]).toEqual([101, "DENY"])
  })

  it("same_origin compares the scheme too (nats-server 2.10+): https is not this plain listener's origin", async () => {
    expect((await upgrade(s.wsPort, { Origin: `http://127.0.0.1:${s.wsPort}` })).status).toBe(101)
    expect((await upgrade(s.wsPort, { Origin: `https://127.0.0.1:${s.wsPort}` })).status).toBe(403)
  })

  it("refuses the leaf node and MQTT paths (neither is built) with 404", async () => {
    const at = (p: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${s.wsPort}${p}`)
        ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0))
        ws.on("open", () => {
          ws.close()
          resolve(101)
        })
        ws.on("error", reject)
      })
    expect([await at("/leafnode"), await at("/mqtt"), await at("/")]).toEqual([404, 404, 101])
  })

  it("reports the X-Forwarded-For address as the client's", async () => {
    const info = await firstInfo(`ws://127.0.0.1:${s.wsPort}`, { headers: { "X-Forwarded-For": "203.0.113.9" } })
    expect(info.client_ip).toBe("203.0.113.9")
    const direct = await firstInfo(`ws://127.0.0.1:${s.wsPort}`)
    expect(direct.client_ip).toBe("127.0.0.1")
  })

  it("drops a connection that does not finish its upgrade within handshake_timeout", async () => {
    const sock = net.connect(s.wsPort, "127.0.0.1")
    await new Promise((r) => sock.once("connect", r))
    sock.write("GET / HTTP/1.1\r\nHost: x\r\n")
    // Read, or the server's FIN is never seen.
    sock.resume()
    const started = Date.now()
    await new Promise((r) => sock.once("close", r))
    expect(Date.now() - started).toBeLessThan(2500)
  })
})

describe("connect URLs for a cluster's ws_connect_urls", () => {
  const interfaces = {
    lo: [{ address: "127.0.0.1", family: "IPv4", internal: true }],
    eth0: [
      { address: "10.1.2.3", family: "IPv4", internal: false },
      { address: "fe80::1", family: "IPv6", internal: false },
      { address: "2001:db8::7", family: "IPv6", internal: false }
    ]
  } as unknown as ReturnType<typeof os.networkInterfaces>
  it("are the advertise address, else the global addresses of a wildcard host, else the host", () => {
    expect(connectUrls("ws.example.com:443", "0.0.0.0", 8080, interfaces)).toEqual(["ws.example.com:443"])
    expect(connectUrls("ws.example.com", "0.0.0.0", 8080, interfaces)).toEqual(["ws.example.com:8080"])
    expect(connectUrls(undefined, "0.0.0.0", 8080, interfaces)).toEqual(["10.1.2.3:8080", "[2001:db8::7]:8080"])
    expect(connectUrls(undefined, "127.0.0.1", 8080, interfaces)).toEqual(["127.0.0.1:8080"])
  })
})

/** The frames a raw socket reads after a hand-made upgrade: opcode, FIN, RSV1 (compressed) and length of each. */
const rawFrames = async (
  port: number,
  headers: Record<string, string>,
  send: string,
  until: (n: number) => boolean
) => {
  const sock = net.connect(port, "127.0.0.1")
  await new Promise((r) => sock.once("connect", r))
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")
  sock.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${head}\r\n`
  )
  let buf = Buffer.alloc(0)
  let upgraded = false
  const frames: Array<{ opcode: number; fin: boolean; compressed: boolean; length: number }> = []
  const masked = (text: string) => {
    // A client frame must be masked; the all-zero key leaves the bytes as they are.
    const body = Buffer.from(text)
    return Buffer.concat([Buffer.from([0x81, 0x80 | 126, body.length >> 8, body.length & 255, 0, 0, 0, 0]), body])
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`frames so far: ${JSON.stringify(frames)}`)), 10_000)
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d])
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n")
        if (end < 0) return
        upgraded = true
        buf = buf.subarray(end + 4)
        sock.write(masked(send))
      }
      for (;;) {
        if (buf.length < 2) break
        let len = buf[1]! & 127
        let off = 2
        if (len === 126) [len, off] = [buf.readUInt16BE(2), 4]
        else if (len === 127) [len, off] = [Number(buf.readBigUInt64BE(2)), 10]
        if (buf.length < off + len) break
        frames.push({
          opcode: buf[0]! & 15,
          fin: (buf[0]! & 0x80) !== 0,
          compressed: (buf[0]! & 0x40) !== 0,
          length: len
        })
        buf = buf.subarray(off + len)
      }
      if (until(frames.length)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  sock.destroy()
  return frames
}

describe("compressed messages for Safari", () => {
  let s: WsServer
  beforeAll(async () => {
    s = await startBrokerFrom(`websocket { port: -1, no_tls: true, compression: true }`)
  })
  afterAll(() => s.stop())

  it("a large compressed message goes out as one frame (Safari cannot read fragmented compressed ones)", async () => {
    const tcp = await connect({ servers: `127.0.0.1:${s.port}` })
    const safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 " +
      "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    const framesP = rawFrames(
      s.wsPort,
      { "User-Agent": safari, "Sec-WebSocket-Extensions": "permessage-deflate", Origin: "https://app.example" },
      `CONNECT {"verbose":false}\r\nSUB big 1\r\nPING\r\n`,
      (n) => n >= 3
    )
    // INFO and PONG first; the message is published until the subscription is there to get it.
    const big = new Uint8Array(300_000).map((_, i) => (i * 7919) % 251)
    const publishing = setInterval(() => tcp.publish("big", big), 100)
    const frames = await framesP.finally(() => clearInterval(publishing))
    await tcp.close()
    expect(frames.every((f) => f.fin && f.opcode === 2)).toBe(true)
    expect(frames.at(-1)!.compressed).toBe(true)
    expect(frames.at(-1)!.length).toBeLessThan(300_000)
  })
})

describe("the ports file", () => {
  it("lists the WebSocket listener as nats-server does (\"websocket\": [\"ws://host:port\"])", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-wsports-"))
    const s = await startBrokerFrom(`websocket { host: 127.0.0.1, port: -1, no_tls: true }`, { portsFileDir: dir })
    try {
      const ports = JSON.parse(fs.readFileSync(path.join(dir, `nats-server_${process.pid}.ports`), "utf8"))
      expect(ports.websocket).toEqual([`ws://127.0.0.1:${s.wsPort}`])
    } finally {
      await s.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("shutdown and slow consumers", () => {
  it("a broker shutdown closes WebSocket clients with 1001 Server Shutdown", async () => {
    const s = await startBrokerFrom(`websocket { port: -1, no_tls: true }`)
    const c = await rawWs(`ws://127.0.0.1:${s.wsPort}`)
    c.ws.send(`CONNECT {"verbose":false}\r\nPING\r\n`)
    await c.waitFor(/PONG/)
    await s.stop()
    expect(await c.closed).toEqual({ code: 1001, reason: "Server Shutdown" })
  })

  it("cuts off a WebSocket subscriber that stops reading, alone; a WebSocket reader gets every message", async () => {
    const s = await startBrokerFrom(`write_deadline: "2s"\nwebsocket { port: -1, no_tls: true }`)
    try {
      const stalled = await rawWs(`ws://127.0.0.1:${s.wsPort}`)
      stalled.ws.send(`CONNECT {"verbose":false}\r\nSUB flood 1\r\nPING\r\n`)
      await stalled.waitFor(/PONG/)
      // Stop reading: the kernel buffers fill, then the broker's queue for it.
      stalled.ws.pause()

      const reader = await wsconnect({ servers: `ws://127.0.0.1:${s.wsPort}` })
      let received = 0
      let inOrder = true
      const sub = reader.subscribe("flood", {
        callback: (_e, m) => {
          if (Number(m.string().slice(0, 10)) !== received) inOrder = false
          received++
        }
      })
      await reader.flush()
      const pub = await connect({ servers: `127.0.0.1:${s.port}` })
      const filler = "x".repeat(1014)
      let published = 0
      const until = Date.now() + 5_000
      while (Date.now() < until) {
        for (let i = 0; i < 200; i++) pub.publish("flood", `${String(published++).padStart(10, "0")}${filler}`)
        await pub.flush()
      }
      await pub.flush()
      const deadline = Date.now() + 10_000
      while (received < published && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(received).toBe(published)
      expect(inOrder).toBe(true)
      expect(reader.isClosed()).toBe(false)
      expect(s.broker!.server.slowConsumers()).toBe(1)
      // Reading again, it finds its connection gone (abruptly: there was no room for a close frame).
      stalled.ws.resume()
      expect((await stalled.closed).code).toBe(1006)
      sub.unsubscribe()
      await reader.close()
      await pub.close()
    } finally {
      await s.stop()
    }
  }, 30_000)

  it("holds a WebSocket publisher for a stalled TCP subscriber, which alone is cut off", async () => {
    const s = await startBrokerFrom(`write_deadline: "2s"\nwebsocket { port: -1, no_tls: true }`)
    try {
      const stalled = net.connect(s.port, "127.0.0.1")
      let stalledText = ""
      stalled.on("data", (d) => (stalledText += d.toString("latin1")))
      stalled.write(`CONNECT {"verbose":false}\r\nSUB flood 1\r\nPING\r\n`)
      while (!stalledText.includes("PONG")) await new Promise((r) => setTimeout(r, 10))
      stalled.pause()

      const reader = await connect({ servers: `127.0.0.1:${s.port}` })
      let received = 0
      reader.subscribe("flood", { callback: () => void received++ })
      await reader.flush()
      const pub = await wsconnect({ servers: `ws://127.0.0.1:${s.wsPort}` })
      const payload = "p".repeat(1024)
      let published = 0
      const until = Date.now() + 5_000
      while (Date.now() < until) {
        for (let i = 0; i < 200; i++, published++) pub.publish("flood", payload)
        await pub.flush()
      }
      const deadline = Date.now() + 10_000
      while (received < published && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(received).toBe(published)
      expect(pub.isClosed()).toBe(false)
      expect(s.broker!.server.slowConsumers()).toBe(1)
      stalled.destroy()
      await pub.close()
      await reader.close()
    } finally {
      await s.stop()
    }
  }, 30_000)
})
