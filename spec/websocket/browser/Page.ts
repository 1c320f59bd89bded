/**
 * The browser side of spec/websocket/Browser.spec.ts, bundled with esbuild into the page: what a
 * front end does with NATS through `wsconnect` — core messaging, a stream and a pull consumer,
 * a KV watch. The spec drives it step by step through `window.natsPage` while a Node TCP client
 * plays the other side.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { Kvm } from "@nats-io/kv"
import { type NatsConnection, wsconnect } from "@nats-io/nats-core"

export interface PageApi {
  /** Connects and subscribes to `browser.in`; returns the INFO's port as the page saw it. */
  connect(url: string): Promise<number>
  /** What `browser.in` delivered so far. */
  inbox(): ReadonlyArray<string>
  publish(subject: string, data: string): Promise<void>
  request(subject: string, data: string): Promise<string>
  /** Creates stream ORDERS (orders.>) and the durable pull consumer `web`. */
  createStream(): Promise<ReadonlyArray<string>>
  /** Fetches and acks up to `n` messages from ORDERS/web: `subject:data:seq` each. */
  fetch(n: number): Promise<ReadonlyArray<string>>
  /** Creates KV bucket `cfg`, sets `color` to `none` and watches the key until that value arrives. */
  watchKv(): Promise<void>
  /** What the watch saw so far: `key=value` each. */
  kvSeen(): ReadonlyArray<string>
  close(): Promise<void>
}

let nc: NatsConnection | undefined
const inbox: Array<string> = []
const kvSeen: Array<string> = []
const conn = (): NatsConnection => {
  if (nc === undefined) throw new Error("not connected")
  return nc
}

const api: PageApi = {
  async connect(url) {
    nc = await wsconnect({ servers: url })
    nc.subscribe("browser.in", { callback: (_e, m) => void inbox.push(m.string()) })
    await nc.flush()
    return nc.info?.port ?? -1
  },
  inbox: () => inbox,
  async publish(subject, data) {
    conn().publish(subject, data)
    await conn().flush()
  },
  async request(subject, data) {
    return (await conn().request(subject, data, { timeout: 3000 })).string()
  },
  async createStream() {
    const jsm = await jetstreamManager(conn())
    const si = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
    const ci = await jsm.consumers.add("ORDERS", { durable_name: "web", ack_policy: AckPolicy.Explicit })
    return [si.config.name, ...si.config.subjects ?? [], ci.name]
  },
  async fetch(n) {
    const c = await jetstream(conn()).consumers.get("ORDERS", "web")
    const out: Array<string> = []
    const msgs = await c.fetch({ max_messages: n, expires: 3000 })
    for await (const m of msgs) {
      out.push(`${m.subject}:${m.string()}:${m.seq}`)
      m.ack()
      if (out.length === n) break
    }
    await conn().flush()
    return out
  },
  async watchKv() {
    const kv = await new Kvm(conn()).create("cfg")
    // The watch's consumer is created in the background: a value already there, delivered first,
    // tells when it is ready (later writes would otherwise race its creation).
    await kv.put("color", "none")
    const w = await kv.watch({ key: "color" })
    void (async () => {
      for await (const e of w) kvSeen.push(`${e.key}=${e.string()}`)
    })()
    const end = Date.now() + 10_000
    while (kvSeen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
  },
  kvSeen: () => kvSeen,
  async close() {
    await conn().close()
  }
}
;(globalThis as unknown as { natsPage: PageApi }).natsPage = api
