/**
 * Back-pressure benchmark: the flood scenario (spec/support/Flood.ts) against effect-jetstream and
 * nats-server, alternating (ejs, nats, ejs, nats, ...), each run on a fresh server child process.
 *
 *   npx tsx bench/backpressure.bench.ts [--seconds S] [--runs N] [--reader raw|client] [--only KIND]
 *
 * One publisher writes 1 KiB messages flat out, one subscriber never reads, one reads. Reported per
 * run: messages and MiB/s delivered to the healthy reader (over the time until its last message),
 * whether it stayed connected and got every message in order, when the non-reader was cut off,
 * and the server's peak RSS.
 */
import { PAYLOAD, runFlood } from "../spec/support/Flood.ts"
import { fail, findNatsServer, flagCount, parseArgs, type ServerKind, serversOf, startServer } from "./support.ts"

const USAGE =
  "usage: npx tsx bench/backpressure.bench.ts [--seconds S (20)] [--runs N (2)] [--reader raw|client] [--only KIND]\n"
const args = parseArgs(process.argv.slice(2), USAGE, [], ["--seconds", "--runs", "--reader", "--only"])
const seconds = flagCount(args, "--seconds", 20)
const runs = flagCount(args, "--runs", 2)
const readerFlag = args.flags.get("--reader") ?? "raw"
if (readerFlag !== "raw" && readerFlag !== "client") fail(`--reader: ${readerFlag}\n${USAGE}`)
const reader: "raw" | "client" = readerFlag
const natsPath = findNatsServer()
const kinds: ReadonlyArray<ServerKind> = serversOf(args).filter((k) => k !== "nats-server" || natsPath !== undefined)

const rows: Array<string> = []
for (let run = 1; run <= runs; run++) {
  for (const kind of kinds) {
    const server = await startServer(kind, natsPath === undefined ? {} : { natsServerPath: natsPath })
    try {
      const cut = () => server.tail.some((l) => l.includes("Slow Consumer Detected"))
      const r = await runFlood({
        port: server.port,
        publishMs: seconds * 1000,
        reader,
        pid: server.pid,
        settleMs: 20_000,
        slowConsumerLogged: cut
      })
      // Whole run: from the publisher's start to the reader's last message.
      const secs = r.deliveredInMs / 1000
      const mibs = (r.received * PAYLOAD) / 1024 / 1024 / secs
      // After the non-reader is gone: the publisher against the healthy reader alone.
      const after = r.cutAtMs === undefined
        ? Number.NaN
        : (r.received - r.receivedAtCut) / ((r.deliveredInMs - r.cutAtMs) / 1000)
      rows.push(
        [
          kind.padEnd(16),
          `run ${run}`,
          `${r.received.toLocaleString("en-US")}/${r.published.toLocaleString("en-US")} msgs`.padStart(26),
          `${Math.round(r.received / secs).toLocaleString("en-US")} msgs/s`.padStart(16),
          `${mibs.toFixed(1)} MiB/s`.padStart(13),
          r.outOfOrder === 0 ? "in order" : `${r.outOfOrder} out of order`,
          r.readerDisconnected ? "READER CUT OFF" : "reader connected",
          `non-reader ${r.nonReaderClosed ? "cut off" : "NOT CUT OFF"} (logged at ${
            r.cutAtMs === undefined ? "-" : (r.cutAtMs / 1000).toFixed(1) + " s"
          })`,
          `after: ${Math.round(after).toLocaleString("en-US")} msgs/s ${
            ((after * PAYLOAD) / 1024 / 1024).toFixed(1)
          } MiB/s`,
          `peak RSS ${(r.peakRssKb / 1024).toFixed(0)} MiB`
        ].join("  ")
      )
      console.error(rows[rows.length - 1])
    } finally {
      await server.stop()
    }
  }
}
console.log(
  `flood: 1 publisher (raw, flat out) + 1 non-reading + 1 ${reader} reading subscriber, ${PAYLOAD} B messages, ${seconds} s`
)
for (const r of rows) console.log(r)
