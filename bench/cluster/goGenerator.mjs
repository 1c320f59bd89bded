/**
 * Builds the Go load generator (go/main.go) offline against Debian's nats.go tree
 * (golang-github-nats-io-go-nats-dev): the binary's path, or undefined without go or nats.go.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as path from "node:path"

const here = path.dirname(new URL(import.meta.url).pathname)

export const buildRouteBench = (work) => {
  const list = spawnSync("dpkg", ["-L", "golang-github-nats-io-go-nats-dev"], { encoding: "utf8" }).stdout ?? ""
  const src = list.split("\n").find((l) => l.endsWith("/src/github.com/nats-io/nats.go"))
  if (src === undefined || spawnSync("sh", ["-c", "command -v go"]).status !== 0) return undefined
  const gopath = src.slice(0, src.length - "/src/github.com/nats-io/nats.go".length)
  const bin = path.join(work, "routebench")
  execFileSync("go", ["build", "-o", bin, "."], {
    cwd: path.join(here, "go"),
    env: { ...process.env, GO111MODULE: "off", GOPATH: gopath, GOFLAGS: "", GOCACHE: path.join(work, "gocache") },
    stdio: ["ignore", "inherit", "inherit"]
  })
  return bin
}
