/**
 * The conformance report: one result per property, and its human-readable rendering.
 */
import type { PropertyResult } from "./Property.ts"

export interface Report {
  readonly server: string
  /** Server name and version from INFO, when the server could be reached. */
  readonly serverVersion: string | undefined
  readonly seed: number
  readonly durationMs: number
  readonly passed: number
  readonly failed: number
  readonly skipped: number
  readonly properties: ReadonlyArray<PropertyResult>
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`

export const format = (r: Report): string => {
  const lines: Array<string> = []
  lines.push(
    `JetStream conformance against ${r.server}${
      r.serverVersion !== undefined ? ` (${r.serverVersion})` : ""
    }, seed ${r.seed}`
  )
  lines.push("")
  for (const p of r.properties) {
    const mark = p.status === "passed" ? "PASS" : p.status === "failed" ? "FAIL" : "SKIP"
    const runs = p.status === "skipped" ? p.skippedReason ?? "" : `${p.numRuns} runs, ${seconds(p.durationMs)}`
    lines.push(`${mark} ${p.name} (${runs})`)
    lines.push(`     ${p.description}`)
    if (p.differences !== undefined) lines.push(`     differences: ${p.differences}`)
    if (p.status === "failed") {
      lines.push(`     error: ${p.error ?? "failed"}`)
      if (p.counterexample !== undefined) {
        lines.push(`     counterexample (shrunk ${p.shrinks ?? 0} times, ${p.counterexample.length} operations):`)
        for (const op of p.counterexample) lines.push(`       ${op}`)
      }
      lines.push(
        `     replay: effect-jetstream conformance --server ${r.server} --only ${p.name} --seed ${p.seed} --path "${
          p.path ?? ""
        }"`
      )
    }
  }
  lines.push("")
  lines.push(`${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped in ${seconds(r.durationMs)}`)
  return lines.join("\n") + "\n"
}
