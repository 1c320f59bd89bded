/**
 * Test certificates made with openssl at run time in a temp dir: a CA, a server certificate for
 * 127.0.0.1/localhost, a client certificate signed by the CA and one signed by a CA nobody trusts.
 * Nothing secret is committed; every run gets fresh keys.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export interface TestCerts {
  readonly dir: string
  readonly ca: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
  /** CA-signed, no SAN, subject O=Acme/CN=carol (maps by its RDN string "CN=carol,O=Acme"). */
  readonly carolCert: string
  readonly carolKey: string
  /** CA-signed, CN=dave: maps to no user. */
  readonly daveCert: string
  readonly daveKey: string
  /** Signed by another CA: a verifying server must refuse it. */
  readonly rogueCert: string
  readonly rogueKey: string
  remove(): void
}

const openssl = (dir: string, args: ReadonlyArray<string>) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" })

const caPair = (dir: string, name: string) =>
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}-key.pem`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`
  ])

const signed = (dir: string, name: string, ca: string, subject: string, ext: string) => {
  openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}-key.pem`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject
  ])
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext)
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}-key.pem`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`
  ])
}

export const makeCerts = (): TestCerts => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-tls-"))
  caPair(dir, "ca")
  caPair(dir, "rogue-ca")
  signed(
    dir,
    "server",
    "ca",
    "/CN=localhost",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
  )
  signed(dir, "client", "ca", "/CN=alice", "subjectAltName=email:alice@example.com\nextendedKeyUsage=clientAuth\n")
  signed(dir, "rogue", "rogue-ca", "/CN=mallory", "extendedKeyUsage=clientAuth\n")
  signed(dir, "carol", "ca", "/O=Acme/CN=carol", "extendedKeyUsage=clientAuth\n")
  signed(dir, "dave", "ca", "/CN=dave", "extendedKeyUsage=clientAuth\n")
  const p = (f: string) => path.join(dir, f)
  return {
    dir,
    ca: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server-key.pem"),
    clientCert: p("client.pem"),
    clientKey: p("client-key.pem"),
    carolCert: p("carol.pem"),
    carolKey: p("carol-key.pem"),
    daveCert: p("dave.pem"),
    daveKey: p("dave-key.pem"),
    rogueCert: p("rogue.pem"),
    rogueKey: p("rogue-key.pem"),
    remove: () => fs.rmSync(dir, { recursive: true, force: true })
  }
}
