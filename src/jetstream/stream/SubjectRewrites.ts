/**
 * What the stream config makes of a message's subject, built once per config object: the stored subject
 * (`subject_transform`) and the republisher (`republish`).
 */
import { toWire } from "../../subject/Subject.ts"
import { compileTransform, type SubjectTransform } from "../../subject/SubjectTransform.ts"
import type { StreamConfig } from "../model/StreamConfig.ts"
import { Republisher } from "./Republish.ts"

/** The stream actor's caches of what its config builds. */
export interface RewritingStream {
  readonly name: string
  readonly config: StreamConfig
  /** Built for the config's `republish` (rebuilt when the config object changes). */
  republisher: Republisher | undefined
  republishFor: StreamConfig | undefined
  /** Built for the config's `subject_transform` (rebuilt when the config object changes). */
  inputTransform: SubjectTransform | undefined
  inputTransformFor: StreamConfig | undefined
}

/** The subject a message is stored under: the config's `subject_transform` applied when it matches. */
export const transformed = (s: RewritingStream, subject: string): string => {
  if (s.inputTransformFor !== s.config) {
    s.inputTransformFor = s.config
    const want = s.config.subject_transform
    const have = s.inputTransform
    if (want === undefined || want.dest === "") s.inputTransform = undefined
    else if (have === undefined || have.src !== toWire(want.src || ">") || have.dest !== toWire(want.dest)) {
      // Validated on create/update; a config that does not compile stores subjects unchanged.
      const t = compileTransform(toWire(want.src || ">"), toWire(want.dest), { allWildcards: false })
      s.inputTransform = t.ok ? t.transform : undefined
    }
  }
  return s.inputTransform === undefined ? subject : s.inputTransform.match(subject) ?? subject
}

export const republishing = (s: RewritingStream): Republisher | undefined => {
  if (s.republishFor !== s.config) {
    s.republishFor = s.config
    const want = s.config.republish
    const have = s.republisher?.config
    if (want === undefined) s.republisher = undefined
    else if (
      have === undefined || have.src !== want.src || have.dest !== want.dest ||
      have.headers_only !== want.headers_only
    ) {
      s.republisher = Republisher.make(s.name, want)
    }
  }
  return s.republisher
}
