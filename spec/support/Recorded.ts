/**
 * The scaffolding of a recorded-values suite: a JetStream broker started before the tests and
 * stopped after them, once per storage type when `storages` is given (the describe title then
 * ends in "(<storage> store)"). The tests themselves stay in the spec file, each asserting its
 * recorded nats-server values against `broker.url`.
 */
import { afterAll, beforeAll, describe } from "vitest"
import type { BrokerLayerOptions } from "../../src/Broker.ts"
import { type RunningBroker, startBroker } from "./Broker.ts"

type Storage = NonNullable<BrokerLayerOptions["storage"]>

/** The suite's broker; set in its `beforeAll`, so read it inside tests only. */
export interface SuiteBroker {
  readonly url: string
}

export const recordedSuite = (
  title: string,
  options: { readonly storages?: ReadonlyArray<Storage> },
  tests: (broker: SuiteBroker) => void
): void => {
  const suite = (name: string, storage: Storage | undefined) =>
    describe(name, () => {
      let running: RunningBroker | undefined
      beforeAll(async () => {
        running = storage === undefined
          ? await startBroker({ jetstream: true })
          : await startBroker({ jetstream: true }, { storage })
      })
      afterAll(() => running?.stop())
      tests({
        get url() {
          return running!.url
        }
      })
    })
  if (options.storages === undefined) suite(title, undefined)
  else for (const storage of options.storages) suite(`${title} (${storage} store)`, storage)
}
