/**
 * `npm run jepsen -- --minutes 10 [--seed S] [--publishers K] [--workers W] [--loopback] [--ha]`: the
 * Jepsen-style run of src/testing/jepsen/ against three brokers on a throwaway PostgreSQL, in
 * network namespaces when it can make them (`--ha`: on the pg_auto_failover store, on loopback,
 * with kills of its primary among the faults). Prints the report as JSON, then a summary; exits 1 on
 * any violation (2 on bad arguments).
 */
import { parseArgs } from "node:util"
import { haPostgres } from "../src/testing/jepsen/HaStore.ts"
import { runJepsen } from "../src/testing/jepsen/Jepsen.ts"
import { summary } from "../src/testing/jepsen/Report.ts"

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "1" },
    seed: { type: "string" },
    publishers: { type: "string", default: "3" },
    workers: { type: "string", default: "2" },
    loopback: { type: "boolean", default: false },
    ha: { type: "boolean", default: false }
  }
})
const minutes = Number(values.minutes)
const seed = values.seed === undefined ? undefined : Number(values.seed)
const publishers = Number(values.publishers)
const workers = Number(values.workers)
if (!(minutes > 0) || (seed !== undefined && !Number.isInteger(seed)) || !(publishers >= 1) || !(workers >= 0)) {
  console.error("usage: npm run jepsen -- [--minutes N] [--seed S] [--publishers K] [--workers W] [--loopback] [--ha]")
  process.exit(2)
}
// Exiting runs the harness's exit hook, which kills the brokers and removes the namespaces.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130))
const report = await runJepsen({
  durationMs: minutes * 60_000,
  ...(seed === undefined ? {} : { seed }),
  publishers,
  workers,
  // The HA store listens on loopback only (src/testing/TestPostgresHa.ts): no partitions then.
  ...(values.loopback || values.ha ? { namespaces: false } : {}),
  ...(values.ha ? { store: haPostgres } : {}),
  log: (line) => console.error(line)
})
console.log(JSON.stringify(report, null, 2))
console.log(summary(report))
process.exit(report.check.valid ? 0 : 1)
