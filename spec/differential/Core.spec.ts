/**
 * Differential: the same client scenarios and raw protocol exchanges against nats-server and our
 * broker; what the client observes must be equal. Needs `nats-server` on PATH (Debian package
 * `nats-server`); without it the suite is skipped with the reason printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath, startBroker, startNatsServer, type RunningBroker, type RunningNatsServer } from "../support/Broker.ts"
import { rawExchange } from "../support/Raw.ts"
import { scenarios, type ScenarioName } from "../clients/CoreScenarios.ts"
import { rawCases } from "../protocol/RawCases.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) {
  console.log("differential core tests skipped: nats-server is not on PATH (apt-get install nats-server)")
}

describe.skipIf(natsServer === undefined)("core protocol: broker vs nats-server", () => {
  let broker: RunningBroker
  let nats: RunningNatsServer
  beforeAll(async () => {
    ;[broker, nats] = await Promise.all([startBroker(), startNatsServer()])
  })
  afterAll(async () => {
    await Promise.all([broker?.stop(), nats?.stop()])
  })

  for (const name of Object.keys(scenarios) as Array<ScenarioName>) {
    it(`client scenario: ${name}`, async () => {
      const theirs = await scenarios[name](nats.url)
      const ours = await scenarios[name](broker.url)
      expect(ours).toEqual(theirs)
    })
  }

  for (const c of rawCases.filter((c) => c.nats)) {
    it(`raw bytes: ${c.name}`, async () => {
      const theirs = await rawExchange(nats.port, c.input)
      const ours = await rawExchange(broker.port, c.input)
      expect({ text: ours.text, closed: ours.closed }).toEqual({ text: theirs.text, closed: theirs.closed })
    })
  }

  it("INFO carries the same keys (values differ: ids, go version)", async () => {
    const theirs = await rawExchange(nats.port, "PING\r\n")
    const ours = await rawExchange(broker.port, "PING\r\n")
    expect(Object.keys(ours.info!).sort()).toEqual(Object.keys(theirs.info!).filter((k) => k !== "jetstream").sort())
  })
})
