/** Temp directories for store tests, removed after each test file. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-store-spec-"))
let n = 0
// Registered when a spec file imports this module, so it runs at the end of that file.
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

export const tempDir = (): string => {
  const dir = path.join(root, String(n++))
  fs.mkdirSync(dir, { recursive: true })
  return dir
}
