/**
 * The permission module against a naive reference (regular expressions built from the patterns),
 * for random allow/deny lists with `*` and `>`; plus the stateful parts: the delivery-time deny
 * filter and allow_responses' count and expiry.
 */
import { fc, test } from "@fast-check/vitest"
import { assert, describe, it } from "vitest"
import { ClientPermissions } from "../../src/auth/Permissions.ts"
import {
  literalSubject,
  pattern,
  permissionSet,
  referencePublish,
  referenceSubscribe,
  regex,
  toPermissions
} from "./PermissionArbitraries.ts"

describe("permissions against a naive reference", () => {
  test.prop([permissionSet, fc.array(literalSubject, { minLength: 1, maxLength: 10 })], { numRuns: 500 })(
    "publish is allowed exactly when the reference says so (asked twice: the cache agrees)",
    (set, subjects) => {
      const perms = new ClientPermissions(toPermissions(set))
      for (const s of [...subjects, ...subjects]) assert.strictEqual(perms.canPublish(s), referencePublish(set, s), s)
    }
  )

  test.prop([permissionSet, fc.array(fc.oneof(literalSubject, pattern), { minLength: 1, maxLength: 10 })], {
    numRuns: 500
  })("subscribe (literal and wildcard subjects) is allowed exactly when the reference says so", (set, subjects) => {
    const perms = new ClientPermissions(toPermissions(set))
    for (const s of subjects) assert.strictEqual(perms.canSubscribe(s), referenceSubscribe(set, s), s)
  })

  test.prop([
    fc.array(fc.tuple(pattern, fc.constantFrom("q1", "q2")), { minLength: 1, maxLength: 4 }),
    literalSubject,
    fc.constantFrom("q1", "q2", "q3")
  ])(
    "queue entries: a queue subscription is judged by the queue entries that match the subject",
    (entries, subject, queue) => {
      const perms = new ClientPermissions({ subscribe: { allow: entries.map(([s, q]) => `${s} ${q}`) } })
      const matching: Array<string> = entries.filter(([s]) => regex(s).test(subject)).map(([, q]) => q)
      assert.strictEqual(perms.canSubscribe(subject, queue), matching.includes(queue))
      // Only queue entries: no plain subscription is allowed.
      assert.strictEqual(perms.canSubscribe(subject), false)
    }
  )
})

describe("stateful permissions", () => {
  it("a wildcard subscription covering a denied subject does not receive it", () => {
    const perms = new ClientPermissions({ subscribe: { deny: ["foo.secret"] } })
    assert.isTrue(perms.admitDelivery("foo.secret", undefined), "no filter before such a subscription")
    assert.isTrue(perms.canSubscribe("foo.*"))
    assert.isFalse(perms.admitDelivery("foo.secret", undefined))
    assert.isTrue(perms.admitDelivery("foo.open", undefined))
  })

  it("allow_responses: max answers per delivered reply subject, within expires", () => {
    let now = 1_000
    const perms = new ClientPermissions({ response: { maxMsgs: 2, expiresMs: 5_000 } }, () => now)
    assert.isFalse(perms.canPublish("_INBOX.r1"), "not a reply subject yet")
    perms.admitDelivery("svc", "_INBOX.r1")
    assert.isTrue(perms.canPublish("_INBOX.r1"))
    assert.isTrue(perms.canPublish("_INBOX.r1"))
    assert.isFalse(perms.canPublish("_INBOX.r1"), "third answer")
    perms.admitDelivery("svc", "_INBOX.r2")
    now += 5_001
    assert.isFalse(perms.canPublish("_INBOX.r2"), "expired")
    assert.isFalse(perms.canPublish("other"), "allow_responses turns the blanket allow off")
  })

  it("the publish cache stays bounded and correct past its size", () => {
    const perms = new ClientPermissions({ publish: { allow: ["ok.>"] } })
    for (let i = 0; i < 1000; i++) {
      assert.strictEqual(perms.canPublish(`ok.${i}`), true)
      assert.strictEqual(perms.canPublish(`no.${i}`), false)
    }
  })
})
