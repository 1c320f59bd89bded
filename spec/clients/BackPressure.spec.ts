/**
 * Back-pressure over real sockets against the broker in a child process (the CLI, default limits:
 * 64 MiB max_pending, 10 s write deadline): a flat-out publisher, a subscriber that never reads and
 * one that reads with the nats.js client. The publisher is slowed instead of buffered for, so the
 * reader stays connected and gets every message in order while the server's memory stays bounded,
 * and only the non-reader is cut off as a slow consumer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { runFlood } from "../support/Flood.ts"
import { type BrokerProcess, startCli } from "../support/Process.ts"

describe("back-pressure: a fast publisher, a non-reader and a healthy reader", () => {
  let broker: BrokerProcess
  beforeAll(async () => {
    broker = await startCli([])
  })
  afterAll(async () => {
    await broker.stop()
  })

  it(
    "keeps the reader connected with every message in order, cuts off only the non-reader, and bounds memory",
    async () => {
      const slowConsumerLines = () => broker.log().match(/Slow Consumer Detected/g)?.length ?? 0
      const r = await runFlood({
        port: broker.port,
        publishMs: 14_000,
        reader: "client",
        pid: broker.child.pid!,
        settleMs: 10_000,
        slowConsumerLogged: () => slowConsumerLines() > 0
      })
      expect(r.readerDisconnected).toBe(false)
      expect(r.outOfOrder).toBe(0)
      expect(r.received).toBe(r.published)
      // The non-reader is cut off by the write deadline (10 s of holding publishers), and only it.
      expect(r.nonReaderClosed).toBe(true)
      expect(slowConsumerLines()).toBe(1)
      expect(broker.log()).toMatch(/Slow Consumer Detected: WriteDeadline of 10000ms exceeded/)
      expect(r.cutAtMs).toBeGreaterThan(9_000)
      // Once the non-reader is gone the publisher runs again at the reader's pace.
      expect(r.received - r.receivedAtCut).toBeGreaterThan(10_000)
      // Held publishers, not buffers: two subscribers stay within half of max_pending (32 MiB) each.
      expect(r.peakRssKb).toBeGreaterThan(0)
      expect(r.peakRssKb / 1024).toBeLessThan(320)
    },
    60_000
  )
})
