/**
 * A raw TCP client for protocol-level tests: send exact bytes, read what comes back (INFO line
 * stripped), and whether the server closed the connection.
 */
import * as net from "node:net"

export interface RawResult {
  readonly info: Record<string, unknown> | undefined
  readonly text: string
  readonly closed: boolean
}

/** Sends `input` after INFO and collects output until the server closes or `waitMs` passes quietly. */
export const rawExchange = (port: number, input: string | Buffer, waitMs = 250): Promise<RawResult> =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1")
    let out = ""
    let sent = false
    let timer: NodeJS.Timeout | undefined
    const finish = (closed: boolean) => {
      clearTimeout(timer)
      s.destroy()
      const m = /^INFO (\{.*\}) \r\n/.exec(out)
      resolve({
        info: m ? (JSON.parse(m[1]!) as Record<string, unknown>) : undefined,
        text: m ? out.slice(m[0].length) : out,
        closed
      })
    }
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => finish(false), waitMs)
    }
    s.on("data", (d) => {
      out += d.toString("latin1")
      if (!sent && out.includes("\r\n")) {
        sent = true
        s.write(typeof input === "string" ? Buffer.from(input, "latin1") : input)
      }
      arm()
    })
    s.on("close", () => finish(true))
    s.on("error", (e) => (sent ? undefined : reject(e)))
    arm()
  })
