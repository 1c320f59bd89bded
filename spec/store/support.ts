/** Temp directories for store tests, removed when the test process exits. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-store-spec-"))
let n = 0
process.on("exit", () => fs.rmSync(root, { recursive: true, force: true }))

export const tempDir = (): string => {
  const dir = path.join(root, String(n++))
  fs.mkdirSync(dir, { recursive: true })
  return dir
}
