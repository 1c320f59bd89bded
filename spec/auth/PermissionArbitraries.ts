/**
 * Random permission sets for the permission properties, and the naive reference they are judged
 * by: each pattern as an anchored regular expression.
 */
import { fc } from "@fast-check/vitest"
import type { Permissions } from "../../src/auth/Permissions.ts"

const literal = fc.constantFrom("a", "b", "c")
const patternToken = fc.constantFrom("a", "b", "c", "*")

/** A permission pattern (or a wildcard subscription subject): 1-3 tokens, maybe ending in `>`. */
export const pattern = fc
  .tuple(fc.array(patternToken, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([toks, fwc]) => (fwc ? [...toks, ">"] : toks).join("."))
export const literalSubject = fc.array(literal, { minLength: 1, maxLength: 4 }).map((t) => t.join("."))

export const permissionSet = fc.record({
  pubAllow: fc.option(fc.array(pattern, { maxLength: 4 }), { nil: undefined }),
  pubDeny: fc.array(pattern, { maxLength: 3 }),
  subAllow: fc.option(fc.array(pattern, { maxLength: 4 }), { nil: undefined }),
  subDeny: fc.array(pattern, { maxLength: 3 })
})
export type PermissionSet = typeof permissionSet extends fc.Arbitrary<infer T> ? T : never

export const toPermissions = (p: PermissionSet): Permissions => ({
  publish: { allow: p.pubAllow, deny: p.pubDeny },
  subscribe: { allow: p.subAllow, deny: p.subDeny }
})

/** Reference: a pattern as an anchored regex; the subject's own `*`/`>` are plain characters to it. */
export const regex = (p: string) =>
  new RegExp(
    "^" + p.split(".").map((t) => (t === "*" ? "[^.]+" : t === ">" ? ".+" : t.replace(/[$^\\]/g, "\\$&"))).join("\\.") +
      "$"
  )
const any = (list: ReadonlyArray<string> | undefined, s: string) => (list ?? []).some((p) => regex(p).test(s))

export const referencePublish = (p: PermissionSet, subject: string) =>
  (p.pubAllow === undefined || any(p.pubAllow, subject)) && !any(p.pubDeny, subject)
export const referenceSubscribe = (p: PermissionSet, subject: string) =>
  (p.subAllow === undefined || p.subAllow.length === 0 || any(p.subAllow, subject)) && !any(p.subDeny, subject)
