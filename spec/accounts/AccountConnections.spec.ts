/**
 * An account's connection limit (AccountSettings.maxConnections; account JWTs set it, the config
 * file cannot): past it a client gets nats-server's `-ERR 'maximum account active connections
 * exceeded'` and is closed; a slot frees when a client of the account leaves. Clients of other
 * accounts are not counted.
 */
import { connect } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { emptyAccount } from "../../src/accounts/AccountSettings.ts"
import * as AuthSettings from "../../src/auth/AuthSettings.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

describe("account connection limit", () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBroker({
      accounts: {
        accounts: [{ ...emptyAccount("A"), maxConnections: 1 }, emptyAccount("B")],
        systemAccount: undefined
      },
      auth: {
        ...AuthSettings.empty,
        users: [
          { user: "a", password: "a", permissions: undefined, account: "A" },
          { user: "a2", password: "a2", permissions: undefined, account: "A" },
          { user: "b", password: "b", permissions: undefined, account: "B" }
        ]
      }
    })
  })
  afterAll(() => broker.stop())

  const open = (user: string) =>
    connect({ servers: broker.url, reconnect: false, user, pass: user }).then(
      async (nc) => (await nc.flush(), nc),
      (e: Error) => e.message
    )

  it("refuses the client past the limit, and admits one once a slot is free", async () => {
    const first = await open("a")
    expect(typeof first).toBe("object")
    const other = await open("b")
    expect(typeof other).toBe("object")
    expect(await open("a2")).toBe("maximum account active connections exceeded")
    if (typeof first === "object") await first.close()
    // The server frees the slot when it sees the socket close.
    await new Promise((r) => setTimeout(r, 100))
    const again = await open("a2")
    expect(typeof again).toBe("object")
    if (typeof again === "object") await again.close()
    if (typeof other === "object") await other.close()
  })
})
