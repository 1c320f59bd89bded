/**
 * The flood scenario, shared by spec/clients/BackPressure.spec.ts and bench/backpressure.bench.ts:
 * one publisher writing 1 KiB messages to one subject as fast as the server reads them (a raw
 * socket in its own process, so the reader cannot slow it down by sharing a thread; it waits only
 * for its own socket's drain), one subscriber that never reads (a raw socket, paused), and one
 * subscriber that reads normally and checks that every message arrives, in order. Each payload
 * starts with its sequence number (uint32, big-endian).
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Buffer } from "node:buffer"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"

export const SUBJECT = "flood"
export const PAYLOAD = 1024

export interface FloodOptions {
  readonly port: number
  /** How long the publisher publishes. */
  readonly publishMs: number
  /** How the healthy subscriber reads: the nats.js client, or a raw socket with a frame scanner. */
  readonly reader: "client" | "raw"
  /** A process whose VmRSS is sampled (the server). */
  readonly pid?: number
  /** How long to wait after publishing for the reader to catch up. */
  readonly settleMs?: number
  /** Polled every 50 ms: has the server reported cutting off a slow consumer (its log)? */
  readonly slowConsumerLogged?: () => boolean
}

export interface FloodResult {
  readonly published: number
  readonly received: number
  /** Messages that arrived out of order or with a gap (0 when every message came in order). */
  readonly outOfOrder: number
  /** The healthy reader's connection was lost. */
  readonly readerDisconnected: boolean
  /** When (ms after the publisher started) `slowConsumerLogged` first said yes; undefined = never. */
  readonly cutAtMs: number | undefined
  /** Messages the reader had received by then. */
  readonly receivedAtCut: number
  /** The non-reader's connection was closed by the server (seen once it reads again, at the end). */
  readonly nonReaderClosed: boolean
  /** ms from the publisher's start until the reader had its last message. */
  readonly deliveredInMs: number
  /** Peak VmRSS of `pid` while the scenario ran, KiB (0 without a pid). */
  readonly peakRssKb: number
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

const readRssKb = (pid: number): number => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** Opens a raw connection, sends `lines` after INFO, and resolves once the server answered PONG. */
const rawConnect = (port: number, lines: string): Promise<{ socket: net.Socket; rest: Buffer }> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.setNoDelay(true)
    let buf = Buffer.alloc(0)
    let sent = false
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      const text = buf.toString("latin1")
      if (!sent && text.includes("\r\n")) {
        sent = true
        socket.write(`CONNECT {"verbose":false,"pedantic":false}\r\n${lines}PING\r\n`)
      }
      const at = text.indexOf("PONG\r\n")
      if (at >= 0) {
        socket.off("data", onData)
        resolve({ socket, rest: buf.subarray(at + 6) })
      }
    }
    socket.on("data", onData)
    socket.once("error", reject)
  })

/**
 * The publisher process: after the server's PONG it prints "start", writes batches of 64
 * `PUB flood 1024` messages (sequence-numbered) whenever its socket has room, for `ms`, then
 * prints how many it handed to the socket and exits once they are all written.
 */
const PUBLISHER = `
const net = require("node:net")
const [port, ms] = process.argv.slice(1).map(Number)
const line = Buffer.from("PUB ${SUBJECT} ${PAYLOAD}\\r\\n", "latin1")
const frame = line.length + ${PAYLOAD} + 2
const batch = 64
const template = Buffer.alloc(frame * batch)
for (let i = 0; i < batch; i++) {
  line.copy(template, i * frame)
  template.write("\\r\\n", i * frame + line.length + ${PAYLOAD}, "latin1")
}
const s = net.connect(port, "127.0.0.1")
s.setNoDelay(true)
s.on("error", () => process.exit(1))
let text = ""
let sent = false
let published = 0
const onData = (d) => {
  text += d.toString("latin1")
  if (!sent && text.includes("\\r\\n")) {
    sent = true
    s.write('CONNECT {"verbose":false,"pedantic":false}\\r\\nPING\\r\\n')
  }
  if (text.includes("PONG\\r\\n")) {
    s.off("data", onData)
    s.resume()
    process.stdout.write("start\\n")
    const until = Date.now() + ms
    const next = () => {
      while (Date.now() < until) {
        const b = Buffer.from(template)
        for (let i = 0; i < batch; i++) b.writeUInt32BE(published + i, i * frame + line.length)
        published += batch
        if (!s.write(b)) return s.once("drain", next)
      }
      process.stdout.write(JSON.stringify({ published }) + "\\n")
      s.end(() => process.exit(0))
    }
    next()
  }
}
s.on("data", onData)
`

/** The raw healthy reader: every frame is `MSG flood 1 1024\r\n<payload>\r\n`, so frames have one size. */
const MSG_LINE = `MSG ${SUBJECT} 1 ${PAYLOAD}\r\n`
const MSG_FRAME = MSG_LINE.length + PAYLOAD + 2

export const runFlood = async (o: FloodOptions): Promise<FloodResult> => {
  // The subscriber that never reads.
  const stuck = await rawConnect(o.port, `SUB ${SUBJECT} 1\r\n`)
  stuck.socket.pause()
  let nonReaderClosed = false
  let t0 = 0
  stuck.socket.on("close", () => (nonReaderClosed = true))
  stuck.socket.on("error", () => {})

  // The healthy subscriber.
  let received = 0
  let outOfOrder = 0
  let lastAt = 0
  let readerDisconnected = false
  const onSeq = (seq: number) => {
    if (seq !== received) outOfOrder++
    received = seq + 1
    lastAt = Date.now()
  }
  let nc: NatsConnection | undefined = undefined
  let rawReader: net.Socket | undefined = undefined
  if (o.reader === "client") {
    nc = await connect({ port: o.port, reconnect: false })
    nc.subscribe(SUBJECT, {
      callback: (_e, m) => onSeq(new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength).getUint32(0))
    })
    await nc.flush()
    void nc.closed().then(() => (readerDisconnected = true))
  } else {
    const r = await rawConnect(o.port, `SUB ${SUBJECT} 1\r\n`)
    rawReader = r.socket
    let pending: Buffer = r.rest
    r.socket.on("data", (d: Buffer) => {
      let buf = pending.length === 0 ? d : Buffer.concat([pending, d])
      let at = 0
      while (buf.length - at >= MSG_FRAME) {
        if (buf[at] !== 77 /* M */) {
          // A server PING (nats-server sends one soon after connecting); anything else is wrong.
          const eol = buf.indexOf("\r\n", at)
          if (buf.toString("latin1", at, eol) === "PING") r.socket.write("PONG\r\n")
          else outOfOrder++
          at = eol + 2
          continue
        }
        onSeq(buf.readUInt32BE(at + MSG_LINE.length))
        at += MSG_FRAME
      }
      pending = at === 0 ? buf : buf.subarray(at)
    })
    r.socket.on("close", () => (readerDisconnected = true))
    r.socket.on("error", () => {})
  }

  let peakRssKb = 0
  let cutAt: number | undefined = undefined
  let receivedAtCut = 0
  const sampler = setInterval(() => {
    if (o.pid !== undefined) peakRssKb = Math.max(peakRssKb, readRssKb(o.pid))
    if (cutAt === undefined && t0 > 0 && o.slowConsumerLogged?.() === true) {
      cutAt = Date.now() - t0
      receivedAtCut = received
    }
  }, 50)

  // The publisher.
  const child = spawn(process.execPath, ["-e", PUBLISHER, String(o.port), String(o.publishMs)], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  let out = ""
  let published = 0
  let ended = false
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString("latin1")
      if (out.includes("start\n")) resolve()
      const m = /\{"published":(\d+)\}/.exec(out)
      if (m) published = Number(m[1])
    })
    child.on("exit", (code) => {
      ended = true
      if (code !== 0) reject(new Error(`publisher exited with ${code}`))
    })
  })
  await started
  t0 = Date.now()
  // The publisher ends once the server has read all it published (it is held while a receiver is congested).
  const endBy = t0 + o.publishMs + (o.settleMs ?? 15_000)
  while (!ended && Date.now() < endBy) await sleep(50)
  if (!ended) child.kill()
  // Wait until the reader has everything that was handed to the publisher's socket, or settles.
  const settleBy = Date.now() + (o.settleMs ?? 15_000)
  while (received < published && !readerDisconnected && Date.now() < settleBy) await sleep(50)
  clearInterval(sampler)
  // A paused socket does not notice the server closing it; read again to find out.
  stuck.socket.resume()
  const closeBy = Date.now() + 2_000
  while (!nonReaderClosed && Date.now() < closeBy) await sleep(20)
  const result: FloodResult = {
    published,
    received,
    outOfOrder,
    readerDisconnected,
    cutAtMs: cutAt,
    receivedAtCut,
    nonReaderClosed,
    deliveredInMs: lastAt - t0,
    peakRssKb
  }
  stuck.socket.destroy()
  rawReader?.destroy()
  if (nc !== undefined && !nc.isClosed()) await nc.close()
  return result
}
