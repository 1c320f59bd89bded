import { defineConfig } from "vitest/config"

// vitest 5's reporter calls Map.groupBy (Node 21+) when printing failures; Node 20 is our primary
// runtime, so provide it here (this file is loaded in the main vitest process).
if (typeof (Map as { groupBy?: unknown }).groupBy !== "function") {
  Object.defineProperty(Map, "groupBy", {
    value: <K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, Array<T>> => {
      const out = new Map<K, Array<T>>()
      let i = 0
      for (const item of items) {
        const k = key(item, i++)
        const group = out.get(k)
        if (group === undefined) out.set(k, [item])
        else group.push(item)
      }
      return out
    }
  })
}

export default defineConfig({
  test: {
    include: ["spec/**/*.spec.ts", "examples/**/*.spec.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Wire tests bind real sockets; two cores on CI, so keep file-level parallelism modest.
    maxWorkers: 2,
    fileParallelism: true
  }
})
