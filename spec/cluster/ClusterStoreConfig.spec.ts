/**
 * The cluster mode settings: `jetstream { cluster_store, unique_tag }` and `server_tags` decoded
 * strictly, and the combinations that cannot run refused at start with the reason.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as BrokerConfig from "../../src/config/BrokerConfig.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { planReload } from "../../src/config/ReloadPlan.ts"
import { runCli } from "../support/Process.ts"

const load = (text: string) =>
  ConfigFile.load("/etc/c.conf", {
    readFile: (f: string) => {
      if (f !== "/etc/c.conf") throw new Error(`ENOENT: no such file '${f}'`)
      return text
    },
    env: {}
  })
const config = (text: string) => {
  const r = load(text)
  if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
  return BrokerConfig.make(r.config)
}
const errors = (text: string) => {
  const r = load(text)
  return r._tag === "Failure" ? r.errors.map(ConfigFile.renderIssue) : []
}

const CLUSTER = `server_name: a\ncluster { name: c1, listen: "127.0.0.1:-1" }`

describe("cluster mode settings", () => {
  it("cluster_store, unique_tag and server_tags are read (tags lowercased)", () => {
    const c = config(
      `${CLUSTER}\nserver_tags: ["AZ:1", "ssd"]\njetstream { cluster_store: "postgres://u@h:5432/db", unique_tag: "AZ:" }`
    )
    expect([c.clusterStore, c.serverTags, c.uniqueTag]).toEqual(["postgres://u@h:5432/db", ["az:1", "ssd"], "az:"])
    expect(config(`server_tags: "one"`).serverTags).toEqual(["one"])
    // From the environment, like any value (keeps a password out of the file).
    const fromEnv = ConfigFile.load("/etc/e.conf", {
      readFile: () => "jetstream { cluster_store: $EJS_CLUSTER_STORE }",
      env: { EJS_CLUSTER_STORE: "postgres://u:secret@h/db" }
    })
    expect(fromEnv._tag === "Success" ? fromEnv.config.clusterStore : fromEnv.errors).toBe("postgres://u:secret@h/db")
    expect(BrokerConfig.clusterModeProblem(c)).toBeUndefined()
  })

  it("a cluster_store that is not a postgres URL, and tags that are not strings, are errors", () => {
    expect(errors(`jetstream { cluster_store: "mysql://h/db" }`)).toEqual([
      `/etc/c.conf:1:13: jetstream.cluster_store must be a postgres:// URL, got "mysql://h/db"`
    ])
    expect(errors(`server_tags: [true]`)).toEqual([
      "/etc/c.conf:1:1: server_tags: every tag must be a string, got a boolean (true)"
    ])
  })

  it("refuses the combinations cluster mode cannot run, saying what is missing", () => {
    const problem = (text: string) => BrokerConfig.clusterModeProblem(config(text))
    expect(problem(`server_name: a\njetstream { cluster_store: "postgres://h/db" }`)).toBe(
      "jetstream.cluster_store needs a cluster {} block (routes to the other servers of the cluster)"
    )
    expect(problem(`cluster { name: c1, listen: "127.0.0.1:-1" }\njetstream { cluster_store: "postgres://h/db" }`))
      .toBe("jetstream.cluster_store needs server_name: it names this server's leases and streams in the store")
    expect(
      problem(`server_name: a\ncluster { listen: "127.0.0.1:-1" }\njetstream { cluster_store: "postgres://h/db" }`)
    )
      .toBe("jetstream.cluster_store needs the cluster to have a name (cluster { name: ... } or --cluster_name)")
    expect(problem(`${CLUSTER}\njetstream: enabled`)).toMatch(
      /^JetStream in a cluster needs jetstream \{ cluster_store/
    )
    // Routes without JetStream, and JetStream without routes, are what they always were.
    expect(problem(CLUSTER)).toBeUndefined()
    expect(problem(`jetstream: enabled`)).toBeUndefined()
  })

  it("the CLI refuses to start a cluster with JetStream but no cluster store", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-ccfg-"))
    const file = path.join(dir, "c.conf")
    fs.writeFileSync(file, `${CLUSTER}\njetstream { store_dir: ${JSON.stringify(dir)} }`)
    const r = await runCli(["-c", file, "-p", "-1"])
    fs.rmSync(dir, { recursive: true, force: true })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("JetStream in a cluster needs jetstream { cluster_store")
  })

  it("a reload keeps the same tags as they are, and refuses to change the store or the tags", () => {
    const base = config(`${CLUSTER}\nserver_tags: [a]\njetstream { cluster_store: "postgres://h/db" }`)
    const again = config(`${CLUSTER}\nserver_tags: [a]\njetstream { cluster_store: "postgres://h/db" }`)
    expect(planReload(base, again)).toEqual({ ok: true, notices: [], authChanged: false })
    const refusal = {
      ok: false,
      error: "config reload not supported for jetstream cluster_store, server_tags or unique_tag: restart the server"
    }
    expect(planReload(base, { ...base, serverTags: ["b"] })).toEqual(refusal)
    expect(planReload(base, { ...base, clusterStore: "postgres://other/db" })).toEqual(refusal)
  })

  it("a start whose cluster store cannot be reached stops with the reason", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-ccfg-"))
    const file = path.join(dir, "c.conf")
    // Port 1 on loopback: nothing listens there.
    fs.writeFileSync(
      file,
      `${CLUSTER}\njetstream { store_dir: ${JSON.stringify(dir)}, cluster_store: "postgres://ejs@127.0.0.1:1/db" }`
    )
    const r = await runCli(["-c", file, "-p", "-1"])
    fs.rmSync(dir, { recursive: true, force: true })
    expect(r.code).toBe(1)
    expect(r.stdout + r.stderr).toContain("cannot use the cluster store: connect ECONNREFUSED 127.0.0.1:1")
  })
})
