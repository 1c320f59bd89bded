/**
 * `cluster { }`, `--cluster`/`--routes` and friends: decoded strictly (nats-server's keys, aliases
 * and texts), keys not built refused, flags merged over the block as nats-server overrideCluster.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { mergeFlags } from "../../src/cluster/ClusterSettings.ts"
import * as Cli from "../../src/config/Cli.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { configChecks } from "../support/ConfigText.ts"
import { runCli, startCli } from "../support/Process.ts"

const load = (text: string) => ConfigFile.load("/etc/c.conf", { readFile: () => text, env: {} })
const { ok, errors } = configChecks(load)

describe("cluster block", () => {
  it("decodes every key with nats-server's aliases", () => {
    const r = ok(`cluster {
  name: east
  listen: "127.0.0.1:6333"
  routes: [ "nats://127.0.0.1:6334", "nats://ruser:T0p@127.0.0.1:6335" ]
  authorization { user: ruser, password: T0p, timeout: 3 }
  cluster_advertise: "10.0.0.1:6333"
  no_advertise: true
  connect_retries: 4
}`)
    assert.deepStrictEqual(r.config.cluster, {
      name: "east",
      host: "127.0.0.1",
      port: 6333,
      routes: [
        { url: "nats://127.0.0.1:6334", host: "127.0.0.1", port: 6334, user: undefined, password: undefined },
        { url: "nats://ruser:T0p@127.0.0.1:6335", host: "127.0.0.1", port: 6335, user: "ruser", password: "T0p" }
      ],
      auth: { user: "ruser", password: "T0p", timeoutMs: 3000 },
      advertise: "10.0.0.1:6333",
      noAdvertise: true,
      connectRetries: 4
    })
    assert.deepStrictEqual(r.warnings, [])
  })

  it("host and port as separate keys; `net` is host's alias", () => {
    const r = ok("cluster { net: 127.0.0.2, port: -1 }")
    assert.strictEqual(r.config.cluster?.host, "127.0.0.2")
    assert.strictEqual(r.config.cluster?.port, -1)
    assert.strictEqual(r.config.cluster?.name, undefined)
  })

  it("refuses unknown keys, keys not built, and a block without a port", () => {
    assert.deepStrictEqual(errors("cluster { port: 6222, bogus: 1 }"), ["/etc/c.conf:1:23: unknown field \"bogus\""])
    assert.match(errors("cluster { port: 6222, pool_size: 3 }")[0]!, /pool_size \(nats-server 2\.10 route pooling\)/)
    assert.match(errors("cluster { port: 6222, tls { } }")[0]!, /cluster tls is not supported yet/)
    assert.match(errors("cluster { port: 6222, permissions { } }")[0]!, /cluster permissions are not supported/)
    assert.match(errors("cluster { name: c }")[0]!, /cluster: a listen port is required/)
  })

  it("refuses tokens and users in the route authorization, as nats-server", () => {
    assert.deepStrictEqual(errors("cluster { port: 6222, authorization { token: t } }"), [
      "/etc/c.conf:1:23: Cluster authorization does not support tokens"
    ])
    assert.deepStrictEqual(errors("cluster { port: 6222, authorization { users: [ { user: a, password: b } ] } }"), [
      "/etc/c.conf:1:23: Cluster authorization does not allow multiple users"
    ])
  })

  it("refuses bad route URLs and warns on duplicates", () => {
    assert.match(errors("cluster { port: 6222, routes: [ \"http://h:1\" ] }")[0]!, /scheme must be nats/)
    const r = ok("cluster { port: 6222, routes: [ \"nats://h:1\", \"nats://h:1\" ] }")
    assert.strictEqual(r.config.cluster?.routes.length, 1)
    assert.deepStrictEqual(r.warnings.map(ConfigFile.renderIssue), [
      "/etc/c.conf:1:23: nats://h:1: Duplicate route entry detected"
    ])
  })

  it("wrong types are errors, never defaults", () => {
    assert.match(errors("cluster { port: \"x\" }")[0]!, /port: expected an integer/)
    assert.match(errors("cluster { port: 6222, no_advertise: 3 }")[0]!, /no_advertise: expected a boolean/)
    assert.match(errors("cluster { port: 6222, connect_retries: -1 }")[0]!, /connect_retries: must be 0 or more/)
    assert.match(errors("cluster { port: 6222, name: \"a b\" }")[0]!, /cluster name cannot contain spaces/)
  })
})

describe("cluster flags", () => {
  const run = (argv: Array<string>) => {
    const r = Cli.parse(argv)
    if (r._tag !== "Run") throw new Error(r._tag === "Print" ? r.text : r._tag)
    return r
  }

  it("--cluster, --routes, --cluster_name, --cluster_advertise, --no_advertise, --connect_retries", () => {
    const r = run([
      "--cluster",
      "nats://u:p@127.0.0.1:6400",
      "--routes",
      "nats://127.0.0.1:6401, nats://127.0.0.1:6402",
      "--cluster_name",
      "west",
      "--cluster_advertise",
      "example:6400",
      "--no_advertise",
      "--connect_retries",
      "2"
    ])
    const merged = mergeFlags(undefined, r.clusterFlags)
    assert.deepStrictEqual(merged, {
      name: "west",
      host: "127.0.0.1",
      port: 6400,
      routes: [
        { url: "nats://127.0.0.1:6401", host: "127.0.0.1", port: 6401, user: undefined, password: undefined },
        { url: "nats://127.0.0.1:6402", host: "127.0.0.1", port: 6402, user: undefined, password: undefined }
      ],
      auth: { user: "u", password: "p", timeoutMs: 2000 },
      advertise: "example:6400",
      noAdvertise: true,
      connectRetries: 2
    })
  })

  it("flags override the file's fields one by one", () => {
    const file = ok("cluster { name: a, listen: \"127.0.0.1:6500\", routes: [\"nats://127.0.0.1:6501\"] }").config
      .cluster
    const r = run(["--cluster_name", "b"])
    const merged = mergeFlags(file, r.clusterFlags)
    assert.strictEqual(merged?.name, "b")
    assert.strictEqual(merged?.port, 6500)
    assert.strictEqual(merged?.routes.length, 1)
  })

  it("refuses a bad URL or name", () => {
    const bad = Cli.parse(["--cluster", "http://x:1"])
    assert.strictEqual(bad._tag, "Print")
    const name = Cli.parse(["--cluster_name", "a b"])
    assert.strictEqual(name._tag, "Print")
  })
})

describe("cluster from the command line", () => {
  it("--routes without a route listener is refused before anything starts", async () => {
    const r = await runCli(["-p", "-1", "--routes", "nats://127.0.0.1:31998"])
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "--routes needs --cluster (or a cluster block) to listen for routes")
  })

  it("a cluster block starts the route listener; -t accepts the file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-cluster-conf-"))
    const file = path.join(dir, "c.conf")
    fs.writeFileSync(file, `cluster { name: solo, listen: "127.0.0.1:31997" }\n`)
    try {
      const checked = await runCli(["-c", file, "-t"])
      assert.strictEqual(checked.code, 0)
      const b = await startCli(["-c", file])
      try {
        // The route listener starts after the client one; allow a loaded machine its time.
        for (let i = 0; i < 400 && !b.log().includes("Listening for route connections"); i++) {
          await new Promise((r) => setTimeout(r, 50))
        }
        assert.include(b.log(), "Listening for route connections on 127.0.0.1:31997")
        assert.include(b.log(), "Cluster name is solo")
      } finally {
        await b.stop()
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
