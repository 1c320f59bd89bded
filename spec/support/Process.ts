/**
 * Runs the real CLI (`bin/effect-jetstream`) as a child process and finds its port in the log.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"

export const BIN = path.resolve(import.meta.dirname, "../../bin/effect-jetstream")

export interface BrokerProcess {
  readonly child: ChildProcess
  readonly port: number
  log(): string
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export const runCli = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (d) => (stdout += d))
    child.stderr!.on("data", (d) => (stderr += d))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

export const startCli = (args: ReadonlyArray<string>, command: ReadonlyArray<string> = [process.execPath, BIN]) =>
  new Promise<BrokerProcess>((resolve, reject) => {
    const child = spawn(command[0]!, [...command.slice(1), "-a", "127.0.0.1", "-p", "-1", ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let log = ""
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
    // A broker that did not start in time is killed: the caller never gets it to stop.
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`broker did not start:\n${log}`))
    }, 20_000)
    const onData = (d: Buffer) => {
      log += d.toString()
      const m = /Listening for client connections on [^\s]+:(\d+)/.exec(log)
      if (m) {
        clearTimeout(timer)
        resolve({
          child,
          port: Number(m[1]),
          log: () => log,
          stop: (signal = "SIGTERM") => {
            child.kill(signal)
            return exited
          }
        })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    void exited.then((code) => reject(new Error(`broker exited with ${code}:\n${log}`)))
  })
