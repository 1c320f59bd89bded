/**
 * Stream and service imports between accounts, as nats-server 2.9.10 routes them
 * (`accounts.go` addStreamImport / addServiceImport, `client.go` processServiceImport):
 *
 * - a stream import is a subscription in the exporting account on the imported subject; each
 *   message is published again in the importing account under the import's subject (`prefix.` +
 *   subject, or `to`, rewritten token by token when the subject has wildcards);
 * - a service import is a subscription in the importing account on the local subject; a request is
 *   published in the exporting account on the exported subject with a fresh `_R_.` reply, and what
 *   the responder publishes to that reply is delivered back to the requester's reply in the
 *   importing account. Singleton responses end the mapping at the first reply; Stream and Chunked
 *   keep it until the export's response threshold passes.
 *
 * Only an import crosses an account boundary: nothing else links two routers.
 */
import { randomBytes } from "node:crypto"
import { InternalClient } from "../core/InternalClient.ts"
import type { MessageRouter, Subscription } from "../core/Router.ts"
import { overlaps } from "../subject/Subject.ts"
import { compileTransform, tokenizeWildcards } from "../subject/SubjectTransform.ts"
import type { ResponseType, ServiceImport, StreamImport } from "./AccountSettings.ts"
import { streamTarget } from "./ImportRules.ts"

/**
 * The subject rewrite of an import whose source has wildcards and whose target names another
 * subject: nats-server `newTransform(from, transformTokenize(to))`, on the shared mapping engine.
 * Built once per import; a literal source always becomes the target as is.
 */
export const makeTransform = (from: string, to: string): (subject: string) => string => {
  if (to === from) return (s) => s
  if (!from.split(".").some((t) => t === "*" || t === ">")) return () => to
  const compiled = compileTransform(from, tokenizeWildcards(to))
  // Not checked at config load yet: nats-server refuses such an import at start, and so does this (a
  // defect that stops the start with the import named) rather than deliver on a wrong subject.
  if (!compiled.ok) throw new Error(`import of ${from} as ${to}: ${compiled.error}`)
  const t = compiled.transform
  return (s) => t.apply(s)
}

export interface ImportEnds {
  readonly importer: MessageRouter
  readonly exporter: MessageRouter
}

/**
 * Imports can chain (A imports from B what B imports from C); a cycle in the configuration would
 * forward forever, so a message is dropped after this many account hops.
 */
const MAX_HOPS = 8
let hops = 0

/**
 * Publishes in the other account. With `presentAs` (a JetStream delivery, routed on one subject and
 * shown as another) the message is routed on `subject` there and still shown as `presentAs`, as
 * nats-server's processMsgResults does for import subscriptions.
 */
const forward = (
  router: MessageRouter,
  subject: string,
  reply: string | undefined,
  hdrLen: number,
  msg: Uint8Array,
  presentAs?: string
): number => {
  if (hops >= MAX_HOPS) return 0
  hops++
  router.importing++
  try {
    return presentAs === undefined
      ? router.publish(undefined, subject, reply, hdrLen, msg)
      : router.publishAs(subject, presentAs, reply, hdrLen, msg)
  } finally {
    router.importing--
    hops--
  }
}

/** `router.hasInterest` under the same hop limit as `forward` (imports can chain or loop). */
const interestAcross = (router: MessageRouter, subject: string): boolean => {
  if (hops >= MAX_HOPS) return false
  hops++
  try {
    return router.hasInterest(subject)
  } finally {
    hops--
  }
}

/** Where an imported stream's messages appear in the importing account, and the per-message rewrite. */
export const streamImportTarget = (i: StreamImport): { readonly to: string; readonly map: (s: string) => string } => {
  const to = streamTarget(i)
  if (i.prefix !== undefined) {
    const p = to.slice(0, to.length - i.subject.length)
    return { to, map: (s) => p + s }
  }
  return { to, map: makeTransform(i.subject, to) }
}

/** Starts a stream import; the returned function stops it. */
export const startStreamImport = (i: StreamImport, ends: ImportEnds): () => void => {
  const client = new InternalClient(ends.exporter)
  const { map, to: target } = streamImportTarget(i)
  const sub = client.subscribe(
    i.subject,
    (subject, reply, hdrLen, msg) => {
      forward(ends.importer, map(subject), reply, hdrLen, msg)
    },
    undefined,
    {
      routed: (to, subject, reply, hdrLen, msg) => {
        forward(ends.importer, map(to), reply, hdrLen, msg, subject)
      },
      // Interest here only while someone in the importer would receive the message, as nats-server's
      // shadow subscriptions (a push consumer delivering to an imported subject waits for that, push_bound).
      interest: (subject) => interestAcross(ends.importer, map(subject)),
      localOnly: true
    }
  )
  // A subscriber arriving in the importer is interest arriving here: wake the exporter's listeners.
  const listener = (s: Subscription) => {
    if (sub !== undefined && s.owner !== client && overlaps(s.subject, target)) {
      for (const l of ends.exporter.subscribeListeners) l(sub)
    }
  }
  ends.importer.subscribeListeners.add(listener)
  return () => {
    ends.importer.subscribeListeners.delete(listener)
    client.unsubscribeAll()
  }
}

interface PendingResponse {
  readonly reply: string
  readonly responseType: ResponseType
  readonly expiresAt: number
}

/** nats-server replyPrefix: `_R_.` and a random token per import, then one token per request. */
const RESPONSE_PREFIX = "_R_."
const SWEEP_EVERY_MS = 1_000

/** Starts a service import; the returned function stops it. */
export const startServiceImport = (
  i: ServiceImport,
  ends: ImportEnds,
  export_: { readonly responseType: ResponseType; readonly responseThresholdMs: number },
  nowMs: () => number = Date.now
): { readonly stop: () => void; readonly pending: () => number } => {
  const local = i.to ?? i.subject
  const map = makeTransform(local, i.subject)
  const importerClient = new InternalClient(ends.importer)
  const exporterClient = new InternalClient(ends.exporter)
  const prefix = `${RESPONSE_PREFIX}${randomBytes(6).toString("base64url").replace(/[-_]/g, "x")}.`
  const pending = new Map<string, PendingResponse>()
  let next = 0

  // `presentAs`: the subject a JetStream delivery shows (see `forward`); routing uses `subject`.
  const request = (subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array, presentAs?: string) => {
    if (reply === undefined) {
      forward(ends.exporter, map(subject), undefined, hdrLen, msg, presentAs)
      return
    }
    const token = (next++).toString(36)
    pending.set(token, {
      reply,
      responseType: export_.responseType,
      expiresAt: nowMs() + export_.responseThresholdMs
    })
    forward(ends.exporter, map(subject), prefix + token, hdrLen, msg, presentAs)
  }
  // Responses: a pull consumer's messages come routed on the `_R_` reply and shown as their own subject.
  const respond = (subject: string, reply: string | undefined, hdrLen: number, msg: Uint8Array, presentAs?: string) => {
    const token = subject.slice(prefix.length)
    const p = pending.get(token)
    if (p === undefined) return
    if (p.expiresAt < nowMs()) {
      pending.delete(token)
      return
    }
    if (p.responseType === "Singleton") pending.delete(token)
    forward(ends.importer, p.reply, reply, hdrLen, msg, presentAs)
  }
  importerClient.subscribe(
    local,
    (subject, reply, hdrLen, msg) => request(subject, reply, hdrLen, msg),
    undefined,
    { routed: (to, subject, reply, hdrLen, msg) => request(to, reply, hdrLen, msg, subject), localOnly: true }
  )
  exporterClient.subscribe(
    `${prefix}>`,
    (subject, reply, hdrLen, msg) => respond(subject, reply, hdrLen, msg),
    undefined,
    { routed: (to, subject, reply, hdrLen, msg) => respond(to, reply, hdrLen, msg, subject) }
  )
  // Mappings of requests nobody answered (or of streamed responses) end at the threshold.
  const sweep = setInterval(() => {
    const now = nowMs()
    for (const [token, p] of pending) if (p.expiresAt < now) pending.delete(token)
  }, SWEEP_EVERY_MS)
  sweep.unref?.()
  return {
    stop: () => {
      clearInterval(sweep)
      importerClient.unsubscribeAll()
      exporterClient.unsubscribeAll()
      pending.clear()
    },
    pending: () => pending.size
  }
}
