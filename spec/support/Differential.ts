/**
 * The scaffolding of a differential suite: start our broker and nats-server side by side, run
 * each scenario against both and expect the client to observe equal values (after our 2.10 and 2.11
 * additions, asserted, are taken out: Level210.ts, Level211.ts). Without nats-server on
 * PATH the suite is skipped and the reason printed.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath, type RunningBroker, type RunningNatsServer, startBroker, startNatsServer } from "./Broker.ts"
import { withoutStreamConfig210 } from "./Level210.ts"
import { withoutConfigs211 } from "./Level211.ts"

/** Both servers of a differential suite; set in its `beforeAll`, so read them inside tests only. */
export interface DifferentialServers {
  readonly broker: RunningBroker
  readonly nats: RunningNatsServer
}

export interface DifferentialOptions {
  /** The word printed in the skip reason: "differential <skipLabel> tests skipped: …". */
  readonly skipLabel: string
  /** "jetstream" (default): broker with JetStream, nats-server `-js` on a temp store dir; "core": neither. */
  readonly natsArgs?: "jetstream" | "core"
  /** Put before each scenario's test name (e.g. "client scenario: "). */
  readonly namePrefix?: string
  /** More tests inside the same describe, against the same servers. */
  readonly extra?: (servers: DifferentialServers) => void
  /**
   * A scenario's differences that are the version itself (we advertise 2.10, the reference is 2.9.10):
   * asserts our 2.10 values and returns both results without them. Stream configs' 2.10 keys are
   * handled for every scenario, and stream and consumer configs' 2.11 keys (Level210.ts, Level211.ts).
   */
  readonly level210?: (scenario: string, ours: unknown, theirs: unknown) => { ours: unknown; theirs: unknown }
}

export const differentialSuite = (
  title: string,
  scenarios: Record<string, (url: string) => Promise<unknown>>,
  options: DifferentialOptions
): void => {
  const natsServer = natsServerPath()
  if (natsServer === undefined) {
    console.log(
      `differential ${options.skipLabel} tests skipped: nats-server is not on PATH (apt-get install nats-server)`
    )
  }
  const jetstream = (options.natsArgs ?? "jetstream") === "jetstream"

  describe.skipIf(natsServer === undefined)(title, () => {
    let broker: RunningBroker | undefined
    let nats: RunningNatsServer | undefined
    let dir: string | undefined
    const servers: DifferentialServers = {
      get broker() {
        return broker!
      },
      get nats() {
        return nats!
      }
    }
    beforeAll(async () => {
      if (jetstream) {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-nats-js-"))
        ;[broker, nats] = await Promise.all([startBroker({ jetstream: true }), startNatsServer(["-js", "-sd", dir])])
      } else {
        ;[broker, nats] = await Promise.all([startBroker(), startNatsServer()])
      }
    })
    afterAll(async () => {
      await Promise.all([broker?.stop(), nats?.stop()])
      if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
    })

    for (const [name, scenario] of Object.entries(scenarios)) {
      it(`${options.namePrefix ?? ""}${name}`, async () => {
        const reference = await scenario(servers.nats.url)
        const answered = withoutConfigs211(withoutStreamConfig210(await scenario(servers.broker.url)).value).value
        const { ours, theirs } = options.level210?.(name, answered, reference) ?? { ours: answered, theirs: reference }
        expect(ours).toEqual(theirs)
      })
    }

    options.extra?.(servers)
  })
}
