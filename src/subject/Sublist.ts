/**
 * Subscription trie with `*` / `>` wildcards, queue groups and a bounded match cache.
 *
 * Each level maps literal tokens to nodes and keeps the `*` and `>` children apart, so a match
 * walks at most three branches per token. Matching a literal subject is the hot path of every
 * publish, so results are cached per subject; an insert or remove drops only the cached subjects
 * its pattern could match.
 */
import { isValidSubject, matches } from "./Subject.ts"

export interface Subscribable {
  readonly subject: string
  readonly queue: string | undefined
}

/** Plain subscribers, and queue groups (deliver to one member of each group). */
export interface SublistResult<S> {
  readonly psubs: ReadonlyArray<S>
  readonly qsubs: ReadonlyArray<ReadonlyArray<S>>
}

interface Node<S> {
  next: Level<S> | undefined
  psubs: Set<S>
  qsubs: Map<string, Set<S>>
}

interface Level<S> {
  nodes: Map<string, Node<S>>
  pwc: Node<S> | undefined
  fwc: Node<S> | undefined
}

const newLevel = <S>(): Level<S> => ({ nodes: new Map(), pwc: undefined, fwc: undefined })
const newNode = <S>(): Node<S> => ({ next: undefined, psubs: new Set(), qsubs: new Map() })

const EMPTY: SublistResult<never> = { psubs: [], qsubs: [] }

export class Sublist<S extends Subscribable> {
  private readonly root: Level<S> = newLevel()
  /**
   * The match cache in two generations: when `cache` is full it becomes `older` and a new one starts; a hit in
   * `older` moves the subject back. Evicting the oldest entry one by one instead (a Map's first key) made every
   * lookup slower as deleted slots piled up: with a unique reply subject per request (every PubAck) the cache
   * churned on each publish and its lookups cost more than the trie walk they saved.
   */
  private cache = new Map<string, SublistResult<S>>()
  private older = new Map<string, SublistResult<S>>()
  private count = 0
  /** Counters for monitoring (/subsz), as nats-server's SublistStats. */
  readonly stats = { inserts: 0, removes: 0, matches: 0, cacheHits: 0 }

  private readonly cacheLimit: number

  constructor(cacheLimit = 1024) {
    this.cacheLimit = cacheLimit
  }

  get size(): number {
    return this.count
  }

  /** Returns false (and inserts nothing) when the subject is not a valid subscription subject. */
  insert(sub: S): boolean {
    if (!isValidSubject(sub.subject)) return false
    const tokens = sub.subject.split(".")
    let level = this.root
    let node: Node<S> | undefined
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!
      if (t === "*") node = level.pwc ??= newNode()
      else if (t === ">") node = level.fwc ??= newNode()
      else {
        node = level.nodes.get(t)
        if (node === undefined) {
          node = newNode()
          level.nodes.set(t, node)
        }
      }
      if (i < tokens.length - 1) level = node.next ??= newLevel()
    }
    const leaf = node!
    if (sub.queue === undefined) {
      if (leaf.psubs.has(sub)) return true
      leaf.psubs.add(sub)
    } else {
      let group = leaf.qsubs.get(sub.queue)
      if (group === undefined) {
        group = new Set()
        leaf.qsubs.set(sub.queue, group)
      }
      if (group.has(sub)) return true
      group.add(sub)
    }
    this.count++
    this.stats.inserts++
    this.invalidate(sub.subject)
    return true
  }

  /** Returns true when the subscription was present. Prunes empty nodes on the way back. */
  remove(sub: S): boolean {
    const tokens = sub.subject.split(".")
    const path: Array<[Level<S>, string, Node<S>]> = []
    let level: Level<S> | undefined = this.root
    let node: Node<S> | undefined
    for (let i = 0; i < tokens.length; i++) {
      if (level === undefined) return false
      const t = tokens[i]!
      node = t === "*" ? level.pwc : t === ">" ? level.fwc : level.nodes.get(t)
      if (node === undefined) return false
      path.push([level, t, node])
      level = node.next
    }
    const leaf = node!
    let removed: boolean
    if (sub.queue === undefined) {
      removed = leaf.psubs.delete(sub)
    } else {
      const group = leaf.qsubs.get(sub.queue)
      removed = group !== undefined && group.delete(sub)
      if (group !== undefined && group.size === 0) leaf.qsubs.delete(sub.queue)
    }
    if (!removed) return false
    this.count--
    this.stats.removes++
    for (let i = path.length - 1; i >= 0; i--) {
      const [lvl, t, n] = path[i]!
      const nextEmpty = n.next === undefined || isEmptyLevel(n.next)
      if (n.psubs.size > 0 || n.qsubs.size > 0 || !nextEmpty) break
      if (t === "*") lvl.pwc = undefined
      else if (t === ">") lvl.fwc = undefined
      else lvl.nodes.delete(t)
    }
    this.invalidate(sub.subject)
    return true
  }

  /** All subscriptions whose subject matches the literal `subject`. */
  match(subject: string): SublistResult<S> {
    this.stats.matches++
    // Ack subjects are unique per delivery: looking them up (hashing a long new string) always misses, and
    // caching them would only evict the hot subjects and churn the heap. (Inboxes are not: a push deliver
    // subject or a pull reply takes many messages.)
    const oneShot = isOneShot(subject)
    if (!oneShot) {
      let cached = this.cache.get(subject)
      if (cached === undefined && this.older.size > 0) {
        cached = this.older.get(subject)
        if (cached !== undefined) this.remember(subject, cached)
      }
      if (cached !== undefined) {
        this.stats.cacheHits++
        return cached
      }
    }
    const out: MatchOut<S> = { psubs: [], groups: undefined }
    matchLevel(this.root, subject, 0, out)
    const { groups, psubs } = out
    const result: SublistResult<S> = psubs.length === 0 && groups === undefined
      ? EMPTY
      : { psubs, qsubs: groups === undefined ? NO_GROUPS : Array.from(groups.values()) }
    if (!oneShot) this.remember(subject, result)
    return result
  }

  private remember(subject: string, result: SublistResult<S>): void {
    if (this.cache.size >= this.cacheLimit) {
      this.older = this.cache
      this.cache = new Map()
    }
    this.cache.set(subject, result)
  }

  /** Match-cache size and fan-out of cached results (nats-server's num_cache, max/avg_fanout). */
  cacheStats(): { readonly size: number; readonly maxFanout: number; readonly avgFanout: number } {
    let max = 0
    let total = 0
    let size = 0
    const count = (r: SublistResult<S>) => {
      const n = r.psubs.length + r.qsubs.length
      total += n
      size++
      if (n > max) max = n
    }
    for (const r of this.cache.values()) count(r)
    for (const [subject, r] of this.older) if (!this.cache.has(subject)) count(r)
    return { size, maxFanout: max, avgFanout: size === 0 ? 0 : total / size }
  }

  /** Every subscription, for monitoring and shutdown. */
  all(): Array<S> {
    const out: Array<S> = []
    collect(this.root, out)
    return out
  }

  private invalidate(pattern: string): void {
    for (const cache of [this.cache, this.older]) {
      if (cache.size === 0) continue
      for (const key of cache.keys()) {
        if (matches(pattern, key)) cache.delete(key)
      }
    }
  }
}

const isOneShot = (subject: string): boolean => subject.charCodeAt(0) === 36 /* $ */ && subject.startsWith("$JS.ACK.")

const isEmptyLevel = <S>(l: Level<S>): boolean => l.nodes.size === 0 && l.pwc === undefined && l.fwc === undefined

/** What a match collects; the queue-group map is made only when a queue subscriber matches (acks have none). */
interface MatchOut<S> {
  readonly psubs: Array<S>
  groups: Map<string, Array<S>> | undefined
}

const NO_GROUPS: ReadonlyArray<never> = []

const addNode = <S>(node: Node<S>, out: MatchOut<S>): void => {
  const psubs = out.psubs
  for (const s of node.psubs) psubs.push(s)
  if (node.qsubs.size === 0) return
  const groups = out.groups ??= new Map()
  for (const [name, members] of node.qsubs) {
    let g = groups.get(name)
    if (g === undefined) {
      g = []
      groups.set(name, g)
    }
    for (const s of members) g.push(s)
  }
}

/** Walks the trie along the tokens of `subject` from `start` (tokens are cut as needed, not split up front). */
const matchLevel = <S>(level: Level<S>, subject: string, start: number, out: MatchOut<S>): void => {
  const dot = subject.indexOf(".", start)
  const last = dot < 0
  if (level.fwc !== undefined) addNode(level.fwc, out)
  if (level.pwc !== undefined) {
    if (last) addNode(level.pwc, out)
    else if (level.pwc.next !== undefined) matchLevel(level.pwc.next, subject, dot + 1, out)
  }
  if (level.nodes.size === 0) return
  const node = level.nodes.get(last ? (start === 0 ? subject : subject.slice(start)) : subject.slice(start, dot))
  if (node !== undefined) {
    if (last) addNode(node, out)
    else if (node.next !== undefined) matchLevel(node.next, subject, dot + 1, out)
  }
}

const collect = <S>(level: Level<S>, out: Array<S>): void => {
  const visit = (n: Node<S>) => {
    for (const s of n.psubs) out.push(s)
    for (const g of n.qsubs.values()) for (const s of g) out.push(s)
    if (n.next !== undefined) collect(n.next, out)
  }
  for (const n of level.nodes.values()) visit(n)
  if (level.pwc !== undefined) visit(level.pwc)
  if (level.fwc !== undefined) visit(level.fwc)
}
