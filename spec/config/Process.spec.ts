/**
 * `effect-jetstream -c file` end to end: exit codes and messages, flags overriding the file,
 * warnings and limits in the startup log, the pid file, and logging to `log_file`.
 */
import { connect } from "@nats-io/transport-node"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "vitest"
import { BIN, runCli, startCli } from "../support/Process.ts"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "cfg-proc-"))
const write = (dir: string, name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

describe("config file errors stop startup with exit 1", () => {
  it("a syntax error names file, line and key", async () => {
    const file = write(tmp(), "bad.conf", "port: -1\njetstream {\n  store_dir: /x\n  max_mem 1G 2\n}\n")
    const r = await runCli(["-c", file])
    assert.strictEqual(r.code, 1)
    assert.include(
      r.stderr,
      `${file}:4:14: Expected a map value terminator ',' or a map terminator '}', but got '2' instead. (at key "jetstream")`
    )
    assert.include(r.stderr, `configuration file ${file} is invalid`)
  })

  it("a config with a broken tls block or JWT authentication refuses to start; all errors are listed", async () => {
    const file = write(
      tmp(),
      "auth.conf",
      "port: -1\ntls { cert_file: a.pem }\nresolver: URL(http://127.0.0.1:9)\nbogus: 1\n"
    )
    const r = await runCli(["-c", file])
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, `${file}:2:1: missing 'key_file' in TLS configuration`)
    assert.include(
      r.stderr,
      `${file}:3:1: resolver: the URL account resolver is not supported yet; use MEMORY`
    )
    assert.include(r.stderr, `${file}:4:1: unknown field "bogus"`)
    assert.notInclude(r.stderr, "Listening")
  })

  it("-t checks the file and exits 0 (or 1), like nats-server -t", async () => {
    const dir = tmp()
    const good = write(dir, "good.conf", "port: -1\nleafnodes { port: 7422 }\n")
    const [ok, bad] = await Promise.all([
      runCli(["-c", good, "-t"]),
      runCli(["-c", write(dir, "b.conf", "port: x y"), "-t"])
    ])
    assert.strictEqual(ok.code, 0)
    assert.include(ok.stderr, `${good}:2:1: leafnodes is not supported yet and is ignored`)
    assert.include(ok.stderr, `effect-jetstream: configuration file ${good} is valid`)
    assert.strictEqual(bad.code, 1)
  })
})

describe("running from a config file", () => {
  it("flags override the file; warnings, limits and the pid file at startup; clean exit removes the pid file", async () => {
    const dir = tmp()
    const pid = path.join(dir, "b.pid")
    const file = write(
      dir,
      "b.conf",
      `# sample
port: 4999
NAME: from-file
server_name: $NAME
http_port: 0
pid_file: "${pid}"
leafnodes { port: 7422 }
jetstream {
  store_dir: "${path.join(dir, "js")}"
  max_memory_store: 64MB
  sync_interval: always
}
`
    )
    // startCli adds -a 127.0.0.1 -p -1, which must win over port: 4999.
    const b = await startCli(["-c", file, "-n", "from-flag"])
    try {
      assert.notStrictEqual(b.port, 4999)
      const log = b.log()
      assert.include(log, `[INF] Using configuration file: ${file}`)
      assert.include(log, `[WRN] ${file}:7:1: leafnodes is not supported yet and is ignored`)
      assert.include(log, "Max Memory:      64.00 MB")
      assert.match(log, /Max Storage: +\d+\.\d\d [KMGT]B \(computed from this machine\)/)
      assert.include(log, "Sync:            always")
      assert.include(log, "name: from-flag")
      assert.strictEqual(fs.readFileSync(pid, "utf8"), String(b.child.pid))
      const nc = await connect({ port: b.port })
      assert.strictEqual(nc.info?.server_name, "from-flag")
      assert.strictEqual(nc.info?.jetstream, true)
      await nc.close()
    } finally {
      assert.strictEqual(await b.stop(), 0)
    }
    assert.isFalse(fs.existsSync(pid))
  })

  it("log_file, logtime: false and debug: the log goes to the file without timestamps, with debug lines", async () => {
    const dir = tmp()
    const logFile = path.join(dir, "b.log")
    const file = write(dir, "b.conf", `listen: "127.0.0.1:-1"\nlog_file: "${logFile}"\nlogtime: false\ndebug: true\n`)
    const child = spawn(process.execPath, [BIN, "-c", file], { stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (d) => (stderr += d))
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
    const deadline = Date.now() + 20_000
    let log = ""
    while (!/Listening for client connections on 127\.0\.0\.1:(\d+)/.test(log) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100))
      log = fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : ""
    }
    const port = Number(/Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log)![1])
    const nc = await connect({ port })
    await nc.flush()
    await nc.close()
    child.kill("SIGTERM")
    assert.strictEqual(await exited, 0)
    log = fs.readFileSync(logFile, "utf8")
    assert.match(log, new RegExp(`^\\[${child.pid}\\] \\[INF\\] Using configuration file: `, "m"))
    assert.match(log, /^\[\d+\] \[DBG\] .*Client connection created/m)
    assert.notMatch(log, /\d{4}\/\d\d\/\d\d/)
    assert.strictEqual(stderr, "")
  })

  it("a startup failure says what to do", async () => {
    const dir = tmp()
    const r = await runCli(["-c", write(dir, "b.conf", `log_file: "${path.join(dir, "no", "such", "dir.log")}"\n`)])
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "cannot open log file")
    assert.include(r.stderr, "check that its directory exists and is writable")
  })
})

/** startCli resolves on the "Listening" line; the lines after it come a moment later. */
const ready = async (b: { log: () => string }) => {
  const deadline = Date.now() + 10_000
  while (!b.log().includes("Server is ready") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  return b.log()
}

describe("authentication from the command line", () => {
  it("--user/--pass and --auth are required of clients; an open non-loopback listener is warned about", async () => {
    const open = await startCli(["-a", "0.0.0.0"])
    try {
      assert.include(await ready(open), "require no authentication")
    } finally {
      assert.strictEqual(await open.stop(), 0)
    }
    const users = await startCli(["-a", "0.0.0.0", "--user", "u", "--pass", "p"])
    try {
      assert.notInclude(await ready(users), "require no authentication")
      assert.include(users.log(), "[WRN] Plaintext passwords detected, use nkeys or bcrypt")
      const nc = await connect({ port: users.port, user: "u", pass: "p" })
      await nc.flush()
      await nc.close()
      const refused = await connect({ port: users.port, user: "u", pass: "x", reconnect: false }).then(
        () => "connected",
        (e: Error) => e.message
      )
      assert.strictEqual(refused, "Authorization Violation")
    } finally {
      assert.strictEqual(await users.stop(), 0)
    }
    const token = await startCli(["--auth", "s3cr3t"])
    try {
      const nc = await connect({ port: token.port, token: "s3cr3t" })
      assert.strictEqual(nc.info?.auth_required, true)
      await nc.close()
    } finally {
      assert.strictEqual(await token.stop(), 0)
    }
  })
})
