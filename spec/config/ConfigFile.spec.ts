/**
 * Config file → BrokerConfig: every supported key, types, nats-server's unknown-key rule, the
 * refusal of security settings we cannot honour, and the computed JetStream limits.
 */
import { assert, describe, it } from "vitest"
import * as BrokerConfig from "../../src/config/BrokerConfig.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { parseGoDuration } from "../../src/jetstream/codec/GoTime.ts"
import { configChecks } from "../support/ConfigText.ts"

const files = (entries: Record<string, string>) => ({
  readFile: (f: string) => {
    const text = entries[f]
    if (text === undefined) throw new Error(`ENOENT: no such file '${f}'`)
    return text
  },
  env: { ENV_PORT: "4333" }
})
const load = (text: string) => ConfigFile.load("/etc/b.conf", files({ "/etc/b.conf": text }))
const { ok, errors } = configChecks(load)

describe("supported keys", () => {
  it("maps every server key onto BrokerConfig", () => {
    const r = ok(`
listen: "127.0.0.1:4300"
server_name: alpha
http: "127.0.0.1:-1"
max_payload: 2MB
max_connections: 100
max_control_line: 8KB
max_pending: 128MB
ping_interval: "30s"
ping_max: 5
write_deadline: "1.5s"
log_file: "/var/log/b.log"
debug: true
trace: on
logtime: false
pid_file: /run/b.pid
ports_file_dir: /tmp
lame_duck_duration: "45s"
jetstream {
  store_dir: "/data"
  max_memory_store: 1G
  max_file_store: "10G"
  sync_interval: "2m"
  domain: hub
}
`)
    assert.deepStrictEqual(r.config, {
      host: "127.0.0.1",
      port: 4300,
      serverName: "alpha",
      httpHost: "127.0.0.1",
      httpPort: -1,
      maxPayload: 2 * 1024 ** 2,
      maxConnections: 100,
      maxControlLine: 8192,
      maxPending: 128 * 1024 ** 2,
      pingIntervalMs: 30_000,
      pingMax: 5,
      writeDeadlineMs: 1500,
      logFile: "/var/log/b.log",
      debug: true,
      trace: true,
      logtime: false,
      pidFile: "/run/b.pid",
      portsFileDir: "/tmp",
      lameDuckDurationMs: 45_000,
      storeDir: "/data",
      maxMemoryStore: 1e9,
      maxFileStore: 10 * 1024 ** 3,
      sync: { intervalMs: 120_000 },
      domain: "hub",
      jetstream: true
    })
    assert.deepStrictEqual(r.warnings, [])
  })

  it("accepts the aliases and alternative forms", () => {
    assert.deepStrictEqual(
      ok("net: 0.0.0.0\nPORT: -1\nmonitor_port: 8222\nlogfile: x.log\npidfile: p\nmax_conn: 5\njetstream: enabled")
        .config,
      { host: "0.0.0.0", port: -1, httpPort: 8222, logFile: "x.log", pidFile: "p", maxConnections: 5, jetstream: true }
    )
    assert.deepStrictEqual(ok("http_port: -1\nhost: ::1\nport: $ENV_PORT").config, {
      httpPort: -1,
      host: "::1",
      port: 4333
    })
    assert.deepStrictEqual(ok("listen: 4500\nhttp: 8300").config, { port: 4500, httpPort: 8300 })
    assert.deepStrictEqual(ok("listen: \"[::1]:4501\"").config, { host: "::1", port: 4501 })
    assert.deepStrictEqual(ok("jetstream: true").config, { jetstream: true })
    assert.deepStrictEqual(ok("jetstream: disabled").config, { jetstream: false })
    assert.deepStrictEqual(ok("jetstream { enabled: false, store_dir: /d }").config, {
      jetstream: false,
      storeDir: "/d"
    })
    assert.deepStrictEqual(ok("store_dir: /top\njetstream: on").config, { storeDir: "/top", jetstream: true })
    // nats-server quirk: unquoted 512M is the integer 512,000,000; the quoted "64K" form is binary.
    assert.deepStrictEqual(ok("jetstream { max_mem_store: 512M, max_file: \"64K\", sync: always }").config, {
      maxMemoryStore: 512_000_000,
      maxFileStore: 64 * 1024,
      sync: "always",
      jetstream: true
    })
  })

  it("port 0 means the default port and http_port 0 turns monitoring off, as in nats-server", () => {
    assert.deepStrictEqual(ok("port: 0\nhttp_port: 0").config, { port: 4222 })
  })

  it("integer durations are seconds, with nats-server's warning", () => {
    const r = ok("ping_interval: 5")
    assert.deepStrictEqual(r.config, { pingIntervalMs: 5000 })
    assert.deepStrictEqual(r.warnings.map(ConfigFile.renderIssue), [
      `/etc/b.conf:1:1: invalid use of field "ping_interval": ping_interval should be converted to a duration (read as 5s)`
    ])
  })

  it("max_buffered_msgs / max_buffered_size bound the stream ingest queues (2.11)", () => {
    const r = ok("jetstream {\n  max_buffered_msgs: 1000\n  max_buffered_size: 1G\n}")
    assert.deepStrictEqual(r.notes.map(ConfigFile.renderIssue), [])
    assert.deepStrictEqual(r.config, { jetstream: true, maxBufferedMsgs: 1000, maxBufferedSize: 1_000_000_000 })
  })

  it("keys defined for use as variables are not unknown fields", () => {
    assert.deepStrictEqual(ok("MY_PORT: 4600\nport: $MY_PORT").config, { port: 4600 })
  })

  it("CLI overrides merge over the file (BrokerConfig.make)", () => {
    const file = ok("port: 4700\ndebug: true\nserver_name: f").config
    const merged = BrokerConfig.make({ ...file, ...{ port: -1, serverName: "cli" } })
    assert.strictEqual(merged.port, -1)
    assert.strictEqual(merged.serverName, "cli")
    assert.strictEqual(merged.debug, true)
  })
})

describe("errors: every one, with file:line:col and key, and nothing applied", () => {
  it("type errors", () => {
    assert.deepStrictEqual(errors("port: \"abc\"\ndebug: \"true\"\nmax_payload: 1.5\nhttp: [1]\njetstream: maybe"), [
      `/etc/b.conf:1:1: port: expected an integer, got a string ("abc")`,
      `/etc/b.conf:2:1: debug: expected a boolean (true/false, yes/no, on/off), got a string ("true")`,
      `/etc/b.conf:3:1: max_payload: expected an integer, got a float (1.5)`,
      `/etc/b.conf:4:1: http: expected port or host:port, got an array`,
      `/etc/b.conf:5:1: jetstream: expected 'enabled' or 'disabled' for string value, got 'maybe'`
    ])
  })

  it("value errors", () => {
    assert.deepStrictEqual(
      errors(
        "port: 70000\nlisten: \"nohost\"\nlame_duck_duration: \"10s\"\nwrite_deadline: \"soon\"\nmax_payload: 3GB\n" +
          "jetstream {\n  max_file_store: \"10g\"\n  store_dir: /a\n}\nstore_dir: /b"
      ),
      [
        "/etc/b.conf:1:1: port: port 70000 is out of range (use 0..65535, or -1 for a random port)",
        `/etc/b.conf:2:1: listen: could not parse address string "nohost"`,
        "/etc/b.conf:3:1: invalid lame_duck_duration of 10s, minimum is 30 seconds",
        `/etc/b.conf:4:1: error parsing write_deadline: invalid duration "soon"`,
        "/etc/b.conf:5:1: max_payload value is too big",
        `/etc/b.conf:7:3: max_file_store: sizes defined as strings must end in K, M, G, T (got "10g")`,
        "/etc/b.conf:10:1: Duplicate 'store_dir' configuration"
      ]
    )
  })

  it("unknown fields are errors, at the top and inside jetstream, as in nats-server", () => {
    assert.deepStrictEqual(errors("port: 1\nprot: 2\njetstream {\n  stor_dir: /x\n}"), [
      `/etc/b.conf:2:1: unknown field "prot"`,
      `/etc/b.conf:4:3: unknown field "stor_dir"`
    ])
  })

  it("a syntax error names file, line and key", () => {
    assert.deepStrictEqual(errors("port: 1\njetstream {\n  store_dir: \"/x\n}"), [
      `/etc/b.conf:4:2: Unexpected EOF. (at key "jetstream.store_dir")`
    ])
  })

  it("a missing file says so", () => {
    const r = ConfigFile.load("/nope.conf", files({}))
    assert(r._tag === "Failure")
    assert.match(ConfigFile.renderIssue(r.errors[0]!), /^\/nope\.conf: error opening config file: ENOENT/)
  })
})

describe("encryption at rest and HTTPS monitoring", () => {
  it("maps jetstream { cipher, key } with nats-server's aliases; ChaCha by default", () => {
    const cases: ReadonlyArray<[string, unknown]> = [
      ["jetstream { key: s3cr3t }", { cipher: "chacha", key: "s3cr3t" }],
      ["jetstream { cipher: AES, ek: k1 }", { cipher: "aes", key: "k1" }],
      ["jetstream { cipher: ChaChaPoly, encryption_key: \"k 2\" }", { cipher: "chacha", key: "k 2" }],
      ["K: fromvar\njetstream { cipher: chacha, key: $K }", { cipher: "chacha", key: "fromvar" }]
    ]
    for (const [text, encryption] of cases) assert.deepStrictEqual(ok(text).config.encryption, encryption, text)
    // An environment variable keeps the key out of the file (README, Docker). Its value is parsed like a
    // config value, as nats-server does: an all-digit key is an integer there, so it must not be all digits.
    const env = ConfigFile.load("/etc/e.conf", {
      readFile: () => "jetstream { key: $JS_KEY }",
      env: { JS_KEY: "k-9f8e7d" }
    })
    assert.deepStrictEqual(env._tag === "Success" ? env.config.encryption : env, { cipher: "chacha", key: "k-9f8e7d" })
  })

  it("a cipher without a key (or with an empty one) encrypts nothing, as nats-server, and says so", () => {
    for (const text of ["jetstream { cipher: aes }", "jetstream { cipher: aes, key: \"\" }"]) {
      const r = ok(text)
      assert.strictEqual(r.config.encryption, undefined)
      assert.deepStrictEqual(r.warnings.map(ConfigFile.renderIssue), [
        "/etc/b.conf:1:13: jetstream.cipher has no effect without jetstream.key: the store is not encrypted"
      ])
    }
  })

  it("reports a wrong cipher or key type at the key", () => {
    assert.deepStrictEqual(errors("jetstream { cipher: des, key: k }"), [
      "/etc/b.conf:1:13: Unknown cipher type: \"des\""
    ])
    assert.deepStrictEqual(errors("jetstream { key: 12 }"), [
      "/etc/b.conf:1:13: key: expected a string, got an integer (12)"
    ])
  })

  it("maps https_port and https host:port", () => {
    assert.deepStrictEqual(ok("https_port: 8443").config, { httpsPort: 8443 })
    assert.deepStrictEqual(ok("https: \"0.0.0.0:-1\"").config, { httpHost: "0.0.0.0", httpsPort: -1 })
    assert.deepStrictEqual(errors("https_port: 70000"), [
      "/etc/b.conf:1:1: https_port: https port 70000 is out of range (use 0..65535, or -1 for a random port)"
    ])
  })
})

describe("features not built yet", () => {
  it("warn once each and are otherwise ignored", () => {
    const r = ok(
      "port: 1\nclient_advertise: x\nleafnodes { port: 7422 }\n" +
        "# mqtt {} is built (spec/mqtt)\ngateway { name: g }\n" +
        "jetstream { max_outstanding_catchup: 1 }"
    )
    assert.deepStrictEqual(r.config, { port: 1, jetstream: true })
    assert.deepStrictEqual(r.warnings.map(ConfigFile.renderIssue), [
      "/etc/b.conf:2:1: client_advertise is not supported yet and is ignored",
      "/etc/b.conf:3:1: leafnodes is not supported yet and is ignored",
      "/etc/b.conf:5:1: gateway is not supported yet and is ignored",
      "/etc/b.conf:6:13: jetstream.max_outstanding_catchup is not supported yet and is ignored"
    ])
  })

  it("refuse to start when ignoring them would open access", () => {
    const refused: ReadonlyArray<[string, RegExp]> = [
      [
        "accounts { A: { mappings: { a: b } } }",
        /^\/etc\/b\.conf:1:17: accounts\.A\.mappings: subject mappings are not/
      ],
      ["operator: /etc/op.jwt", /error parsing operator JWT: open \/etc\/op\.jwt: no such file or directory/],
      ["resolver_pinned_accounts: [A]", /pinned accounts are not supported yet; refusing/],
      [
        "tls { cipher_suites: [\"TLS_AES_128_GCM_SHA256\"] }",
        /tls\.cipher_suites: not supported yet; refusing to start/
      ]
    ]
    for (const [text, message] of refused) {
      const e = errors(text)
      assert.strictEqual(e.length, 1, text)
      assert.match(e[0]!, message)
    }
  })
})

describe("JetStream limits", () => {
  const config = BrokerConfig.make({ jetstream: true, storeDir: "/data" })
  it("computes 75% of memory and of the available disk, as nats-server does", () => {
    const probe = {
      totalMemory: () => 16 * 1024 ** 3,
      availableDisk: (dir: string) => (dir === "/data" ? 400 * 1024 ** 3 : 0)
    }
    assert.deepStrictEqual(ConfigFile.resolveJetStreamLimits(config, probe), {
      maxMemoryStore: 12 * 1024 ** 3,
      maxFileStore: 300 * 1024 ** 3
    })
  })
  it("falls back to 256 MB and 1 TB when the machine cannot tell", () => {
    const probe = {
      totalMemory: () => 0,
      availableDisk: () => {
        throw new Error("statfs failed")
      }
    }
    assert.deepStrictEqual(ConfigFile.resolveJetStreamLimits(config, probe), {
      maxMemoryStore: 256 * 1024 ** 2,
      maxFileStore: 1024 ** 4
    })
  })
  it("keeps configured limits", () => {
    const given = BrokerConfig.make({ maxMemoryStore: 5, maxFileStore: 6 })
    assert.deepStrictEqual(ConfigFile.resolveJetStreamLimits(given), { maxMemoryStore: 5, maxFileStore: 6 })
  })
  it("formats sizes as nats-server's friendlyBytes", () => {
    assert.deepStrictEqual(
      [512, 1024, 1536, 17.69 * 1024 ** 3, 1024 ** 4].map(ConfigFile.friendlyBytes),
      ["512 B", "1.00 KB", "1.50 KB", "17.69 GB", "1.00 TB"]
    )
  })
})

describe("Go durations", () => {
  it("parses what time.ParseDuration accepts and rejects the rest", () => {
    assert.deepStrictEqual(
      ["2m", "500ms", "1.5h", "2h45m", "1m30s", "0", "-1s", "100us", "3000ns"].map(parseGoDuration),
      [120_000, 500, 5_400_000, 9_900_000, 90_000, 0, -1000, 0.1, 0.003]
    )
    assert.deepStrictEqual(["", "5", "1d", "ms", "1 s"].map(parseGoDuration), [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined
    ])
  })
})

describe("authorization", () => {
  it("maps the block onto AuthSettings, default permissions filling users without their own", () => {
    const r = ok(`authorization {
      timeout: 0.5
      default_permissions: { publish: ["d.>"] }
      users: [
        { user: a, password: pa, permissions: { publish: { allow: "a.>", deny: ["a.x"] }, subscribe: ["s.* q"], allow_responses: { max: 3, expires: "1s" } } }
        { username: b, pass: pb }
      ]
    }
    no_auth_user: b`)
    assert.deepStrictEqual(r.config.auth, {
      user: undefined,
      password: undefined,
      token: undefined,
      timeoutMs: 500,
      timeoutSet: true,
      noAuthUser: "b",
      nkeys: [],
      users: [
        {
          user: "a",
          password: "pa",
          standardAllowed: true,
          permissions: {
            publish: { allow: ["a.>"], deny: ["a.x"] },
            subscribe: { allow: ["s.* q"] },
            response: { maxMsgs: 3, expiresMs: 1000 }
          }
        },
        {
          user: "b",
          password: "pb",
          standardAllowed: true,
          permissions: { publish: { allow: ["d.>"] }, subscribe: undefined, response: undefined }
        }
      ]
    })
  })

  it("allow_responses alone turns the blanket publish allow off (nats-server)", () => {
    const r = ok("authorization { users: [ { user: a, permissions: { allow_responses: true } } ] }")
    assert.deepStrictEqual(r.config.auth?.users[0]?.permissions, {
      publish: { allow: [], deny: undefined },
      subscribe: undefined,
      response: { maxMsgs: 1, expiresMs: 120_000 }
    })
  })

  it("reports nats-server's messages at the key", () => {
    assert.deepStrictEqual(errors("authorization { user: a, token: t }"), [
      "/etc/b.conf:1:1: Cannot have a user/pass and token"
    ])
    assert.deepStrictEqual(errors("authorization { users: [ { user: a }, { user: a } ] }"), [
      "/etc/b.conf:1:1: Duplicate user \"a\" detected"
    ])
    assert.deepStrictEqual(errors("authorization { users: [ { user: a, permissions: { publish: \"a..b\" } } ] }"), [
      "/etc/b.conf:1:52: subject \"a..b\" is not a valid subject"
    ])
  })

  it("a no_auth_user that names no user is refused at load (nats-server -t accepts it, then refuses to start)", () => {
    assert.deepStrictEqual(errors("authorization { users: [ { user: a } ] }\nno_auth_user: b"), [
      "/etc/b.conf:2:1: no_auth_user: \"b\" not present as user in authorization block or account configuration"
    ])
    assert.deepStrictEqual(errors("no_auth_user: b"), [
      "/etc/b.conf:1:1: no_auth_user: \"b\" present, but users are not defined"
    ])
  })
})
