/**
 * Test support for specs over a real socket: one JetStream broker (and one connection) shared by a file's tests,
 * and `api(subject, body)` speaking the JetStream API in raw JSON, answering with the parsed reply.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll } from "vitest"
import { type RunningBroker, startBroker } from "./Broker.ts"

export type Json = Record<string, unknown>

const dc = new TextDecoder()

/** `$JS.API.<subject>` with `body` (JSON-encoded unless already a string); the reply parsed. */
export const jsApi = async (nc: NatsConnection, subject: string, body: string | Json = ""): Promise<Json> => {
  const m = await nc.request(`$JS.API.${subject}`, typeof body === "string" ? body : JSON.stringify(body), {
    timeout: 2000
  })
  return JSON.parse(dc.decode(m.data)) as Json
}

export interface BrokerSuite {
  /** Set before the file's first test. */
  readonly broker: RunningBroker
}

/** Starts a JetStream broker on a random port before the file's tests and stops it after them. */
export const brokerSuite = (): BrokerSuite => {
  let broker: RunningBroker | undefined
  beforeAll(async () => {
    broker = await startBroker({ jetstream: true })
  })
  afterAll(async () => {
    await broker?.stop()
  })
  return {
    get broker() {
      return broker!
    }
  }
}

export interface ApiSuite extends BrokerSuite {
  readonly nc: NatsConnection
  /** `jsApi` over `conn`, by default the suite's connection. */
  readonly api: (subject: string, body?: string | Json, conn?: NatsConnection) => Promise<Json>
}

/**
 * A `brokerSuite` and a connection to it, closed after the file's tests; `connected` runs on the new
 * connection (e.g. to tell nats.js which server features to assume).
 */
export const apiSuite = (connected?: (nc: NatsConnection) => void): ApiSuite => {
  const suite = brokerSuite()
  let nc: NatsConnection | undefined
  beforeAll(async () => {
    nc = await connect({ servers: suite.broker.url, reconnect: false })
    connected?.(nc)
  })
  afterAll(async () => {
    await nc?.close()
  })
  return {
    get broker() {
      return suite.broker
    },
    get nc() {
      return nc!
    },
    api: (subject, body = "", conn) => jsApi(conn ?? nc!, subject, body)
  }
}
