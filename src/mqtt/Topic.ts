/**
 * MQTT topic names and filters <-> NATS subjects, by nats-server's rules (mqtt.go
 * `mqttToNATSSubjectConversion`, `natsSubjectToMQTTTopic`), so MQTT and NATS clients of either
 * server address the same messages:
 *
 * - `/` separates levels, as `.` does in NATS: `a/b` <-> `a.b`;
 * - an empty level (leading, trailing or doubled `/`) becomes the token `/`: `/a` -> `/.a`,
 *   `a//b` -> `a./.b`, `a/` -> `a./`;
 * - `+` -> `*` and `#` -> `>` in filters; a filter `a/#` also matches `a` itself (MQTT-4.7.1-2),
 *   which takes a second NATS subscription on `a`;
 * - `.` and ` ` cannot be carried and are refused.
 *
 * Difference from nats-server: a wildcard that does not fill its whole level (`a+`, `#/a`) is refused
 * as MQTT-4.7.1-1/-2 require (SUBACK failure), where nats-server passes it on as a literal.
 */

export type Converted = { readonly ok: true; readonly subject: string } | { readonly ok: false; readonly error: string }

export const UNSUPPORTED_CHARACTERS = "characters ' ' and '.' not supported for MQTT topics"

const convert = (topic: string, filter: boolean): Converted => {
  if (topic.length === 0) {
    return { ok: false, error: filter ? "topic filter cannot be empty" : "topic cannot be empty" }
  }
  const levels = topic.split("/")
  const tokens: Array<string> = []
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!
    if (level.includes(".") || level.includes(" ")) return { ok: false, error: UNSUPPORTED_CHARACTERS }
    const wild = level.includes("+") || level.includes("#")
    if (wild && !filter) {
      return { ok: false, error: `wildcards not allowed in publish's topic: ${JSON.stringify(topic)}` }
    }
    if (level === "+") tokens.push("*")
    else if (level === "#") {
      if (i !== levels.length - 1) return { ok: false, error: `'#' must be the last level of ${JSON.stringify(topic)}` }
      tokens.push(">")
    } else if (wild) return { ok: false, error: `a wildcard must fill its whole level in ${JSON.stringify(topic)}` }
    else tokens.push(level === "" ? "/" : level)
  }
  return { ok: true, subject: tokens.join(".") }
}

/** A PUBLISH topic name (no wildcards) as a NATS subject. */
export const topicToSubject = (topic: string): Converted => convert(topic, false)

/** A SUBSCRIBE topic filter as a NATS subject (wildcards allowed). */
export const filterToSubject = (filter: string): Converted => convert(filter, true)

/**
 * The NATS subjects one filter subscribes: `a.>` also takes `a` (MQTT's `#` includes the parent
 * level); `>` alone (from `#`) needs nothing more.
 */
export const filterSubjects = (subject: string): ReadonlyArray<string> =>
  subject.length >= 3 && subject.endsWith(".>") ? [subject, subject.slice(0, -2)] : [subject]

/** A NATS subject as the MQTT topic its subscribers see (the reverse of `topicToSubject`). */
export const subjectToTopic = (subject: string): string => {
  let out = ""
  const n = subject.length
  for (let i = 0; i < n; i++) {
    const c = subject[i]!
    if (c === "/") {
      // The leading `/.` of an empty first level.
      if (i === 0 && i < n - 1 && subject[i + 1] === ".") continue
      out += "/"
    } else if (c === ".") {
      out += "/"
      // `./` is an empty level that the `/` just written already stands for.
      if (i < n - 1 && subject[i + 1] === "/") i++
    } else out += c
  }
  return out
}
