/**
 * A vitest `globalSetup` file: one test server for the whole run, its URL in `process.env.NATS_URL`
 * (inherited by the test workers) and in `inject("natsUrl")`.
 *
 *   // vitest.config.ts
 *   export default defineConfig({ test: { globalSetup: ["effect-jetstream/testing/vitest-setup"] } })
 *
 * Options come from the environment: `EFFECT_JETSTREAM_STORAGE` (`memory` default, or `file`).
 * Workers run in other processes, so the test clock is not offered here; use `startTestServer`
 * inside a test file for time travel.
 */
import { BrokerConfigError } from "../embed/Errors.ts"
import { startTestServer } from "./TestServer.ts"

/** The part of vitest's `TestProject` used here (kept structural so vitest stays optional). */
interface ProvidingProject {
  provide(key: string, value: unknown): void
}

export default async function setup(project?: ProvidingProject): Promise<() => Promise<void>> {
  const storage = process.env.EFFECT_JETSTREAM_STORAGE
  if (storage !== undefined && storage !== "memory" && storage !== "file") {
    throw new BrokerConfigError({
      message: `EFFECT_JETSTREAM_STORAGE must be "memory" or "file", not ${JSON.stringify(storage)}`
    })
  }
  const srv = await startTestServer({ storage: storage ?? "memory" })
  process.env.NATS_URL = srv.url
  project?.provide("natsUrl", srv.url)
  return () => srv.close()
}
