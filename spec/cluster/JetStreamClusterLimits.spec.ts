/**
 * Account limits in cluster mode: `max_streams` counts the account's streams on every node (the
 * meta leader checks it against the cluster store), not only those of the node a stream lands on.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, expect, it } from "vitest"
import { failure, sleep } from "../support/Js.ts"
import { awaitMetaLeader, type JetStreamCluster, startJetStreamCluster } from "../support/JsCluster.ts"
import { describePostgres } from "../support/Postgres.ts"

describePostgres("JetStream cluster mode: account limits", () => {
  let cluster: JetStreamCluster
  let nc: NatsConnection | undefined
  beforeAll(async () => {
    cluster = await startJetStreamCluster(
      [["az:a"], ["az:b"], ["az:c"]],
      `accounts { A: { jetstream: { max_streams: 2 }, users: [{ user: a, password: a }] } }`
    )
    // Account requests are answered by the meta leader only: before there is one, or before the
    // node the client is on routes to it, a request gets no answer and the client times out.
    await awaitMetaLeader(cluster)
  }, 60_000)
  afterAll(async () => {
    await nc?.close()
    await cluster?.stop()
  })

  it("a third stream is refused with 10027 although no node holds more than one", async () => {
    nc = await connect({ servers: cluster.nodes[0]!.url(), user: "a", pass: "a", reconnect: false })
    const jsm = await jetstreamManager(nc)
    const add = (name: string, tag: string) =>
      failure(jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`], placement: { cluster: "", tags: [tag] } }))
    // The first request may come before a meta leader is elected: retried until one answers.
    let first = ""
    for (let i = 0; i < 50 && first !== "ok"; i++) {
      first = await add("S1", "az:a")
      if (first !== "ok") await sleep(200)
    }
    expect(first).toBe("ok")
    expect(await add("S2", "az:b")).toBe("ok")
    expect(await add("S3", "az:c")).toBe("400 10027 maximum number of streams reached")
    const info = await jsm.getAccountInfo()
    expect([info.streams, info.limits.max_streams]).toEqual([2, 2])
  })
})
