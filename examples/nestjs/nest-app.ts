/**
 * A NestJS microservice on the broker through Nest's built-in NATS transport (`Transport.NATS`,
 * which in Nest 12 loads `@nats-io/transport-node`): a request/response handler and an event
 * handler, and a `ClientProxy` that calls them.
 *
 *   npx tsx examples/nestjs/nest-app.ts nats://127.0.0.1:4222
 *
 * Decorators are applied as plain function calls (the same calls TypeScript's legacy decorators
 * compile to), so this file needs no `experimentalDecorators` build step; a Nest app written with
 * `@Controller()` / `@MessagePattern()` syntax behaves the same.
 */
import "reflect-metadata"
import { Controller, Module } from "@nestjs/common"
import { NestFactory } from "@nestjs/core"
import {
  ClientProxyFactory,
  EventPattern,
  MessagePattern,
  type MicroserviceOptions,
  Transport
} from "@nestjs/microservices"
import { firstValueFrom } from "rxjs"

export interface Order {
  readonly id: string
  readonly qty: number
}

/** What the event handler saw, so callers (the spec) can check event delivery. */
export const receivedEvents: Array<Order> = []

class OrdersController {
  /** Request/response: `orders.price` answers with the total. */
  price(order: Order): { id: string; total: number } {
    return { id: order.id, total: order.qty * 250 }
  }

  /** Event: `orders.created` is fire-and-forget; queue-grouped across app instances. */
  created(order: Order): void {
    receivedEvents.push(order)
  }
}
const proto = OrdersController.prototype
MessagePattern("orders.price")(proto, "price", Object.getOwnPropertyDescriptor(proto, "price")!)
EventPattern("orders.created")(proto, "created", Object.getOwnPropertyDescriptor(proto, "created")!)
Controller()(OrdersController)

class AppModule {}
Module({ controllers: [OrdersController] })(AppModule)

/** Starts the microservice against `servers` and returns it with a client proxy for the same broker. */
export const startApp = async (servers: string) => {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(AppModule, {
    transport: Transport.NATS,
    options: { servers: [servers], queue: "orders-service" },
    logger: false
  })
  await app.listen()
  const client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [servers] } })
  await client.connect()
  return {
    price: (order: Order) => firstValueFrom(client.send<{ id: string; total: number }, Order>("orders.price", order)),
    created: (order: Order) =>
      firstValueFrom(client.emit<void, Order>("orders.created", order), { defaultValue: undefined }),
    close: async () => {
      await client.close()
      await app.close()
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = await startApp(process.argv[2] ?? "nats://127.0.0.1:4222")
  console.log(await app.price({ id: "o-1", qty: 3 }))
  await app.created({ id: "o-2", qty: 1 })
  await new Promise((r) => setTimeout(r, 200))
  console.log("events received:", receivedEvents)
  await app.close()
}
