import { connect } from "@nats-io/transport-node"
import { describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import * as Cli from "../../src/config/Cli.ts"
import { runCli, startCli } from "../support/Process.ts"

describe("flag parsing (nats-server spellings)", () => {
  it("accepts short, long, single-dash long and = forms", () => {
    expect(Cli.parse(["-a", "127.0.0.1", "--port", "4333", "-js", "-sd=/tmp/x", "-n", "alpha", "-m", "8333"])).toEqual({
      _tag: "Run",
      configFile: undefined,
      config: {
        host: "127.0.0.1",
        port: 4333,
        jetstream: true,
        storeDir: "/tmp/x",
        serverName: "alpha",
        httpPort: 8333
      }
    })
    expect(Cli.parse(["-port=-1", "--net", "::1", "--server_name", "b", "--store_dir", "d", "--jetstream"]))
      .toMatchObject({
        config: { port: -1, host: "::1", serverName: "b", storeDir: "d", jetstream: true }
      })
    expect(Cli.parse(["-DV", "-l", "/tmp/log", "--max_payload", "2048", "-c", "f.conf"])).toEqual({
      _tag: "Run",
      configFile: "f.conf",
      config: { debug: true, trace: true, logFile: "/tmp/log", maxPayload: 2048 }
    })
    expect(Cli.parse(["-D", "-V"])).toMatchObject({ config: { debug: true, trace: true } })
  })

  it("names the bad flag or value and exits 2", () => {
    expect(Cli.parse(["--nope"])).toMatchObject({ _tag: "Print", exitCode: 2 })
    expect((Cli.parse(["--nope"]) as { text: string }).text).toContain("flag provided but not defined: --nope")
    expect((Cli.parse(["-p", "abc"]) as { text: string }).text).toContain(`invalid value "abc" for flag -p`)
    expect((Cli.parse(["-p", "70000"]) as { text: string }).text).toContain("a port is -1..65535")
    expect((Cli.parse(["-p"]) as { text: string }).text).toContain("flag needs an argument: -p")
    expect(Cli.parse(["stray"])).toMatchObject({ _tag: "Print", exitCode: 2 })
  })

  it("prints help and version with exit 0", () => {
    expect(Cli.parse(["-h"])).toMatchObject({ _tag: "Print", exitCode: 0 })
    expect((Cli.parse(["--version"]) as { text: string }).text).toMatch(
      new RegExp(`^effect-jetstream v\\d+\\.\\d+\\.\\d+ .*${ADVERTISED_NATS_VERSION.replaceAll(".", "\\.")}`)
    )
  })
})

describe("bin/effect-jetstream", () => {
  it("prints its own version, separate from the advertised nats-server level", async () => {
    const r = await runCli(["-v"])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      `effect-jetstream v0.1.0 (NATS protocol compatible with nats-server v${ADVERTISED_NATS_VERSION})\n`
    )
  })

  it("exits 2 with usage on an unknown flag", async () => {
    const r = await runCli(["--frobnicate"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("flag provided but not defined: --frobnicate")
    expect(r.stderr).toContain("Usage: effect-jetstream [options]")
  })

  it("names a missing config file and exits 1 (config files: spec/config)", async () => {
    const r = await runCli(["-c", "nats.conf"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("nats.conf: error opening config file: ENOENT")
  })

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`serves clients and shuts down gracefully on ${signal} (flush, close, exit 0)`, async () => {
      const broker = await startCli(["-n", "cli-test"])
      const nc = await connect({ servers: `127.0.0.1:${broker.port}`, reconnect: false })
      expect(nc.info?.server_name).toBe("cli-test")
      const sub = nc.subscribe("x", { max: 1 })
      nc.publish("x", new TextEncoder().encode("hi"))
      for await (const m of sub) expect(new TextDecoder().decode(m.data)).toBe("hi")
      const closed = nc.closed()
      expect(await broker.stop(signal)).toBe(0)
      await closed
      expect(nc.isClosed()).toBe(true)
      expect(broker.log()).toContain("Server shutting down, closing 1 client connection(s)")
    })
  }
})
