import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["spec/**/*.spec.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Wire tests bind real sockets; two cores on CI, so keep file-level parallelism modest.
    maxWorkers: 2,
    fileParallelism: true
  }
})
