/**
 * A planted-bug server for the conformance kit's own tests: a TCP proxy in front of a real broker that
 * can rewrite what the server says. `rewritePubAckSeq` makes every PubAck with seq >= 3 claim seq + 1
 * (the stored message keeps its real sequence), the kind of bug a model-based property must catch.
 */
import * as net from "node:net"

export interface Proxy {
  readonly url: string
  /** Turns the planted bug on or off for new bytes. */
  bug: boolean
  close(): Promise<void>
}

const CRLF = Buffer.from("\r\n")

/** Server → client: parses MSG frames and applies `rewrite` to each payload; everything else passes. */
const serverToClient = (rewrite: (payload: Buffer) => Buffer) => {
  let buf = Buffer.alloc(0)
  return (chunk: Buffer): Buffer => {
    buf = Buffer.concat([buf, chunk])
    const out: Array<Buffer> = []
    for (;;) {
      const eol = buf.indexOf(CRLF)
      if (eol < 0) break
      const line = buf.subarray(0, eol).toString("latin1")
      const m = /^MSG (\S+) (\S+) (?:(\S+) )?(\d+)$/i.exec(line)
      const h = /^HMSG (\S+) (\S+) (?:(\S+) )?(\d+) (\d+)$/i.exec(line)
      if (m === null && h === null) {
        out.push(buf.subarray(0, eol + 2))
        buf = buf.subarray(eol + 2)
        continue
      }
      const size = Number(m !== null ? m[4] : h![5])
      if (buf.length < eol + 2 + size + 2) break
      const body = buf.subarray(eol + 2, eol + 2 + size)
      buf = buf.subarray(eol + 2 + size + 2)
      if (m !== null) {
        const payload = rewrite(Buffer.from(body))
        out.push(
          Buffer.from(`MSG ${m[1]} ${m[2]} ${m[3] !== undefined ? `${m[3]} ` : ""}${payload.length}\r\n`, "latin1")
        )
        out.push(payload, CRLF)
      } else {
        out.push(Buffer.from(line + "\r\n", "latin1"), body, CRLF)
      }
    }
    return Buffer.concat(out)
  }
}

export const startProxy = (target: { host: string; port: number }): Promise<Proxy> =>
  new Promise((resolve) => {
    const sockets = new Set<net.Socket>()
    const state = { bug: false }
    const rewrite = (payload: Buffer): Buffer => {
      const text = payload.toString("utf8")
      if (!state.bug || !text.startsWith("{\"stream\"") || text.includes("\"error\"")) return payload
      return Buffer.from(
        text.replace(/"seq":\s*(\d+)/, (all, n: string) => (Number(n) >= 3 ? `"seq":${Number(n) + 1}` : all))
      )
    }
    const server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host)
      sockets.add(client).add(upstream)
      const fromServer = serverToClient(rewrite)
      client.on("data", (d) => upstream.write(d))
      upstream.on("data", (d) => {
        const out = fromServer(d)
        if (out.length > 0) client.write(out)
      })
      const end = () => {
        client.destroy()
        upstream.destroy()
      }
      client.on("close", end).on("error", end)
      upstream.on("close", end).on("error", end)
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      resolve({
        url: `nats://127.0.0.1:${port}`,
        get bug() {
          return state.bug
        },
        set bug(v: boolean) {
          state.bug = v
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy()
            server.close(() => r())
          })
      })
    })
  })
