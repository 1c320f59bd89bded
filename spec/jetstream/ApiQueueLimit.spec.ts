/**
 * `jetstream { request_queue_limit }` (2.11): API requests that pile up to the limit are all dropped
 * unanswered and the system account gets `$JS.EVENT.ADVISORY.API.LIMIT_REACHED` with the number
 * dropped (nats-server jetstream_api.go, JSAPILimitReachedAdvisory). 2.9.10 has no limit: ours only.
 */
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { sleep } from "../support/Js.ts"

let broker: RunningBroker
let a: NatsConnection
let sys: NatsConnection
beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apiq-"))
  const file = path.join(dir, "b.conf")
  fs.writeFileSync(
    file,
    `server_name: qsrv
jetstream { request_queue_limit: 5 }
accounts {
  A: { users: [ { user: a, password: a } ], jetstream: enabled }
  SYS: { users: [ { user: sys, password: sys } ] }
}
system_account: SYS
`
  )
  const r = ConfigFile.load(file)
  if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
  broker = await startBroker({ ...r.config, storeDir: path.join(dir, "store") })
  a = await connect({ servers: broker.url, user: "a", pass: "a", reconnect: false })
  sys = await connect({ servers: broker.url, user: "sys", pass: "sys", reconnect: false })
})
afterAll(async () => {
  await a?.close()
  await sys?.close()
  await broker?.stop()
})

describe("request_queue_limit", () => {
  it("a burst past the limit is dropped in fives, each drop announced to the system account", async () => {
    const advisories: Array<Record<string, unknown>> = []
    sys.subscribe("$JS.EVENT.ADVISORY.API.LIMIT_REACHED", {
      callback: (_e, m) => void advisories.push(m.json<Record<string, unknown>>())
    })
    await sys.flush()
    const answers: Array<Msg> = []
    a.subscribe("_R.>", { callback: (_e, m) => void answers.push(m) })
    await a.flush()
    for (let i = 0; i < 50; i++) a.publish("$JS.API.INFO", "", { reply: `_R.${i}` })
    await a.flush()
    const deadline = Date.now() + 5_000
    while (answers.length + 5 * advisories.length < 50) {
      if (Date.now() > deadline) throw new Error(`${answers.length} answers, ${advisories.length} advisories`)
      await sleep(20)
    }
    await sleep(100)
    expect(answers.length + 5 * advisories.length).toBe(50)
    expect(advisories.length).toBeGreaterThan(0)
    const { id, timestamp, ...rest } = advisories[0]!
    expect(rest).toEqual({ type: "io.nats.jetstream.advisory.v1.api_limit_reached", server: "qsrv", dropped: 5 })
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    // Under the limit every request is answered again.
    answers.length = 0
    for (let i = 0; i < 3; i++) a.publish("$JS.API.INFO", "", { reply: `_R.x${i}` })
    await a.flush()
    while (answers.length < 3) await sleep(10)
    expect(answers.map((m) => m.json<{ type: string }>().type)).toEqual([
      "io.nats.jetstream.api.v1.account_info_response",
      "io.nats.jetstream.api.v1.account_info_response",
      "io.nats.jetstream.api.v1.account_info_response"
    ])
  })
})
