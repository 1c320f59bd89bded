/**
 * A seeded random number generator (mulberry32): the same seed gives the same fault schedule, so
 * a run that found a violation can be repeated with `--seed`.
 */
export interface Rng {
  readonly seed: number
  /** A float in [0, 1). */
  next(): number
  /** An integer in [min, max]. */
  int(min: number, max: number): number
  pick<A>(items: ReadonlyArray<A>): A
  shuffle<A>(items: ReadonlyArray<A>): Array<A>
}

export const makeRng = (seed: number): Rng => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  return {
    seed,
    next,
    int,
    pick: (items) => items[int(0, items.length - 1)]!,
    shuffle: (items) => {
      const out = [...items]
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i)
        ;[out[i], out[j]] = [out[j]!, out[i]!]
      }
      return out
    }
  }
}

/** A seed for a run that was given none (printed, so the run can be repeated). */
export const freshSeed = (): number => Math.floor(Math.random() * 2 ** 31)
