/**
 * deploy/kubernetes, as `kubectl kustomize` renders it (there is no Kubernetes here): every object
 * checked against its OpenAPI schema (kubernetes-models; CloudNativePG's CRD schema for the store),
 * then the properties the cluster's availability rests on — three brokers on three Kubernetes
 * nodes, a disruption budget of one, readiness on /healthz, a volume per broker, routes naming
 * every pod through the headless service, and a store that commits on a standby too.
 */
import { Cluster } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1"
import { StatefulSet } from "kubernetes-models/apps/v1"
import { PodDisruptionBudget } from "kubernetes-models/policy/v1"
import { ConfigMap, Secret, Service } from "kubernetes-models/v1"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"
import * as BrokerConfig from "../../src/config/BrokerConfig.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"

const kubectl = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).stdout.trim()
if (kubectl === "") {
  console.log("Kubernetes manifest checks skipped: kubectl is not on PATH (apt-get install kubernetes-client)")
}

interface Manifest {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> }
  readonly [key: string]: unknown
}

const render = (): ReadonlyArray<Manifest> => {
  const dir = path.join(import.meta.dirname, "..", "..", "deploy", "kubernetes")
  const r = spawnSync(kubectl, ["kustomize", dir], { encoding: "utf8" })
  if (r.status !== 0) throw new Error(`kubectl kustomize failed: ${r.stderr}`)
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Manifest)
}

const models: Record<string, (m: Manifest) => { validate(): void }> = {
  "apps/v1 StatefulSet": (m) => new StatefulSet(m as never),
  "v1 Service": (m) => new Service(m as never),
  "v1 ConfigMap": (m) => new ConfigMap(m as never),
  "v1 Secret": (m) => new Secret(m as never),
  "policy/v1 PodDisruptionBudget": (m) => new PodDisruptionBudget(m as never),
  "postgresql.cnpg.io/v1 Cluster": (m) => new Cluster(m as never)
}

const one = (all: ReadonlyArray<Manifest>, kind: string, name: string): unknown => {
  const found = all.filter((m) => m.kind === kind && m.metadata.name === name)
  expect(found.length, `${kind} ${name}`).toBe(1)
  return found[0]
}

describe.runIf(kubectl !== "")("deploy/kubernetes", () => {
  it("renders objects that all pass their schema", () => {
    const all = render()
    expect(all.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      "Cluster/ejs-store",
      "ConfigMap/ejs-config",
      "PodDisruptionBudget/ejs",
      "Secret/ejs-routes",
      "Service/ejs",
      "Service/ejs-headless",
      "StatefulSet/ejs"
    ])
    for (const m of all) {
      const model = models[`${m.apiVersion} ${m.kind}`]
      expect(model, `${m.apiVersion} ${m.kind}`).toBeDefined()
      expect(() => model!(m).validate()).not.toThrow()
      expect(m.metadata.labels?.["app.kubernetes.io/part-of"]).toBe("effect-jetstream")
    }
  })

  it("schedules three brokers on three nodes, each with its own volume, ready on /healthz", () => {
    const all = render()
    const sts = one(all, "StatefulSet", "ejs") as {
      spec: {
        replicas: number
        serviceName: string
        selector: { matchLabels: Record<string, string> }
        template: {
          metadata: { labels: Record<string, string> }
          spec: {
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: Array<
                  { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }
                >
              }
            }
            containers: Array<{
              args: Array<string>
              ports: Array<{ name: string; containerPort: number }>
              readinessProbe: { httpGet: { path: string; port: string } }
              env: Array<{ name: string; value?: string }>
              volumeMounts: Array<{ name: string; mountPath: string }>
            }>
          }
        }
        volumeClaimTemplates: Array<{ metadata: { name: string } }>
      }
    }
    const spec = sts.spec
    expect(spec.replicas).toBe(3)
    const podLabels = spec.template.metadata.labels
    expect(spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "effect-jetstream" })
    expect(podLabels["app.kubernetes.io/name"]).toBe("effect-jetstream")
    const anti = spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution
    expect(anti).toEqual([{
      topologyKey: "kubernetes.io/hostname",
      labelSelector: { matchLabels: spec.selector.matchLabels }
    }])

    const pdb = one(all, "PodDisruptionBudget", "ejs") as {
      spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } }
    }
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: spec.selector.matchLabels } })

    const broker = spec.template.spec.containers[0]!
    expect(Object.fromEntries(broker.ports.map((p) => [p.name, p.containerPort]))).toEqual({
      client: 4222,
      cluster: 6222,
      monitor: 8222
    })
    expect(broker.readinessProbe.httpGet).toEqual({ path: "/healthz", port: "monitor" })
    expect(spec.volumeClaimTemplates.map((v) => v.metadata.name)).toEqual(["data"])
    expect(broker.volumeMounts).toContainEqual({ name: "data", mountPath: "/data" })

    // One route per pod, each through the headless service the StatefulSet names.
    const routes = broker.env.filter((e) => /^ROUTE_\d$/.test(e.name)).map((e) => e.value)
    expect(routes).toEqual(
      [0, 1, 2].map((i) =>
        `nats://$(ROUTE_USER):$(ROUTE_PASSWORD)@ejs-${i}.${spec.serviceName}.$(POD_NAMESPACE).svc:6222`
      )
    )
    const headless = one(all, "Service", spec.serviceName) as {
      spec: { clusterIP: string; publishNotReadyAddresses: boolean; selector: Record<string, string> }
    }
    expect(headless.spec.clusterIP).toBe("None")
    // Routes must form before any broker is ready, so the names resolve for pods not ready yet.
    expect(headless.spec.publishNotReadyAddresses).toBe(true)
    expect(headless.spec.selector).toEqual(spec.selector.matchLabels)
  })

  it("keeps the cluster store on three PostgreSQL instances with a synchronous standby", () => {
    const all = render()
    const pg = one(all, "Cluster", "ejs-store") as {
      spec: {
        instances: number
        postgresql: { synchronous: { method: string; number: number; dataDurability: string } }
        affinity: { enablePodAntiAffinity: boolean; topologyKey: string; podAntiAffinityType: string }
      }
    }
    expect(pg.spec.instances).toBe(3)
    expect(pg.spec.postgresql.synchronous).toEqual({ method: "any", number: 1, dataDurability: "required" })
    expect(pg.spec.affinity).toEqual({
      enablePodAntiAffinity: true,
      topologyKey: "kubernetes.io/hostname",
      podAntiAffinityType: "required"
    })
    // The brokers read the store URI from the Secret CloudNativePG creates for the app owner.
    const sts = one(all, "StatefulSet", "ejs") as {
      spec: { template: { spec: { containers: Array<{ env: Array<Record<string, unknown>> }> } } }
    }
    expect(sts.spec.template.spec.containers[0]!.env).toContainEqual({
      name: "EJS_CLUSTER_STORE",
      valueFrom: { secretKeyRef: { name: "ejs-store-app", key: "uri" } }
    })
  })

  it("gives each pod a configuration the broker accepts: cluster mode with routes to all three", () => {
    const all = render()
    const cm = one(all, "ConfigMap", "ejs-config") as { data: Record<string, string> }
    const sts = one(all, "StatefulSet", "ejs") as {
      spec: {
        template: {
          spec: { containers: Array<{ args: Array<string>; env: Array<{ name: string; value?: string }> }> }
        }
      }
    }
    const broker = sts.spec.template.spec.containers[0]!
    expect(broker.args).toEqual(["-c", "/etc/ejs/ejs.conf"])
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-conf-"))
    try {
      const file = path.join(dir, "ejs.conf")
      fs.writeFileSync(file, cm.data["ejs.conf"]!)
      // The pod's environment as Kubernetes builds it: fieldRefs and Secrets, then `$(VAR)`
      // references in later values expanded from earlier ones.
      const env: Record<string, string> = {
        POD_NAME: "ejs-1",
        POD_NAMESPACE: "prod",
        ROUTE_USER: "route",
        ROUTE_PASSWORD: "s3cret",
        EJS_CLUSTER_STORE: "postgresql://ejs:pw@ejs-store-rw.prod:5432/ejs"
      }
      for (const e of broker.env) {
        if (e.value !== undefined) env[e.name] = e.value.replace(/\$\(([A-Z_]+)\)/g, (_, n: string) => env[n] ?? "")
      }
      const loaded = ConfigFile.load(file, { env })
      if (loaded._tag === "Failure") throw new Error(loaded.errors.map(ConfigFile.renderIssue).join("\n"))
      expect(loaded.warnings.map(ConfigFile.renderIssue)).toEqual([])
      const config = BrokerConfig.make(loaded.config)
      expect(BrokerConfig.clusterModeProblem(config)).toBeUndefined()
      expect({
        serverName: config.serverName,
        port: config.port,
        httpPort: config.httpPort,
        jetstream: config.jetstream,
        storeDir: config.storeDir,
        clusterStore: config.clusterStore,
        clusterName: config.cluster?.name,
        clusterPort: config.cluster?.port,
        routeAuth: config.cluster?.auth?.user,
        routes: config.cluster?.routes.map((r) => `${r.user}:${r.password}@${r.host}:${r.port}`)
      }).toEqual({
        serverName: "ejs-1",
        port: 4222,
        httpPort: 8222,
        jetstream: true,
        storeDir: "/data",
        clusterStore: "postgresql://ejs:pw@ejs-store-rw.prod:5432/ejs",
        clusterName: "ejs",
        clusterPort: 6222,
        routeAuth: "route",
        routes: [0, 1, 2].map((i) => `route:s3cret@ejs-${i}.ejs-headless.prod.svc:6222`)
      })
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
