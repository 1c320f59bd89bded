/**
 * A temporary PostgreSQL per spec file (src/testing/TestPostgres.ts), on a port of 25400-25499 (below the kernel's ephemeral range, 32768-60999).
 * Without PostgreSQL's binaries the suite is skipped and the reason printed.
 */
import { Effect, Exit, Scope } from "effect"
import { describe } from "vitest"
import { type ClusterStoreShape, make } from "../../src/cluster/store/ClusterStore.ts"
import { findPostgresBin, startPostgres, type TestPostgres } from "../../src/testing/TestPostgres.ts"

let nextPort = 25400 + Math.floor(Math.random() * 90)

/** A free-looking port of the range (each start tries the next one on a clash). */
export const postgresPort = (): number => {
  nextPort = nextPort >= 25499 ? 25400 : nextPort + 1
  return nextPort
}

export const startTestPostgres = async (): Promise<TestPostgres> => {
  let lastError: unknown
  for (let i = 0; i < 5; i++) {
    try {
      return await startPostgres({ port: postgresPort(), fast: true })
    } catch (e) {
      lastError = e
    }
  }
  throw lastError
}

/** `describe`, or a skipped one with the printed reason when PostgreSQL is not installed. */
export const describePostgres = (title: string, body: () => void): void => {
  if (findPostgresBin() === undefined) {
    console.log(`${title}: skipped, PostgreSQL server binaries not found (apt-get install postgresql)`)
    describe.skip(title, body)
  } else describe(title, body)
}

/** A ClusterStore on `url` that lives until `close`. */
export const openStore = async (url: string): Promise<{ store: ClusterStoreShape; close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const store = await Effect.runPromise(Scope.provide(make(url), scope))
  return { store, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
