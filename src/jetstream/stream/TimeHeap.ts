/**
 * A binary min-heap of entries by their time `at` (ns): the timers of per-message TTLs and of
 * message schedules. Entries that went stale (removed or replaced elsewhere) stay until they come
 * up; their owners drop them then.
 */
export class TimeHeap<E extends { readonly at: bigint }> {
  private readonly items: Array<E> = []

  get size(): number {
    return this.items.length
  }

  peek(): E | undefined {
    return this.items[0]
  }

  push(e: E): void {
    const a = this.items
    let i = a.push(e) - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (a[p]!.at <= e.at) break
      a[i] = a[p]!
      i = p
    }
    a[i] = e
  }

  pop(): E | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (top === undefined || last === undefined || a.length === 0) return top
    let i = 0
    while (true) {
      const l = 2 * i + 1
      if (l >= a.length) break
      const r = l + 1
      const c = r < a.length && a[r]!.at < a[l]!.at ? r : l
      if (a[c]!.at >= last.at) break
      a[i] = a[c]!
      i = c
    }
    a[i] = last
    return top
  }

  clear(): void {
    this.items.length = 0
  }
}
