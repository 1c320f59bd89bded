/**
 * Differential: nats-server (`-c file -t`, its config check) and our loader must agree on which
 * files are acceptable. Samples cover the syntax forms and the key types; deliberate differences
 * (auth/TLS refused, 2.10 keys accepted) are tested in ConfigFile.spec.ts, not here.
 * Needs `nats-server` on PATH; skipped with the reason printed otherwise.
 */
import { createAccount, createUser } from "@nats-io/nkeys"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { natsServerPath } from "../support/Broker.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) {
  console.log("config differential skipped: nats-server is not on PATH (apt-get install nats-server)")
}

const accepted: ReadonlyArray<string> = [
  "port: -1\nhttp: \"127.0.0.1:-1\"\n",
  "listen: 127.0.0.1:4222",
  "listen: \"[::1]:-1\"",
  "{ port = 4222; debug = yes }",
  "port 4222\nhost 127.0.0.1\nlogtime off\ntrace: TRUE",
  "jetstream {\n  store_dir: \"/tmp/x\"\n  max_mem: 1G\n  max_file: \"2G\"\n  domain: d\n}",
  "jetstream: enabled",
  "jetstream: false",
  "jetstream { enabled: false }",
  "P: 4222\nport: $P",
  "port: $DIFF_ENV_PORT",
  "max_payload: 2MB\nmax_pending: 64MB\nmax_control_line: 4KB\nmax_connections: 10",
  "lame_duck_duration: \"45s\"\nwrite_deadline: \"5s\"\nping_interval: \"1m\"\nping_max: 3",
  "port: -1 # comment\n// another comment\n",
  "include 'inc.conf'",
  "cluster { name: c, listen: \"127.0.0.1:-1\" }\nport: -1",
  "server_name: srv1\npid_file: \"/tmp/x.pid\"\nports_file_dir: /tmp\nlog_file: /tmp/x.log",
  "http_port: 8222\nmonitor_port: 8223",
  "'port': 4222\n\"host\": \"0.0.0.0\"",
  "debug: on; trace: off, logtime: yes",
  "store_dir: /tmp/s\njetstream: on",
  // authorization (src/auth/AuthConfigFile.ts)
  "authorization { token: s3cr3t }",
  "authorization { user: a, password: b, timeout: 1.5 }",
  "authorization { username: a, pass: b, timeout: 3 }",
  "authorization { timeout: \"2s\" }",
  "authorization { }",
  "authorization { users: [] }",
  "authorization { users: [ { user: a, password: \"$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG\" }, { username: b, pass: c } ] }",
  `authorization { users: [ { nkey: ${createUser().getPublicKey()} }, { user: a, password: b } ] }`,
  "authorization { users: [ { user: a, password: b, permissions: { publish: \"foo\", subscribe: [\"bar.*\", \"baz.> q\"] } } ] }",
  "authorization { users: [ { user: a, permissions: { pub: { allow: [\"a.>\"], deny: \"a.b\" }, sub: { deny: [\">\"] } } } ] }",
  "authorization { users: [ { user: a, permissions: { allow_responses: true } } ] }",
  "authorization { users: [ { user: a, permissions: { allow_responses: { max: 5, expires: \"1m\" } } } ] }",
  "authorization { users: [ { user: a, permissions: { publish_allow_responses: { max_msgs: -1, ttl: \"0s\" } } } ] }",
  "authorization { users: [ { user: a, allowed_connection_types: [\"STANDARD\", \"websocket\"] } ] }",
  "authorization { default_permissions: { publish: \"x\" }, users: [ { user: a } ] }",
  "authorization { permissions: { subscribe: { allow: \"x\" } }, users: [ { user: a } ] }",
  "authorization { users: [ { user: a, password: b }, { user: g } ] }\nno_auth_user: g",
  "authorization { users: [ { user: a, permissions: { publish: {} } } ] }",
  // encryption at rest (src/store/Cipher.ts) and HTTPS monitoring (both ports at once, or https without
  // a certificate, are start-up errors in nats-server as here: spec/monitoring/Https.spec.ts)
  "jetstream { key: s3cr3t }",
  "jetstream { cipher: aes, key: \"k\" }",
  "jetstream { cipher: ChaChaPoly, ek: k }",
  "jetstream { cipher: chacha, encryption_key: k }",
  "jetstream { cipher: AES }",
  "jetstream { key: \"\" }",
  "https_port: 8443",
  "https: \"127.0.0.1:8443\"",
  "https: 8443",
  "http_port: 8222\nhttps_port: 8443"
]

const rejected: ReadonlyArray<string> = [
  "port: 1 2",
  "a { b: 1",
  "port: \"abc\"",
  "prot: 1",
  "a = 1\nb { c: $a }",
  "port: $NOPE_NOT_SET",
  "x: 1.5s",
  "jetstream { stor: 1 }",
  "jetstream: maybe",
  "jetstream: [1]",
  "lame_duck_duration: \"10s\"",
  "lame_duck_duration: 45",
  "debug: \"true\"",
  "max_payload: 3GB",
  "listen: nohost",
  "http: \"host:abc\"",
  "jetstream { max_file: \"10g\" }",
  "store_dir: /a\njetstream { store_dir: /b }",
  "= 1",
  "include 'missing.conf'",
  "a: [1,,2]",
  String.raw`server_name: "\q"`,
  "port = \n4222",
  "write_deadline: \"soon\"",
  // authorization
  "authorization { bogus: 1 }",
  "authorization: 1",
  "authorization { user: a, token: t }",
  "authorization { password: p, token: t }",
  "authorization { user: a, users: [ { user: b } ] }",
  "authorization { token: t, users: [] }",
  "authorization { users: [ { user: a }, { user: a } ] }",
  "authorization { users: [ { password: a } ] }",
  "authorization { users: [ { nkey: NOTAKEY } ] }",
  `authorization { users: [ { nkey: ${createAccount().getPublicKey()} } ] }`,
  `authorization { users: [ { nkey: ${createUser().getPublicKey()}, user: a } ] }`,
  "authorization { users: { user: a } }",
  "authorization { users: [ 1 ] }",
  "authorization { users: [ { user: a, colour: red } ] }",
  "authorization { users: [ { user: a, permissions: \"all\" } ] }",
  "authorization { users: [ { user: a, permissions: { publish: \"foo..bar\" } } ] }",
  "authorization { users: [ { user: a, permissions: { publish: [1 ] } } ] }",
  "authorization { users: [ { user: a, permissions: { publish: \"a b c\" } } ] }",
  "authorization { users: [ { user: a, permissions: { publish: { allow: \"a\", except: \"b\" } } } ] }",
  "authorization { users: [ { user: a, permissions: { publish: \"a\", admin: true } } ] }",
  "authorization { users: [ { user: a, permissions: { allow_responses: \"yes\" } } ] }",
  "authorization { users: [ { user: a, permissions: { allow_responses: { expires: 5 } } } ] }",
  "authorization { users: [ { user: a, permissions: { allow_responses: { expires: \"soon\" } } } ] }",
  "authorization { users: [ { user: a, permissions: { allow_responses: { maximum: 1 } } } ] }",
  "authorization { users: [ { user: a, allowed_connection_types: [\"CARRIER_PIGEON\"] } ] }",
  // tls (the exact texts, and blocks with real certificates: spec/tls/TlsConfig.spec.ts)
  "tls { cert_file: \"/nonexistent/c.pem\", key_file: \"/nonexistent/k.pem\" }",
  "tls { cert_file: c.pem }",
  "tls { verify: 1 }",
  "tls { bogus: 1 }",
  "tls { timeout: true }",
  "jetstream { cipher: blowfish, key: k }",
  "jetstream { key: 1 }",
  "jetstream { cipher: 1, key: k }",
  "https_port: \"x\"",
  "https: \"h:abc\""
  // no_auth_user naming no user: nats-server -t accepts it and then refuses to start; we refuse at
  // load (so -t too) with nats-server's start-up message (ConfigFile.spec.ts).
]

const natsAccepts = (file: string) =>
  new Promise<{ ok: boolean; output: string }>((resolve) => {
    execFile(
      natsServer!,
      ["-c", file, "-t"],
      { env: { ...process.env, DIFF_ENV_PORT: "4333" }, timeout: 10_000 },
      (err, stdout, stderr) => resolve({ ok: err === null, output: stdout + stderr })
    )
  })

describe.skipIf(natsServer === undefined)("config acceptance: ours vs nats-server -t", () => {
  it("agrees on every sample", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cfg-diff-"))
    fs.writeFileSync(path.join(dir, "inc.conf"), "port: -1\n")
    const samples = [...accepted.map((t) => [t, true] as const), ...rejected.map((t) => [t, false] as const)]
    const results = await Promise.all(samples.map(async ([text, expected], i) => {
      const file = path.join(dir, `s${i}.conf`)
      fs.writeFileSync(file, text)
      const nats = await natsAccepts(file)
      const ours = ConfigFile.load(file, { env: { DIFF_ENV_PORT: "4333" } })
      return {
        text,
        expected,
        nats,
        ours: ours._tag === "Success",
        detail: ours._tag === "Failure" ? ours.errors.map(ConfigFile.renderIssue).join("; ") : ""
      }
    }))
    for (const r of results) {
      assert.strictEqual(r.nats.ok, r.expected, `nats-server on ${JSON.stringify(r.text)}: ${r.nats.output}`)
      assert.strictEqual(r.ours, r.expected, `ours on ${JSON.stringify(r.text)}: ${r.detail}`)
    }
  })
})
