/**
 * docker/Dockerfile without a Docker engine: read it, check what the image promises (non-root,
 * ports, volume, healthcheck, entrypoint flags), replay its build with one temporary root per
 * stage (image paths mapped under it, COPY [--from] as file copies, RUN through sh with the
 * stage's ENV), then
 * start ENTRYPOINT + CMD on random ports and check /healthz, the HEALTHCHECK command itself, a
 * JetStream publish/consume round trip with nats.js, a clean SIGTERM stop, and that the data
 * directory (the volume) survives a restart.
 *
 * Not replayed: the base image (we run on the host's Node, not node:24-slim), ownership (`chown`,
 * USER; USER is checked to be non-root) and `npm cache clean` (it would wipe the host's cache).
 * `npm ci` prefers the local npm cache (npm_config_prefer_offline), as a warm Docker cache would.
 */
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const repo = path.resolve(import.meta.dirname, "../..")

interface Instruction {
  readonly op: string
  readonly args: string
}

/** Instructions with line continuations joined and comments dropped. */
const parseDockerfile = (text: string): Array<Instruction> => {
  const out: Array<Instruction> = []
  let current = ""
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (current === "" && (line === "" || line.startsWith("#"))) continue
    if (line.endsWith("\\")) {
      current += line.slice(0, -1) + " "
      continue
    }
    current += line
    const m = /^(\w+)\s+(.*)$/s.exec(current)
    if (m !== null) out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim() })
    current = ""
  }
  return out
}

/** Exec form (`["a", "b"]`) or shell form (`sh -c`). */
const commandOf = (args: string): Array<string> =>
  args.startsWith("[") ? (JSON.parse(args) as Array<string>) : ["sh", "-c", args]

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const dockerfile = parseDockerfile(fs.readFileSync(path.join(repo, "docker/Dockerfile"), "utf8"))
const all = (op: string) => dockerfile.filter((i) => i.op === op)
const last = (op: string) => all(op).at(-1)

describe("docker/Dockerfile (static)", () => {
  it("is a small non-root Node 24 LTS image exposing 4222/8222 with /data as a volume", () => {
    expect(last("FROM")?.args).toMatch(/^node:24(\.\d+)*-(slim|alpine)/)
    const user = last("USER")?.args
    expect(user).toBeDefined()
    expect(["root", "0"]).not.toContain(user)
    expect(all("EXPOSE").flatMap((i) => i.args.split(/\s+/))).toEqual(expect.arrayContaining(["4222", "8222"]))
    expect(all("VOLUME").map((i) => i.args)).toContain("/data")
    expect(all("RUN").some((i) => /npm ci\b.*--omit=dev/.test(i.args))).toBe(true)
    expect(last("HEALTHCHECK")?.args).toContain("/healthz")
  })

  it("runs the CLI with JetStream on /data, monitoring on 8222, listening on all interfaces", () => {
    const argv = [...commandOf(last("ENTRYPOINT")!.args), ...commandOf(last("CMD")!.args)]
    const after = (flag: string) => argv[argv.indexOf(flag) + 1]
    // The young-generation cap the bin's shebang sets (peak RSS), then the CLI.
    expect(argv.slice(0, 3)).toEqual(["node", "--max-semi-space-size=8", "bin/effect-jetstream"])
    expect(argv).toContain("-js")
    expect(after("-sd")).toBe("/data")
    expect(after("-m")).toBe("8222")
    expect(after("-a")).toBe("0.0.0.0")
  })

  it("the build context (.dockerignore) includes everything COPY needs", () => {
    const ignore = fs.readFileSync(path.join(repo, ".dockerignore"), "utf8").split("\n").map((l) => l.trim())
    const allowed = ignore.filter((l) => l.startsWith("!")).map((l) => l.slice(1).replace(/\/$/, ""))
    for (const copy of all("COPY").filter((c) => !c.args.includes("--from="))) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith("--"))
      for (const src of parts.slice(0, -1)) expect(allowed).toContain(src.replace(/^\.\//, "").replace(/\/$/, ""))
    }
  })
})

describe("docker/Dockerfile (replayed build and run)", () => {
  interface Stage {
    readonly name: string | undefined
    readonly root: string
    workdir: string
    readonly env: Record<string, string>
    readonly volumes: Array<string>
  }
  let tmp: string
  const stages: Array<Stage> = []
  let final: Stage
  /** An image path under a stage's temporary root. */
  const inStage = (stage: Stage, p: string) =>
    path.join(stage.root, path.isAbsolute(p) ? p : path.join(stage.workdir, p))
  const inRoot = (p: string) => inStage(final, p)

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ejs-docker-"))
    for (const { op, args } of dockerfile) {
      if (op === "FROM") {
        const name = /\bAS\s+(\S+)/i.exec(args)?.[1]
        const root = path.join(tmp, `stage${stages.length}`)
        fs.mkdirSync(root)
        final = { name, root, workdir: "/", env: {}, volumes: [] }
        stages.push(final)
        continue
      }
      const stage = final
      switch (op) {
        case "ENV":
          for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage.env[m[1]!] = m[2]!.replace(/^"|"$/g, "")
          break
        case "WORKDIR":
          stage.workdir = path.posix.resolve(stage.workdir, args)
          fs.mkdirSync(inStage(stage, stage.workdir), { recursive: true })
          break
        case "VOLUME":
          stage.volumes.push(...(args.startsWith("[") ? (JSON.parse(args) as Array<string>) : args.split(/\s+/)))
          break
        case "COPY": {
          const fromStage = /--from=(\S+)/.exec(args)?.[1]
          const parts = args.split(/\s+/).filter((p) => !p.startsWith("--"))
          const dest = parts.at(-1)!
          for (const src of parts.slice(0, -1)) {
            const source = fromStage === undefined
              ? path.join(repo, src)
              : inStage(stages.find((s) => s.name === fromStage || String(stages.indexOf(s)) === fromStage)!, src)
            const to = dest.endsWith("/") || parts.length > 2
              ? path.join(inStage(stage, dest), path.basename(src))
              : inStage(stage, dest)
            fs.mkdirSync(path.dirname(to), { recursive: true })
            fs.cpSync(source, to, { recursive: true })
          }
          break
        }
        case "RUN": {
          const steps = args.split("&&").map((s) => s.trim())
            .filter((s) => !s.startsWith("chown ") && !s.startsWith("npm cache clean"))
          // Image-absolute paths (e.g. /data) live under the stage's root.
          const script = steps.join(" && ").replace(
            /(^|\s)\/(\w+)/g,
            (_m, pre: string, dir: string) => `${pre}${path.join(stage.root, dir)}`
          )
          const r = spawnSync("sh", ["-c", script], {
            cwd: inStage(stage, stage.workdir),
            env: {
              ...process.env,
              ...stage.env,
              npm_config_prefer_offline: "true",
              npm_config_fund: "false",
              npm_config_audit: "false"
            },
            encoding: "utf8",
            timeout: 90_000
          })
          if (r.status !== 0) throw new Error(`RUN ${args} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
          break
        }
      }
    }
  }, 120_000)

  afterAll(() => {
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true })
  })

  const start = async (): Promise<{ child: ChildProcess; port: number; monitor: number; output: () => string }> => {
    const port = await freePort()
    const monitor = await freePort()
    const argv = [...commandOf(last("ENTRYPOINT")!.args), ...commandOf(last("CMD")!.args)].map((a, i, xs) => {
      if (xs[i - 1] === "-p") return String(port)
      if (xs[i - 1] === "-m") return String(monitor)
      if (xs[i - 1] === "-sd") return inRoot(a)
      return a
    })
    const exe = argv[0] === "node" ? process.execPath : argv[0]!
    const child = spawn(exe, argv.slice(1), {
      cwd: inRoot(final.workdir),
      env: { ...process.env, ...final.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let log = ""
    child.stdout!.on("data", (d: Buffer) => void (log += d.toString()))
    child.stderr!.on("data", (d: Buffer) => void (log += d.toString()))
    return { child, port, monitor, output: () => log }
  }

  const waitHealthy = async (monitor: number, output: () => string) => {
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      const r = await fetch(`http://127.0.0.1:${monitor}/healthz`).catch(() => undefined)
      if (r?.status === 200) return (await r.json()) as unknown
      await sleep(100)
    }
    throw new Error(`/healthz never answered 200; broker output:\n${output()}`)
  }

  const stop = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      child.once("exit", (code) => resolve(code))
      child.kill("SIGTERM")
    })

  it("installs production dependencies only and bundles the CLI", () => {
    const app = inRoot(final.workdir)
    expect(fs.existsSync(path.join(app, "node_modules/effect/package.json"))).toBe(true)
    expect(fs.existsSync(path.join(app, "node_modules/vitest"))).toBe(false)
    expect(fs.existsSync(path.join(app, "node_modules/redis"))).toBe(false)
    expect(fs.existsSync(path.join(app, "dist/main.mjs"))).toBe(true)
    expect(fs.existsSync(path.join(app, "src"))).toBe(false)
    for (const v of final.volumes) expect(fs.existsSync(inRoot(v))).toBe(true)
  })

  it(
    "starts healthy, passes its HEALTHCHECK, round-trips a JetStream message, and keeps /data across restarts",
    async () => {
      const first = await start()
      try {
        expect(await waitHealthy(first.monitor, first.output)).toEqual({ status: "ok" })

        // The HEALTHCHECK command as Docker would run it inside the container (port remapped).
        const check = commandOf(last("HEALTHCHECK")!.args.replace(/^.*?\bCMD\s+/s, ""))
          .map((a) => a.replaceAll(":8222/", `:${first.monitor}/`))
        const hc = spawnSync(check[0] === "node" ? process.execPath : check[0]!, check.slice(1), {
          encoding: "utf8",
          timeout: 10_000
        })
        expect(hc.status).toBe(0)

        const nc = await connect({ servers: `127.0.0.1:${first.port}` })
        const jsm = await jetstreamManager(nc)
        await jsm.streams.add({ name: "DOCKER", subjects: ["docker.>"] })
        const ack = await jetstream(nc).publish("docker.hello", "from the image")
        expect(ack.seq).toBe(1)
        await jsm.consumers.add("DOCKER", { durable_name: "c", ack_policy: AckPolicy.Explicit })
        const consumer = await jetstream(nc).consumers.get("DOCKER", "c")
        const m = await consumer.next({ expires: 5000 })
        expect(m?.subject).toBe("docker.hello")
        expect(m?.string()).toBe("from the image")
        await m?.ackAck()
        await nc.close()
      } finally {
        expect(await stop(first.child)).toBe(0)
      }

      // Same volume, new container: the stream and its message are still there.
      const second = await start()
      try {
        await waitHealthy(second.monitor, second.output)
        const nc = await connect({ servers: `127.0.0.1:${second.port}` })
        const info = await (await jetstreamManager(nc)).streams.info("DOCKER")
        expect(info.state.messages).toBe(1)
        await nc.close()
      } finally {
        await stop(second.child)
      }
    },
    90_000
  )

  it(
    "ships a secured configuration: token and store key from the environment, nothing starts without them",
    async () => {
      const conf = inRoot("/etc/effect-jetstream/secure.conf")
      expect(fs.readFileSync(conf, "utf8")).toMatch(/authorization \{\s*token: \$EJS_TOKEN\s*\}/)
      const port = await freePort()
      const monitor = await freePort()
      const store = inRoot("/data/secure")
      const run = (env: Record<string, string>) => {
        const argv = ["bin/effect-jetstream", "-c", conf, "-a", "127.0.0.1", "-p", String(port), "-m", String(monitor)]
        const child = spawn(process.execPath, [...argv, "-sd", store], {
          cwd: inRoot(final.workdir),
          env: { ...process.env, ...final.env, ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let log = ""
        child.stdout!.on("data", (d: Buffer) => void (log += d.toString()))
        child.stderr!.on("data", (d: Buffer) => void (log += d.toString()))
        return { child, output: () => log, exit: new Promise<number | null>((r) => child.once("exit", r)) }
      }
      const unset = run({})
      expect(await unset.exit).toBe(1)
      expect(unset.output()).toContain("variable reference for 'EJS_TOKEN' on line 17 can not be found")

      const token = "t0ken-9c1d5e"
      const secured = run({ EJS_TOKEN: token, EJS_STORE_KEY: "k3y-77aa01" })
      try {
        expect(await waitHealthy(monitor, secured.output)).toEqual({ status: "ok" })
        expect(secured.output()).toContain("Encryption:      ChaCha20-Poly1305")
        const refused = await connect({ servers: `127.0.0.1:${port}`, reconnect: false }).then(
          (nc) => nc.close().then(() => "connected"),
          (e: Error) => e.message
        )
        expect(refused).toMatch(/Authorization Violation/)
        const nc = await connect({ servers: `127.0.0.1:${port}`, token })
        const jsm = await jetstreamManager(nc)
        await jsm.streams.add({ name: "SECURE", subjects: ["secure.>"] })
        expect((await jetstream(nc).publish("secure.1", "confidential payload")).seq).toBe(1)
        await nc.close()
      } finally {
        expect(await stop(secured.child)).toBe(0)
      }
      const stored = fs.readdirSync(store, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
      expect(stored.length).toBeGreaterThan(2)
      for (const e of stored) {
        expect(fs.readFileSync(path.join(e.parentPath, e.name)).indexOf("confidential payload"), e.name).toBe(-1)
      }
    },
    90_000
  )
})
