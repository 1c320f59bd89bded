/**
 * Configuration reload (SIGHUP via `--signal reload=<pid file>`): the same change applied to our
 * broker and to nats-server, observed on raw client sockets so the `-ERR` texts and closes compare
 * byte for byte; plus the reload plan's decisions.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { make } from "../../src/config/BrokerConfig.ts"
import { planReload } from "../../src/config/ReloadPlan.ts"
import { natsServerPath, startNatsServer } from "../support/Broker.ts"
import { mqttSettings } from "../support/Mqtt.ts"
import { runCli, startCli } from "../support/Process.ts"

const BEFORE = `authorization {
  users = [
    { user: alice, password: a, permissions: { subscribe: { allow: ["foo", "bar"] } } }
    { user: bob, password: b }
    { user: carol, password: c }
  ]
}
`
const AFTER = `authorization {
  users = [
    { user: alice, password: a, permissions: { subscribe: { allow: ["foo"] } } }
    { user: carol, password: changed }
  ]
}
`

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true })
})
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-reload-"))
  dirs.push(d)
  return d
}

/** A raw client: everything the server wrote, and whether it closed the socket. */
const rawClient = async (port: number, connect: object, lines: string) => {
  const socket = net.connect(port, "127.0.0.1")
  let text = ""
  let closed = false
  socket.on("data", (d) => (text += d.toString("latin1")))
  socket.on("close", () => (closed = true))
  socket.on("error", () => {})
  await new Promise((r) => socket.once("connect", r))
  socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...connect })}\r\n${lines}PING\r\n`)
  await until(() => text.includes("PONG\r\n"))
  return {
    // nats-server sends its first PING soon after connecting; keepalives are not what is compared.
    output: () => text.replace(/^INFO .*\r\n/, "").replaceAll("PING\r\n", ""),
    closed: () => closed,
    send: (s: string) => socket.write(s),
    end: () => socket.destroy()
  }
}

const until = async (f: () => boolean, ms = 5000) => {
  const deadline = Date.now() + ms
  while (!f()) {
    if (Date.now() > deadline) throw new Error("timed out")
    await new Promise((r) => setTimeout(r, 10))
  }
}

interface Target {
  readonly port: number
  readonly reload: () => Promise<void>
  readonly stop: () => Promise<unknown>
}

/** Both servers see the same scenario: alice and bob connect, the file changes, SIGHUP. */
const scenario = async (target: Target, conf: string) => {
  const alice = await rawClient(target.port, { user: "alice", pass: "a" }, "SUB bar 1\r\nSUB foo 2\r\n")
  const bob = await rawClient(target.port, { user: "bob", pass: "b" }, "SUB x 1\r\n")
  const carol = await rawClient(target.port, { user: "carol", pass: "c" }, "")
  fs.writeFileSync(conf, AFTER)
  await target.reload()
  await until(() => bob.closed() && carol.closed())
  await until(() => alice.output().includes("-ERR"))
  alice.send("PUB foo 2\r\nhi\r\nPUB bar 2\r\nno\r\nPING\r\n")
  await until(() => alice.output().split("PONG\r\n").length >= 3)
  const result = { alice: alice.output(), aliceOpen: !alice.closed(), bob: bob.output(), carol: carol.output() }
  alice.end()
  return result
}

describe("configuration reload", () => {
  it("drops users that lost their right and the subscriptions permissions no longer allow", async () => {
    const dir = tmp()
    const conf = path.join(dir, "auth.conf")
    const pidFile = path.join(dir, "broker.pid")
    fs.writeFileSync(conf, BEFORE)
    const b = await startCli(["-c", conf, "-P", pidFile])
    const ours = await scenario({
      port: b.port,
      reload: async () => {
        const r = await runCli(["--signal", `reload=${pidFile}`])
        expect(r.code).toBe(0)
      },
      stop: () => b.stop()
    }, conf)
    expect(ours).toEqual({
      alice:
        `PONG\r\n-ERR 'Permissions Violation for Subscription to "bar" (sid "1")'\r\nMSG foo 2 2\r\nhi\r\nPONG\r\n`,
      aliceOpen: true,
      // nats-server closes a client whose user is gone without an error (it "moved account").
      bob: "PONG\r\n",
      // A user that still exists but whose password no longer matches is an authorization violation.
      carol: "PONG\r\n-ERR 'Authorization Violation'\r\n"
    })
    await until(() => b.log().includes("Reloaded server configuration"))
    expect(b.log()).toContain("[INF] Reloaded: authorization users")
    expect(b.log()).toContain(`Removed sub "bar" (sid "1") for alice - not authorized`)

    // A change that cannot be applied leaves everything as it was.
    fs.writeFileSync(conf, `${AFTER}\nserver_name: renamed\n`)
    expect((await runCli(["--signal", `reload=${pidFile}`])).code).toBe(0)
    await until(() => b.log().includes("Failed to reload server configuration"))
    expect(b.log()).toContain(
      "[ERR] Failed to reload server configuration: config reload not supported for ServerName: old=, new=renamed"
    )
    const still = await rawClient(b.port, { user: "alice", pass: "a" }, "")
    expect(still.output()).toBe("PONG\r\n")
    still.end()
    await b.stop()
  })

  const natsServer = natsServerPath()
  if (natsServer === undefined) console.log("reload differential skipped: nats-server is not on PATH")
  it.skipIf(natsServer === undefined)("matches nats-server 2.9.10 on the same reload", async () => {
    const dir = tmp()
    const conf = path.join(dir, "auth.conf")
    const pidFile = path.join(dir, "nats.pid")
    fs.writeFileSync(conf, BEFORE)
    const n = await startNatsServer(["-c", conf, "-P", pidFile])
    const theirs = await scenario({
      port: n.port,
      reload: async () => {
        const r = await runCli(["--signal", `reload=${pidFile}`])
        expect(r.code).toBe(0)
      },
      stop: () => n.stop()
    }, conf)
    await n.stop()
    expect(theirs).toEqual({
      alice:
        `PONG\r\n-ERR 'Permissions Violation for Subscription to "bar" (sid "1")'\r\nMSG foo 2 2\r\nhi\r\nPONG\r\n`,
      aliceOpen: true,
      bob: "PONG\r\n",
      carol: "PONG\r\n-ERR 'Authorization Violation'\r\n"
    })
  })

  it("--signal refuses what it cannot send", async () => {
    const [noPid, reopen, bogus, extra] = await Promise.all([
      runCli(["--signal", "reload"]),
      runCli(["--signal", "reopen=1"]),
      runCli(["--signal", "bogus=1"]),
      runCli(["--signal", "reload=1=2"])
    ])
    expect(noPid.stderr).toContain("unable to resolve pid, try providing one")
    expect(reopen.stderr).toContain(`signal "reopen" is not supported`)
    expect(bogus.stderr).toContain(`unknown signal "bogus"`)
    expect([extra.code, extra.stderr]).toEqual([1, "invalid signal parameters: [2]\n"])
  })
})

const ACCOUNTS_BEFORE = `accounts {
  A: { users: [ { user: a1, password: p }, { user: a2, password: p } ] }
  B: { users: [ { user: b1, password: p } ] }
}
`
const ACCOUNTS_AFTER = `accounts {
  A: { users: [ { user: a1, password: p }, { user: a3, password: p } ] }
  B: { users: [ { user: b1, password: p }, { user: a2, password: p } ] }
}
`

/** Users move between accounts: the moved one is closed, the others stay, a new one can connect. */
const accountsScenario = async (port: number, conf: string, reload: () => Promise<void>) => {
  const a1 = await rawClient(port, { user: "a1", pass: "p" }, "SUB x 1\r\n")
  const a2 = await rawClient(port, { user: "a2", pass: "p" }, "")
  fs.writeFileSync(conf, ACCOUNTS_AFTER)
  await reload()
  await until(() => a2.closed())
  const a3 = await rawClient(port, { user: "a3", pass: "p" }, "PUB x 2\r\nhi\r\n")
  const b1 = await rawClient(port, { user: "b1", pass: "p" }, "PUB x 2\r\nno\r\n")
  a1.send("PING\r\n")
  await until(() => a1.output().split("PONG\r\n").length >= 3)
  const result = { a1: a1.output(), a1Open: !a1.closed(), a2: a2.output() }
  for (const c of [a1, a3, b1]) c.end()
  return result
}

const ACCOUNTS_EXPECTED = { a1: "PONG\r\nMSG x 1 2\r\nhi\r\nPONG\r\n", a1Open: true, a2: "PONG\r\n" }

describe("configuration reload with accounts", () => {
  it("moves users between accounts without touching the others; other account changes are refused", async () => {
    const dir = tmp()
    const conf = path.join(dir, "acc.conf")
    const pidFile = path.join(dir, "broker.pid")
    fs.writeFileSync(conf, ACCOUNTS_BEFORE)
    const b = await startCli(["-c", conf, "-P", pidFile])
    const reload = async () => {
      expect((await runCli(["--signal", `reload=${pidFile}`])).code).toBe(0)
    }
    expect(await accountsScenario(b.port, conf, reload)).toEqual(ACCOUNTS_EXPECTED)
    expect(b.log()).toContain("[INF] Reloaded: accounts")
    fs.writeFileSync(conf, ACCOUNTS_AFTER.replace("B: {", "B: { exports: [ { stream: x } ],"))
    await reload()
    await until(() => b.log().includes("Failed to reload"))
    expect(b.log()).toContain(
      "Failed to reload server configuration: config reload not supported for accounts: only their users and permissions may change"
    )
    await b.stop()
  })

  it.skipIf(natsServerPath() === undefined)("matches nats-server 2.9.10 when users move", async () => {
    const dir = tmp()
    const conf = path.join(dir, "acc.conf")
    const pidFile = path.join(dir, "nats.pid")
    fs.writeFileSync(conf, ACCOUNTS_BEFORE)
    const n = await startNatsServer(["-c", conf, "-P", pidFile])
    const theirs = await accountsScenario(n.port, conf, async () => {
      expect((await runCli(["--signal", `reload=${pidFile}`])).code).toBe(0)
    })
    await n.stop()
    expect(theirs).toEqual(ACCOUNTS_EXPECTED)
  })
})

describe("reload plan", () => {
  const base = make({
    auth: {
      user: undefined,
      password: undefined,
      token: "t",
      users: [],
      nkeys: [],
      noAuthUser: undefined,
      timeoutMs: 2000
    }
  })
  it("applies authorization and logging changes with nats-server's notices", () => {
    const plan = planReload(base, { ...base, debug: true, auth: { ...base.auth!, token: "u", timeoutMs: 5000 } })
    expect(plan).toEqual({
      ok: true,
      authChanged: true,
      notices: ["Reloaded: debug = true", "Reloaded: authorization token", "Reloaded: authorization timeout = 5"]
    })
    expect(planReload(base, { ...base, pingIntervalMs: 30_000 })).toEqual({
      ok: true,
      authChanged: false,
      notices: ["Reloaded: ping_interval = 30s"]
    })
  })
  it("refuses an authorization change while the MQTT listener (which read the credentials at start) runs", () => {
    const withMqtt = { ...base, mqtt: mqttSettings(1883) }
    expect(planReload(withMqtt, { ...withMqtt, auth: { ...base.auth!, token: "u" } })).toEqual({
      ok: false,
      error: "config reload not supported for authorization while mqtt is enabled: restart the server"
    })
    const off = { ...base, mqtt: mqttSettings(0) }
    expect(planReload(off, { ...off, auth: { ...base.auth!, token: "u" } })).toMatchObject({ ok: true })
  })
  it("refuses options that cannot change while running, naming them as nats-server does", () => {
    expect(planReload(base, { ...base, port: 4333 })).toEqual({
      ok: false,
      error: "config reload not supported for Port: old=4222, new=4333"
    })
    expect(planReload(base, { ...base, port: -1 })).toMatchObject({ ok: true })
    expect(planReload(base, { ...base, storeDir: "/elsewhere" })).toEqual({
      ok: false,
      error: "config reload not supported for jetstream storage directory"
    })
    const withNoAuth = {
      ...base,
      auth: { ...base.auth!, users: [{ user: "a", password: "p", permissions: undefined }], noAuthUser: "a" }
    }
    expect(planReload(withNoAuth, { ...withNoAuth, auth: { ...withNoAuth.auth, noAuthUser: undefined } })).toEqual({
      ok: false,
      error: "config reload not supported for NoAuthUser: old=a, new="
    })
    expect(planReload(withNoAuth, { ...withNoAuth, auth: { ...withNoAuth.auth, users: [], noAuthUser: undefined } }))
      .toMatchObject({ ok: true })
  })
  it("refuses any change of the cluster block; the same block again is no change", () => {
    const cluster = {
      name: "c",
      host: "127.0.0.1",
      port: 6222,
      routes: [],
      auth: undefined,
      advertise: undefined,
      noAdvertise: false,
      connectRetries: 0
    }
    const clustered = { ...base, cluster }
    expect(planReload(clustered, { ...clustered, cluster: { ...cluster } })).toEqual({
      ok: true,
      authChanged: false,
      notices: []
    })
    expect(planReload(clustered, { ...clustered, cluster: { ...cluster, name: "d" } })).toEqual({
      ok: false,
      error: "config reload not supported for cluster: restart the server to change its routes or cluster settings"
    })
    expect(planReload(base, clustered)).toMatchObject({ ok: false })
  })
})
