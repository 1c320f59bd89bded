/**
 * `npm run jepsen -- --minutes 10 [--seed S] [--publishers K] [--workers W] [--loopback]`: the
 * Jepsen-style run of src/testing/jepsen/ against three brokers on a throwaway PostgreSQL, in
 * network namespaces when it can make them. Prints the report as JSON, then a summary; exits 1 on
 * any violation (2 on bad arguments).
 */
import { parseArgs } from "node:util"
import { runJepsen } from "../src/testing/jepsen/Jepsen.ts"
import { summary } from "../src/testing/jepsen/Report.ts"

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "1" },
    seed: { type: "string" },
    publishers: { type: "string", default: "3" },
    workers: { type: "string", default: "2" },
    loopback: { type: "boolean", default: false }
  }
})
const minutes = Number(values.minutes)
const seed = values.seed === undefined ? undefined : Number(values.seed)
const publishers = Number(values.publishers)
const workers = Number(values.workers)
if (!(minutes > 0) || (seed !== undefined && !Number.isInteger(seed)) || !(publishers >= 1) || !(workers >= 0)) {
  console.error("usage: npm run jepsen -- [--minutes N] [--seed S] [--publishers K] [--workers W] [--loopback]")
  process.exit(2)
}
// Exiting runs the harness's exit hook, which kills the brokers and removes the namespaces.
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130))
const report = await runJepsen({
  durationMs: minutes * 60_000,
  ...(seed === undefined ? {} : { seed }),
  publishers,
  workers,
  ...(values.loopback ? { namespaces: false } : {}),
  log: (line) => console.error(line)
})
console.log(JSON.stringify(report, null, 2))
console.log(summary(report))
process.exit(report.check.valid ? 0 : 1)
