/**
 * `--signal <command>[=<pid>]` (nats-server ProcessSignal): sends a running broker the signal for
 * the command. `<pid>` may name a pid file (the `-P` file), read as nats-server maybeReadPidFile does.
 *
 * `reopen` (SIGUSR1) and `ldm` (SIGUSR2, lame duck mode) are refused: this broker does not handle
 * them, and SIGUSR1 would open Node's inspector port on the target.
 */
import * as fs from "node:fs"

const COMMANDS: Record<string, NodeJS.Signals> = {
  reload: "SIGHUP",
  quit: "SIGINT",
  term: "SIGTERM",
  stop: "SIGKILL"
}

/** Undefined when sent; otherwise the error to print. */
export const send = (command: string, pidArg: string | undefined): string | undefined => {
  if (command === "reopen" || command === "ldm") return `signal "${command}" is not supported by this broker`
  const signal = COMMANDS[command]
  if (signal === undefined) return `unknown signal "${command}"`
  // Without a pid nats-server asks pgrep for processes named nats-server; ours run as node, so ask for one.
  if (pidArg === undefined) return "unable to resolve pid, try providing one"
  let text = pidArg
  try {
    text = fs.readFileSync(pidArg, "utf8")
  } catch {
    // Not a readable file: the argument is the pid itself.
  }
  const pid = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(pid) || pid <= 0) return `invalid pid: ${text}`
  try {
    process.kill(pid, signal)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH" ? "no such process" : (e as Error).message
  }
  return undefined
}
