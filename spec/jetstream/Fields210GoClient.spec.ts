/**
 * The 2.10 fields through nats.go, as a Go service meets them: a small program built at run time
 * against the nats.go source on this machine (GOPATH mode, nats.go 1.22.1). That nats.go predates
 * `metadata` and `consumer_limits` in its structs, so the stream is updated with a raw request
 * (`nc.Request`, as a newer nats.go sends the keys) and the rest goes through its JetStream API:
 * the stream's limits become the defaults of a consumer nats.go creates, a consumer asking more
 * gets nats.go's error with the 10121 text, and a durable with `InactiveThreshold` is removed when
 * idle while one without stays (2.10). No nats-server comparison: the installed 2.9.10 ignores all
 * of these. Skipped (reason printed) without `go` or the nats.go source.
 */
import { execFile, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADVERTISED_NATS_VERSION } from "../../src/config/BrokerConfig.ts"
import { API_LEVEL } from "../../src/jetstream/model/ApiLevel.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"

const GOPATH = "/usr/share/gocode"
const hasGo = spawnSync("sh", ["-c", "command -v go"]).status === 0
const hasNatsGo = fs.existsSync(path.join(GOPATH, "src/github.com/nats-io/nats.go/nats.go"))
const skip = !hasGo ? "go is not on PATH" : !hasNatsGo ? `no nats.go source under ${GOPATH}` : undefined
if (skip !== undefined) console.log(`2.10 fields Go client spec skipped: ${skip}`)

const PROGRAM = `package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	nc, err := nats.Connect(os.Args[1], nats.NoReconnect())
	if err != nil {
		fmt.Printf("connect error: %v\\n", err)
		return
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	if _, err := js.AddStream(&nats.StreamConfig{Name: "GO", Subjects: []string{"go.>"}}); err != nil {
		fmt.Printf("add stream: %v\\n", err)
		return
	}
	upd := []byte(\`{"name":"GO","subjects":["go.>"],"metadata":{"team":"go"},"consumer_limits":{"inactive_threshold":3600000000000,"max_ack_pending":7}}\`)
	m, err := nc.Request("$JS.API.STREAM.UPDATE.GO", upd, 2*time.Second)
	if err != nil {
		fmt.Printf("update: %v\\n", err)
		return
	}
	var info struct {
		Config struct {
			Metadata       map[string]string \`json:"metadata"\`
			ConsumerLimits map[string]int64  \`json:"consumer_limits"\`
		} \`json:"config"\`
	}
	json.Unmarshal(m.Data, &info)
	fmt.Printf("stream metadata %v limits %v\\n", info.Config.Metadata, info.Config.ConsumerLimits)
	ci, err := js.AddConsumer("GO", &nats.ConsumerConfig{Durable: "LIM", AckPolicy: nats.AckExplicitPolicy})
	if err != nil {
		fmt.Printf("add LIM: %v\\n", err)
		return
	}
	fmt.Printf("LIM max_ack_pending %d inactive_threshold %v\\n", ci.Config.MaxAckPending, ci.Config.InactiveThreshold)
	_, err = js.AddConsumer("GO", &nats.ConsumerConfig{Durable: "BIG", AckPolicy: nats.AckExplicitPolicy, MaxAckPending: 8})
	fmt.Printf("BIG: %v\\n", err)
	js.AddConsumer("GO", &nats.ConsumerConfig{Durable: "IDLE", AckPolicy: nats.AckExplicitPolicy, InactiveThreshold: 300 * time.Millisecond})
	time.Sleep(1200 * time.Millisecond)
	_, err = js.ConsumerInfo("GO", "IDLE")
	fmt.Printf("IDLE after 1.2s: %v\\n", err)
	_, err = js.ConsumerInfo("GO", "LIM")
	fmt.Printf("LIM after 1.2s: %v\\n", err)
}
`

describe.skipIf(skip !== undefined)("2.10 fields through nats.go", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-go210-"))
  const exe = path.join(dir, "fields210")
  let broker: RunningBroker
  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, "main.go"), PROGRAM)
    const built = spawnSync("go", ["build", "-o", exe, "main.go"], {
      cwd: dir,
      env: { ...process.env, GO111MODULE: "off", GOPATH, GOFLAGS: "", GOCACHE: path.join(dir, "gocache") },
      encoding: "utf8"
    })
    if (built.status !== 0) throw new Error(`go build failed: ${built.stderr}`)
    broker = await startBroker({ jetstream: true })
  }, 120_000)
  afterAll(async () => {
    await broker?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("consumer_limits are nats.go's consumer defaults and caps; an idle durable with a threshold goes", async () => {
    const out = await new Promise<string>((resolve) =>
      execFile(exe, [broker.url], { timeout: 15_000 }, (_e, stdout) => resolve(stdout.trim()))
    )
    expect(out.split("\n")).toEqual([
      // At 2.11 the metadata also has ADR-44's required level and the server's version and level.
      `stream metadata map[_nats.level:${API_LEVEL} _nats.req.level:0 _nats.ver:${ADVERTISED_NATS_VERSION} team:go] ` +
      "limits map[inactive_threshold:3600000000000 max_ack_pending:7]",
      "LIM max_ack_pending 7 inactive_threshold 1h0m0s",
      "BIG: nats: consumer max ack pending exceeds system limit of 7",
      "IDLE after 1.2s: nats: consumer not found",
      "LIM after 1.2s: <nil>"
    ])
  }, 30_000)
})
