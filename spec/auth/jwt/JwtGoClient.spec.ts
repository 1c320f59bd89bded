/**
 * Operator mode through nats.go's `UserCredentials` (the `.creds` flow of Go services and the
 * `nats` CLI): a small Go program, built at run time against the nats.go source on this machine
 * (GOPATH mode), connects with creds to us and to nats-server 2.9.10; both must print the same.
 * Skipped (reason printed) without `go`, the nats.go source or nats-server.
 */
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { natsServerPath, type RunningBroker, type RunningNatsServer } from "../../support/Broker.ts"
import { startBrokerWithConf, startNatsWithConf } from "../AuthServers.ts"
import { makeAccount, makeOperator, makeUser, nowSec, operatorConf, tmpDir } from "./JwtFixtures.ts"

const GOPATH = "/usr/share/gocode"
const hasGo = spawnSync("sh", ["-c", "command -v go"]).status === 0
const hasNatsGo = fs.existsSync(path.join(GOPATH, "src/github.com/nats-io/nats.go/nats.go"))
const natsServer = natsServerPath()
const skip = !hasGo ? "go is not on PATH" : !hasNatsGo ? `no nats.go source under ${GOPATH}` : undefined
if (skip !== undefined) console.log(`JWT Go client spec skipped: ${skip}`)
if (natsServer === undefined) console.log("JWT Go client differential part skipped: nats-server is not on PATH")

const PROGRAM = `package main

import (
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	nc, err := nats.Connect(os.Args[1], nats.UserCredentials(os.Args[2]), nats.NoReconnect(), nats.Timeout(3*time.Second))
	if err != nil {
		fmt.Printf("connect error: %v\\n", err)
		return
	}
	defer nc.Close()
	sub, _ := nc.SubscribeSync("go.test")
	if err := nc.Publish("go.denied", []byte("x")); err != nil {
		fmt.Printf("publish error: %v\\n", err)
	}
	nc.Publish("go.test", []byte("hello"))
	m, err := sub.NextMsg(2 * time.Second)
	if err != nil {
		fmt.Printf("next error: %v\\n", err)
		return
	}
	fmt.Printf("got %s\\n", m.Data)
	time.Sleep(100 * time.Millisecond)
	fmt.Printf("last error: %v\\n", nc.LastError())
}
`

const run = (exe: string, url: string, creds: string) =>
  new Promise<string>((resolve) =>
    // stdout only: nats.go's default async error handler logs to stderr with the server's client id.
    execFile(exe, [url, creds], { timeout: 10_000 }, (_e, stdout) => resolve(stdout.trim()))
  )

describe.skipIf(skip !== undefined)("operator mode through nats.go UserCredentials", () => {
  const dir = tmpDir()
  const exe = path.join(dir, "creds-client")
  const creds: Record<string, string> = {}
  let broker: RunningBroker
  let nats: RunningNatsServer | undefined
  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, "main.go"), PROGRAM)
    const built = spawnSync("go", ["build", "-o", exe, "main.go"], {
      cwd: dir,
      env: { ...process.env, GO111MODULE: "off", GOPATH, GOFLAGS: "", GOCACHE: path.join(dir, "gocache") },
      encoding: "utf8"
    })
    if (built.status !== 0) throw new Error(`go build failed: ${built.stderr}`)
    const op = await makeOperator()
    const a = await makeAccount(op.kp)
    const users = {
      good: await makeUser(a.kp, { pub: { deny: ["go.denied"] } }),
      expired: await makeUser(a.kp, {}, { exp: nowSec() - 5 })
    }
    for (const [name, u] of Object.entries(users)) {
      const file = path.join(dir, `${name}.creds`)
      fs.writeFileSync(file, u.creds)
      creds[name] = file
    }
    const conf = operatorConf(dir, op, [a])
    ;[broker, nats] = await Promise.all([
      startBrokerWithConf(conf),
      natsServer === undefined ? undefined : startNatsWithConf(conf)
    ])
  }, 60_000)
  afterAll(async () => {
    await Promise.all([broker?.stop(), nats?.stop()])
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("connects with creds, is refused with expired ones, and sees JWT permissions", async () => {
    const both = async (url: string) => ({
      good: await run(exe, url, creds["good"]!),
      expired: await run(exe, url, creds["expired"]!)
    })
    const ours = await both(broker.url)
    expect(ours).toEqual({
      good: "got hello\nlast error: nats: Permissions Violation for Publish to \"go.denied\"",
      expired: "connect error: nats: Authorization Violation"
    })
    if (nats !== undefined) expect(ours).toEqual(await both(nats.url))
  }, 30_000)
})
