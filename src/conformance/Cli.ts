/**
 * `effect-jetstream conformance`: property-based conformance checks against any JetStream server.
 *
 *   effect-jetstream conformance --server nats://host:port [--restart-cmd "…"] [--seed N] [--path P]
 *                                [--runs N] [--only a,b] [--time-limit SECONDS] [--json]
 *
 * Exit codes: 0 every property passed, 1 a property failed (or the server is unreachable), 2 usage error.
 */
import { format, type Report } from "./Report.ts"
import { type ConformanceOptions, DEFAULT_RUNS, properties, runConformance } from "./Runner.ts"

export const usage = `usage: effect-jetstream conformance --server nats://host:port [options]

  --server URL          JetStream server under test (required)
  --restart-cmd CMD     shell command that kill -9s the server and starts it again (enables restart-durability)
  --seed N              fast-check seed (random by default; printed in the report)
  --path P              fast-check path of a counterexample to replay (with --seed and --only)
  --runs N              runs per property (default ${DEFAULT_RUNS}; timer-bound properties get a quarter)
  --only NAMES          comma-separated property names
  --time-limit SECONDS  per-property time limit (default 60)
  --json                print the report as JSON
  -h, --help            this text

properties: ${properties.map((p) => p.name).join(", ")}
`

type Parsed =
  | { readonly _tag: "Run"; readonly options: ConformanceOptions; readonly json: boolean }
  | { readonly _tag: "Exit"; readonly code: number; readonly text: string }

const usageError = (msg: string): Parsed => ({ _tag: "Exit", code: 2, text: `error: ${msg}\n\n${usage}` })

const integer = (flag: string, v: string, min: number): number | string => {
  if (!/^-?\d+$/.test(v)) return `${flag} expects an integer, got "${v}"`
  const n = Number(v)
  return n < min ? `${flag} must be >= ${min}` : n
}

export const parse = (argv: ReadonlyArray<string>): Parsed => {
  let server: string | undefined
  let restartCmd: string | undefined
  let seed: number | undefined
  let path: string | undefined
  let runs: number | undefined
  let only: Array<string> | undefined
  let timeLimitMs: number | undefined
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!
    const eq = raw.startsWith("--") ? raw.indexOf("=") : -1
    const flag = eq > 0 ? raw.slice(0, eq) : raw
    const inline = eq > 0 ? raw.slice(eq + 1) : undefined
    const value = (): string | undefined => inline ?? argv[++i]
    switch (flag) {
      case "-h":
      case "--help":
        return { _tag: "Exit", code: 0, text: usage }
      case "--json":
        json = true
        break
      case "--server":
      case "--restart-cmd":
      case "--seed":
      case "--path":
      case "--runs":
      case "--only":
      case "--time-limit": {
        const v = value()
        if (v === undefined) return usageError(`${flag} needs a value`)
        if (flag === "--server") server = v
        else if (flag === "--restart-cmd") restartCmd = v
        else if (flag === "--path") path = v
        else if (flag === "--only") {
          only = v.split(",").map((x) => x.trim()).filter((x) => x !== "")
          const unknown = only.filter((n) => !properties.some((p) => p.name === n))
          if (unknown.length > 0) return usageError(`unknown property in --only: ${unknown.join(", ")}`)
        } else {
          const n = integer(flag, v, flag === "--seed" ? -0x80000000 : 1)
          if (typeof n === "string") return usageError(n)
          if (flag === "--seed") seed = n
          else if (flag === "--runs") runs = n
          else timeLimitMs = n * 1000
        }
        break
      }
      default:
        return usageError(`unknown flag ${flag}`)
    }
  }
  if (server === undefined) return usageError("--server is required")
  if (!/^(nats|tls|ws|wss):\/\//.test(server) && !/^[^/]+:\d+$/.test(server)) {
    return usageError(`--server expects nats://host:port, got "${server}"`)
  }
  if (path !== undefined && seed === undefined) return usageError("--path needs --seed")
  return {
    _tag: "Run",
    json,
    options: { server, restartCmd, seed, path, runs, only, timeLimitMs }
  }
}

export const runConformanceCli = async (argv: ReadonlyArray<string>): Promise<number> => {
  const parsed = parse(argv)
  if (parsed._tag === "Exit") {
    ;(parsed.code === 0 ? process.stdout : process.stderr).write(parsed.text)
    return parsed.code
  }
  let report: Report
  try {
    report = await runConformance({
      ...parsed.options,
      onResult: parsed.json ?
        undefined :
        (r) =>
          process.stderr.write(
            `${r.status === "passed" ? "pass" : r.status === "failed" ? "FAIL" : "skip"} ${r.name}\n`
          )
    })
  } catch (e) {
    process.stderr.write(`effect-jetstream conformance: ${e instanceof Error ? e.message : String(e)}\n`)
    return 1
  }
  process.stdout.write(parsed.json ? JSON.stringify(report, null, 2) + "\n" : format(report))
  return report.failed > 0 ? 1 : 0
}
