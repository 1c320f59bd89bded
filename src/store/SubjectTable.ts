/**
 * Interned subjects of one stream with their live message count and first/last sequence, maintained on every
 * append and removal so per-subject questions (counts, last-by-subject, max_msgs_per_subject) never scan the log.
 *
 * Ids are small integers stored in the `SeqIndex` (0 is reserved for "no message") and recycled once a subject
 * has no messages left. When a subject's first (last) message is removed the stored value becomes a bound and
 * `exact` is cleared; the log recomputes it lazily by scanning from the bound (see `BaseLog.firstOf`).
 */

export const FIRST_EXACT = 1
export const LAST_EXACT = 2

export class SubjectTable {
  private readonly ids = new Map<string, number>()
  readonly names: Array<string> = [""]
  readonly count: Array<number> = [0]
  readonly first: Array<number> = [0]
  readonly last: Array<number> = [0]
  readonly exact: Array<number> = [0]
  private free: Array<number> = []
  /** Subjects with at least one message. */
  size = 0

  idOf(name: string): number | undefined {
    return this.ids.get(name)
  }

  /** Records a new message (sequences arrive in increasing order). Returns the subject id. */
  add(name: string, seq: number): number {
    let id = this.ids.get(name)
    if (id === undefined) {
      id = this.free.length > 0 ? this.free.pop()! : this.names.length
      this.ids.set(name, id)
      this.names[id] = name
      this.count[id] = 1
      this.first[id] = seq
      this.last[id] = seq
      this.exact[id] = FIRST_EXACT | LAST_EXACT
      this.size++
      return id
    }
    if (this.count[id]! === 0) {
      this.first[id] = seq
      this.exact[id] = FIRST_EXACT | LAST_EXACT
      this.size++
    }
    this.count[id]!++
    this.last[id] = seq
    this.exact[id] = this.exact[id]! | LAST_EXACT
    return id
  }

  remove(id: number, seq: number): void {
    const c = this.count[id]! - 1
    this.count[id] = c
    if (c === 0) {
      this.ids.delete(this.names[id]!)
      this.names[id] = ""
      this.free.push(id)
      this.size--
      return
    }
    // The stored first/last stay as bounds for the lazy rescan.
    if (seq === this.first[id]) this.exact[id] = this.exact[id]! & ~FIRST_EXACT
    if (seq === this.last[id]) this.exact[id] = this.exact[id]! & ~LAST_EXACT
  }

  clear(): void {
    this.ids.clear()
    this.names.length = 1
    this.count.length = 1
    this.first.length = 1
    this.last.length = 1
    this.exact.length = 1
    this.free = []
    this.size = 0
  }

  /** Ids of subjects with messages, for whole-table walks. */
  *liveIds(): IterableIterator<number> {
    for (const id of this.ids.values()) yield id
  }
}
