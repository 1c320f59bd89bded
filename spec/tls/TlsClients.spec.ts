/**
 * Client TLS over real sockets, each scenario run against nats-server 2.9.10 and against us with the
 * same configuration file (certificates made by openssl for this run): INFO fields, plain clients
 * refused, TLS pub/sub and JetStream through @nats-io/transport-node and the legacy `nats` v2
 * client, mTLS with a good, a foreign and no client certificate, garbage and silence instead of a
 * handshake. Both servers must agree, and the values are asserted too.
 */
import { jetstreamManager } from "@nats-io/jetstream"
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node"
import { connect as legacyConnect } from "nats"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { writeConf } from "../auth/AuthServers.ts"
import {
  natsServerPath,
  type RunningBroker,
  type RunningNatsServer,
  startBroker,
  startNatsServer
} from "../support/Broker.ts"
import { makeCerts, type TestCerts } from "./TlsCerts.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("TLS differential skipped: nats-server is not on PATH")

const sc = new TextEncoder()
const dc = new TextDecoder()

const tlsConf = (c: TestCerts, extra: string) => `
tls {
  cert_file: "${c.serverCert}"
  key_file: "${c.serverKey}"
  ca_file: "${c.ca}"
  ${extra}
}
`

const startOurs = async (text: string, jetstream = false): Promise<RunningBroker> => {
  const loaded = ConfigFile.load(writeConf(text))
  if (loaded._tag === "Failure") throw new Error(loaded.errors.map(ConfigFile.renderIssue).join("\n"))
  return startBroker({ ...loaded.config, ...(jetstream ? { jetstream: true } : {}) })
}

const failure = async (p: Promise<NatsConnection>): Promise<string> => {
  try {
    const nc = await p
    await nc.close()
    return "ok"
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`
  }
}

/** The first line a server sends, parsed, and whether it then closes on `send` within `waitMs`. */
const rawSession = (port: number, send: string | undefined, waitMs: number) =>
  new Promise<{ info: Record<string, unknown>; closed: boolean }>((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1")
    let buf = ""
    let info: Record<string, unknown> | undefined
    const timer = setTimeout(() => {
      s.destroy()
      if (info !== undefined) resolve({ info, closed: false })
      else reject(new Error("no INFO"))
    }, waitMs)
    s.on("data", (d) => {
      if (info !== undefined) return
      buf += d.toString("latin1")
      const nl = buf.indexOf("\r\n")
      if (nl < 0) return
      info = JSON.parse(buf.slice(5, nl)) as Record<string, unknown>
      if (send !== undefined) s.write(send)
    })
    s.on("error", () => {})
    s.on("close", () => {
      clearTimeout(timer)
      if (info !== undefined) resolve({ info, closed: true })
      else reject(new Error("closed before INFO"))
    })
  })

const pubSub = async (nc: NatsConnection | { subscribe: NatsConnection["subscribe"] }, n: NatsConnection) => {
  const sub = nc.subscribe("tls.echo", { max: 1 })
  n.publish("tls.echo", sc.encode("secret"))
  for await (const m of sub) return dc.decode(m.data)
  return "none"
}

describe.skipIf(natsServer === undefined)("client TLS: ours vs nats-server", () => {
  let certs: TestCerts
  const servers: Array<RunningBroker | RunningNatsServer> = []
  let oursTls: RunningBroker
  let natsTls: RunningNatsServer
  let oursMtls: RunningBroker
  let natsMtls: RunningNatsServer
  let storeDir: string

  beforeAll(async () => {
    certs = makeCerts()
    storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-tls-js-"))
    const plain = tlsConf(certs, "timeout: 0.5")
    const mtls = `${tlsConf(certs, "verify: true\ntimeout: 0.5")}\nhttp: "127.0.0.1:-1"`
    ;[oursTls, natsTls, oursMtls, natsMtls] = await Promise.all([
      startOurs(plain, true),
      startNatsServer(["-c", writeConf(`${plain}\njetstream { store_dir: "${storeDir}" }`)]),
      startOurs(mtls),
      startNatsServer(["-c", writeConf(mtls)])
    ])
    servers.push(oursTls, natsTls, oursMtls, natsMtls)
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    certs.remove()
    fs.rmSync(storeDir, { recursive: true, force: true })
  })

  const both = async <A>(f: (s: { port: number }, ours: boolean) => Promise<A>, mtls = false) => {
    const [ours, nats] = await Promise.all([
      f(mtls ? oursMtls : oursTls, true),
      f(mtls ? natsMtls : natsTls, false)
    ])
    expect(ours).toEqual(nats)
    return ours
  }
  const url = (s: { port: number }) => `127.0.0.1:${s.port}`
  const opts = (s: { port: number }, o: Partial<ConnectionOptions>) =>
    connect({ servers: url(s), reconnect: false, timeout: 3_000, ...o })

  it("INFO announces tls_required, and tls_verify with verify", async () => {
    const pick = (i: Record<string, unknown>) => ({ tls_required: i.tls_required, tls_verify: i.tls_verify })
    expect(await both(async (s) => pick((await rawSession(s.port, undefined, 2_000)).info))).toEqual({
      tls_required: true,
      tls_verify: undefined
    })
    expect(await both(async (s) => pick((await rawSession(s.port, undefined, 2_000)).info), true)).toEqual({
      tls_required: true,
      tls_verify: true
    })
  })

  it("/varz reports the TLS settings and the auth timeout they imply", async () => {
    const varz = async (port: number | undefined) => {
      const v = (await (await fetch(`http://127.0.0.1:${port}/varz`)).json()) as Record<string, unknown>
      return {
        tls_required: v.tls_required,
        tls_verify: v.tls_verify,
        tls_timeout: v.tls_timeout,
        auth: v.auth_timeout
      }
    }
    const [a, b] = await Promise.all([varz(oursMtls.monitorPort), varz(natsMtls.monitorPort)])
    expect(a).toEqual(b)
    expect(a).toEqual({ tls_required: true, tls_verify: true, tls_timeout: 0.5, auth: 1.5 })
  })

  it("a client that does not trust the server's CA fails as against nats-server", async () => {
    const r = await both((s) => failure(opts(s, {})))
    expect(r).toMatch(/certificate/)
  })

  it("a plaintext CONNECT instead of a handshake is closed; the server keeps serving", async () => {
    const r = await both(async (s) => (await rawSession(s.port, "CONNECT {}\r\nPING\r\n", 2_000)).closed)
    expect(r).toBe(true)
    const garbage = await both(async (s) =>
      (await rawSession(s.port, "\x16\x03\x01\x00\x05hello-not-tls", 2_000)).closed
    )
    expect(garbage).toBe(true)
    expect(await both((s) => failure(opts(s, { tls: { caFile: certs.ca } })))).toBe("ok")
  })

  it("silence instead of a handshake is closed after the tls timeout", async () => {
    expect(await both(async (s) => (await rawSession(s.port, undefined, 2_500)).closed)).toBe(true)
  })

  it("pub/sub and JetStream over TLS (transport-node)", async () => {
    const got = await both(async (s) => {
      const nc = await opts(s, { tls: { caFile: certs.ca } })
      try {
        const echoed = await pubSub(nc, nc)
        const jsm = await jetstreamManager(nc)
        const name = `TLS_${Math.random().toString(36).slice(2, 8)}`
        await jsm.streams.add({ name, subjects: [`${name}.>`] })
        const js = jsm.jetstream()
        const ack = await js.publish(`${name}.a`, sc.encode("x"))
        await jsm.streams.delete(name)
        return { echoed, seq: ack.seq, tls: nc.info?.tls_required }
      } finally {
        await nc.close()
      }
    })
    expect(got).toEqual({ echoed: "secret", seq: 1, tls: true })
  })

  it("the legacy nats v2 client without TLS options fails as against nats-server", async () => {
    const r = await both(async (s) => {
      try {
        const nc = await legacyConnect({ servers: url(s), reconnect: false, timeout: 3_000 })
        await nc.close()
        return "ok"
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`
      }
    })
    expect(r).not.toBe("ok")
  })

  it("pub/sub over TLS with the legacy nats v2 client", async () => {
    const got = await both(async (s) => {
      const nc = await legacyConnect({ servers: url(s), reconnect: false, tls: { caFile: certs.ca } })
      try {
        const sub = nc.subscribe("tls.legacy", { max: 1 })
        nc.publish("tls.legacy", sc.encode("v2"))
        for await (const m of sub) return dc.decode(m.data)
        return "none"
      } finally {
        await nc.close()
      }
    })
    expect(got).toBe("v2")
  })

  it("mTLS: a CA-signed client certificate is admitted", async () => {
    const got = await both(async (s) => {
      const nc = await opts(s, { tls: { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey } })
      try {
        return await pubSub(nc, nc)
      } finally {
        await nc.close()
      }
    }, true)
    expect(got).toBe("secret")
  })

  it("mTLS: no client certificate, or one from a foreign CA, is refused", async () => {
    // Both refuse in the handshake; the client's text differs (OpenSSL sends a TLS alert, Go's
    // server resets the connection), so only the outcome is compared.
    for (const [name, s] of [["ours", oursMtls], ["nats-server", natsMtls]] as const) {
      expect(await failure(opts(s, { tls: { caFile: certs.ca } })), `${name}, no certificate`).not.toBe("ok")
      const rogue = { caFile: certs.ca, certFile: certs.rogueCert, keyFile: certs.rogueKey }
      expect(await failure(opts(s, { tls: rogue })), `${name}, foreign certificate`).not.toBe("ok")
    }
    // and keep serving
    const admitted = { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey }
    expect(await both((s) => failure(opts(s, { tls: admitted })), true)).toBe("ok")
  })
})

describe.skipIf(natsServer === undefined)("verify_and_map: the certificate names the user", () => {
  let certs: TestCerts
  let ours: RunningBroker
  let nats: RunningNatsServer
  beforeAll(async () => {
    certs = makeCerts()
    const conf = `${tlsConf(certs, "verify_and_map: true")}
authorization {
  users: [
    { user: "alice@example.com", permissions: { publish: "alice.>", subscribe: ["alice.>", "_INBOX.>"] } }
    { user: "CN=carol,O=Acme", permissions: { publish: "carol.>", subscribe: "carol.>" } }
  ]
}`
    ;[ours, nats] = await Promise.all([startOurs(conf), startNatsServer(["-c", writeConf(conf)])])
  })
  afterAll(async () => {
    await Promise.all([ours.stop(), nats.stop()])
    certs.remove()
  })

  /** Connects with a client certificate, echoes on `ok`, publishes to `denied`; what the client saw. */
  const session = async (
    port: number,
    cert: string,
    key: string,
    ok: string,
    denied: string,
    creds: Partial<ConnectionOptions> = {}
  ) => {
    let nc: NatsConnection
    try {
      nc = await connect({
        servers: `127.0.0.1:${port}`,
        reconnect: false,
        timeout: 3_000,
        tls: { caFile: certs.ca, certFile: cert, keyFile: key },
        ...creds
      })
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`
    }
    try {
      const firstError = (async () => {
        for await (const s of nc.status()) if (s.type === "error") return String(s.error)
        return "none"
      })()
      const sub = nc.subscribe(`${ok}.echo`, { max: 1 })
      nc.publish(`${ok}.echo`, sc.encode("mapped"))
      let got = "none"
      for await (const m of sub) got = dc.decode(m.data)
      nc.publish(`${denied}.x`)
      await nc.flush()
      const error = await Promise.race([firstError, new Promise<string>((r) => setTimeout(() => r("timeout"), 1_000))])
      return { got, error }
    } finally {
      await nc.close()
    }
  }
  const both = async (f: (port: number) => Promise<unknown>) => {
    const [a, b] = await Promise.all([f(ours.port), f(nats.port)])
    expect(a).toEqual(b)
    return a
  }

  it("an email SAN picks the user and its permissions; CONNECT's user is ignored", async () => {
    const r = await both((port) => session(port, certs.clientCert, certs.clientKey, "alice", "bob", { user: "carol" }))
    expect(r).toMatchObject({ got: "mapped" })
    expect((r as { error: string }).error).toContain("Permissions Violation for Publish to \"bob.x\"")
  })

  it("the subject's RDN string picks the user when no SAN matches", async () => {
    const r = await both((port) => session(port, certs.carolCert, certs.carolKey, "carol", "alice"))
    expect(r).toMatchObject({ got: "mapped" })
    expect((r as { error: string }).error).toContain("Permissions Violation for Publish to \"alice.x\"")
  })

  it("a CONNECT password must still match the mapped user's (none here)", async () => {
    const creds = { user: "x", pass: "secret" }
    const r = await both((port) => session(port, certs.clientCert, certs.clientKey, "alice", "bob", creds))
    expect(r).toBe("AuthorizationError: Authorization Violation")
  })

  it("a CA-signed certificate that maps to no user is an Authorization Violation", async () => {
    const r = await both((port) => session(port, certs.daveCert, certs.daveKey, "dave", "x"))
    expect(r).toMatch(/Authorization Violation|authorization/i)
  })
})

describe.skipIf(natsServer === undefined)("authentication timeout under TLS", () => {
  let certs: TestCerts
  let ours: RunningBroker
  let nats: RunningNatsServer
  beforeAll(async () => {
    certs = makeCerts()
    // No authorization.timeout: nats-server's default becomes the TLS timeout + 1 s = 3.5 s.
    const conf = `${tlsConf(certs, "timeout: 2.5")}\nauthorization { users: [ { user: a, password: b } ] }`
    ;[ours, nats] = await Promise.all([startOurs(conf), startNatsServer(["-c", writeConf(conf)])])
  })
  afterAll(async () => {
    await Promise.all([ours.stop(), nats.stop()])
    certs.remove()
  })

  /** Upgrades after the plaintext INFO, sends nothing; what arrived inside TLS by 2.7 s and by 5 s. */
  const silentClient = (port: number) =>
    new Promise<{ early: string; late: string }>((resolve, reject) => {
      const raw = net.connect(port, "127.0.0.1")
      raw.once("data", () => {
        const s = tls.connect({ socket: raw, ca: fs.readFileSync(certs.ca), servername: "localhost" })
        let got = ""
        let early = ""
        s.on("data", (d) => (got += d.toString("latin1")))
        s.on("error", () => {})
        setTimeout(() => (early = got), 2_700)
        setTimeout(() => {
          s.destroy()
          resolve({ early, late: got })
        }, 5_000)
      })
      raw.on("error", reject)
    })

  it("is the TLS timeout plus one second, as nats-server's default", async () => {
    const [a, b] = await Promise.all([silentClient(ours.port), silentClient(nats.port)])
    expect(a).toEqual(b)
    expect(a).toEqual({ early: "", late: "-ERR 'Authentication Timeout'\r\n" })
  }, 10_000)
})
