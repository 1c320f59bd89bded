/**
 * Test support for the auth suites: one configuration text started twice, as our broker (through
 * the config-file loader, as `-c` would) and as nats-server `-c`, both on random loopback ports.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import {
  natsServerPath,
  type RunningBroker,
  type RunningNatsServer,
  startBroker,
  startNatsServer
} from "../support/Broker.ts"

export const writeConf = (text: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-auth-"))
  const file = path.join(dir, "auth.conf")
  fs.writeFileSync(file, text)
  return file
}

/** Our broker on the given config text (fails the test if the loader rejects it). */
export const startBrokerWithConf = async (text: string, jetstream = false): Promise<RunningBroker> => {
  const loaded = ConfigFile.load(writeConf(text))
  if (loaded._tag === "Failure") throw new Error(loaded.errors.map(ConfigFile.renderIssue).join("\n"))
  return startBroker({ ...loaded.config, ...(jetstream ? { jetstream: true } : {}) })
}

export const startNatsWithConf = (text: string): Promise<RunningNatsServer> => startNatsServer(["-c", writeConf(text)])

/** One server of a differential suite started on a config file: ours ("broker", with JetStream) or nats-server. */
export interface ConfTarget {
  readonly name: string
  readonly url: string
  readonly stop: () => Promise<void>
}

export const startConfTarget = async (name: string, text: string): Promise<ConfTarget> => {
  if (name === "broker") {
    const broker = await startBrokerWithConf(text, true)
    return { name, url: broker.url, stop: () => broker.stop() }
  }
  const nats = await startNatsWithConf(text)
  return { name, url: nats.url, stop: () => nats.stop() }
}

/**
 * Registers `beforeAll`/`afterAll` for a suite run on both servers: our broker and, when nats-server
 * is on PATH, nats-server, each on `conf(dir)` with a fresh store directory of its own. The getters
 * are valid inside the suite's tests.
 */
export const onBothServers = (
  prefix: string,
  conf: (storeDir: string) => string
): { readonly ours: RunningBroker; readonly theirs: RunningNatsServer | undefined } => {
  let ours: RunningBroker | undefined
  let theirs: RunningNatsServer | undefined
  const dirs: Array<string> = []
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
    dirs.push(d)
    return d
  }
  beforeAll(async () => {
    ours = await startBrokerWithConf(conf(tmp()))
    if (natsServerPath() !== undefined) theirs = await startNatsWithConf(conf(tmp()))
  })
  afterAll(async () => {
    await ours?.stop()
    await theirs?.stop()
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
  })
  return {
    get ours() {
      if (ours === undefined) throw new Error("onBothServers: used outside the suite's tests")
      return ours
    },
    get theirs() {
      return theirs
    }
  }
}
