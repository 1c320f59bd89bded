/**
 * The `websocket {}` block: every key decoded into WebsocketSettings, wrong types and unknown keys
 * refused, and the start-up refusals differential against nats-server (which runs the same checks
 * when it starts, not under `-t`): the same configuration must fail both with nats-server's text.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, assert, describe, it } from "vitest"
import * as BrokerConfig from "../../src/config/BrokerConfig.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { planReload } from "../../src/config/ReloadPlan.ts"
import { parseOrigin } from "../../src/config/WebsocketConfigFile.ts"
import { natsServerPath } from "../support/Broker.ts"

const load = (text: string) =>
  ConfigFile.load("/etc/ws.conf", {
    readFile: (f: string) => {
      if (f !== "/etc/ws.conf") throw new Error(`ENOENT: no such file '${f}'`)
      return text
    },
    env: {}
  })
const ok = (text: string) => {
  const r = load(text)
  if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
  return r
}
const errors = (text: string) => {
  const r = load(text)
  assert.strictEqual(r._tag, "Failure", "expected the configuration to be refused")
  return (r as { errors: ReadonlyArray<ConfigFile.ConfigIssue> }).errors.map((e) => e.message)
}

describe("websocket block", () => {
  it("maps every key, with nats-server's aliases", () => {
    const r = ok(`
authorization { users: [{ user: alice, password: pw }, { user: guest, password: g }] }
ws {
  listen: "127.0.0.1:8443"
  advertise: "ws.example.com:443"
  no_tls: true
  same_origin: true
  origins: ["https://app.example.com", "http://localhost:3000"]
  handshake_timeout: "3s"
  compress: true
  authentication { timeout: 4 }
  no_auth_user: guest
  user_cookie: u
  pass_cookie: p
  token_cookie: t
  headers { "X-Frame-Options": "DENY" }
  ping_interval: "15s"
}`)
    const ws = r.config.websocket!
    assert.strictEqual(ws.host, "127.0.0.1")
    assert.strictEqual(ws.port, 8443)
    assert.strictEqual(ws.advertise, "ws.example.com:443")
    assert.strictEqual(ws.noTls, true)
    assert.strictEqual(ws.sameOrigin, true)
    assert.deepStrictEqual(ws.allowedOrigins, ["https://app.example.com", "http://localhost:3000"])
    assert.deepStrictEqual(ws.allowedOriginsParsed, [
      { scheme: "https", host: "app.example.com", port: "443" },
      { scheme: "http", host: "localhost", port: "3000" }
    ])
    assert.strictEqual(ws.handshakeTimeoutMs, 3000)
    assert.strictEqual(ws.compression, true)
    assert.strictEqual(ws.authTimeoutSeconds, 4)
    assert.strictEqual(ws.noAuthUser, "guest")
    assert.deepStrictEqual([ws.userCookie, ws.passCookie, ws.tokenCookie, ws.jwtCookie], ["u", "p", "t", undefined])
    assert.deepStrictEqual(ws.headers, [["X-Frame-Options", "DENY"]])
    assert.strictEqual(ws.pingIntervalMs, 15_000)
  })

  it("defaults the host to 0.0.0.0 and reads an integer handshake_timeout as seconds", () => {
    const ws = ok(`websocket { port: -1, no_tls: true, handshake_timeout: 2 }`).config.websocket!
    assert.strictEqual(ws.host, "0.0.0.0")
    assert.strictEqual(ws.port, -1)
    assert.strictEqual(ws.handshakeTimeoutMs, 2000)
  })

  it("is off without a port, whatever else it says (nats-server ignores the block then)", () => {
    assert.strictEqual(ok(`websocket { compression: true }`).config.websocket, undefined)
  })

  it("refuses unknown keys and wrong types", () => {
    assert.deepStrictEqual(errors(`websocket { port: 1, no_tls: true, foo: 1 }`), [`unknown field "foo"`])
    assert.deepStrictEqual(errors(`websocket { port: 1, no_tls: "yes" }`), [
      "websocket.no_tls: expected a boolean, got string"
    ])
    assert.deepStrictEqual(errors(`websocket { port: 1, no_tls: true, handshake_timeout: true }`), [
      "error parsing handshake timeout: unsupported type bool"
    ])
    assert.deepStrictEqual(errors(`websocket { port: 1, no_tls: true, headers { X: 1 } }`), [
      "error parsing header key X: unsupported type int64"
    ])
    assert.deepStrictEqual(errors(`websocket { port: 1, no_tls: true, authorization { nkey: x } }`), [
      `unknown field "nkey"`
    ])
    assert.deepStrictEqual(errors(`websocket: 8080`), ["Expected websocket to be a map, got int64"])
    assert.deepStrictEqual(errors(`websocket { port: 70000, no_tls: true }`), [
      "websocket port 70000 is out of range (use 0..65535, or -1 for a random port)"
    ])
  })

  it("refuses headers that the upgrade owns (nats-server 2.11)", () => {
    assert.deepStrictEqual(errors(`websocket { port: 1, no_tls: true, headers { Upgrade: x } }`), [
      `websocket: invalid header "Upgrade" not allowed`
    ])
    assert.deepStrictEqual(errors(`websocket { port: 1, no_tls: true, headers { "Sec-WebSocket-Protocol": x } }`), [
      `websocket: invalid header "Sec-WebSocket-Protocol", "Sec-WebSocket-" prefix not allowed`
    ])
  })

  it("refuses origins that are not absolute http(s) URLs", () => {
    assert.strictEqual(
      parseOrigin("ftp://x"),
      `unable to parse allowed origin "ftp://x": allowed origins must be absolute URLs with http or https scheme`
    )
    assert.strictEqual(parseOrigin("https://"), `unable to parse allowed origin "https://": host is required`)
    assert.deepStrictEqual(parseOrigin("https://[::1]:8443"), { scheme: "https", host: "::1", port: "8443" })
    assert.deepStrictEqual(parseOrigin("HTTP://Example.COM"), { scheme: "http", host: "example.com", port: "80" })
  })

  it("a reload that changes the block is refused, one that keeps it applies", () => {
    const a = BrokerConfig.make(ok(`websocket { port: 8080, no_tls: true }`).config)
    const b = BrokerConfig.make(ok(`websocket { port: 8080, no_tls: true, compression: true }`).config)
    assert.deepStrictEqual(planReload(a, b), { ok: false, error: "config reload not supported for Websocket" })
    assert.deepStrictEqual(planReload(a, a), { ok: true, notices: [], authChanged: false })
  })
})

// Start-up refusals, each checked against nats-server 2.9.10 starting with the same file.
const REFUSALS: Record<string, { readonly conf: string; readonly message: string }> = {
  "no tls and no no_tls": { conf: `websocket { port: 36990 }`, message: "websocket requires TLS configuration" },
  "no_auth_user without users": {
    conf: `websocket { port: 36990, no_tls: true, no_auth_user: bob }`,
    message: `no_auth_user: "bob" present, but users are not defined`
  },
  "no_auth_user that is not a user": {
    conf: `authorization { users: [{ user: a, password: b }] }
websocket { port: 36990, no_tls: true, no_auth_user: bob }`,
    message: `no_auth_user: "bob" not present as user in authorization block or account configuration`
  },
  "single user beside a users list": {
    conf: `authorization { users: [{ user: a, password: b }] }
websocket { port: 36990, no_tls: true, authorization { user: x, password: y } }`,
    message: "websocket authentication username not compatible with presence of users/nkeys"
  },
  "token beside a users list": {
    conf: `authorization { users: [{ user: a, password: b }] }
websocket { port: 36990, no_tls: true, authorization { token: secret } }`,
    message: "websocket authentication token not compatible with presence of users/nkeys"
  },
  "jwt_cookie outside operator mode": {
    conf: `websocket { port: 36990, no_tls: true, jwt_cookie: jwt }`,
    message: `trusted operators or trusted keys configuration is required for JWT authentication via cookie "jwt"`
  },
  "an origin with a broken port": {
    conf: `websocket { port: 36990, no_tls: true, allowed_origins: ["http://a:b:c"] }`,
    message: `unable to parse allowed origin: parse "http://a:b:c": invalid port ":c" after host`
  }
}

const natsServer = natsServerPath()
if (natsServer === undefined) {
  console.log("websocket config differential skipped: nats-server is not on PATH (apt-get install nats-server)")
}

describe("start-up refusals", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-wsconf-"))
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const [name, { conf, message }] of Object.entries(REFUSALS)) {
    it(`${name}: refused with nats-server's text`, () => {
      assert.deepStrictEqual(errors(conf), [message])
    })
    it.skipIf(natsServer === undefined)(`${name}: nats-server refuses it with the same text`, () => {
      const file = path.join(dir, `${name.replace(/\W+/g, "-")}.conf`)
      fs.writeFileSync(file, conf)
      const r = spawnSync(natsServer!, ["-c", file, "-a", "127.0.0.1", "-p", "-1"], { encoding: "utf8", timeout: 5000 })
      assert.strictEqual(r.status, 1, r.stderr)
      assert.strictEqual(r.stderr.trim(), `nats-server: ${message}`)
    })
  }
})
