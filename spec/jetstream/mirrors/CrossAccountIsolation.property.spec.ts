/**
 * Property: account isolation for mirrors and sources. For random account configurations (A's
 * JetStream API exported or not, wholly or in part, to anyone or only to C; B importing it or not
 * under an alias; A's delivery subjects exported and imported as they are, under a prefix, or not)
 * and a random mirror or source that B asks for through `external`, B's stream takes A's message
 * exactly when the reference rule below says the request and its deliveries can cross. Run on our
 * broker and, when it is on PATH, on nats-server 2.9.10 with the same configuration, which keeps
 * the reference rule honest.
 */
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { startBrokerWithConf, startNatsWithConf } from "../../auth/AuthServers.ts"
import { natsServerPath } from "../../support/Broker.ts"
import { infoUntil, withUser } from "./CrossAccountScenarios.ts"

interface World {
  /** What A exports of its JetStream API (none: nothing). */
  readonly apiExport:
    | "none"
    | "$JS.API.>"
    | "$JS.API.CONSUMER.>"
    | "$JS.API.CONSUMER.CREATE.ORDERS"
    | "$JS.API.STREAM.>"
  /** Who may import it: anyone, or C only (B's import would then be refused, so B has none). */
  readonly apiTo: "public" | "B" | "C"
  readonly importApi: boolean
  /** A exports `DLV.>` as a stream. */
  readonly deliverExport: boolean
  /** B imports it as it is, under a prefix, or not. */
  readonly deliverImport: "none" | "plain" | "prefixed"
  readonly api: "JS.A.API" | "OTHER.API"
  readonly deliver: "DLV.M" | "ELSE.M"
  readonly kind: "mirror" | "source"
  readonly filter: "" | "orders.x"
}

const world: fc.Arbitrary<World> = fc.record({
  apiExport: fc.constantFrom(
    "none",
    "$JS.API.>",
    "$JS.API.CONSUMER.>",
    "$JS.API.CONSUMER.CREATE.ORDERS",
    "$JS.API.STREAM.>"
  ),
  apiTo: fc.constantFrom("public", "B", "C"),
  importApi: fc.boolean(),
  deliverExport: fc.boolean(),
  deliverImport: fc.constantFrom("none", "plain", "prefixed"),
  api: fc.constantFrom("JS.A.API", "OTHER.API"),
  deliver: fc.constantFrom("DLV.M", "ELSE.M"),
  kind: fc.constantFrom("mirror", "source"),
  filter: fc.constantFrom("", "orders.x")
})

/** B's API import exists: wanted, exported, and allowed for B. */
const hasApiImport = (w: World) => w.importApi && w.apiExport !== "none" && w.apiTo !== "C"
const hasDeliverImport = (w: World) => w.deliverExport && w.deliverImport !== "none"

/**
 * The reference rule, in plain terms: B's request `<api>.CONSUMER.CREATE.ORDERS[.<name>.<filter>]`
 * must fall under the alias `JS.A.API` of an export that covers consumer creation of ORDERS (the
 * literal export only without a filter: the filtered request is longer), and the deliveries on
 * `<deliver>.$JS.M|S.<id>` must come back through the plain import of `DLV.>`.
 */
const reference = (w: World): boolean => {
  const covers = w.apiExport === "$JS.API.>" || w.apiExport === "$JS.API.CONSUMER.>" ||
    (w.apiExport === "$JS.API.CONSUMER.CREATE.ORDERS" && w.filter === "")
  return hasApiImport(w) && covers && w.api === "JS.A.API" && hasDeliverImport(w) && w.deliverImport === "plain" &&
    w.deliver === "DLV.M"
}

const confOf = (w: World, dir: string): string => {
  const exports: Array<string> = []
  if (w.apiExport !== "none") {
    exports.push(`{ service: "${w.apiExport}"${w.apiTo === "public" ? "" : `, accounts: [${w.apiTo}]`} }`)
  }
  if (w.deliverExport) exports.push(`{ stream: "DLV.>" }`)
  const imports: Array<string> = []
  if (hasApiImport(w)) {
    const alias = w.apiExport.replace("$JS.API", "JS.A.API")
    imports.push(`{ service: { account: A, subject: "${w.apiExport}" }, to: "${alias}" }`)
  }
  if (hasDeliverImport(w)) {
    imports.push(`{ stream: { account: A, subject: "DLV.>" }${w.deliverImport === "prefixed" ? ", prefix: P" : ""} }`)
  }
  return `
jetstream { store_dir: "${dir}" }
accounts {
  A: { users: [ { user: a, password: a } ], jetstream: enabled, exports: [ ${exports.join(", ")} ] }
  B: { users: [ { user: b, password: b } ], jetstream: enabled, imports: [ ${imports.join(", ")} ] }
  C: { users: [ { user: c, password: c } ] }
}
`
}

/** Whether B's follower took A's message (given a bounded time to). */
const takes = async (url: string, w: World): Promise<boolean> => {
  await withUser(url, "a", async (nc, jsm) => {
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] })
    await nc.request("orders.x", new TextEncoder().encode("x"))
  })
  return withUser(url, "b", async (_nc, jsm) => {
    const source = {
      name: "ORDERS",
      external: { api: w.api, deliver: w.deliver },
      ...(w.filter === "" ? {} : { filter_subject: w.filter })
    }
    await jsm.streams.add(
      w.kind === "mirror" ? { name: "F", mirror: source } : { name: "F", subjects: ["f"], sources: [source] }
    )
    const deadline = Date.now() + 1500
    const info = await infoUntil(jsm, "F", (i) => i.state.messages > 0 || Date.now() > deadline)
    return info.state.messages === 1
  })
}

const onServer = async (start: (conf: string) => Promise<{ url: string; stop: () => Promise<void> }>, w: World) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "xacc-prop-"))
  const server = await start(confOf(w, dir))
  try {
    return await takes(server.url, w)
  } finally {
    await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe("cross-account sourcing isolation", () => {
  it("a follower in B takes A's stream exactly when the imports let the request and deliveries cross", async () => {
    const theirs = natsServerPath() !== undefined
    let positives = 0
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const expected = reference(w)
        if (expected) positives++
        expect(await onServer(startBrokerWithConf, w)).toBe(expected)
        if (theirs) expect(await onServer(startNatsWithConf, w)).toBe(expected)
      }),
      {
        numRuns: 10,
        // The authorized shapes are rare among random ones: start from each of them once.
        examples: [
          [{
            apiExport: "$JS.API.>",
            apiTo: "B",
            importApi: true,
            deliverExport: true,
            deliverImport: "plain",
            api: "JS.A.API",
            deliver: "DLV.M",
            kind: "source",
            filter: "orders.x"
          }],
          [{
            apiExport: "$JS.API.CONSUMER.CREATE.ORDERS",
            apiTo: "public",
            importApi: true,
            deliverExport: true,
            deliverImport: "plain",
            api: "JS.A.API",
            deliver: "DLV.M",
            kind: "mirror",
            filter: ""
          }],
          [{
            apiExport: "$JS.API.CONSUMER.>",
            apiTo: "public",
            importApi: true,
            deliverExport: true,
            deliverImport: "prefixed",
            api: "JS.A.API",
            deliver: "DLV.M",
            kind: "mirror",
            filter: ""
          }]
        ]
      }
    )
    expect(positives).toBeGreaterThan(0)
  }, 240_000)
})
