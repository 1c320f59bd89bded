/**
 * A real browser against the broker: headless Chromium (Debian's `chromium`, driven by
 * playwright-core, no browser download) loads a page bundled with esbuild from
 * spec/websocket/browser/Page.ts, which uses `wsconnect` from @nats-io/nats-core with
 * @nats-io/jetstream and @nats-io/kv, while a Node TCP client talks to it: messages both ways, a
 * request the Node side answers, a stream the page creates and fetches from after Node published
 * into it, and a KV key the page watches while Node writes it. Skipped, with the reason printed,
 * only where /usr/bin/chromium is absent.
 */
import { jetstream } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { PageApi } from "./browser/Page.ts"
import { startBrokerFrom, type WsServer } from "./WsServers.ts"

const CHROMIUM = "/usr/bin/chromium"
const haveChromium = fs.existsSync(CHROMIUM)
if (!haveChromium) console.log(`browser tests skipped: ${CHROMIUM} is absent (apt-get install chromium)`)

/** Polls `f` until it returns true (the page's state changes asynchronously). */
const eventually = async (f: () => Promise<boolean>, what: () => Promise<unknown>, ms = 15_000) => {
  const end = Date.now() + ms
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`condition not met in time: ${JSON.stringify(await what())}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe.skipIf(!haveChromium)("a browser page and a Node TCP client through the broker", () => {
  let broker: WsServer
  let site: http.Server
  let browser: Browser
  let page: Page
  let tcp: NatsConnection
  let siteUrl = ""
  // The page's API, called inside the browser.
  const call = <K extends keyof PageApi>(name: K, ...args: Parameters<PageApi[K]>) =>
    page.evaluate(
      ([n, a]) => {
        const api = (globalThis as unknown as { natsPage: Record<string, (...x: Array<unknown>) => unknown> }).natsPage
        return api[n]!(...a)
      },
      [name, args] as const
    ) as Promise<Awaited<ReturnType<PageApi[K]>>>

  beforeAll(async () => {
    broker = await startBrokerFrom(`jetstream: true\nwebsocket { port: -1, no_tls: true, compression: true }`)
    const bundle = await esbuild.build({
      entryPoints: [path.join(import.meta.dirname, "browser/Page.ts")],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false
    })
    const js = bundle.outputFiles[0]!.contents
    site = http.createServer((req, res) => {
      if (req.url === "/page.js") {
        res.writeHead(200, { "Content-Type": "text/javascript" }).end(js)
      } else {
        res.writeHead(200, { "Content-Type": "text/html" }).end(
          `<!doctype html><title>nats</title><script type="module" src="/page.js"></script>`
        )
      }
    })
    await new Promise<void>((r) => site.listen(0, "127.0.0.1", r))
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/`
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] })
    page = await browser.newPage()
    await page.goto(siteUrl)
    await page.waitForFunction(() => "natsPage" in globalThis)
    tcp = await connect({ servers: `127.0.0.1:${broker.port}` })
  }, 60_000)

  afterAll(async () => {
    await tcp?.close()
    await browser?.close()
    await new Promise((r) => site?.close(r))
    await broker?.stop()
  })

  it("connects over WebSocket and sees the WebSocket listener in INFO", async () => {
    expect(await call("connect", `ws://127.0.0.1:${broker.wsPort}`)).toBe(broker.wsPort)
    expect(await page.evaluate(() => navigator.userAgent)).toMatch(/Chrome\//)
  })

  it("receives what the TCP client publishes, and publishes to it", async () => {
    const fromPage = tcp.subscribe("browser.out", { max: 1 })
    await tcp.flush()
    for (const n of ["one", "two", "three"]) tcp.publish("browser.in", n)
    await tcp.flush()
    await eventually(async () => (await call("inbox")).length >= 3, () => call("inbox"))
    expect(await call("inbox")).toEqual(["one", "two", "three"])
    await call("publish", "browser.out", "hello from chromium")
    const got: Array<string> = []
    for await (const m of fromPage) got.push(m.string())
    expect(got).toEqual(["hello from chromium"])
  })

  it("makes a request the TCP client answers", async () => {
    const svc = tcp.subscribe("node.svc", { callback: (_e, m) => void m.respond(`node says ${m.string()}`) })
    await tcp.flush()
    expect(await call("request", "node.svc", "ping")).toBe("node says ping")
    svc.unsubscribe()
  })

  it("creates a stream, and fetches from its consumer what the TCP client published", async () => {
    expect(await call("createStream")).toEqual(["ORDERS", "orders.>", "web"])
    const js = jetstream(tcp)
    const acks = []
    for (const [s, d] of [["orders.new", "a"], ["orders.paid", "b"], ["orders.new", "c"]] as const) {
      acks.push((await js.publish(s, d)).seq)
    }
    expect(acks).toEqual([1, 2, 3])
    expect(await call("fetch", 3)).toEqual(["orders.new:a:1", "orders.paid:b:2", "orders.new:c:3"])
    // The page's acks reached the consumer.
    const info = async () => (await js.consumers.get("ORDERS", "web")).info()
    await eventually(async () => (await info()).num_ack_pending === 0, info)
    const final = await info()
    expect([final.delivered.stream_seq, final.ack_floor.stream_seq, final.num_pending]).toEqual([3, 3, 0])
  })

  it("watches a KV key the TCP client writes", async () => {
    await call("watchKv")
    expect(await call("kvSeen")).toEqual(["color=none"])
    const kv = await new Kvm(tcp).open("cfg")
    await kv.put("color", "red")
    await kv.put("other", "ignored")
    await kv.put("color", "blue")
    await eventually(async () => (await call("kvSeen")).length >= 3, () => call("kvSeen"))
    expect(await call("kvSeen")).toEqual(["color=none", "color=red", "color=blue"])
    await call("close")
  })
})
