/**
 * The cluster store of a Jepsen run, pluggable: a single throwaway PostgreSQL here, an HA cluster
 * (with a primary that can be killed) elsewhere. The factory is given the address the brokers
 * reach it on (the bridge in namespace mode, loopback otherwise).
 */
import { startPostgres } from "../TestPostgres.ts"

export interface JepsenStore {
  /** The `cluster_store` URL the brokers get. */
  readonly url: string
  /**
   * Kills the current primary (the HA store fails over by itself); resolves with what brings the
   * killed server back. Undefined when the store has no standby to fail over to: the fault is
   * then not offered.
   */
  readonly killPrimary: (() => Promise<() => Promise<void>>) | undefined
  stop(): Promise<void>
}

export type StoreFactory = (host: string) => Promise<JepsenStore>

/** One PostgreSQL server (src/testing/TestPostgres.ts) on `host`: no primary to kill. */
export const singlePostgres: StoreFactory = async (host) => {
  let lastError: unknown
  for (let i = 0; i < 5; i++) {
    try {
      // 25600-25699: below the kernel's ephemeral range, clear of the specs' PostgreSQL ports (25400-25499).
      const pg = await startPostgres({ port: 25600 + Math.floor(Math.random() * 100), host, fast: true })
      return { url: pg.url, killPrimary: undefined, stop: () => pg.stop() }
    } catch (e) {
      lastError = e // most likely the port was taken: try another
    }
  }
  throw lastError
}
