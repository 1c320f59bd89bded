/**
 * MQTT throughput beside nats-server 2.9.10: both servers as child processes with the same config
 * (server_name, JetStream, `mqtt { port }`), MQTT.js publisher and subscriber on 127.0.0.1, runs
 * alternated (A B A B) and the median reported:
 *
 * - QoS 0: N publishes of 128 bytes, time until the subscriber has them all;
 * - QoS 1: N publishes (MQTT.js keeps them in flight), time until every PUBACK and every delivery
 *   (each delivery is a JetStream consumer message acknowledged by the subscriber's PUBACK).
 *
 * `tsx bench/mqtt.bench.ts [--qos0 N] [--qos1 N] [--runs N]`
 */
import mqtt from "mqtt"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  findNatsServer,
  flagCount,
  fmtNumber,
  freePort,
  HOST,
  nowMs,
  parseArgs,
  progress,
  renderTable,
  type ServerKind,
  type ServerProcess,
  sleep,
  startServer
} from "./support.ts"

const USAGE = "usage: tsx bench/mqtt.bench.ts [--qos0 N] [--qos1 N] [--runs N]\n"
const args = parseArgs(process.argv.slice(2), USAGE, [], ["--qos0", "--qos1", "--runs"])
const QOS0 = flagCount(args, "--qos0", 20_000)
const QOS1 = flagCount(args, "--qos1", 5_000)
const RUNS = flagCount(args, "--runs", 3)
const payload = Buffer.alloc(128, 0x61)

interface Target {
  readonly kind: ServerKind
  readonly server: ServerProcess
  readonly mqttPort: number
  readonly dir: string
}

const start = async (kind: ServerKind, natsPath: string | undefined): Promise<Target> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ejs-mqtt-bench-${kind}-`))
  const mqttPort = await freePort()
  const conf = path.join(dir, "server.conf")
  fs.writeFileSync(
    conf,
    `server_name: bench\njetstream { store_dir: "${dir}/js" }\nmqtt { host: ${HOST}, port: ${mqttPort} }\n`
  )
  const server = await startServer(kind, { extraArgs: ["-c", conf], ...(natsPath ? { natsServerPath: natsPath } : {}) })
  return { kind, server, mqttPort, dir }
}

const client = async (port: number, clientId: string) => {
  const end = Date.now() + 15_000
  for (;;) {
    try {
      return await mqtt.connectAsync(`mqtt://${HOST}:${port}`, { clientId, reconnectPeriod: 0, clean: true })
    } catch (e) {
      if (Date.now() > end) throw e
      await sleep(100)
    }
  }
}

const measure = async (t: Target, qos: 0 | 1, n: number, run: number): Promise<number> => {
  const sub = await client(t.mqttPort, `bench-sub-${run}`)
  const pub = await client(t.mqttPort, `bench-pub-${run}`)
  const topic = `bench/${qos}/${run}`
  await sub.subscribeAsync(topic, { qos })
  let received = 0
  let acked = 0
  const done = new Promise<void>((resolve) => {
    const check = () => {
      if (received === n && (qos === 0 || acked === n)) resolve()
    }
    sub.on("message", () => {
      received++
      check()
    })
    for (let i = 0; i < n; i++) {
      pub.publish(topic, payload, { qos }, () => {
        acked++
        check()
      })
    }
  })
  const t0 = nowMs()
  await Promise.race([
    done,
    sleep(120_000).then(() => {
      throw new Error(`${t.kind} qos${qos}: ${received}/${n} received, ${acked} acked after 120s`)
    })
  ])
  const ms = nowMs() - t0
  sub.end(true)
  pub.end(true)
  return (n / ms) * 1000
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const main = async () => {
  const natsPath = findNatsServer()
  const targets: Array<Target> = [await start("effect-jetstream", undefined)]
  if (natsPath !== undefined) targets.push(await start("nats-server", natsPath))
  else progress("nats-server not found: measuring effect-jetstream only")
  const results = new Map<string, Array<number>>()
  try {
    for (const [qos, n] of [[0, QOS0], [1, QOS1]] as const) {
      for (let run = 0; run < RUNS; run++) {
        for (const t of targets) {
          progress(`${t.kind}: qos${qos} run ${run + 1}/${RUNS}`)
          const rate = await measure(t, qos, n, run)
          const key = `${t.kind} qos${qos}`
          results.set(key, [...(results.get(key) ?? []), rate])
        }
      }
    }
  } finally {
    for (const t of targets) {
      await t.server.stop()
      fs.rmSync(t.dir, { recursive: true, force: true })
    }
  }
  const med = (key: string) => {
    const r = results.get(key)
    return r === undefined ? undefined : median(r)
  }
  console.log(`MQTT.js pub -> sub on ${HOST}, 128-byte payloads, qos0 n=${QOS0}, qos1 n=${QOS1}, median of ${RUNS}`)
  for (const [key, rates] of results) console.log(`  ${key}: ${rates.map((r) => fmtNumber(r, 0)).join(", ")} msgs/s`)
  console.log(renderTable([
    { metric: "MQTT QoS 0 msgs/s", ejs: med("effect-jetstream qos0"), nats: med("nats-server qos0"), digits: 0 },
    { metric: "MQTT QoS 1 msgs/s", ejs: med("effect-jetstream qos1"), nats: med("nats-server qos1"), digits: 0 }
  ]))
}

await main()
