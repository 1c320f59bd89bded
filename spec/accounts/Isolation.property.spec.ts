/**
 * Property: for random accounts, stream exports/imports (with and without a prefix), service
 * exports/imports and subscriptions, a message published in one account reaches a subscriber
 * exactly as often as a naive reference model says: once per path of imports leading from the
 * publisher's account to the subscriber's (direct delivery being the empty path). No message
 * crosses an account boundary except through an import.
 *
 * The runtime under test is Accounts.make over real MessageRouters; the model knows only
 * wildcard matching and the import rules. Imports only flow from lower to higher account numbers
 * (nats-server refuses import cycles).
 */
import * as fc from "fast-check"
import { describe, it } from "vitest"
import { make } from "../../src/accounts/Accounts.ts"
import * as AccountsConfigFile from "../../src/accounts/AccountsConfigFile.ts"
import { type AccountSettings, emptyAccount } from "../../src/accounts/AccountSettings.ts"
import * as ConfigLexer from "../../src/config/ConfigLexer.ts"
import { MessageRouter, type Subscriber, Subscription } from "../../src/core/Router.ts"

const TOKENS = ["a", "b", "c"]
const literal = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 3 }).map((t) => t.join("."))
const pattern = fc.array(fc.constantFrom(...TOKENS, "*"), { minLength: 1, maxLength: 3 }).chain((t) =>
  fc.boolean().map((full) => (full && t.length < 3 ? [...t, ">"] : t).join("."))
)

/** Naive wildcard match, token by token. */
const matches = (p: string, s: string): boolean => {
  const pt = p.split(".")
  const st = s.split(".")
  for (let i = 0; i < pt.length; i++) {
    if (pt[i] === ">") return st.length > i
    if (i >= st.length) return false
    if (pt[i] !== "*" && pt[i] !== st[i]) return false
  }
  return pt.length === st.length
}

interface Edge {
  readonly from: number
  readonly to: number
  readonly pattern: string
  readonly prefix: string | undefined
}

interface World {
  readonly accounts: number
  readonly streamImports: ReadonlyArray<{ exporter: number; importer: number; subject: string; prefix?: string }>
  readonly serviceImports: ReadonlyArray<{ importer: number; exporter: number; subject: string }>
  readonly subs: ReadonlyArray<{ account: number; pattern: string }>
  readonly pubs: ReadonlyArray<{ account: number; subject: string }>
}

const world: fc.Arbitrary<World> = fc.integer({ min: 2, max: 4 }).chain((n) => {
  const pair = fc.integer({ min: 0, max: n - 2 }).chain((lo) =>
    fc.integer({ min: lo + 1, max: n - 1 }).map((hi) => [lo, hi] as const)
  )
  return fc.record({
    accounts: fc.constant(n),
    streamImports: fc.array(
      fc.record({
        pair,
        subject: pattern,
        prefix: fc.option(fc.constantFrom("p", "q.r"), { nil: undefined })
      }).map(({ pair: [exporter, importer], subject, prefix }) => ({
        exporter,
        importer,
        subject,
        ...(prefix === undefined ? {} : { prefix })
      })),
      { maxLength: 4 }
    ),
    serviceImports: fc.array(
      fc.record({ pair, subject: pattern }).map(({ pair: [importer, exporter], subject }) => ({
        importer,
        exporter,
        subject
      })),
      { maxLength: 3 }
    ),
    subs: fc.array(fc.record({ account: fc.integer({ min: 0, max: n - 1 }), pattern }), {
      minLength: 1,
      maxLength: 8
    }),
    pubs: fc.array(fc.record({ account: fc.integer({ min: 0, max: n - 1 }), subject: literal }), {
      minLength: 1,
      maxLength: 8
    })
  })
})

const name = (i: number) => `ACC${i}`

/** Settings for the runtime: each import's subject is exported publicly by its exporter. */
const settingsOf = (w: World): Array<AccountSettings> => {
  const out: Array<AccountSettings> = []
  for (let i = 0; i < w.accounts; i++) {
    const streams = w.streamImports.filter((x) => x.importer === i)
    const services = w.serviceImports.filter((x) => x.importer === i)
    // Duplicate imports (same exporter and subject) are a config error; keep the first.
    const uniq = <T extends { exporter: number; subject: string }>(xs: ReadonlyArray<T>) =>
      xs.filter((x, k) => xs.findIndex((y) => y.exporter === x.exporter && y.subject === x.subject) === k)
    out.push({
      ...emptyAccount(name(i)),
      exports: {
        streams: [...new Set(w.streamImports.filter((x) => x.exporter === i).map((x) => x.subject))].map((subject) => ({
          subject,
          accounts: undefined
        })),
        services: w.serviceImports.filter((x) => x.exporter === i).map((x) => ({
          subject: x.subject,
          accounts: undefined,
          responseType: "Singleton" as const,
          responseThresholdMs: 120_000
        }))
      },
      imports: {
        streams: uniq(streams).map((x) => ({
          account: name(x.exporter),
          subject: x.subject,
          prefix: x.prefix,
          to: undefined
        })),
        services: services.filter((x, k) => services.findIndex((y) => y.subject === x.subject) === k).map((x) => ({
          account: name(x.exporter),
          subject: x.subject,
          to: undefined
        }))
      }
    })
  }
  return out
}

/** The model's edges, from the same de-duplicated settings. */
const edgesOf = (settings: ReadonlyArray<AccountSettings>): Array<Edge> => {
  const index = (n: string) => Number(n.slice(3))
  const edges: Array<Edge> = []
  settings.forEach((s, i) => {
    for (const x of s.imports.streams) {
      edges.push({ from: index(x.account), to: i, pattern: x.subject, prefix: x.prefix })
    }
    for (const x of s.imports.services) {
      edges.push({ from: i, to: index(x.account), pattern: x.subject, prefix: undefined })
    }
  })
  return edges
}

/** How many times a message published in `account` on `subject` reaches each subscription. */
const model = (w: World, edges: ReadonlyArray<Edge>, account: number, subject: string): Array<number> => {
  const counts = w.subs.map(() => 0)
  const visit = (acc: number, subj: string) => {
    w.subs.forEach((s, k) => {
      if (s.account === acc && matches(s.pattern, subj)) counts[k]!++
    })
    for (const e of edges) {
      if (e.from === acc && matches(e.pattern, subj)) visit(e.to, e.prefix === undefined ? subj : `${e.prefix}.${subj}`)
    }
  }
  visit(account, subject)
  return counts
}

describe("accounts isolation property", () => {
  it("a message reaches a subscriber exactly as the reference model says", () => {
    fc.assert(
      fc.property(world, (w) => {
        const settings = settingsOf(w)
        // The global account takes no part: every account here is a configured one.
        const runtime = make(settings, new MessageRouter(), undefined)
        try {
          const counts = w.subs.map(() => 0)
          const owner = (k: number): Subscriber => ({
            cid: k,
            echo: true,
            deliver: () => void counts[k]!++,
            autoUnsubscribed: () => undefined
          })
          w.subs.forEach((s, k) => {
            runtime.get(name(s.account))!.router.subscribe(new Subscription(owner(k), s.pattern, undefined, String(k)))
          })
          const edges = edgesOf(settings)
          for (const p of w.pubs) {
            counts.fill(0)
            runtime.get(name(p.account))!.router.publish(undefined, p.subject, undefined, -1, new Uint8Array(0))
            const want = model(w, edges, p.account, p.subject)
            if (counts.some((c, k) => c !== want[k])) {
              throw new Error(
                `publish ${JSON.stringify(p)}: got ${JSON.stringify(counts)}, model ${JSON.stringify(want)}`
              )
            }
          }
        } finally {
          runtime.stop()
        }
      }),
      { numRuns: 300 }
    )
  })
})

/**
 * Property: a stream or service import is accepted by the config reader exactly when the naive
 * rule says so. Exports of one subject merge (approved lists add up; any list restricts); the
 * export of exactly the imported subject decides, else any covering export that is public or
 * names the importer authorizes it.
 */
describe("import authorization property", () => {
  const exportArb = fc.record({
    kind: fc.constantFrom("stream", "service"),
    subject: pattern,
    accounts: fc.option(fc.subarray(["A", "B", "C"]), { nil: undefined })
  })
  it("an import is accepted exactly when an export authorizes it", () => {
    fc.assert(
      fc.property(
        fc.array(exportArb, { maxLength: 3 }),
        fc.constantFrom("stream", "service"),
        pattern,
        (exports, kind, subject) => {
          const list = (a: ReadonlyArray<string> | undefined) => a === undefined ? "" : `, accounts: [${a.join(", ")}]`
          const text = `accounts {
            A: { exports: [ ${exports.map((x) => `{ ${x.kind}: "${x.subject}"${list(x.accounts)} }`).join(", ")} ] }
            B: { imports: [ { ${kind}: { account: A, subject: "${subject}" } } ] }
            C: {}
          }`
          const parsed = ConfigLexer.parseText(text, "p.conf")
          if (parsed._tag === "Failure") throw new Error(parsed.error.message)
          const errors: Array<string> = []
          AccountsConfigFile.accounts(parsed.root.entries.get("accounts")!, () => 0, {
            error: (_p, m) => errors.push(m)
          })
          const same = exports.filter((x) => x.kind === kind)
          // Merged view of one subject: public only if no entry lists accounts; else the union of the lists.
          const allowsB = (subj: string) => {
            const entries = same.filter((x) => x.subject === subj)
            const lists = entries.filter((x) => x.accounts !== undefined && x.accounts.length > 0)
            return lists.length === 0 || lists.some((x) => x.accounts!.includes("B"))
          }
          const authorized = same.some((x) => x.subject === subject)
            ? allowsB(subject)
            : same.some((x) => covers(x.subject, subject) && allowsB(x.subject))
          if (authorized !== (errors.length === 0)) {
            throw new Error(`${text}\nmodel says ${authorized}, reader says ${JSON.stringify(errors)}`)
          }
        }
      ),
      { numRuns: 500 }
    )
  })
})

/** Naive: does export pattern `outer` match every subject `inner` matches? */
const covers = (outer: string, inner: string): boolean => {
  const o = outer.split(".")
  const i = inner.split(".")
  for (let k = 0; k < o.length; k++) {
    if (o[k] === ">") return i.length > k
    if (k >= i.length) return false
    if (i[k] === ">") return false
    if (o[k] !== "*" && (i[k] === "*" || i[k] !== o[k])) return false
  }
  return o.length === i.length
}
