/**
 * Where a mirror's or source's `external { api, deliver }` reaches, by nats-server 2.9.10's wire
 * mechanics (stream.go setupMirrorConsumer / setupSourceConsumer): the following stream's account
 * sends `<api>.CONSUMER.CREATE.<stream>` (with a filter, `.<consumer>.<filter>` after it) and
 * listens on `<deliver>.$JS.M.<id>` (`$JS.S` for a source). So the origin is the account whose
 * service the request subject is imported from, when that import maps it onto the exporter's
 * `$JS.API.CONSUMER.CREATE...`, and only while the deliveries the exporter's consumer publishes
 * come back: a stream import from that account that covers the delivery subject and shows it under
 * the same subject (the follower listens on exactly that subject).
 *
 * Anything else reaches nothing: nats-server's request gets no answer (or the deliveries never
 * arrive) and the follower just keeps retrying. That includes a domain's `$JS.<domain>.API`, even
 * the server's own: the domain mapping applies to what clients publish, not to the server's own
 * requests, so on one server 2.9.10 never connects through it (domains are reached over leaf nodes,
 * which are not built). Imports in the settings were authorized against the
 * exports when the configuration was read, so the import is the permission. Pure over the settings.
 */
import { isSubsetOf } from "../subject/Subject.ts"
import type { StreamImport } from "./AccountSettings.ts"
import type { ServiceImport } from "./AccountSettings.ts"
import { streamTarget } from "./ImportRules.ts"
import { makeTransform } from "./Imports.ts"

/** What the rules need of the following stream's account. */
export interface Importer {
  readonly name: string
  readonly imports: {
    readonly streams: ReadonlyArray<StreamImport>
    readonly services: ReadonlyArray<ServiceImport>
  }
}

export interface ExternalRequest {
  readonly api: string
  readonly deliver: string
  /** The origin stream's name. */
  readonly stream: string
  /** The mirror's or source's `filter_subject` ("" none): nats-server then uses the extended create subject. */
  readonly filter: string
  readonly kind: "mirror" | "source"
}

/** A stand-in for the random consumer name and delivery token nats-server puts in those subjects. */
const TOKEN = "x0"

/** nats-server replaces `$JS.API` with the prefix, then collapses the `..` an empty or dotted one leaves. */
const collapse = (s: string): string => s.split("..").join(".")

/** The consumer create subject sent through the prefix (what the import must carry). */
export const createSubject = (r: ExternalRequest): string => {
  const tail = r.filter === "" ? `CONSUMER.CREATE.${r.stream}` : `CONSUMER.CREATE.${r.stream}.${TOKEN}.${r.filter}`
  return collapse(`${r.api}.${tail}`)
}

/** The subject the origin's consumer delivers on, which the following account listens on. */
export const deliverySubject = (r: ExternalRequest): string => {
  const sync = `$JS.${r.kind === "mirror" ? "M" : "S"}.${TOKEN}`
  return r.deliver === "" ? sync : collapse(`${r.deliver}.${sync}`)
}

const safeMap = (from: string, to: string, subject: string): string | undefined => {
  try {
    return makeTransform(from, to)(subject)
  } catch {
    return undefined
  }
}

/** The account whose JetStream `r` reaches from `importer`, or undefined when the request or the deliveries cannot cross. */
export const resolveExternal = (importer: Importer, r: ExternalRequest): string | undefined => {
  const request = createSubject(r)
  const expected = collapse(`$JS.API.${request.slice(collapse(`${r.api}.`).length)}`)
  for (const si of importer.imports.services) {
    const local = si.to ?? si.subject
    if (!isSubsetOf(request, local)) continue
    if (safeMap(local, si.subject, request) !== expected) continue
    return delivers(importer, si.account, deliverySubject(r)) ? si.account : undefined
  }
  return undefined
}

/** A stream import from `exporter` covering `subject` that shows it in the importer unchanged. */
const delivers = (importer: Importer, exporter: string, subject: string): boolean =>
  importer.imports.streams.some((i) =>
    i.account === exporter && isSubsetOf(subject, i.subject) && safeMap(i.subject, streamTarget(i), subject) === subject
  )
