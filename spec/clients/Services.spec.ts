/**
 * The NATS micro-service framework (`@nats-io/services`) against the broker: services answer on
 * queue-grouped endpoints, and `$SRV.PING/INFO/STATS` discovery (request-many over the muxed
 * inbox, gathering every instance's reply) finds each instance with its endpoints and counters.
 */
import {
  ServiceError,
  ServiceErrorCodeHeader,
  ServiceErrorHeader,
  type ServiceIdentity,
  type ServiceInfo,
  ServiceResponseType,
  type ServiceStats,
  Svcm
} from "@nats-io/services"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestServer, type TestServer } from "../../src/testing/index.ts"

let srv: TestServer
let nc: NatsConnection

beforeAll(async () => {
  srv = await startTestServer({ jetstream: false })
  nc = await connect({ servers: srv.url })
})
afterAll(async () => {
  await nc.close()
  await srv.close()
})

const collect = async <T>(it: AsyncIterable<T>): Promise<Array<T>> => {
  const out: Array<T> = []
  for await (const x of it) out.push(x)
  return out
}

describe("@nats-io/services", () => {
  it("serves endpoints across instances and is discovered by $SRV.PING/INFO/STATS", async () => {
    // @nats-io/services 3.0.0-25 (the newest published) pins a prerelease nats-core whose types
    // differ from 3.4.0's only nominally; the connection object is the same protocol client.
    const svcm = new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0])
    const instances = await Promise.all(
      [1, 2].map(() =>
        svcm.add({ name: "calc", version: "1.2.3", description: "adds numbers", metadata: { team: "core" } })
      )
    )
    for (const s of instances) {
      s.addEndpoint("add", {
        metadata: { kind: "math" },
        handler: (err, msg) => {
          if (err !== null) return
          const [a, b] = msg.json<[number, number]>()
          msg.respond(JSON.stringify(a + b))
        }
      })
      // A handler that throws is answered with the error headers and counted in num_errors.
      s.addGroup("admin").addEndpoint("fail", () => {
        throw new ServiceError(418, "no tea")
      })
    }
    await nc.flush()

    // The endpoints are a queue group: every call gets exactly one answer.
    for (let i = 0; i < 6; i++) expect((await nc.request("add", JSON.stringify([i, 10]))).json<number>()).toBe(i + 10)
    const failed = await nc.request("admin.fail", "")
    expect(failed.headers?.get(ServiceErrorCodeHeader)).toBe("418")
    expect(failed.headers?.get(ServiceErrorHeader)).toBe("no tea")

    const client = svcm.client()
    const ids = instances.map((s) => s.info().id).sort()

    const pings = await collect<ServiceIdentity>(await client.ping("calc"))
    expect(pings.map((p) => p.id).sort()).toEqual(ids)
    expect(pings.every((p) => p.type === ServiceResponseType.PING && p.version === "1.2.3")).toBe(true)

    const infos = await collect<ServiceInfo>(await client.info("calc", ids[0]))
    expect(infos).toHaveLength(1)
    expect(infos[0]).toMatchObject({
      type: ServiceResponseType.INFO,
      name: "calc",
      description: "adds numbers",
      metadata: { team: "core" }
    })
    expect(infos[0]!.endpoints.map((e) => `${e.name}:${e.subject}:${e.queue_group}`).sort()).toEqual([
      "add:add:q",
      "fail:admin.fail:q"
    ])

    const stats = await collect<ServiceStats>(await client.stats("calc"))
    expect(stats.map((s) => s.id).sort()).toEqual(ids)
    const byEndpoint = (name: string) =>
      stats.flatMap((s) => s.endpoints ?? []).filter((e) => e.name === name).reduce((n, e) => n + e.num_requests, 0)
    expect(byEndpoint("add")).toBe(6)
    expect(byEndpoint("fail")).toBe(1)
    expect(
      stats.flatMap((s) => s.endpoints ?? []).filter((e) => e.name === "fail").reduce((n, e) => n + e.num_errors, 0)
    ).toBe(1)

    // Discovery without a name finds every service; with no service listening the request-many
    // ends at once with no-responders (503), as against nats-server.
    expect((await collect(await client.ping())).length).toBe(2)
    await expect(client.ping("nope").then(collect)).rejects.toThrow(/no responders/)

    await Promise.all(instances.map((s) => s.stop()))
    await expect(client.ping("calc").then(collect)).rejects.toThrow(/no responders/)
  })
})
