// Bundles the CLI into dist/ with esbuild (pulled in by tsx): one ESM entry plus lazily loaded
// chunks (the conformance kit is only loaded by `effect-jetstream conformance`).
import { build } from "esbuild"

await build({
  entryPoints: { main: "src/main.ts" },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node22",
  outdir: "dist",
  outExtension: { ".js": ".mjs" },
  sourcemap: "linked",
  logLevel: "warning",
  // Some dependencies still call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __ejsCreateRequire } from 'node:module'; const require = __ejsCreateRequire(import.meta.url);" }
})
