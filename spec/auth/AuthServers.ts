/**
 * Test support for the auth suites: one configuration text started twice, as our broker (through
 * the config-file loader, as `-c` would) and as nats-server `-c`, both on random loopback ports.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { type RunningBroker, type RunningNatsServer, startBroker, startNatsServer } from "../support/Broker.ts"

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
