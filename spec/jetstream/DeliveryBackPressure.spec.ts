/**
 * Back-pressure inside JetStream, over real sockets: a push consumer delivering a backlog to a deliver
 * subject with one subscriber that never reads and one that reads (nats.js) must hold its delivery
 * while a receiver is congested instead of overrunning both, so the reader gets every message in
 * order and only the non-reader is cut off; and flat-out publishers into a stream are slowed to the
 * stream's pace rather than overflowing its ingest mailbox (which would lose messages).
 */
import { AckPolicy, DeliverPolicy, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import { enterProducer, FlagProducer } from "../../src/core/Backpressure.ts"
import { INGEST_HIGH_WATER } from "../../src/jetstream/stream/StreamActor.ts"
import { startBroker } from "../support/Broker.ts"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A raw connection that subscribes to `subject` and then never reads. */
const nonReader = (port: number, subject: string) =>
  new Promise<{ socket: net.Socket }>((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.on("error", () => {})
    let text = ""
    socket.on("data", (d) => {
      text += d.toString("latin1")
      if (text.includes("INFO") && !text.includes("PONG")) {
        socket.write(`CONNECT {"verbose":false}\r\nSUB ${subject} 1\r\nPING\r\n`)
        text += "PONG?"
      }
      if (/PONG\r\n/.test(text)) {
        socket.removeAllListeners("data")
        socket.pause()
        resolve({ socket })
      }
    })
  })

describe("JetStream back-pressure", () => {
  it(
    "a push consumer holds delivery for a congested subscriber: the healthy one gets everything in order",
    async () => {
      const broker = await startBroker({ jetstream: true, maxPending: 4 * 1024 * 1024, writeDeadlineMs: 1_500 })
      try {
        const nc = await connect({ servers: broker.url, reconnect: false })
        const jsm = await jetstreamManager(nc)
        await jsm.streams.add({ name: "BP", subjects: ["bp.>"], storage: StorageType.Memory })
        const total = 30_000 // 30 MiB of 1 KiB messages: several times max_pending
        for (let i = 0; i < total; i++) {
          // A fresh payload each time: the client may still hold the previous one.
          const payload = new Uint8Array(1024)
          new DataView(payload.buffer).setUint32(0, i)
          nc.publish("bp.x", payload)
          if (i % 1000 === 999) await nc.flush()
        }
        await nc.flush()
        for (let i = 0; i < 100 && (await jsm.streams.info("BP")).state.messages < total; i++) await sleep(50)
        expect((await jsm.streams.info("BP")).state.messages).toBe(total)

        const stuck = await nonReader(broker.port, "deliver.bp")
        const reader = await connect({ servers: broker.url, reconnect: false })
        let next = 0
        let outOfOrder = 0
        reader.subscribe("deliver.bp", {
          callback: (_e, m) => {
            if (new DataView(m.data.buffer, m.data.byteOffset).getUint32(0) !== next) outOfOrder++
            next++
          }
        })
        await reader.flush()
        await jsm.consumers.add("BP", {
          name: "push",
          deliver_subject: "deliver.bp",
          ack_policy: AckPolicy.None,
          deliver_policy: DeliverPolicy.All
        })
        for (let i = 0; i < 400 && next < total; i++) await sleep(50)
        expect(next).toBe(total)
        expect(outOfOrder).toBe(0)
        expect(reader.isClosed()).toBe(false)
        // Only the non-reader was cut off (by the write deadline, not by overrunning max_pending).
        expect(broker.server.slowConsumers()).toBe(1)
        stuck.socket.destroy()
        await reader.close()
        await nc.close()
      } finally {
        await broker.stop()
      }
    },
    40_000
  )

  it("flat-out publishers into a file stream that fsyncs every batch lose nothing", async () => {
    // A file stream that fsyncs every batch: the actor is much slower than the parsers feeding it.
    const broker = await startBroker({ jetstream: true, sync: "always" })
    try {
      const nc = await connect({ servers: broker.url, reconnect: false })
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "IN", subjects: ["in.>"], storage: StorageType.File })
      // Raw publishers writing pre-built batches as fast as the server reads them, no replies.
      const publishers = 10
      const perPublisher = 40_000
      const frame = Buffer.from("PUB in.x 128\r\n" + "x".repeat(128) + "\r\n", "latin1")
      const batch = Buffer.concat(Array.from({ length: 500 }, () => frame))
      const sent = await Promise.all(
        Array.from({ length: publishers }, () =>
          new Promise<void>((resolve) => {
            const s = net.connect(broker.port, "127.0.0.1")
            s.once("data", () => {
              s.write("CONNECT {\"verbose\":false}\r\n")
              let left = perPublisher / 500
              const go = () => {
                while (left > 0) {
                  left--
                  if (!s.write(batch)) return s.once("drain", go)
                }
                s.write("PING\r\n")
                s.on("data", (d) => {
                  if (d.toString().includes("PONG")) {
                    s.destroy()
                    resolve()
                  }
                })
              }
              go()
            })
          }))
      )
      expect(sent.length).toBe(publishers)
      let messages = 0
      for (let i = 0; i < 100; i++) {
        messages = (await jsm.streams.info("IN")).state.messages
        if (messages === publishers * perPublisher) break
        await sleep(50)
      }
      expect(messages).toBe(publishers * perPublisher)
      await nc.close()
    } finally {
      await broker.stop()
    }
  }, 40_000)

  it("a producer publishing past the stream's ingest high-water mark is held until the actor takes the batch", async () => {
    // The burst is larger than 2.11's default max_buffered_msgs (10,000, answered 429): only the byte mark is tested here.
    const broker = await startBroker({ jetstream: true, maxBufferedMsgs: -1 })
    try {
      const nc = await connect({ servers: broker.url, reconnect: false })
      const jsm = await jetstreamManager(nc)
      await jsm.streams.add({ name: "HOLD", subjects: ["hold.>"], storage: StorageType.Memory })
      let resumed = 0
      const producer = new FlagProducer(() => resumed++)
      const payload = new Uint8Array(128)
      // One synchronous burst, as one socket read chunk is parsed: more than the high-water mark.
      const count = Math.ceil(INGEST_HIGH_WATER / (128 + 256)) + 1_000
      const prev = enterProducer(producer)
      for (let i = 0; i < count; i++) broker.router.publish(undefined, "hold.x", undefined, -1, payload)
      enterProducer(prev)
      expect(producer.isHeld).toBe(true)
      for (let i = 0; i < 100 && producer.isHeld; i++) await sleep(10)
      expect(producer.isHeld).toBe(false)
      expect(resumed).toBe(1)
      expect((await jsm.streams.info("HOLD")).state.messages).toBe(count)
      await nc.close()
    } finally {
      await broker.stop()
    }
  })
})
