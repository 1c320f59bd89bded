/**
 * The fault schedule of a run, from its seeded RNG: every offered kind once in a shuffled order,
 * then kinds at random; each with a quiet gap before it and how long it lasts (a killed owner is
 * restarted after a few seconds, a frozen or cut-off owner is held past the 5 s lease).
 */
import type { FaultKind } from "./History.ts"
import type { Rng } from "./Rng.ts"

export interface PlannedFault {
  readonly kind: FaultKind
  /** Quiet time before the fault. */
  readonly gapMs: number
  /** How long until it is healed (restart, SIGCONT, link up, killed primary back). */
  readonly holdMs: number
}

const hold = (rng: Rng, kind: FaultKind): number => {
  switch (kind) {
    case "kill":
      return rng.int(2000, 4000)
    case "stop":
    case "partition":
      return rng.int(8000, 12000)
    case "kill-primary":
      return rng.int(3000, 6000)
  }
}

export function* faultPlan(rng: Rng, kinds: ReadonlyArray<FaultKind>): Generator<PlannedFault> {
  if (kinds.length === 0) return
  const planned = (kind: FaultKind): PlannedFault => ({ kind, gapMs: rng.int(1500, 4000), holdMs: hold(rng, kind) })
  for (const kind of rng.shuffle(kinds)) yield planned(kind)
  for (;;) yield planned(rng.pick(kinds))
}
