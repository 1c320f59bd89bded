/**
 * The subject transform engine against nats-server 2.9.10's own expectations
 * (accounts_test.go TestSubjectTransforms) and its error texts, plus weighted mappings.
 */
import { fc, test } from "@fast-check/vitest"
import { assert, describe, it } from "vitest"
import { SubjectMappings } from "../../src/subject/SubjectMappings.ts"
import {
  compileTransform,
  destinationPattern,
  TransformErrors,
  validateMapping
} from "../../src/subject/SubjectTransform.ts"

const map = (src: string, dest: string, subject: string) => {
  const t = compileTransform(src, dest)
  if (!t.ok) throw new Error(t.error)
  return t.transform.match(subject)
}
const error = (src: string, dest: string) => {
  const t = compileTransform(src, dest)
  return t.ok ? "ok" : t.error
}

describe("subject transforms", () => {
  it("maps as nats-server's TestSubjectTransforms expects", () => {
    assert.strictEqual(map("foo", "bar", "foo"), "bar")
    assert.strictEqual(map("foo.*.bar.*.baz", "req.$2.$1", "foo.A.bar.B.baz"), "req.B.A")
    assert.strictEqual(map("baz.>", "my.pre.>", "baz.1.2.3"), "my.pre.1.2.3")
    assert.strictEqual(map("baz.>", "foo.bar.>", "baz.1.2.3"), "foo.bar.1.2.3")
    assert.strictEqual(map("*", "foo.bar.$1", "foo"), "foo.bar.foo")
    assert.strictEqual(map("*", "{{splitfromleft(1,3)}}", "12345"), "123.45")
    assert.strictEqual(map("*", "{{SplitFromRight(1,3)}}", "12345"), "12.345")
    assert.strictEqual(map("*", "{{SliceFromLeft(1,3)}}", "1234567890"), "123.456.789.0")
    assert.strictEqual(map("*", "{{SliceFromRight(1,3)}}", "1234567890"), "1.234.567.890")
    assert.strictEqual(map("*", "{{split(1,-)}}", "-abc-def--ghi-"), "abc.def.ghi")
    assert.strictEqual(map("*", "{{split(1,-)}}", "abc-def--ghi-"), "abc.def.ghi")
    assert.strictEqual(
      map("*.*", "{{split(2,-)}}.{{splitfromleft(1,2)}}", "foo.-abc-def--ghij-"),
      "abc.def.ghij.fo.o"
    )
    assert.strictEqual(map("a.*.*", "b.{{ wildcard( 2 ) }}.{{wildcard(1)}}", "a.x.y"), "b.y.x")
    assert.strictEqual(map("a.*", "b.$1", "c.x"), undefined)
    // Too short to split or slice: the token is kept whole.
    assert.strictEqual(map("*", "{{splitfromleft(1,9)}}", "abc"), "abc")
    assert.strictEqual(map("*", "{{slicefromleft(1,0)}}", "abc"), "abc")
  })

  it("left and right (2.10.16+, subject_transform.go): a token's first / last characters", () => {
    assert.strictEqual(map("*", "{{left(1,2)}}", "12345"), "12")
    assert.strictEqual(map("*", "{{Right(1,2)}}", "12345"), "45")
    assert.strictEqual(map("*.*", "{{right(2,1)}}.{{Left(1,3)}}", "abcd.xyz"), "z.abc")
    // A size that does not cut the token keeps it whole.
    for (const n of [0, -1, 5, 9]) {
      assert.strictEqual(map("*", `{{left(1,${n})}}`, "12345"), "12345")
      assert.strictEqual(map("*", `{{right(1,${n})}}`, "12345"), "12345")
    }
    assert.strictEqual(error("*", "{{left(1)}}"), `${TransformErrors.notEnoughArguments} in {{left(1)}}`)
    assert.strictEqual(error("*", "{{right(1,2,3)}}"), `${TransformErrors.tooManyArguments} in {{right(1,2,3)}}`)
    assert.strictEqual(error("*", "{{left(x,2)}}"), `${TransformErrors.invalidArgument} in {{left(x,2)}}`)
    assert.strictEqual(error("*", "{{left(2,2)}}"), `${TransformErrors.indexOutOfRange} in {{left(2,2)}}: [2]`)
    assert.strictEqual(error("*", "{{LEFT(1,2)}}"), `${TransformErrors.unknownFunction} in {{LEFT(1,2)}}`)
  })

  it("refuses what nats-server refuses, with its texts", () => {
    assert.strictEqual(error("foo.*.*", "bar.$2"), `${TransformErrors.notUsingAllWildcards} in bar.$2`)
    assert.strictEqual(error("foo", ""), TransformErrors.badSubject)
    assert.strictEqual(error("foo..", "bar"), TransformErrors.badSubject)
    assert.strictEqual(error("foo.*", "bar.*"), TransformErrors.badSubject)
    assert.strictEqual(error("foo.*", "bar.$2"), `${TransformErrors.indexOutOfRange} in $2: [2]`)
    assert.strictEqual(error("foo.*", "bar.$1.>"), TransformErrors.badSubject)
    assert.strictEqual(error("foo.>", "bar.baz"), TransformErrors.badSubject)
    assert.strictEqual(error("foo.*", "foo.$foo"), `${TransformErrors.notUsingAllWildcards} in foo.$foo`)
    assert.strictEqual(
      error("foo.*", "foo.{{wildcard(2)}}"),
      `${TransformErrors.indexOutOfRange} in {{wildcard(2)}}: [2]`
    )
    assert.strictEqual(
      error("foo.*", "foo.{{unimplemented(1)}}"),
      `${TransformErrors.unknownFunction} in {{unimplemented(1)}}`
    )
    assert.strictEqual(
      error("foo.*", "foo.{{partition(10)}}"),
      `${TransformErrors.notEnoughArguments} in {{partition(10)}}`
    )
    assert.strictEqual(
      error("foo.*", "foo.{{wildcard(foo)}}"),
      `${TransformErrors.invalidArgument} in {{wildcard(foo)}}`
    )
    assert.strictEqual(error("foo.*", "foo.{{wildcard()}}"), `${TransformErrors.notEnoughArguments} in {{wildcard()}}`)
    assert.strictEqual(
      error("foo.*", "foo.{{wildcard(1,2)}}"),
      `${TransformErrors.tooManyArguments} in {{wildcard(1,2)}}`
    )
    assert.strictEqual(error("foo.*", "foo.{{ wildcard5) }}"), `${TransformErrors.unknownFunction} in {{ wildcard5) }}`)
    assert.strictEqual(
      error("foo.*", "foo.{{splitLeft(2,2}}"),
      `${TransformErrors.unknownFunction} in {{splitLeft(2,2}}`
    )
    assert.strictEqual(error("*", "{{split(1,a b)}}"), `${TransformErrors.invalidArgument} in {{split(1,a b)}}`)
    // A '.' splits the destination first: "{{split(1,a" is no function, so the wildcard goes unused.
    assert.strictEqual(error("*", "{{split(1,a.b)}}"), `${TransformErrors.notUsingAllWildcards} in {{split(1,a.b)}}`)
  })

  it("partitions with FNV-1a 32 as nats-server", () => {
    // fnv32a("") = 0x811c9dc5 = 2166136261; "a" = 0xe40c292c = 3826002220
    assert.strictEqual(map("*", "p.{{partition(1000000007,1)}}", "a"), `p.${3826002220 % 1000000007}`)
    assert.strictEqual(map("*.*", "{{partition(10,1,2)}}.$1.$2", "a.b"), `${fnvAb % 10}.a.b`)
  })

  test.prop([fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 1, maxLength: 5 })])(
    "`>` to `>` with a prefix keeps every token, and a wildcard swap is its own inverse",
    (tokens) => {
      const subject = tokens.join(".")
      assert.strictEqual(map(">", "p.>", subject), `p.${subject}`)
      if (tokens.length === 2) {
        const swapped = map("*.*", "$2.$1", subject)!
        assert.strictEqual(map("*.*", "$2.$1", swapped), subject)
      }
    }
  )
})

describe("2.10+ stream and source transforms (ValidateMapping, non-strict NewSubjectTransform)", () => {
  it("accepts unused wildcards and an empty destination, refuses what nats-server refuses", () => {
    assert.isUndefined(validateMapping("a.*.*", "b.$1"))
    assert.isUndefined(validateMapping("a.>", ""))
    assert.isUndefined(validateMapping("", "x.>"))
    assert.strictEqual(validateMapping("a.*", "b.$2"), `${TransformErrors.indexOutOfRange} in $2: [2]`)
    assert.strictEqual(validateMapping("a.*", "b..c"), `${TransformErrors.invalidSubject} in `)
    assert.strictEqual(validateMapping("a.*", "b.{{x(1)}}"), `${TransformErrors.unknownFunction} in {{x(1)}}`)
    assert.strictEqual(validateMapping("a.*", "b.*"), TransformErrors.badSubject)
    // A literal source: only a partition (over the whole subject) may stand in the destination.
    assert.strictEqual(validateMapping("a", "b.$1"), `${TransformErrors.indexOutOfRange} in $1`)
    assert.isUndefined(validateMapping("a.b", "p.{{partition(4,1)}}"))
  })

  it("a literal source's partition hashes the whole subject", () => {
    const t = compileTransform("a.b", "p.{{partition(1000,1)}}", { allWildcards: false })
    if (!t.ok) throw new Error(t.error)
    let h = 0x811c9dc5
    for (const c of Buffer.from("a.b", "latin1")) h = Math.imul(h ^ c, 0x01000193) >>> 0
    assert.strictEqual(t.transform.match("a.b"), `p.${h % 1000}`)
  })

  it("destinationPattern: what a destination can produce, as a filter", () => {
    assert.strictEqual(destinationPattern("out.{{wildcard(2)}}.$1"), "out.*.*")
    assert.strictEqual(destinationPattern("p.{{partition(3,1)}}.x"), "p.*.x")
    assert.strictEqual(destinationPattern("s.{{split(1,-)}}.x"), "s.>")
    assert.strictEqual(destinationPattern("all.>"), "all.>")
    assert.strictEqual(destinationPattern("fixed"), "fixed")
  })
})

// fnv32a("ab") computed independently of the engine.
const fnvAb = (() => {
  let h = 0x811c9dc5
  for (const c of [0x61, 0x62]) h = Math.imul(h ^ c, 0x01000193) >>> 0
  return h
})()

describe("weighted mappings", () => {
  it("splits by weight, leaves the rest on the source, and drops when the source is listed short", () => {
    let r = 0
    const made = SubjectMappings.make([{ src: "w", dests: [{ subject: "w.a", weight: 30 }] }], () => r)
    assert.isTrue(made.ok)
    const m = made.ok ? made.mappings : undefined!
    r = 0.1 // 10 < 30 → w.a (sorted: w.a 30, w 70 → bounds 30, 100)
    assert.strictEqual(m.map("w"), "w.a")
    r = 0.5
    assert.strictEqual(m.map("w"), "w")
    assert.strictEqual(m.map("other"), "other")
    const lossy = SubjectMappings.make([{ src: "l", dests: [{ subject: "l", weight: 40 }] }], () => 0.9)
    assert.isTrue(lossy.ok && lossy.mappings.map("l") === undefined)
  })

  it("refuses weights over 100 and duplicates", () => {
    const over = SubjectMappings.make([{
      src: "a",
      dests: [{ subject: "b", weight: 60 }, { subject: "c", weight: 50 }]
    }])
    assert.deepStrictEqual(over, { ok: false, src: "a", error: "total weight needs to be <= 100" })
    const dup = SubjectMappings.make([{
      src: "a",
      dests: [{ subject: "b", weight: 10 }, { subject: "b", weight: 10 }]
    }])
    assert.deepStrictEqual(dup, { ok: false, src: "a", error: "duplicate entry for \"b\"" })
  })

  it("maps a wildcard source with the wildcard destinations", () => {
    const made = SubjectMappings.make([{
      src: "orders.*",
      dests: [{ subject: "v2.orders.{{wildcard(1)}}", weight: 100 }]
    }])
    assert.isTrue(made.ok && made.mappings.map("orders.7") === "v2.orders.7")
  })
})
