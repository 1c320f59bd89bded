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
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"

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
})
