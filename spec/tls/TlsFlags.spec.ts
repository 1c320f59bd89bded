/**
 * `--tls`, `--tlscert`, `--tlskey`, `--tlscacert`, `--tlsverify` through the real CLI: nats-server's
 * start-up errors for incomplete flags, TLS served from the flags alone, `--tlsverify` requiring a
 * client certificate, and a flag replacing the file's block (`--tls=false` turning it off).
 */
import { connect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type BrokerProcess, runCli, startCli } from "../support/Process.ts"
import { makeCerts, type TestCerts } from "./TlsCerts.ts"

const attempt = async (port: number, tls: Partial<ConnectionOptions>) => {
  let nc: NatsConnection
  try {
    nc = await connect({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: 3_000, ...tls })
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`
  }
  const info = nc.info
  await nc.close()
  return { tls_required: info?.tls_required, tls_verify: info?.tls_verify }
}

describe("TLS flags", () => {
  let certs: TestCerts
  const running: Array<BrokerProcess> = []
  beforeAll(() => {
    certs = makeCerts()
  })
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()))
    certs.remove()
  })
  const start = async (args: ReadonlyArray<string>) => {
    const p = await startCli(args)
    running.push(p)
    return p
  }

  it("refuses incomplete flags with nats-server's messages", async () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, string]> = [
      [["--tls"], "TLS Server certificate must be present and valid"],
      [["--tlscert", certs.serverCert], "TLS Server private key must be present and valid"],
      [
        ["--tlscert", "/nope/c.pem", "--tlskey", "/nope/k.pem"],
        "error parsing X509 certificate/key pair: open /nope/c.pem: no such file or directory"
      ],
      [
        ["--tlsverify", "--tlscert", certs.serverCert, "--tlskey", certs.serverKey, "--tlscacert", "/nope/ca.pem"],
        "open /nope/ca.pem: no such file or directory"
      ]
    ]
    for (const [args, message] of cases) {
      const r = await runCli(["-p", "-1", ...args])
      expect(r.code, args.join(" ")).toBe(1)
      expect(r.stderr, args.join(" ")).toContain(message)
      expect(r.stderr).not.toContain("Listening")
    }
  })

  it("serves TLS from --tls --tlscert --tlskey", async () => {
    const p = await start(["--tls", "--tlscert", certs.serverCert, "--tlskey", certs.serverKey])
    expect(await attempt(p.port, { tls: { caFile: certs.ca } })).toEqual({ tls_required: true, tls_verify: undefined })
  })

  it("--tlsverify requires a client certificate signed by --tlscacert", async () => {
    const p = await start([
      "--tlsverify",
      "--tlscert",
      certs.serverCert,
      "--tlskey",
      certs.serverKey,
      "--tlscacert",
      certs.ca
    ])
    expect(await attempt(p.port, { tls: { caFile: certs.ca } })).not.toHaveProperty("tls_required")
    expect(await attempt(p.port, { tls: { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey } }))
      .toEqual({ tls_required: true, tls_verify: true })
    // The refused handshake is one short error line (OpenSSL's reason, not its internals).
    expect(p.log()).toMatch(/\[ERR\] 127\.0\.0\.1:\d+ - TLS handshake error: [a-z ]+\n/)
  })

  it("--tls=false turns off the file's tls block", async () => {
    const conf = path.join(certs.dir, "tls.conf")
    fs.writeFileSync(conf, `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}" }\n`)
    const on = await start(["-c", conf])
    expect(await attempt(on.port, { tls: { caFile: certs.ca } })).toEqual({ tls_required: true, tls_verify: undefined })
    const off = await start(["-c", conf, "--tls=false"])
    expect(await attempt(off.port, {})).toEqual({ tls_required: undefined, tls_verify: undefined })
  })
})
