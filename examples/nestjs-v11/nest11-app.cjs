// A NestJS 11 microservice on Transport.NATS (which loads the legacy `nats` v2 package) against the
// broker: one request/response handler, one event handler, and a ClientProxy calling both.
//   node examples/nestjs-v11/nest11-app.cjs nats://127.0.0.1:4222
// Prints one JSON line with the reply and the events received. Decorators are applied as the plain
// calls TypeScript's legacy decorators compile to, so this runs as plain CommonJS.
require("reflect-metadata")
const { Controller, Module } = require("@nestjs/common")
const { NestFactory } = require("@nestjs/core")
const { ClientProxyFactory, EventPattern, MessagePattern, Transport } = require("@nestjs/microservices")
const { firstValueFrom } = require("rxjs")

const events = []
class OrdersController {
  price(order) {
    return { id: order.id, total: order.qty * 250 }
  }
  created(order) {
    events.push(order)
  }
}
const proto = OrdersController.prototype
MessagePattern("orders.price")(proto, "price", Object.getOwnPropertyDescriptor(proto, "price"))
EventPattern("orders.created")(proto, "created", Object.getOwnPropertyDescriptor(proto, "created"))
Controller()(OrdersController)
class AppModule {}
Module({ controllers: [OrdersController] })(AppModule)

const main = async (servers) => {
  const app = await NestFactory.createMicroservice(AppModule, {
    transport: Transport.NATS,
    options: { servers, queue: "orders-service" },
    logger: false
  })
  await app.listen()
  const client = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers } })
  await client.connect()
  const replies = []
  for (let i = 1; i <= 3; i++) replies.push(await firstValueFrom(client.send("orders.price", { id: `o-${i}`, qty: i })))
  for (let i = 1; i <= 2; i++) await firstValueFrom(client.emit("orders.created", { id: `e-${i}` }), { defaultValue: undefined })
  const deadline = Date.now() + 5000
  while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
  console.log(JSON.stringify({ nats: require("nats/package.json").version, replies, events }))
  await client.close()
  await app.close()
}

main([process.argv[2] ?? "nats://127.0.0.1:4222"]).catch((e) => {
  console.error(e)
  process.exit(1)
})
