/**
 * Differential: the same client scenarios and raw protocol exchanges against nats-server and our
 * broker; what the client observes must be equal. Needs `nats-server` on PATH (Debian package
 * `nats-server`); without it the suite is skipped with the reason printed.
 */
import { expect, it } from "vitest"
import { scenarios } from "../clients/CoreScenarios.ts"
import { rawCases } from "../protocol/RawCases.ts"
import { differentialSuite } from "../support/Differential.ts"
import { OUR_VERSION, REFERENCE_VERSION } from "../support/Level210.ts"
import { infoWithout212 } from "../support/Level214.ts"
import { rawExchange } from "../support/Raw.ts"

differentialSuite("core protocol: broker vs nats-server", scenarios, {
  skipLabel: "core",
  natsArgs: "core",
  namePrefix: "client scenario: ",
  level210: (scenario, ours, theirs) => {
    if (scenario !== "maxPayload") return { ours, theirs }
    // INFO `version` is the level itself: ours the 2.10 we advertise, the reference's 2.9.10.
    const { version: ourVersion, ...ourRest } = ours as Record<string, unknown>
    const { version: theirVersion, ...theirRest } = theirs as Record<string, unknown>
    expect([ourVersion, theirVersion]).toEqual([OUR_VERSION, REFERENCE_VERSION])
    return { ours: ourRest, theirs: theirRest }
  },
  extra: (servers) => {
    for (const c of rawCases.filter((c) => c.nats)) {
      it(`raw bytes: ${c.name}`, async () => {
        const theirs = await rawExchange(servers.nats.port, c.input)
        const ours = await rawExchange(servers.broker.port, c.input)
        expect({ text: ours.text, closed: ours.closed }).toEqual({ text: theirs.text, closed: theirs.closed })
      })
    }

    it("INFO carries the same keys (values differ: ids, go version)", async () => {
      const theirs = await rawExchange(servers.nats.port, "PING\r\n")
      const ours = await rawExchange(servers.broker.port, "PING\r\n")
      expect(Object.keys(infoWithout212(ours.info!)).sort()).toEqual(
        Object.keys(theirs.info!).filter((k) => k !== "jetstream").sort()
      )
    })
  }
})
