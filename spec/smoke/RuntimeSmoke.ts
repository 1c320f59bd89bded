/**
 * Smoke leg for other runtimes: start the broker under Bun or Deno, drive it with the official Node
 * client (connect, pub/sub, request/reply, headers), stop it with SIGTERM and expect exit 0.
 * Usage: tsx spec/smoke/RuntimeSmoke.ts <label> <command...>
 */
import { connect, headers } from "@nats-io/transport-node"
import * as assert from "node:assert/strict"
import { startCli } from "../support/Process.ts"

const [label, ...command] = process.argv.slice(2)
if (label === undefined || command.length === 0) {
  console.error("usage: RuntimeSmoke.ts <label> <command...>")
  process.exit(2)
}

const sc = new TextEncoder()
const dc = new TextDecoder()
let passed = 0
let failed = 0
const check = async (name: string, f: () => Promise<void>) => {
  try {
    await f()
    passed++
    console.log(`  ok   ${label}: ${name}`)
  } catch (e) {
    failed++
    console.log(`  FAIL ${label}: ${name}: ${(e as Error).message}`)
  }
}

const broker = await startCli(["-n", `smoke-${label}`], command)
try {
  const nc = await connect({ servers: `127.0.0.1:${broker.port}`, reconnect: false })
  await check("INFO", async () => {
    assert.equal(nc.info?.server_name, `smoke-${label}`)
    assert.equal(nc.info?.headers, true)
    assert.match(nc.info?.go ?? "", new RegExp(label!))
  })
  await check("publish/subscribe with wildcards", async () => {
    const sub = nc.subscribe("smoke.*", { max: 2 })
    nc.publish("smoke.a", sc.encode("1"))
    nc.publish("smoke.b", sc.encode("2"))
    const got: Array<string> = []
    for await (const m of sub) got.push(`${m.subject}=${dc.decode(m.data)}`)
    assert.deepEqual(got, ["smoke.a=1", "smoke.b=2"])
  })
  await check("request/reply", async () => {
    nc.subscribe("smoke.svc", { callback: (_e, m) => void m.respond(sc.encode(dc.decode(m.data) + "!")) })
    const r = await nc.request("smoke.svc", sc.encode("ping"), { timeout: 5_000 })
    assert.equal(dc.decode(r.data), "ping!")
  })
  await check("headers", async () => {
    const sub = nc.subscribe("smoke.h", { max: 1 })
    const h = headers()
    h.set("X-Smoke", label!)
    nc.publish("smoke.h", sc.encode("b"), { headers: h })
    for await (const m of sub) assert.equal(m.headers?.get("X-Smoke"), label)
  })
  await check("no responders", async () => {
    await assert.rejects(nc.request("smoke.nobody", sc.encode("?"), { timeout: 5_000 }), /no responders/i)
  })
  await nc.close()
} finally {
  const code = await broker.stop("SIGTERM")
  if (code === 0) passed++
  else failed++
  console.log(`  ${code === 0 ? "ok  " : "FAIL"} ${label}: SIGTERM exits 0 (got ${code})`)
}
console.log(`${label}: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
