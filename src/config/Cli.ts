/**
 * Command-line flags, spelled as nats-server spells them so the broker is a drop-in
 * (`-p`, `--port`, `-port=4222`, `-js`, `-sd`, `-DV`, ...). Pure: argv in, a decision out.
 */
import type { AuthSettings } from "../auth/AuthSettings.ts"
import { type ClusterFlags, parseRouteUrl, type RouteUrl } from "../cluster/ClusterSettings.ts"
import { ADVERTISED_NATS_VERSION, BROKER_NAME, BROKER_VERSION, type BrokerConfigInput } from "./BrokerConfig.ts"

export type CliResult =
  | {
    readonly _tag: "Run"
    readonly config: BrokerConfigInput
    readonly configFile: string | undefined
    /** `-t`: check the configuration file and exit (nats-server `-t`). */
    readonly checkConfig?: true
    /** `--user`, `--pass`, `--auth`: override the file's single user / token (AuthSettings.merge). */
    readonly authFlags?: Partial<AuthSettings>
    /**
     * `--tls*`: as nats-server, any of them replaces the file's `tls` block with one built from the
     * flags alone; `--tls=false` turns TLS off (and makes the other `--tls*` flags no-ops).
     */
    readonly tlsFlags?: TlsFlags
    /** `--cluster`, `--routes`, `--cluster_name`, `--cluster_advertise`, `--no_advertise` (ClusterSettings.mergeFlags). */
    readonly clusterFlags?: ClusterFlags
  }
  | { readonly _tag: "Print"; readonly text: string; readonly exitCode: 0 | 1 | 2 }
  /** `--signal <command>[=<pid or pid file>]`: signal a running broker and exit (nats-server `-sl`). */
  | { readonly _tag: "Signal"; readonly command: string; readonly pid: string | undefined }

export type TlsFlags =
  | { readonly _tag: "Disabled" }
  | {
    readonly _tag: "Override"
    readonly certFile: string | undefined
    readonly keyFile: string | undefined
    readonly caFile: string | undefined
    readonly verify: boolean
  }

export const usage = `Usage: ${BROKER_NAME} [options]

Server Options:
    -a, --addr, --net <host>         Bind to host address (default: 0.0.0.0)
    -p, --port <port>                Use port for clients (default: 4222, -1 for a random port)
    -n, --name, --server_name <name> Server name (default: a generated id)
    -m, --http_port <port>           Use port for http monitoring
    -ms, --https_port <port>         Use port for https monitoring (with the tls certificate)
    -c, --config <file>              Configuration file (nats-server format; flags override it)
    -t                               Test configuration and exit
    -P, --pid <file>                 File to store PID
    -sl, --signal <signal>[=<pid>]   Send signal to a running broker (reload, quit, term, stop); <pid> may be a pid file
        --ports_file_dir <dir>       Creates a ports file in the specified directory (<executable_name>_<pid>.ports)
        --max_payload <bytes>        Maximum message payload (default: 1048576)

Logging Options:
    -l, --log <file>                 File to redirect log output
    -D, --debug                      Enable debugging output
    -V, --trace                      Trace the raw protocol
    -T, --logtime                    Timestamp log entries (default: true; -T=false to disable)
    -DV                              Debug and trace

Authorization Options:
        --user <user>                User required for connections
        --pass <password>            Password required for connections
        --auth <token>               Authorization token required for connections

TLS Options:
        --tls                        Enable TLS, do not verify clients (default: false)
        --tlscert <file>             Server certificate file
        --tlskey <file>              Private key for server certificate
        --tlsverify                  Enable TLS, verify client certificates
        --tlscacert <file>           Client certificate CA for verification

Cluster Options:
        --routes <rurl-1, rurl-2>    Routes to solicit and connect
        --cluster <cluster-url>      Cluster URL for solicited routes (nats://[user:pass@]host:port)
        --cluster_name <string>      Cluster Name, if not set one will be dynamically generated
        --no_advertise <bool>        Do not advertise known cluster information to clients
        --cluster_advertise <string> Cluster URL to advertise to other servers
        --connect_retries <number>   For implicit routes, number of connect retries

JetStream Options:
    -js, --jetstream                 Enable JetStream functionality
    -sd, --store_dir <dir>           Set the storage directory (default: ./data)

Common Options:
    -h, --help                       Show this message
    -v, --version                    Show version
`

const versionText =
  `${BROKER_NAME} v${BROKER_VERSION} (NATS protocol compatible with nats-server v${ADVERTISED_NATS_VERSION})\n`

/** Flags that take a value, by every accepted spelling (without leading dashes). */
const valued: Record<string, keyof BrokerConfigInput | "config"> = {
  a: "host",
  addr: "host",
  net: "host",
  p: "port",
  port: "port",
  n: "serverName",
  name: "serverName",
  server_name: "serverName",
  m: "httpPort",
  http_port: "httpPort",
  ms: "httpsPort",
  https_port: "httpsPort",
  c: "config",
  config: "config",
  sd: "storeDir",
  store_dir: "storeDir",
  l: "logFile",
  log: "logFile",
  P: "pidFile",
  pid: "pidFile",
  ports_file_dir: "portsFileDir",
  max_payload: "maxPayload"
}

const integerKeys = new Set(["port", "httpPort", "httpsPort", "maxPayload"])

const fail = (message: string): CliResult => ({ _tag: "Print", text: `${message}\n\n${usage}`, exitCode: 2 })

export const parse = (argv: ReadonlyArray<string>): CliResult => {
  const config: BrokerConfigInput = {}
  let configFile: string | undefined
  let checkConfig = false
  const authFlags: { -readonly [K in keyof AuthSettings]?: AuthSettings[K] } = {}
  const tlsFlags = { set: false, disabled: false, verify: false } as {
    set: boolean
    disabled: boolean
    verify: boolean
    certFile?: string
    keyFile?: string
    caFile?: string
  }
  const clusterFlags: { -readonly [K in keyof ClusterFlags]?: ClusterFlags[K] } = {}
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!
    if (!raw.startsWith("-") || raw === "-" || raw === "--") return fail(`unexpected argument: ${raw}`)
    const body = raw.replace(/^--?/, "")
    const eq = body.indexOf("=")
    const name = eq < 0 ? body : body.slice(0, eq)
    const inline = eq < 0 ? undefined : body.slice(eq + 1)
    switch (name) {
      case "h":
      case "help":
        return { _tag: "Print", text: usage, exitCode: 0 }
      case "v":
      case "version":
        return { _tag: "Print", text: versionText, exitCode: 0 }
      case "js":
      case "jetstream":
        config.jetstream = inline === undefined ? true : inline !== "false"
        continue
      case "D":
      case "debug":
        config.debug = true
        continue
      case "V":
      case "trace":
        config.trace = true
        continue
      case "T":
      case "logtime":
        config.logtime = inline === undefined ? true : inline !== "false"
        continue
      case "t":
        checkConfig = true
        continue
      case "DV":
      case "VD":
        config.debug = true
        config.trace = true
        continue
    }
    if (name === "sl" || name === "signal") {
      const value = inline ?? argv[++i]
      if (value === undefined) return fail(`flag needs an argument: ${raw}`)
      const parts = value.split("=")
      if (parts.length > 2) {
        return { _tag: "Print", text: `invalid signal parameters: [${parts.slice(2).join(" ")}]\n`, exitCode: 1 }
      }
      return { _tag: "Signal", command: parts[0]!, pid: parts[1] }
    }
    if (name === "tls" || name === "tlsverify") {
      if (inline !== undefined && inline !== "true" && inline !== "false") {
        return fail(`invalid boolean value ${JSON.stringify(inline)} for -${name}: parse error`)
      }
      const on = inline !== "false"
      if (name === "tls" && !on) tlsFlags.disabled = true
      if (name === "tlsverify") tlsFlags.verify = on
      tlsFlags.set = true
      continue
    }
    if (name === "tlscert" || name === "tlskey" || name === "tlscacert") {
      const value = inline ?? argv[++i]
      if (value === undefined) return fail(`flag needs an argument: ${raw}`)
      if (name === "tlscert") tlsFlags.certFile = value
      else if (name === "tlskey") tlsFlags.keyFile = value
      else tlsFlags.caFile = value
      tlsFlags.set = true
      continue
    }
    if (name === "no_advertise") {
      if (inline !== undefined && inline !== "true" && inline !== "false") {
        return fail(`invalid boolean value ${JSON.stringify(inline)} for -${name}: parse error`)
      }
      clusterFlags.noAdvertise = inline !== "false"
      continue
    }
    if (
      name === "cluster" || name === "cluster_listen" || name === "routes" || name === "cluster_name" ||
      name === "cluster_advertise" || name === "connect_retries"
    ) {
      const value = inline ?? argv[++i]
      if (value === undefined) return fail(`flag needs an argument: ${raw}`)
      if (name === "cluster" || name === "cluster_listen") {
        const u = parseRouteUrl(value)
        if (typeof u === "string") return fail(`invalid value ${JSON.stringify(value)} for flag ${raw}: ${u}`)
        clusterFlags.listen = u
      } else if (name === "routes") {
        const routes: Array<RouteUrl> = []
        for (const part of value.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
          const u = parseRouteUrl(part)
          if (typeof u === "string") return fail(`invalid value ${JSON.stringify(value)} for flag ${raw}: ${u}`)
          routes.push(u)
        }
        clusterFlags.routes = routes
      } else if (name === "cluster_name") {
        if (value === "" || /\s/.test(value)) return fail("cluster name cannot contain spaces or new lines")
        clusterFlags.name = value
      } else if (name === "cluster_advertise") clusterFlags.advertise = value
      else {
        if (!/^\d+$/.test(value)) return fail(`invalid value ${JSON.stringify(value)} for flag ${raw}: not an integer`)
        clusterFlags.connectRetries = Number(value)
      }
      continue
    }
    if (name === "user" || name === "pass" || name === "auth") {
      const value = inline ?? argv[++i]
      if (value === undefined) return fail(`flag needs an argument: ${raw}`)
      if (name === "user") authFlags.user = value
      else if (name === "pass") authFlags.password = value
      else authFlags.token = value
      continue
    }
    const key = valued[name]
    if (key === undefined) return fail(`flag provided but not defined: ${raw}`)
    const value = inline ?? argv[++i]
    if (value === undefined) return fail(`flag needs an argument: ${raw}`)
    if (key === "config") {
      configFile = value
      continue
    }
    if (integerKeys.has(key)) {
      if (!/^-?\d+$/.test(value)) return fail(`invalid value ${JSON.stringify(value)} for flag ${raw}: not an integer`)
      const n = Number(value)
      if ((key === "port" || key === "httpPort") && (n < -1 || n > 65535)) {
        return fail(`invalid value ${value} for flag ${raw}: a port is -1..65535`)
      }
      if (key === "maxPayload" && n <= 0) return fail(`invalid value ${value} for flag ${raw}: must be > 0`)
      ;(config as Record<string, unknown>)[key] = n
    } else {
      ;(config as Record<string, unknown>)[key] = value
    }
  }
  if (checkConfig && configFile === undefined) {
    return fail("must specify [-c, --config] option to check configuration file syntax")
  }
  return {
    _tag: "Run",
    config,
    configFile,
    ...(checkConfig ? { checkConfig: true } : {}),
    ...(Object.keys(authFlags).length > 0 ? { authFlags } : {}),
    ...(Object.keys(clusterFlags).length > 0 ? { clusterFlags } : {}),
    ...(!tlsFlags.set ? {} : tlsFlags.disabled ? { tlsFlags: { _tag: "Disabled" } as const } : {
      tlsFlags: {
        _tag: "Override",
        certFile: tlsFlags.certFile,
        keyFile: tlsFlags.keyFile,
        caFile: tlsFlags.caFile,
        verify: tlsFlags.verify
      } as const
    })
  }
}
