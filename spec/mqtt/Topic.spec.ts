/**
 * MQTT topic <-> NATS subject mapping: nats-server 2.9.10's rules on fixed examples (the cases its
 * mqtt_test.go table covers: empty levels, wildcards, refused characters) and, with fast-check, that
 * every topic we accept comes back unchanged through a NATS subscriber's subject.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { filterSubjects, filterToSubject, subjectToTopic, topicToSubject } from "../../src/mqtt/Topic.ts"

const subject = (topic: string) => {
  const r = topicToSubject(topic)
  return r.ok ? r.subject : `error: ${r.error}`
}
const filter = (topic: string) => {
  const r = filterToSubject(topic)
  return r.ok ? r.subject : `error: ${r.error}`
}

describe("MQTT topic mapping", () => {
  it("maps levels and empty levels as nats-server does", () => {
    expect(subject("foo")).toBe("foo")
    expect(subject("foo/bar")).toBe("foo.bar")
    expect(subject("/foo")).toBe("/.foo")
    expect(subject("foo/")).toBe("foo./")
    expect(subject("foo//bar")).toBe("foo./.bar")
    expect(subject("//foo")).toBe("/./.foo")
    expect(subject("/")).toBe("/./")
    expect(subject("//")).toBe("/././")
  })

  it("refuses '.', ' ', wildcards in topic names, and an empty topic", () => {
    expect(subject("foo.bar")).toBe("error: characters ' ' and '.' not supported for MQTT topics")
    expect(subject("foo bar")).toBe("error: characters ' ' and '.' not supported for MQTT topics")
    expect(subject("foo/+")).toBe(`error: wildcards not allowed in publish's topic: "foo/+"`)
    expect(subject("foo/#")).toBe(`error: wildcards not allowed in publish's topic: "foo/#"`)
    expect(subject("")).toBe("error: topic cannot be empty")
    expect(filter("")).toBe("error: topic filter cannot be empty")
  })

  it("maps filter wildcards; '#' also subscribes the parent level", () => {
    expect(filter("foo/+/bar")).toBe("foo.*.bar")
    expect(filter("foo/#")).toBe("foo.>")
    expect(filter("#")).toBe(">")
    expect(filter("+")).toBe("*")
    expect(filter("/+")).toBe("/.*")
    expect(filterSubjects("foo.>")).toEqual(["foo.>", "foo"])
    expect(filterSubjects(">")).toEqual([">"])
    expect(filterSubjects("foo.*")).toEqual(["foo.*"])
  })

  it("refuses wildcards that do not fill a level (MQTT-4.7.1-1/-2)", () => {
    expect(filter("foo+")).toMatch(/^error: a wildcard must fill its whole level/)
    expect(filter("foo/#/bar")).toMatch(/^error: '#' must be the last level/)
    expect(filter("a#")).toMatch(/^error: a wildcard must fill its whole level/)
  })

  it("maps NATS subjects back to topics", () => {
    expect(subjectToTopic("foo.bar")).toBe("foo/bar")
    expect(subjectToTopic("/.foo")).toBe("/foo")
    expect(subjectToTopic("foo./.bar")).toBe("foo//bar")
    expect(subjectToTopic("foo./")).toBe("foo/")
    expect(subjectToTopic("/./")).toBe("/")
  })

  it("round-trips every accepted topic name", () => {
    const level = fc.stringMatching(/^[a-zA-Z0-9_\-$é]{0,4}$/)
    fc.assert(
      fc.property(fc.array(level, { minLength: 1, maxLength: 6 }), (levels) => {
        const topic = levels.join("/")
        fc.pre(topic.length > 0)
        const r = topicToSubject(topic)
        expect(r.ok).toBe(true)
        if (r.ok) {
          expect(subjectToTopic(r.subject)).toBe(topic)
          // Every level is one NATS token, none empty.
          expect(r.subject.split(".")).toHaveLength(levels.length)
          expect(r.subject.split(".").every((t) => t.length > 0)).toBe(true)
        }
      }),
      { numRuns: 500 }
    )
  })
})
