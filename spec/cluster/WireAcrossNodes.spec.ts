/**
 * The core wire suite's client scenarios (spec/clients/CoreScenarios.ts) with the subscribers on
 * one node of a three-node cluster and the publishers and requesters on another: every scenario
 * must observe across routes exactly what it observes on a single broker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ScenarioName, scenarios } from "../clients/CoreScenarios.ts"
import { type RunningBroker, startBroker } from "../support/Broker.ts"
import { type ClusterNode, settle, startNode, untilMesh } from "../support/Cluster.ts"

const BASE = 31750

let a: ClusterNode
let b: ClusterNode
let c: ClusterNode
let single: RunningBroker

beforeAll(async () => {
  a = await startNode({ name: "A", routePort: BASE + 1 })
  b = await startNode({ name: "B", routePort: BASE + 2, routes: [BASE + 1] })
  c = await startNode({ name: "C", routePort: BASE + 3, routes: [BASE + 1, BASE + 2] })
  await untilMesh([a, b, c])
  await settle([a, b, c])
  single = await startBroker()
})

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop(), single?.stop()])
})

describe("core wire scenarios across routes", () => {
  for (const name of Object.keys(scenarios) as Array<ScenarioName>) {
    it(`${name}: subscribers on A, publishers on C, as on one broker`, async () => {
      const run = scenarios[name] as (url: string, pubUrl?: string) => Promise<unknown>
      const alone = await run(single.url)
      const across = await run(a.url, c.url)
      expect(across).toEqual(alone)
    })
  }

  it("the same holds with the sides swapped through the third node", async () => {
    for (const name of ["pubsub", "queueGroups", "requestReply", "headers"] as const) {
      const run = scenarios[name] as (url: string, pubUrl?: string) => Promise<unknown>
      expect(await run(b.url, a.url), name).toEqual(await run(single.url))
    }
  })
})
