/**
 * A Jepsen run's report: the checker's counts and violations, and per fault how long until the
 * first PubAck to a publish sent after it and until stream info answered again (from another node,
 * naming a new leader); as JSON and as a readable summary.
 */
import type { CheckResult } from "./Checker.ts"
import type { ConsumerSnapshot, FaultKind } from "./History.ts"

export interface FaultReport {
  readonly kind: FaultKind
  readonly node: string | undefined
  /** Seconds since the workload started. */
  readonly atS: number
  readonly heldMs: number | undefined
  /** Fault → first PubAck to an attempt sent after it. */
  readonly firstAckMs: number | undefined
  /** Fault → stream info answered by another node with another leader (after the heal: any). */
  readonly infoMs: number | undefined
  readonly movedTo: string | undefined
}

export interface JepsenReport {
  readonly seed: number
  readonly mode: "netns" | "loopback"
  readonly loopbackReason: string | undefined
  readonly durationS: number
  readonly publishers: number
  readonly workers: number
  readonly faultKinds: ReadonlyArray<FaultKind>
  readonly faults: ReadonlyArray<FaultReport>
  readonly publishAttempts: number
  readonly publishErrors: Readonly<Record<string, number>>
  readonly deliveries: number
  /** Deliveries of the final drain (messages whose ack was not confirmed during the run come again). */
  readonly drainDeliveries: number
  readonly consumerBefore: ConsumerSnapshot | undefined
  readonly consumerAfter: ConsumerSnapshot | undefined
  readonly check: CheckResult
  /** The tail of each broker's log, when the check failed. */
  readonly logs: Readonly<Record<string, string>> | undefined
  /** Where the whole kept log of each broker was written, when the check failed. */
  readonly logFiles: ReadonlyArray<string> | undefined
}

const ms = (v: number | undefined) => (v === undefined ? "-" : `${(v / 1000).toFixed(2)} s`)

export const summary = (r: JepsenReport): string => {
  const c = r.check
  const lines = [
    `jepsen seed ${r.seed}, ${r.mode}${r.loopbackReason === undefined ? "" : ` (${r.loopbackReason})`}, ` +
    `${r.durationS.toFixed(0)} s, ${r.publishers} publishers, ${r.workers} workers, faults: ${r.faultKinds.join(", ")}`,
    `published ${c.published} ids in ${r.publishAttempts} attempts; acked ${c.acked}, lost ${c.lost}, ` +
    `duplicated ${c.duplicated}, unacked-but-present ${c.unackedPresent}, unacked-absent ${c.unackedAbsent}, ` +
    `deduplicated retries ${c.dedupedRetries}`,
    `stream holds ${c.streamMessages}; consumer: ${r.deliveries} deliveries (${r.drainDeliveries} in the drain), ${c.confirmedConsumerAcks} seqs with a confirmed ack`,
    "faults (→ first PubAck / → stream info from a new leader):"
  ]
  for (const f of r.faults) {
    lines.push(
      `  ${f.atS.toFixed(1).padStart(6)} s ${f.kind.padEnd(12)} ${(f.node ?? "store").padEnd(5)} held ${ms(f.heldMs)}` +
        `  ack ${ms(f.firstAckMs)}  info ${ms(f.infoMs)}${f.movedTo === undefined ? "" : ` (→ ${f.movedTo})`}`
    )
  }
  lines.push(c.valid ? "OK: no violation" : `VIOLATIONS (${c.violations.length}):`)
  for (const v of c.violations) lines.push(`  ${v.kind}: ${v.detail}`)
  if (r.logFiles !== undefined) lines.push(`broker logs: ${r.logFiles.join(" ")}`)
  return lines.join("\n")
}
