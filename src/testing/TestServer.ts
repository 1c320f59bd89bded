/**
 * An in-process broker for test runners: `await startTestServer()` listens on a random loopback
 * port and resolves with its URL and a disposer, so vitest, jest, `node:test`, Bun and Deno suites
 * get a NATS + JetStream server without Docker, a downloaded binary or any Effect code. With
 * `clock: "test"` the broker's time is a shared Effect `TestClock` the test moves by hand.
 */
import { Clock, Context, Duration, Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as CoreBroker from "../Broker.ts"
import * as BrokerConfig from "../config/BrokerConfig.ts"
import { Server } from "../core/Server.ts"
import { BrokerConfigError } from "../embed/Errors.ts"
import { Monitor } from "../monitoring/Monitor.ts"

/**
 * Options of {@link startTestServer}; every key is optional and an unknown key is an error:
 * - `jetstream` (default `true`).
 * - `storage`: `"memory"` (default) or `"file"`: under `storeDir`, or a fresh temporary directory
 *   that `close()` removes.
 * - `port` (default `-1`: a free port) and `host` (default `127.0.0.1`).
 * - `monitoring`: also serve `/varz`, `/jsz`, `/metrics`, ... on a free port (`monitorUrl`).
 * - `clock`: `"live"` (default) or `"test"` (see {@link TestServerClock}).
 * - `serverName`, `maxPayload` (bytes), `log` (`"silent"` default, `"info"`, `"debug"`, `"trace"`).
 */
export const TestServerOptions = Schema.Struct({
  jetstream: Schema.optionalKey(Schema.Boolean),
  storage: Schema.optionalKey(Schema.Literals(["memory", "file"])),
  storeDir: Schema.optionalKey(Schema.String),
  port: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: -1, maximum: 65535 }))),
  host: Schema.optionalKey(Schema.String),
  monitoring: Schema.optionalKey(Schema.Boolean),
  clock: Schema.optionalKey(Schema.Literals(["live", "test"])),
  serverName: Schema.optionalKey(Schema.String),
  maxPayload: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThan(0))),
  log: Schema.optionalKey(Schema.Literals(["silent", "info", "debug", "trace"]))
})

/** Options of {@link startTestServer} (see {@link TestServerOptions}). */
export type TestServerOptions = typeof TestServerOptions.Type

/**
 * The broker's clock under `clock: "test"`. It starts at the real time of `startTestServer` and
 * moves only when told: ack waits, redelivery, NAK delays, backoff, `max_age`, duplicate windows,
 * heartbeats and inactive thresholds fire as it passes them. Durations are Effect's
 * (`"31 seconds"`, `"2 hours"`) or milliseconds.
 */
export interface TestServerClock {
  /** Moves time forward and runs every broker timer due by then, in order. */
  adjust(duration: string | number): Promise<void>
  /** Sets the time (epoch milliseconds) and runs every timer due by then. */
  setTime(epochMs: number): Promise<void>
  /** The broker's current time in epoch milliseconds. */
  now(): number
}

export interface TestServer {
  /** `nats://host:port`, for `connect({ servers: url })`. */
  readonly url: string
  readonly host: string
  readonly port: number
  /** `http://host:port` of the monitoring endpoints when started with `monitoring: true`. */
  readonly monitorUrl: string | undefined
  /** The file store directory with `storage: "file"`. */
  readonly storeDir: string | undefined
  /** Present with `clock: "test"`. */
  readonly clock: TestServerClock | undefined
  /** Closes every connection and the listeners; removes a temporary store. Safe to call twice. */
  close(): Promise<void>
  /** `await using srv = await startTestServer()` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>
}

const decodeOptions = Schema.decodeUnknownEffect(TestServerOptions)

/**
 * Starts a broker in this process; rejects with a `BrokerConfigError` on bad options.
 *
 * Like `main.ts`, this is an edge where Effect meets a non-Effect caller (a test runner's async
 * hooks), so it runs the layer itself and owns its scope until `close()`.
 */
export const startTestServer = async (options: TestServerOptions = {}): Promise<TestServer> => {
  const o = await Effect.runPromise(
    decodeOptions(options, { onExcessProperty: "error" }).pipe(
      Effect.mapError((e) => new BrokerConfigError({ message: e.message }))
    )
  )
  const host = o.host ?? "127.0.0.1"
  const jetstream = o.jetstream ?? true
  const storage = o.storage ?? "memory"
  const tmp = jetstream && storage === "file" && o.storeDir === undefined
    ? fs.mkdtempSync(path.join(os.tmpdir(), "ejs-test-server-"))
    : undefined
  const storeDir = storage === "file" ? (o.storeDir ?? tmp) : undefined
  const log = o.log ?? "silent"
  const config = BrokerConfig.make({
    host,
    port: o.port ?? -1,
    jetstream,
    // Memory storage never touches it; a path that cannot collide with the caller's ./data.
    storeDir: storeDir ?? path.join(os.tmpdir(), "ejs-test-server-unused"),
    ...(o.monitoring === true ? { httpPort: -1 } : {}),
    ...(o.serverName === undefined ? {} : { serverName: o.serverName }),
    ...(o.maxPayload === undefined ? {} : { maxPayload: o.maxPayload }),
    debug: log === "debug" || log === "trace",
    trace: log === "trace"
  })
  const broker = CoreBroker.layer(config, { silent: log === "silent", storage })
  // The TestClock (and its tracking scheduler) sits under the whole broker, so every timer fiber
  // the broker forks sleeps on it. Its "not advancing the clock" warning is meant for Effect tests
  // that forgot to adjust; a test server idles on timers by design, so never print it.
  const live = o.clock === "test"
    ? Layer.provideMerge(broker, TestClock.layer({ warningDelay: Duration.infinity }))
    : broker
  const scope = Effect.runSync(Scope.make())
  const cleanupTmp = () => {
    if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true })
  }
  let ctx: Context.Context<Server>
  try {
    ctx = await Effect.runPromise(Layer.buildWithScope(live, scope))
  } catch (e) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    cleanupTmp()
    throw e
  }
  const server = Context.get(ctx, Server)
  // Present only with `monitoring: true`.
  const monitor = Option.getOrUndefined(Context.getOption(ctx, Monitor))
  let clock: TestServerClock | undefined
  if (o.clock === "test") {
    // TestClock.layer provides the TestClock as the context's Clock (a Clock with adjust/setTime).
    const tc = Context.get(ctx, Clock.Clock) as TestClock.TestClock
    // Start at the real time so message timestamps and stream `created` look like today.
    await Effect.runPromise(tc.setTime(Date.now()))
    clock = {
      adjust: (d) => Effect.runPromise(tc.adjust(typeof d === "number" ? Duration.millis(d) : d as Duration.Input)),
      setTime: (ms) => Effect.runPromise(tc.setTime(ms)),
      now: () => tc.currentTimeMillisUnsafe()
    }
  }
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= Effect.runPromise(Scope.close(scope, Exit.void)).then(cleanupTmp)
    return closing
  }
  const urlHost = host.includes(":") ? `[${host}]` : host
  return {
    url: `nats://${urlHost}:${server.port}`,
    host,
    port: server.port,
    monitorUrl: monitor === undefined ? undefined : `http://${urlHost}:${monitor.port}`,
    storeDir,
    clock,
    close,
    [Symbol.asyncDispose]: close
  }
}
