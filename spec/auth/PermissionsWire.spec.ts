/**
 * The permission property over the wire: users with random permission sets (fixed seed), random
 * PUB/SUB over raw sockets; each answer (`-ERR` or not) must be what the naive reference says, and
 * what nats-server answers for the same user and subject.
 */
import { fc } from "@fast-check/vitest"
import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath, type RunningBroker, type RunningNatsServer } from "../support/Broker.ts"
import { startBrokerWithConf, startNatsWithConf } from "./AuthServers.ts"
import {
  literalSubject,
  pattern,
  type PermissionSet,
  permissionSet,
  referencePublish,
  referenceSubscribe
} from "./PermissionArbitraries.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("permission wire property skipped: nats-server is not on PATH")

const USERS = 6
const sets: ReadonlyArray<PermissionSet> = fc.sample(permissionSet, { numRuns: USERS, seed: 1212 })

const list = (l: ReadonlyArray<string>) => `[${l.map((s) => JSON.stringify(s)).join(", ")}]`
const conf = `authorization { users: [
${
  sets.map((p, i) =>
    `  { user: u${i}, password: p, permissions: {
    publish: { ${p.pubAllow === undefined ? "" : `allow: ${list(p.pubAllow)}, `}deny: ${list(p.pubDeny)} }
    subscribe: { ${p.subAllow === undefined ? "" : `allow: ${list(p.subAllow)}, `}deny: ${list(p.subDeny)} }
  } }`
  ).join("\n")
}
] }`

/** One logged-in raw connection: send a command plus PING, get what came back before the PONG. */
class RawLine {
  private buf = ""
  private waiting: (() => void) | undefined
  private readonly s: net.Socket
  private constructor(s: net.Socket) {
    this.s = s
    s.on("data", (d) => {
      this.buf += d.toString("latin1")
      this.waiting?.()
    })
  }
  static async open(port: number, user: string): Promise<RawLine> {
    const s = net.connect(port, "127.0.0.1")
    const r = new RawLine(s)
    await r.until("\r\n")
    r.buf = ""
    s.write(`CONNECT {"verbose":false,"pedantic":false,"user":"${user}","pass":"p"}\r\n`)
    expect(await r.ask("")).toBe("")
    return r
  }
  private until(marker: string): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.buf.includes(marker)) {
          this.waiting = undefined
          resolve()
        }
      }
      this.waiting = check
      check()
    })
  }
  async ask(command: string): Promise<string> {
    this.s.write(`${command}PING\r\n`)
    await this.until("PONG\r\n")
    const i = this.buf.indexOf("PONG\r\n")
    const out = this.buf.slice(0, i)
    this.buf = this.buf.slice(i + 6)
    return out
  }
  close() {
    this.s.destroy()
  }
}

describe.skipIf(natsServer === undefined)(
  "permissions over the wire: ours, nats-server and the reference agree",
  () => {
    let broker: RunningBroker | undefined
    let nats: RunningNatsServer | undefined
    let ours: Array<RawLine> = []
    let theirs: Array<RawLine> = []
    beforeAll(async () => {
      ;[broker, nats] = await Promise.all([startBrokerWithConf(conf), startNatsWithConf(conf)])
      ours = await Promise.all(sets.map((_, i) => RawLine.open(broker!.port, `u${i}`)))
      theirs = await Promise.all(sets.map((_, i) => RawLine.open(nats!.port, `u${i}`)))
    })
    afterAll(async () => {
      for (const c of [...ours, ...theirs]) c.close()
      await Promise.all([broker?.stop(), nats?.stop()])
    })

    it("for random users, subjects and operations", async () => {
      let sid = 0
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: USERS - 1 }),
          fc.oneof(
            literalSubject.map((s) => ({ op: "pub" as const, s })),
            fc.oneof(literalSubject, pattern).map((s) => ({ op: "sub" as const, s }))
          ),
          async (u, { op, s }) => {
            const id = ++sid
            const command = op === "pub" ? `PUB ${s} 0\r\n\r\n` : `SUB ${s} ${id}\r\nUNSUB ${id}\r\n`
            const [a, b] = await Promise.all([ours[u]!.ask(command), theirs[u]!.ask(command)])
            // In a config file an empty `allow: []` is no allow list at all (nats-server).
            const set = { ...sets[u]!, pubAllow: sets[u]!.pubAllow?.length === 0 ? undefined : sets[u]!.pubAllow }
            const allowed = op === "pub" ? referencePublish(set, s) : referenceSubscribe(set, s)
            const error = op === "pub"
              ? `-ERR 'Permissions Violation for Publish to "${s}"'\r\n`
              : `-ERR 'Permissions Violation for Subscription to "${s}"'\r\n`
            expect(a).toBe(b)
            expect(a).toBe(allowed ? "" : error)
          }
        ),
        { numRuns: 150, seed: 4242 }
      )
    })
  }
)
