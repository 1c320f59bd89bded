import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { isSubsetOf, isValidLiteralSubject, isValidSubject, matches, overlaps } from "../../src/subject/Subject.ts"
import { Sublist } from "../../src/subject/Sublist.ts"

interface Sub {
  readonly id: number
  readonly subject: string
  readonly queue: string | undefined
}

/** The reference: try every subscription against the subject, token by token. */
const naiveMatch = (pattern: string, subject: string): boolean => {
  const p = pattern.split(".")
  const s = subject.split(".")
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return i < s.length
    if (i >= s.length) return false
    if (p[i] !== "*" && p[i] !== s[i]) return false
  }
  return p.length === s.length
}

const tok = fc.constantFrom("a", "b", "c", "foo")
const literal = fc.array(tok, { minLength: 1, maxLength: 4 }).map((t) => t.join("."))
const pattern = fc.array(fc.oneof(tok, tok, fc.constant("*")), { minLength: 1, maxLength: 4 })
  .chain((t) => fc.boolean().map((fwc) => (fwc ? [...t, ">"] : t).join(".")))
const queue = fc.option(fc.constantFrom("q1", "q2"), { nil: undefined, freq: 2 })

type Cmd = { kind: "sub"; subject: string; queue: string | undefined } | { kind: "unsub"; pick: number } | {
  kind: "match"
  subject: string
}

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ kind: fc.constant("sub" as const), subject: pattern, queue }),
  fc.record({ kind: fc.constant("unsub" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("match" as const), subject: literal })
)

describe("Sublist", () => {
  test.prop([fc.array(cmd, { maxLength: 80 })], { numRuns: 300 })(
    "matches exactly what a naive matcher finds, through subscribes, unsubscribes and the cache",
    (cmds) => {
      const sl = new Sublist<Sub>(8)
      const live: Array<Sub> = []
      let id = 0
      for (const c of cmds) {
        if (c.kind === "sub") {
          const s = { id: id++, subject: c.subject, queue: c.queue }
          expect(sl.insert(s)).toBe(true)
          live.push(s)
        } else if (c.kind === "unsub") {
          if (live.length === 0) continue
          const [s] = live.splice(c.pick % live.length, 1)
          expect(sl.remove(s!)).toBe(true)
          expect(sl.remove(s!)).toBe(false)
        } else {
          const r = sl.match(c.subject)
          const want = live.filter((s) => naiveMatch(s.subject, c.subject))
          expect(r.psubs.map((s) => s.id).sort()).toEqual(want.filter((s) => !s.queue).map((s) => s.id).sort())
          const groups = new Map<string, Array<number>>()
          for (const s of want.filter((s) => s.queue !== undefined)) {
            groups.set(s.queue!, [...(groups.get(s.queue!) ?? []), s.id])
          }
          const got = r.qsubs.map((g) => g.map((s) => s.id).sort()).sort()
          expect(got).toEqual([...groups.values()].map((g) => g.sort()).sort())
        }
        expect(sl.size).toBe(live.length)
      }
    }
  )

  test.prop([pattern, literal])("Subject.matches agrees with the naive matcher", (p, s) => {
    expect(matches(p, s)).toBe(naiveMatch(p, s))
  })

  test.prop([pattern, pattern, literal])("overlaps and isSubsetOf are consistent with matching", (a, b, s) => {
    if (naiveMatch(a, s) && naiveMatch(b, s)) expect(overlaps(a, b)).toBe(true)
    if (isSubsetOf(a, b) && naiveMatch(a, s)) expect(naiveMatch(b, s)).toBe(true)
  })

  it("rejects invalid subscription subjects and prunes empty nodes", () => {
    const sl = new Sublist<Sub>()
    for (const bad of ["", "a..b", ".a", "a.", "a.>.b", "a b", "a\tb"]) {
      expect(sl.insert({ id: 0, subject: bad, queue: undefined })).toBe(false)
    }
    const s = { id: 1, subject: "a.*.c.>", queue: undefined }
    expect(sl.insert(s)).toBe(true)
    expect(sl.match("a.b.c.d").psubs).toEqual([s])
    expect(sl.match("a.b.c").psubs).toEqual([])
    expect(sl.remove(s)).toBe(true)
    expect(sl.match("a.b.c.d").psubs).toEqual([])
    expect(sl.all()).toEqual([])
  })

  it("classifies subjects like nats-server", () => {
    expect(isValidSubject("foo.*.>")).toBe(true)
    expect(isValidSubject("foo*.bar")).toBe(true)
    expect(isValidLiteralSubject("foo.*")).toBe(false)
    expect(isValidLiteralSubject("foo*.bar>")).toBe(true)
    expect(isValidLiteralSubject("foo.>")).toBe(false)
  })
})
