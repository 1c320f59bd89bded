/**
 * Differential: the JetStream stream scenarios against nats-server (-js) and our broker; the
 * official client must observe the same values. Skipped with a printed reason without nats-server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { extraScenarios, type ExtraScenarioName } from "../jetstream/ExtraScenarios.ts"
import { natsServerPath, startBroker, startNatsServer, type RunningBroker, type RunningNatsServer } from "../support/Broker.ts"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const natsServer = natsServerPath()
if (natsServer === undefined) {
  console.log("differential extra tests skipped: nats-server is not on PATH (apt-get install nats-server)")
}

describe.skipIf(natsServer === undefined)("advisories, filters, pull limits, flow control: broker vs nats-server", () => {
  let broker: RunningBroker
  let nats: RunningNatsServer
  let dir: string
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-nats-js-"))
    ;[broker, nats] = await Promise.all([startBroker({ jetstream: true }), startNatsServer(["-js", "-sd", dir])])
  })
  afterAll(async () => {
    await Promise.all([broker?.stop(), nats?.stop()])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  for (const name of Object.keys(extraScenarios) as Array<ExtraScenarioName>) {
    it(name, async () => {
      const theirs = await extraScenarios[name](nats.url)
      const ours = await extraScenarios[name](broker.url)
      expect(ours).toEqual(theirs)
    })
  }
})
