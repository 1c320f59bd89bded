/**
 * The conformance kit: fast-check properties run over the wire with the official nats.js clients
 * against any JetStream server.
 *
 * @example
 * const report = await runConformance({ server: "nats://127.0.0.1:4222", runs: 5 })
 * process.stdout.write(format(report))
 */
export { runConformanceCli } from "./Cli.ts"
export type { ConformanceProperty, PropertyResult } from "./Property.ts"
export { format, type Report } from "./Report.ts"
export { type ConformanceOptions, DEFAULT_RUNS, properties, runConformance } from "./Runner.ts"
