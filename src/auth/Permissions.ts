/**
 * Publish/subscribe permissions of one authenticated client, with nats-server 2.9.10's semantics
 * (`client.go` setPermissions, pubAllowedFullCheck, canSubscribe, queueMatches, checkDenySub):
 *
 * - publish: an `allow` list that is present (even empty) admits only matching subjects; `deny`
 *   overrides it. Results are cached per subject (nats-server keeps the same per-client cache), so
 *   the publish hot path is one Map lookup, not a walk of the permission lists.
 * - subscribe: entries may carry a queue group (`"foo.* workers"`); a queue subscription is judged
 *   against the queue entries when any match the subject.
 * - a wildcard subscription that is allowed but covers a denied subject does not receive messages
 *   on the denied subjects (checked at delivery, cached per subject).
 * - `allow_responses`: a reply subject of a message delivered to this client may be published to
 *   `maxMsgs` times within `expiresMs`, even when `allow` does not list it.
 *
 * Permission patterns are matched token by token with the subject's tokens taken literally (a `*`
 * or `>` in a subscribed subject is only matched by a wildcard in the pattern), which is what
 * nats-server's sublist match does when given a wildcard subject.
 */

export interface SubjectPermission {
  /** Present (even empty) = only these; absent = everything not denied. */
  readonly allow?: ReadonlyArray<string> | undefined
  readonly deny?: ReadonlyArray<string> | undefined
}

export interface ResponsePermission {
  /** Responses allowed per reply subject; <= 0 means unlimited. */
  readonly maxMsgs: number
  /** How long a reply subject stays publishable; <= 0 means forever. */
  readonly expiresMs: number
}

export interface Permissions {
  readonly publish?: SubjectPermission | undefined
  readonly subscribe?: SubjectPermission | undefined
  readonly response?: ResponsePermission | undefined
}

/**
 * Reply subjects no client may set, authenticated or not (nats-server isReservedReply): service
 * import replies `_R_.`, JetStream acks `$JS.ACK.` and gateway replies `_GR_.`. The first character
 * is tested first so ordinary replies (`_INBOX.`) cost one comparison.
 */
export const isReservedReply = (reply: string): boolean => {
  const c = reply.charCodeAt(0)
  if (c === 95 /* _ */) {
    return (reply.length > 3 && reply.startsWith("_R_.")) || (reply.length > 5 && reply.startsWith("_GR_."))
  }
  return c === 36 /* $ */ && reply.length > 8 && reply.startsWith("$JS.ACK.")
}

/** Gateway-routed reply subjects (`_GR_.`) may not be published to by clients (nats-server hasGWRoutedReplyPrefix). */
export const isGatewayRoutedSubject = (subject: string): boolean =>
  subject.charCodeAt(0) === 95 /* _ */ && subject.length > 5 && subject.startsWith("_GR_.")

/** nats-server DEFAULT_ALLOW_RESPONSE_MAX_MSGS / _EXPIRATION. */
export const DEFAULT_RESPONSE: ResponsePermission = { maxMsgs: 1, expiresMs: 2 * 60 * 1000 }

/** nats-server maxPermCacheSize / replyPermLimit. */
const MAX_PUB_CACHE = 128
const MAX_DENY_CACHE = 128
const REPLY_LIMIT = 4096

const tokens = (s: string): ReadonlyArray<string> => s.split(".")

/** Does `pattern` (tokens, may hold `*`/`>`) match `subject` (tokens, taken literally)? */
export const patternMatches = (pattern: ReadonlyArray<string>, subject: ReadonlyArray<string>): boolean => {
  const n = pattern.length
  for (let i = 0; i < n; i++) {
    const p = pattern[i]!
    if (p === ">") return subject.length > i
    if (i >= subject.length) return false
    if (p !== "*" && p !== subject[i]) return false
  }
  return subject.length === n
}

/** nats-server subjectIsSubsetMatch: is every subject matched by `subject` also matched by `test`? */
export const isSubsetMatch = (subject: string, test: string): boolean => {
  const a = tokens(subject)
  const b = tokens(test)
  for (let i = 0; i < b.length; i++) {
    if (i >= a.length) return false
    const t1 = a[i]!
    const t2 = b[i]!
    if (t2 === ">") return true
    if (t1 === ">") return false
    if (t2 === "*") continue
    if (t1 === "*" || t1 !== t2) return false
  }
  return a.length === b.length
}

interface Entry {
  readonly subject: ReadonlyArray<string>
  /** Queue group of a subscribe entry ("foo.* workers"); undefined for plain entries. */
  readonly queue: string | undefined
}

/** A `"subject queue"` permission entry, split as nats-server does (whitespace-separated fields). */
const entry = (text: string): Entry | undefined => {
  const fields = text.trim().split(/\s+/)
  if (fields.length > 2) return undefined // nats-server logs and skips such an entry
  return { subject: tokens(fields[0]!), queue: fields[1] }
}

const compile = (list: ReadonlyArray<string>): ReadonlyArray<Entry> => {
  const out: Array<Entry> = []
  for (const s of list) {
    const e = entry(s)
    if (e !== undefined) out.push(e)
  }
  return out
}

interface MatchResult {
  readonly plain: boolean
  /** Queue names of matching queue entries (empty when none matched). */
  readonly queues: ReadonlyArray<string>
}

const match = (entries: ReadonlyArray<Entry>, subject: ReadonlyArray<string>): MatchResult => {
  let plain = false
  const queues: Array<string> = []
  for (const e of entries) {
    if (!patternMatches(e.subject, subject)) continue
    if (e.queue === undefined) plain = true
    else queues.push(e.queue)
  }
  return { plain, queues }
}

const hasWildcard = (s: string): boolean => s.split(".").some((t) => t === "*" || t === ">")

/** nats-server queueMatches: a literal queue name, or one a wildcard queue entry covers. */
const queueMatches = (queue: string, names: ReadonlyArray<string>): boolean => {
  for (const q of names) if (queue === q || (hasWildcard(q) && isSubsetMatch(queue, q))) return true
  return false
}

interface Reply {
  readonly at: number
  n: number
}

/** Fill in nats-server's defaults for a response permission (0 = default) and turn off the blanket publish allow. */
export const normalize = (p: Permissions): Permissions => {
  if (p.response === undefined) return p
  const response = {
    maxMsgs: p.response.maxMsgs === 0 ? DEFAULT_RESPONSE.maxMsgs : p.response.maxMsgs,
    expiresMs: p.response.expiresMs === 0 ? DEFAULT_RESPONSE.expiresMs : p.response.expiresMs
  }
  const publish = { allow: p.publish?.allow ?? [], deny: p.publish?.deny }
  return { publish, subscribe: p.subscribe, response }
}

export class ClientPermissions {
  private readonly pubAllow: ReadonlyArray<Entry> | undefined
  private readonly pubDeny: ReadonlyArray<Entry> | undefined
  private readonly subAllow: ReadonlyArray<Entry> | undefined
  private readonly subDeny: ReadonlyArray<Entry> | undefined
  private readonly subDenyTexts: ReadonlyArray<string>
  private readonly response: ResponsePermission | undefined
  /** Whether publishing is restricted at all (nats-server skips the check otherwise). */
  readonly checksPublish: boolean

  private readonly pubCache = new Map<string, boolean>()
  private readonly replies = new Map<string, Reply>()
  /** Built on the first wildcard subscription that covers a denied subject. */
  private deliverDeny: { readonly entries: ReadonlyArray<Entry>; readonly cache: Map<string, boolean> } | undefined

  private readonly now: () => number

  constructor(permissions: Permissions, now: () => number = Date.now) {
    this.now = now
    const p = normalize(permissions)
    this.pubAllow = p.publish?.allow === undefined ? undefined : compile(p.publish.allow)
    this.pubDeny = p.publish?.deny !== undefined && p.publish.deny.length > 0 ? compile(p.publish.deny) : undefined
    this.subAllow = p.subscribe?.allow !== undefined && p.subscribe.allow.length > 0
      ? compile(p.subscribe.allow)
      : undefined
    this.subDenyTexts = p.subscribe?.deny ?? []
    this.subDeny = this.subDenyTexts.length > 0 ? compile(this.subDenyTexts) : undefined
    this.response = p.response
    this.checksPublish = this.pubAllow !== undefined || this.pubDeny !== undefined
  }

  /** May this client publish to `subject` (a literal subject)? */
  canPublish(subject: string): boolean {
    if (!this.checksPublish) return true
    const cached = this.pubCache.get(subject)
    if (cached !== undefined) return cached
    const toks = tokens(subject)
    let allowed = this.pubAllow === undefined || match(this.pubAllow, toks).plain
    if (allowed && this.pubDeny !== undefined) allowed = !match(this.pubDeny, toks).plain
    if (!allowed && this.response !== undefined) {
      // A tracked reply subject: counted, never cached (the allowance runs out).
      const r = this.replies.get(subject)
      if (r === undefined) return false
      r.n++
      const { maxMsgs, expiresMs } = this.response
      if ((maxMsgs > 0 && r.n > maxMsgs) || (expiresMs > 0 && this.now() - r.at > expiresMs)) {
        this.replies.delete(subject)
        return false
      }
      return true
    }
    this.remember(this.pubCache, MAX_PUB_CACHE, subject, allowed)
    return allowed
  }

  /** May this client subscribe to `subject`, in `queue` when given? */
  canSubscribe(subject: string, queue?: string): boolean {
    const toks = tokens(subject)
    let allowed = true
    if (this.subAllow !== undefined) {
      const r = match(this.subAllow, toks)
      allowed = r.plain
      if (queue !== undefined && r.queues.length > 0) allowed = queueMatches(queue, r.queues)
    }
    if (allowed && this.subDeny !== undefined) {
      const r = match(this.subDeny, toks)
      allowed = !r.plain
      if (queue !== undefined && r.queues.length > 0) allowed = !queueMatches(queue, r.queues)
      if (allowed && this.deliverDeny === undefined && hasWildcard(subject)) {
        if (this.subDenyTexts.some((d) => isSubsetMatch(d, subject))) {
          // nats-server builds this filter from the raw deny texts; a "subject queue" text never
          // matches a message subject (those have no spaces), so only plain entries matter.
          const entries = this.subDeny.filter((e) => e.queue === undefined)
          this.deliverDeny = { entries, cache: new Map() }
        }
      }
    }
    return allowed
  }

  /**
   * Called for every message about to be delivered to this client: false when a subscribe deny
   * clause excludes the subject; records the reply subject when responses are allowed.
   */
  admitDelivery(subject: string, reply: string | undefined): boolean {
    const dd = this.deliverDeny
    if (dd !== undefined) {
      let denied = dd.cache.get(subject)
      if (denied === undefined) {
        denied = match(dd.entries, tokens(subject)).plain
        this.remember(dd.cache, MAX_DENY_CACHE, subject, denied)
      }
      if (denied) return false
    }
    if (this.response !== undefined && reply !== undefined) {
      this.replies.set(reply, { at: this.now(), n: 0 })
      if (this.replies.size > REPLY_LIMIT) this.pruneReplies()
    }
    return true
  }

  private remember(cache: Map<string, boolean>, max: number, subject: string, value: boolean): void {
    cache.set(subject, value)
    // Drop the oldest quarter at once so a stream of distinct subjects costs O(1) amortised.
    if (cache.size > max) {
      let drop = max >> 2
      for (const k of cache.keys()) {
        cache.delete(k)
        if (--drop <= 0) break
      }
    }
  }

  private pruneReplies(): void {
    const { maxMsgs, expiresMs } = this.response!
    const now = this.now()
    for (const [k, r] of this.replies) {
      if ((maxMsgs > 0 && r.n >= maxMsgs) || (expiresMs > 0 && now - r.at > expiresMs)) this.replies.delete(k)
    }
  }
}
