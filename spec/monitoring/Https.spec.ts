/**
 * Monitoring over HTTPS (`https_port`, `https: host:port`, `-ms`): served with the `tls {}` certificate as
 * nats-server does, /varz reporting `https_port`, the ports file naming an https URL, and nats-server's start-up
 * refusals for both ports at once and for HTTPS without a certificate. Certificates are made by openssl at run
 * time (spec/tls/TlsCerts.ts). The nats-server half runs when it is on PATH (skipped with the reason otherwise).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as TlsConfigFile from "../../src/tls/TlsConfigFile.ts"
import { natsServerPath, type RunningBroker, startBroker, startNatsServer } from "../support/Broker.ts"
import { runCli, startCli } from "../support/Process.ts"
import { makeCerts, type TestCerts } from "../tls/TlsCerts.ts"

const natsServer = natsServerPath()
if (natsServer === undefined) console.log("https monitoring differential skipped: nats-server is not on PATH")

const getHttps = (port: number, path: string, ca?: Buffer) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path, ...(ca === undefined ? {} : { ca }) }, (res) => {
      let body = ""
      res.on("data", (d) => (body += d))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
  })

const getPlain = (port: number, path: string) =>
  new Promise<string>((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path }, (res) => {
      res.resume()
      resolve(`status ${res.statusCode}`)
    })
    req.on("error", (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`))
  })

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer()
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

describe("HTTPS monitoring", () => {
  let certs: TestCerts
  let broker: RunningBroker
  let ca: Buffer
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-https-"))
  beforeAll(async () => {
    certs = makeCerts()
    ca = fs.readFileSync(certs.ca)
    const tls = TlsConfigFile.loadTls({
      certFile: certs.serverCert,
      keyFile: certs.serverKey,
      caFile: undefined,
      verify: false,
      timeoutMs: 2_000
    })
    if (typeof tls === "string") throw new Error(tls)
    broker = await startBroker({ httpsPort: -1, tls, jetstream: true })
  })
  afterAll(async () => {
    await broker?.stop()
    certs?.remove()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("serves the endpoints over TLS with the tls {} certificate; /varz reports https_port", async () => {
    const port = broker.monitorPort!
    expect(port).toBeGreaterThan(0)
    const health = await getHttps(port, "/healthz", ca)
    expect(health).toEqual({ status: 200, body: "{\"status\":\"ok\"}" })
    const varz = JSON.parse((await getHttps(port, "/varz", ca)).body) as Record<string, unknown>
    expect(varz["https_port"]).toBe(port)
    expect(varz["http_port"]).toBe(0)
    expect((await getHttps(port, "/jsz", ca)).status).toBe(200)
    expect((await getHttps(port, "/nope", ca)).status).toBe(404)
  })

  it("a client that does not trust the CA, or speaks plain HTTP, gets nothing", async () => {
    const port = broker.monitorPort!
    await expect(getHttps(port, "/varz")).rejects.toThrow(/self[- ]signed|unable to verify|unable to get/i)
    expect(await getPlain(port, "/varz")).toMatch(/^error /)
  })

  it("the CLI serves https from a config file and names it in the ports file, as nats-server", async () => {
    const conf = path.join(dir, "https.conf")
    const port = await freePort()
    fs.writeFileSync(
      conf,
      `https: "127.0.0.1:${port}"\ntls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}" }\n`
    )
    const ports = path.join(dir, "ports")
    fs.mkdirSync(ports)
    const p = await startCli(["-c", conf, "--ports_file_dir", ports])
    try {
      const varz = JSON.parse((await getHttps(port, "/varz", ca)).body) as Record<string, unknown>
      expect([varz["http_port"], varz["https_port"]]).toEqual([0, port])
      const file = fs.readdirSync(ports).find((f) => f.endsWith(".ports"))!
      const written = JSON.parse(fs.readFileSync(path.join(ports, file), "utf8")) as { monitoring: Array<string> }
      expect(written.monitoring).toEqual([`https://127.0.0.1:${port}`])
      expect(p.log()).toContain(`Starting https monitor on 127.0.0.1:${port}`)
    } finally {
      await p.stop()
    }
    if (natsServer === undefined) return
    const nats = await startNatsServer(["-c", conf])
    try {
      const theirs = JSON.parse((await getHttps(port, "/varz", ca)).body) as Record<string, unknown>
      expect([theirs["http_port"], theirs["https_port"]]).toEqual([0, port])
      expect(nats.monitorPort).toBe(port)
    } finally {
      await nats.stop()
    }
  })

  it("refuses http and https ports together, and https without a certificate, with nats-server's messages", async () => {
    const both = path.join(dir, "both.conf")
    fs.writeFileSync(both, "http_port: 18222\nhttps_port: 18443\n")
    const noTls = path.join(dir, "notls.conf")
    fs.writeFileSync(noTls, "https_port: 18443\n")
    const cases: ReadonlyArray<[ReadonlyArray<string>, string]> = [
      [["-c", both], "Can't start monitoring: can't specify both HTTP (18222) and HTTPs (18443) ports"],
      [["-c", noTls], "Can't start monitoring: TLS cert and key required for HTTPS"],
      [
        ["-m", "18222", "-ms", "18443"],
        "Can't start monitoring: can't specify both HTTP (18222) and HTTPs (18443) ports"
      ]
    ]
    for (const [args, message] of cases) {
      // `-t` checks the file only, as nats-server's: both are start-up errors.
      if (args[0] === "-c") expect((await runCli([...args, "-t"])).code).toBe(0)
      const r = await runCli(["-p", "-1", ...args])
      expect(r.code, args.join(" ")).toBe(1)
      expect(r.stderr, args.join(" ")).toContain(message)
      if (natsServer === undefined) continue
      const theirs = await new Promise<string>((resolve) => {
        const child = spawn(natsServer, ["-p", "-1", ...args], { stdio: "pipe" })
        let out = ""
        child.stderr.on("data", (d: Buffer) => (out += d.toString()))
        child.on("exit", () => resolve(out))
      })
      expect(theirs, args.join(" ")).toContain(message)
    }
  })
})
