/**
 * The `mqtt {}` block: keys and aliases as nats-server 2.9.10 reads them, its range error for
 * `max_ack_pending`, refusals of what is not built, and the start-up refusals (no `server_name`, no
 * JetStream) with nats-server's texts from the real CLI; nats-server's own refusal is compared where
 * it is installed.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { natsServerPath } from "../support/Broker.ts"
import { runCli } from "../support/Process.ts"
import { makeCerts } from "../tls/TlsCerts.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-mqtt-conf-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
let n = 0
const write = (text: string) => {
  const file = path.join(dir, `c${++n}.conf`)
  fs.writeFileSync(file, text)
  return file
}
const load = (text: string) => ConfigFile.load(write(text))
const errors = (text: string) => {
  const r = load(text)
  return r._tag === "Failure" ? r.errors.map((e) => e.message) : []
}

/** nats-server validateMQTTOptions's refusals of the block's authorization, with its texts. */
const AUTH_REFUSALS: ReadonlyArray<readonly [string, string]> = [
  [`mqtt { port: 30510, no_auth_user: a }`, `no_auth_user: "a" present, but users are not defined`],
  [
    `authorization { users: [{ user: b, password: p }] }\nmqtt { port: 30511, no_auth_user: a }`,
    `no_auth_user: "a" not present as user in authorization block or account configuration`
  ],
  [
    `authorization { users: [{ user: b, password: p }] }\nmqtt { port: 30512, authorization { user: u, password: p } }`,
    "mqtt authentication username not compatible with presence of users/nkeys"
  ],
  [
    `authorization { users: [{ user: b, password: p }] }\nmqtt { port: 30513, authorization { token: t } }`,
    "mqtt authentication token not compatible with presence of users/nkeys"
  ]
]

describe("mqtt config block", () => {
  it("reads port, host, ack_wait and max_ack_pending (with aliases) and defaults", () => {
    const r = load(
      `server_name: s\njetstream: true\nmqtt { listen: "127.0.0.1:1884", ackwait: "5s", max_inflight: 100 }`
    )
    expect(r._tag).toBe("Success")
    if (r._tag !== "Success") return
    expect(r.config.mqtt).toEqual({
      host: "127.0.0.1",
      port: 1884,
      ackWaitMs: 5000,
      maxAckPending: 100,
      streamReplicas: 0,
      consumerReplicas: 0,
      consumerMemoryStorage: false,
      consumerInactiveThresholdMs: 0
    })
    const d = load(`mqtt { port: 1883, consumer_memory_storage: true, consumer_inactive_threshold: "1m" }`)
    expect(d._tag === "Success" && d.config.mqtt).toMatchObject({
      host: "0.0.0.0",
      port: 1883,
      ackWaitMs: 30_000,
      maxAckPending: 1024,
      consumerMemoryStorage: true,
      consumerInactiveThresholdMs: 60_000
    })
  })

  it("refuses out-of-range values, unknown keys and unbuilt keys; reads tls", () => {
    expect(errors(`mqtt { port: 1883, max_ack_pending: 70000 }`)).toEqual([
      "invalid value 70000, should in [0..65535] range"
    ])
    expect(errors(`mqtt { port: 1883, ack_wait: "-1s" }`)).toEqual(["ack wait must be a positive value"])
    expect(errors(`mqtt { port: 1883, bogus: 1 }`)).toEqual([`unknown field "bogus"`])
    expect(errors(`mqtt { port: 1883, authorization { user: u, bogus: 1 } }`)).toEqual([`unknown field "bogus"`])
    // nats-server parseSimpleAuth: the block takes no users list.
    expect(errors(`mqtt { port: 1883, authorization { users: [{ user: a, password: b }] } }`)).toEqual([
      `unknown field "users"`
    ])
    expect(errors(`mqtt { port: 1883, tls { cert_file: "x" } }`)).toEqual([
      "missing 'key_file' in TLS configuration"
    ])
    const certs = makeCerts()
    const tls = `cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}"`
    expect(errors(`mqtt { port: 1883, tls { ${tls}, verify_and_map: true } }`)).toEqual([
      "mqtt.tls.verify_and_map is not supported yet; refusing to start"
    ])
    const ok = load(`mqtt { port: 1883, tls { ${tls}, timeout: 3 } }`)
    expect(ok._tag === "Success" && ok.config.mqtt?.tls?.timeoutMs).toBe(3000)
    certs.remove()
    expect(errors(`mqtt { port: 1883, js_domain: "d" }`)).toEqual([
      "mqtt.js_domain is not supported yet (MQTT state lives in this server's JetStream); refusing to start"
    ])
    expect(errors(`mqtt { port: 1883, stream_replicas: 3 }`)).toEqual([
      "mqtt.stream_replicas: replicas > 1 not supported in non-clustered mode"
    ])
    expect(errors(`mqtt: 1883`)).toEqual(["Expected mqtt to be a map, got integer"])
  })

  it("the CLI refuses to start without server_name or JetStream, with nats-server's text", async () => {
    const noName = write(`jetstream: true\nstore_dir: "${dir}/js1"\nmqtt { port: 37011 }`)
    const a = await runCli(["-c", noName, "-p", "-1"])
    expect(a.code).toBe(1)
    expect(a.stderr).toContain("mqtt requires server name to be explicitly set")
    const noJs = write(`server_name: s1\nmqtt { port: 37012 }`)
    const b = await runCli(["-c", noJs, "-p", "-1"])
    expect(b.code).toBe(1)
    expect(b.stderr).toContain("mqtt requires JetStream to be enabled if running in standalone mode")
    for (const [conf, text] of AUTH_REFUSALS) {
      const r = await runCli([
        "-c",
        write(`server_name: s1\njetstream: true\nstore_dir: "${dir}/js2"\n${conf}`),
        "-p",
        "-1"
      ])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(text)
    }
    const accounts = write(
      `server_name: s1\njetstream: true\nstore_dir: "${dir}/js3"\naccounts { A: { users: [{ user: a, password: p }] } }\nmqtt { port: 30514 }`
    )
    const d = await runCli(["-c", accounts, "-p", "-1"])
    expect(d.code).toBe(1)
    expect(d.stderr).toContain("mqtt with accounts {} is not supported yet")
  })

  const nats = natsServerPath()
  if (nats === undefined) console.log("mqtt config differential skipped: nats-server is not on PATH")
  it.skipIf(nats === undefined)("nats-server 2.9.10 refuses the same configs with the same texts", () => {
    const run = (conf: string) =>
      spawnSync(nats!, ["-c", write(conf), "-p", "-1"], { encoding: "utf8", timeout: 10_000 })
    expect(run(`jetstream: true\nstore_dir: "${dir}/n1"\nmqtt { port: 37014 }`).stderr).toContain(
      "mqtt requires server name to be explicitly set"
    )
    expect(run(`server_name: s1\nmqtt { port: 37015 }`).stderr).toContain(
      "mqtt requires JetStream to be enabled if running in standalone mode"
    )
    for (const [conf, text] of AUTH_REFUSALS) {
      expect(run(`server_name: s1\njetstream { store_dir: "${dir}/n2" }\n${conf.replace(/385(\d\d)/, "386$1")}`).stderr)
        .toContain(text)
    }
  })
})
