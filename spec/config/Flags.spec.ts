/**
 * The flags added with config-file support, spelled as nats-server spells them.
 */
import { assert, describe, it } from "vitest"
import * as Cli from "../../src/config/Cli.ts"

describe("config-related flags", () => {
  it("-t, -P/--pid, --ports_file_dir and -T/--logtime", () => {
    assert.deepStrictEqual(
      Cli.parse(["-c", "a.conf", "-t", "-P", "/run/p.pid", "--ports_file_dir", "/tmp", "-T=false"]),
      {
        _tag: "Run",
        configFile: "a.conf",
        checkConfig: true,
        config: { pidFile: "/run/p.pid", portsFileDir: "/tmp", logtime: false }
      }
    )
    assert.deepStrictEqual(Cli.parse(["--pid=/p", "--logtime"]), {
      _tag: "Run",
      configFile: undefined,
      config: { pidFile: "/p", logtime: true }
    })
  })

  it("-t without a config file is a usage error, as in nats-server", () => {
    const r = Cli.parse(["-t"])
    assert(r._tag === "Print")
    assert.strictEqual(r.exitCode, 2)
    assert.include(r.text, "must specify [-c, --config] option to check configuration file syntax")
  })

  it("--user, --pass and --auth (token) override the file's single user and token", () => {
    assert.deepStrictEqual(Cli.parse(["--user", "u", "--pass=p", "--auth", "t"]), {
      _tag: "Run",
      configFile: undefined,
      config: {},
      authFlags: { user: "u", password: "p", token: "t" }
    })
    const r = Cli.parse(["--auth"])
    assert(r._tag === "Print")
    assert.include(r.text, "flag needs an argument: --auth")
    assert.include(Cli.usage, "--auth <token>")
  })
})
