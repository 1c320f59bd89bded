/**
 * The NestJS example (examples/nestjs/nest-app.ts) against an in-process broker: request/response
 * over `Transport.NATS` returns the handler's value, events reach the event handler, and the
 * service's queue group spreads requests across two app instances.
 */
import { connect } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { startTestServer } from "../../src/testing/index.ts"
import { receivedEvents, startApp } from "./nest-app.ts"

describe("NestJS microservice on Transport.NATS", () => {
  it("answers requests and receives events through the broker", async () => {
    await using srv = await startTestServer({ jetstream: false })
    const a = await startApp(srv.url)
    const b = await startApp(srv.url)
    try {
      for (let i = 1; i <= 10; i++) {
        expect(await a.price({ id: `o-${i}`, qty: i })).toEqual({ id: `o-${i}`, total: i * 250 })
      }

      receivedEvents.length = 0
      for (let i = 1; i <= 4; i++) await b.created({ id: `e-${i}`, qty: i })
      const deadline = Date.now() + 5000
      while (receivedEvents.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
      // Each event once: both apps subscribe in the "orders-service" queue group.
      expect(receivedEvents.map((o) => o.id).sort()).toEqual(["e-1", "e-2", "e-3", "e-4"])

      // Nest's wire format: a JSON envelope { pattern, data, id } answered with { response, isDisposed, id }.
      const nc = await connect({ servers: srv.url })
      const raw = await nc.request(
        "orders.price",
        JSON.stringify({ pattern: "orders.price", data: { id: "x", qty: 2 }, id: "r1" })
      )
      expect(raw.json()).toMatchObject({ id: "r1", response: { id: "x", total: 500 } })
      await nc.close()
    } finally {
      await a.close()
      await b.close()
    }
  })
})
