/**
 * The HA cluster store for a Jepsen run: src/testing/TestPostgresHa.ts (pg_auto_failover, three
 * data nodes with synchronous standbys), whose primary the run may kill (SIGKILL of the node, as a
 * crashed host); healing restarts it, and it rejoins as a standby. It listens on loopback only, so
 * the run must be on loopback (`namespaces: false`).
 */
import { startPostgresHa } from "../TestPostgresHa.ts"
import type { StoreFactory } from "./Store.ts"

export const haPostgres: StoreFactory = async (host) => {
  if (host !== "127.0.0.1") {
    throw new Error(`the HA store listens on loopback only, not on ${host}: run the brokers on loopback`)
  }
  const ha = await startPostgresHa()
  return {
    url: ha.url,
    killPrimary: async () => {
      const primary = await ha.primary()
      if (primary === undefined) throw new Error("the HA store has no primary to kill (a failover in progress)")
      await ha.kill(primary, "SIGKILL")
      return async () => {
        await ha.restart(primary)
        await ha.healthy(60_000)
      }
    },
    stop: () => ha.stop()
  }
}
