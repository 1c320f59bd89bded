/**
 * The scheduler the broker's fibers run on: one task queue for all of them, drained until it is quiet.
 *
 * Effect's default gives every fiber its own dispatcher, and a task scheduled while the dispatchers run (a
 * stream actor waking a consumer actor, a consumer acking back to its stream) waits for a new setImmediate:
 * the next turn of the event loop, after its poll phase. One hop between actors then cost a loop turn, and
 * a reply written at the end of the first actor's batch could reach the client, and the client's next
 * command (an UNSUB after its PubAck) could be read, before the second actor had run: nats.c's "drain does
 * not delete consumer" saw its push message lost that way, where nats-server's consumer goroutine runs at
 * once. Here the tasks the running ones schedule run in the same turn, so everything that one read sets off
 * leaves in one write per connection (the actors' flushSoon runs after the whole drain). A fiber that keeps
 * rescheduling itself gets a bounded number of rounds, then the next turn, so I/O is never starved.
 */
import { Layer, Scheduler } from "effect"
import { clearImmediate, setImmediate } from "node:timers"

/** Rounds of newly scheduled tasks run in one turn before the rest waits for the next one. */
const ROUNDS_PER_TURN = 16

type Bucket = [priority: number, tasks: Array<() => void>]

class Dispatcher implements Scheduler.SchedulerDispatcher {
  /** Ascending by priority (lower first), as Effect's own dispatcher orders them. */
  private buckets: Array<Bucket> = []
  private scheduled: ReturnType<typeof setImmediate> | undefined = undefined
  private draining = false

  scheduleTask(task: () => void, priority: number): void {
    const buckets = this.buckets
    let i = 0
    while (i < buckets.length && buckets[i]![0] < priority) i++
    if (i < buckets.length && buckets[i]![0] === priority) buckets[i]![1].push(task)
    else buckets.splice(i, 0, [priority, [task]])
    if (!this.draining && this.scheduled === undefined) this.scheduled = setImmediate(this.turn)
  }

  flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled)
      this.scheduled = undefined
    }
    while (this.buckets.length > 0) this.runRound()
  }

  private readonly turn = (): void => {
    this.scheduled = undefined
    this.draining = true
    try {
      for (let round = 0; round < ROUNDS_PER_TURN && this.buckets.length > 0; round++) this.runRound()
    } finally {
      this.draining = false
      if (this.buckets.length > 0 && this.scheduled === undefined) this.scheduled = setImmediate(this.turn)
    }
  }

  private runRound(): void {
    const buckets = this.buckets
    this.buckets = []
    for (const [, tasks] of buckets) for (const task of tasks) task()
  }
}

class SharedScheduler implements Scheduler.Scheduler {
  readonly executionMode = "async" as const
  private readonly base = new Scheduler.MixedScheduler()
  private readonly dispatcher = new Dispatcher()

  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]): boolean {
    return this.base.shouldYield(fiber)
  }

  makeDispatcher(): Scheduler.SchedulerDispatcher {
    return this.dispatcher
  }
}

/** One per process: brokers embedded side by side share the loop anyway. */
export const brokerScheduler: Scheduler.Scheduler = new SharedScheduler()

/** Provides the broker's scheduler to everything built on top (every fiber the broker forks inherits it). */
export const layer: Layer.Layer<never> = Layer.succeed(Scheduler.Scheduler)(brokerScheduler)
