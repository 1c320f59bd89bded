/**
 * JetStream deliveries crossing an account import (the setup of nats.c's KeyValueCrossAccount
 * test): account I reaches A's JetStream API through a service import under the prefix `fromA`
 * and A exports `accI.>` as a stream to I. A push consumer whose deliver subject is `accI.<x>`
 * is bound (push_bound) only once I subscribes, then delivers to I's subscriber; a pull consumer's
 * messages come back through the service import; both show the stored message's own subject. Runs against nats-server 2.9.10 too when on PATH.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { onBothServers } from "../auth/AuthServers.ts"
import { natsServerPath } from "../support/Broker.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("imported deliveries differential skipped: nats-server is not on PATH")

const conf = (storeDir: string) => `
jetstream { store_dir: "${storeDir}" }
accounts {
  A: {
    users: [ { user: a, password: a } ]
    jetstream: enabled
    exports: [ { service: "$JS.API.>" }, { stream: "accI.>" } ]
  }
  I: {
    users: [ { user: i, password: i } ]
    imports: [
      { service: { account: A, subject: "$JS.API.>" }, to: "fromA.>" }
      { stream: { account: A, subject: "accI.>" } }
    ]
  }
}
`

const scenario = async (url: string) => {
  const a = await connect({ servers: url, user: "a", pass: "a", reconnect: false })
  const i = await connect({ servers: url, user: "i", pass: "i", reconnect: false, inboxPrefix: "accI" })
  try {
    const jsmA = await jetstreamManager(a)
    await jsmA.streams.add({ name: "S", subjects: ["s.>"] })
    a.publish("s.one", "1")
    a.publish("s.two", "2")
    await a.flush()
    // The consumer exists before anyone in I listens: not bound, nothing delivered yet.
    const jsmI = await jetstreamManager(i, { apiPrefix: "fromA" })
    const push = await jsmI.consumers.add("S", { deliver_subject: "accI.deliver", ack_policy: "none" })
    const boundBefore = push.push_bound === true
    const pushed: Array<string> = []
    const done = new Promise<void>((resolve) => {
      i.subscribe("accI.deliver", {
        callback: (_e, m) => {
          pushed.push(`${m.subject}=${m.string()}`)
          if (pushed.length === 2) resolve()
        }
      })
    })
    await i.flush()
    await Promise.race([done, new Promise((r) => setTimeout(r, 3000))])
    const boundAfter = (await jsmA.consumers.info("S", push.name)).push_bound === true
    await jsmI.consumers.add("S", { durable_name: "P", ack_policy: "none" })
    const c = await jetstream(i, { apiPrefix: "fromA" }).consumers.get("S", "P")
    const pulled: Array<string> = []
    // `next` rather than `fetch`: in this setup `fetch` ends with "heartbeats missed" on nats-server 2.9.10 too.
    for (let n = 0; n < 2; n++) {
      const m = await c.next({ expires: 3000 })
      pulled.push(m === null ? "none" : `${m.subject}=${m.string()}`)
    }
    return { boundBefore, pushed, boundAfter, pulled }
  } finally {
    await Promise.all([a.close(), i.close()])
  }
}

describe("JetStream deliveries across account imports", () => {
  const servers = onBothServers("acc-imp-", conf)

  it("push to an exported deliver subject and pull through the service import show the stored subjects", async () => {
    const got = await scenario(servers.ours.url)
    expect(got).toEqual({
      boundBefore: false,
      pushed: ["s.one=1", "s.two=2"],
      boundAfter: true,
      pulled: ["s.one=1", "s.two=2"]
    })
    if (servers.theirs !== undefined) expect(await scenario(servers.theirs.url)).toEqual(got)
  })
})
