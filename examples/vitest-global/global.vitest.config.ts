// A project's vitest config using the broker's global setup: one server for the whole run.
// (In an application: `globalSetup: ["effect-jetstream/testing/vitest-setup"]`.)
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["examples/vitest-global/*.global-test.ts"],
    globalSetup: ["src/testing/VitestGlobalSetup.ts"]
  }
})
