// Fails (exit 1) when src/ has an import cycle or a module imports from a layer above its own.
// Type-only imports count too: a cycle of types is still two concepts that cannot be understood apart.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const root = resolve(process.argv[2] ?? "src")

const files = []
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p)
    else if (p.endsWith(".ts")) files.push(p)
  }
}
walk(root)

// Static imports, re-exports and inline `import("...")` type references.
const importRe = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g
const graph = new Map()
for (const file of files) {
  const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")
  const deps = new Set()
  for (const m of text.matchAll(importRe)) deps.add(resolve(dirname(file), m[1]))
  graph.set(file, [...deps].filter((d) => graph.has(d) || files.includes(d)))
}

// Tarjan's strongly connected components: any component of two or more files is a cycle.
let index = 0
const stack = []
const onStack = new Set()
const idx = new Map()
const low = new Map()
const cycles = []
const connect = (v) => {
  idx.set(v, index)
  low.set(v, index)
  index++
  stack.push(v)
  onStack.add(v)
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      connect(w)
      low.set(v, Math.min(low.get(v), low.get(w)))
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
  }
  if (low.get(v) === idx.get(v)) {
    const component = []
    let w
    do {
      w = stack.pop()
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component)
  }
}
for (const f of files) if (!idx.has(f)) connect(f)

// Layers that must never import from the ones listed: actors and stores never reach the handlers.
const forbidden = [
  ["jetstream/model/", ["jetstream/api/", "jetstream/stream/", "jetstream/consumer/", "jetstream/JetStream.ts"]],
  ["jetstream/codec/", ["jetstream/api/", "jetstream/model/", "jetstream/stream/", "jetstream/consumer/"]],
  ["jetstream/stream/", ["jetstream/api/", "jetstream/JetStream.ts"]],
  ["jetstream/consumer/", ["jetstream/api/", "jetstream/JetStream.ts"]],
  // The store sits on the model (it persists configs) and below the actors.
  ["store/", ["jetstream/api/", "jetstream/stream/", "jetstream/consumer/", "jetstream/actor/", "jetstream/JetStream.ts", "jetstream/StreamRegistry.ts", "core/", "embed/", "monitoring/"]],
  ["jetstream/actor/", ["jetstream/api/", "jetstream/stream/", "jetstream/consumer/", "jetstream/JetStream.ts", "jetstream/StreamRegistry.ts"]],
  ["protocol/", ["core/", "jetstream/", "store/"]],
  // Routes sit on the core (routers, outbound buffers) and below JetStream, monitoring and the entry points.
  ["cluster/", ["jetstream/", "monitoring/", "embed/", "system/", "store/"]],
  ["subject/", ["core/", "jetstream/", "store/"]],
  // The cluster store holds SQL only: nothing of the broker above it.
  ["cluster/store/", ["cluster/Cluster.ts", "cluster/Route", "core/", "config/", "accounts/", "log/"]],
  // Only the API level and above know about cluster mode.
  ...["jetstream/model/", "jetstream/codec/", "jetstream/stream/", "jetstream/consumer/", "jetstream/actor/", "store/"].map(
    (layer) => [layer, ["jetstream/cluster/", "cluster/store/"]]
  ),
  // MQTT sits beside the other entry points: it uses JetStream through the in-process client, and
  // nothing below it knows about MQTT.
  ["mqtt/", ["jetstream/api/", "jetstream/stream/", "jetstream/consumer/", "jetstream/actor/", "store/"]],
  ...["core/", "jetstream/", "store/", "protocol/", "subject/", "embed/", "config/", "cluster/"].map((l) => [l, ["mqtt/"]])
]
const violations = []
for (const [file, deps] of graph) {
  const from = relative(root, file)
  for (const [layer, banned] of forbidden) {
    if (!from.startsWith(layer)) continue
    for (const dep of deps) {
      const to = relative(root, dep)
      if (banned.some((b) => to.startsWith(b))) violations.push(`${from} imports ${to}`)
    }
  }
}

for (const c of cycles) console.error(`import cycle: ${c.map((f) => relative(root, f)).sort().join(" ↔ ")}`)
for (const v of violations) console.error(`layering: ${v}`)
if (cycles.length > 0 || violations.length > 0) process.exit(1)
console.log(`layers: ${files.length} modules, no import cycle, no upward import`)
