// Bundles with esbuild (pulled in by tsx).
//
//   node scripts/build.mjs         the CLI: dist/main.mjs, one ESM entry plus lazily loaded chunks
//                                  (the conformance kit is only loaded by `effect-jetstream conformance`)
//   node scripts/build.mjs --lib   also the library entry points for `npm pack` (the `prepack`
//                                  script): dist/lib/*.mjs with every dependency left external (so
//                                  consumers share one `effect`), and dist/types/ (tsc declarations)
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { build } from "esbuild"

const common = {
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  // The oldest Node the dependencies support (engines: >=22.19).
  target: "node22",
  outExtension: { ".js": ".mjs" },
  sourcemap: "linked",
  logLevel: "warning"
}

// Chunk names are content hashes: without this, every rebuild would leave the previous ones behind (and
// `npm pack` would ship them).
if (existsSync("dist")) {
  for (const f of readdirSync("dist")) if (/\.mjs(\.map)?$/.test(f)) rmSync(`dist/${f}`)
}

await build({
  ...common,
  entryPoints: { main: "src/main.ts" },
  outdir: "dist",
  // Some dependencies still call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __ejsCreateRequire } from 'node:module'; const require = __ejsCreateRequire(import.meta.url);" }
})

if (process.argv.includes("--lib")) {
  rmSync("dist/lib", { recursive: true, force: true })
  rmSync("dist/types", { recursive: true, force: true })
  await build({
    ...common,
    entryPoints: {
      index: "src/index.ts",
      testing: "src/testing/index.ts",
      "vitest-setup": "src/testing/VitestGlobalSetup.ts",
      conformance: "src/conformance/index.ts"
    },
    outdir: "dist/lib",
    packages: "external"
  })
  // CommonJS for `require("effect-jetstream/testing")` (jest's default mode): self-contained,
  // effect included, since effect itself ships ESM only. The test server's API takes no Effect values.
  await build({
    ...common,
    splitting: false,
    format: "cjs",
    entryPoints: { testing: "src/testing/index.ts" },
    outdir: "dist/lib",
    outExtension: { ".js": ".cjs" }
  })
  const tsc = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" })
  if (tsc.status !== 0) process.exit(tsc.status ?? 1)
  // The package is "type": "module", so .d.ts files are ESM declarations; a CommonJS consumer's
  // `require` resolves these .d.cts ones, which point TypeScript at the same types.
  const esm = (name) => `import("./index.js", { with: { "resolution-mode": "import" } })${name === undefined ? "" : `.${name}`}`
  writeFileSync("dist/types/testing/index.d.cts", [
    `export declare const startTestServer: typeof ${esm("startTestServer")}`,
    `export declare const TestServerOptions: typeof ${esm("TestServerOptions")}`,
    `export type TestServerOptions = ${esm("TestServerOptions")}`,
    `export type TestServer = ${esm("TestServer")}`,
    `export type TestServerClock = ${esm("TestServerClock")}`,
    ""
  ].join("\n"))
}
