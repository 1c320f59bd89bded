/**
 * Checks on a configuration text for the config specs: `ok` returns the loaded result (failing the
 * test with the rendered issues when it is refused), `errors` the rendered issues of a refusal.
 */
import { assert } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"

export const configChecks = (load: (text: string) => ConfigFile.LoadResult) => ({
  ok: (text: string) => {
    const r = load(text)
    if (r._tag === "Failure") throw new Error(r.errors.map(ConfigFile.renderIssue).join("\n"))
    return r
  },
  errors: (text: string) => {
    const r = load(text)
    assert.strictEqual(r._tag, "Failure")
    return (r as { errors: ReadonlyArray<ConfigFile.ConfigIssue> }).errors.map(ConfigFile.renderIssue)
  }
})
