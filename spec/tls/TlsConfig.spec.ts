/**
 * The `tls {}` block under `-t`: our loader and nats-server 2.9.10 (`-c file -t`) must report the
 * same message at the same position for each broken block, missing certificate files included.
 * Deliberate differences are asserted separately: keys nats-server has and we have not built are
 * refused, a block without a certificate (which nats-server accepts and then fails every
 * handshake with) is refused at load, and `handshake_first` (nats-server 2.10) is accepted.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { natsServerPath } from "../support/Broker.ts"
import { makeCerts, type TestCerts } from "./TlsCerts.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("TLS config differential skipped: nats-server is not on PATH")

const natsCheck = (file: string) =>
  new Promise<string>((resolve) => {
    execFile(natsServer!, ["-c", file, "-t"], { timeout: 10_000 }, (_err, stdout, stderr) =>
      resolve((stdout + stderr).trim().split("\n")[0]!.replace(/^nats-server: /, "")))
  })

const ours = (file: string): string => {
  const r = ConfigFile.load(file)
  return r._tag === "Success" ? `configuration file ${file} is valid` : r.errors.map(ConfigFile.renderIssue).join("\n")
}

describe("tls block", () => {
  let certs: TestCerts
  let dir: string
  beforeAll(() => {
    certs = makeCerts()
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-tls-conf-"))
  })
  afterAll(() => {
    certs.remove()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const write = (i: number, block: string) => {
    const file = path.join(dir, `t${i}.conf`)
    fs.writeFileSync(file, `port: -1\n${block}\n`)
    return file
  }

  it.skipIf(natsServer === undefined)("reports what nats-server -t reports", async () => {
    const samples = [
      `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.ca}", verify: true, timeout: 3 }`,
      `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", timeout: "1500ms" }`,
      "tls { cert_file: a.pem }",
      "tls { key_file: a.pem }",
      "tls { cert_file: \"/nope/c.pem\", key_file: \"/nope/k.pem\" }",
      `tls { cert_file: "${certs.serverCert}", key_file: "/nope/k.pem" }`,
      `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "/nope/ca.pem" }`,
      "tls { verify: 1 }",
      "tls { bogus: 1 }",
      "tls { timeout: true }",
      "tls { timeout: \"soon\" }",
      "tls { cert_file: 1 }",
      "tls { ca_file: [a] }"
    ]
    for (const [i, block] of samples.entries()) {
      const file = write(i, block)
      expect(ours(file), block).toBe(await natsCheck(file))
    }
  })

  it("checks the values as well as nats-server does", () => {
    const file = write(100, `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", timeout: 3 }`)
    const r = ConfigFile.load(file)
    expect(r._tag).toBe("Success")
    const tls = r._tag === "Success" ? r.config.tls : undefined
    expect({ verify: tls?.verify, timeoutMs: tls?.timeoutMs, ca: tls?.ca }).toEqual({
      verify: false,
      timeoutMs: 3000,
      ca: undefined
    })
    expect(tls?.cert.toString()).toBe(fs.readFileSync(certs.serverCert, "utf8"))
    const first = write(
      101,
      `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", handshake_first: true }`
    )
    const f = ConfigFile.load(first)
    expect(f._tag === "Success" ? f.config.tls?.handshakeFirst : f.errors).toBe(true)
  })

  it("refuses what is not built, and a block without a certificate", () => {
    const cases: ReadonlyArray<[string, string]> = [
      [
        "tls { curve_preferences: [\"CurveP256\"] }",
        "2:7: tls.curve_preferences: not supported yet; refusing to start"
      ],
      ["tls { cipher_suites: [\"TLS_AES_128_GCM_SHA256\"] }", "2:7: tls.cipher_suites: not supported yet"],
      ["tls { pinned_certs: [] }", "2:7: tls.pinned_certs: not supported yet"],
      ["tls {}", "2:1: missing 'cert_file' in TLS configuration"],
      ["tls { handshake_first: \"300ms\" }", "2:7: tls.handshake_first: only true or false is supported"],
      ["tls: 1", "2:1: tls: expected a block"]
    ]
    for (const [i, [block, message]] of cases.entries()) {
      expect(ours(write(200 + i, block)), block).toContain(message)
    }
  })
})
