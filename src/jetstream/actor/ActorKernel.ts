/**
 * The mailbox and supervision loop shared by stream and consumer actors.
 *
 * An actor owns its state and changes it only inside `step`, which receives everything queued since
 * the last batch (one Effect per batch, never per message). Commands are the actor's own tagged
 * union; `call` adds a `Call` command that runs a function inside the actor, ordered with the other
 * commands, and completes a Deferred with its result or its typed failure.
 *
 * Supervision: a defect in a batch is logged, `recover` rebuilds the actor's view of its state, and
 * the loop goes on. A defect that keeps coming back (more than `maxRestarts` within `window`) is
 * persistent: the actor stops taking commands, is reported once as failed, and every later offer or
 * call is refused, so a broken actor is visible instead of restarting in a loop.
 */
import { Cause, Deferred, Duration, Effect, Queue, type Scope } from "effect"
import { flushSoon } from "../../core/Outbound.ts"

/** Runs a function inside the actor; built by `call`. */
export interface Call<Self> {
  readonly _tag: "Call"
  readonly run: (self: Self) => void
  /** Completes the caller with the "unavailable" error when the actor fails before running it. */
  readonly refuse: () => void
}

export interface KernelOptions {
  /** For log lines: `stream 'ORDERS'`, `consumer 'ORDERS > billing'`. */
  readonly label: string
  readonly capacity: number
  readonly maxRestarts?: number
  readonly window?: Duration.Input
  readonly logError: (line: string) => void
}

export type KernelState = "running" | "failed" | "stopped"

export class ActorKernel<Cmd extends { readonly _tag: string }, Self> {
  private readonly mailbox: Queue.Queue<Cmd | Call<Self>>
  private readonly options: KernelOptions
  private status: KernelState = "running"
  /** The last persistent failure, for info and health reports. */
  failure: string | undefined

  private constructor(mailbox: Queue.Queue<Cmd | Call<Self>>, options: KernelOptions) {
    this.mailbox = mailbox
    this.options = options
  }

  static make = <Cmd extends { readonly _tag: string }, Self>(
    options: KernelOptions
  ): Effect.Effect<ActorKernel<Cmd, Self>> =>
    Effect.map(Queue.bounded<Cmd | Call<Self>>(options.capacity), (q) => new ActorKernel<Cmd, Self>(q, options))

  get state(): KernelState {
    return this.status
  }

  /** Commands waiting to be processed. */
  get backlog(): number {
    return Queue.sizeUnsafe(this.mailbox)
  }

  /** Queues a command; false when the mailbox is full or the actor no longer runs. */
  offer(cmd: Cmd | Call<Self>): boolean {
    return this.status === "running" && Queue.offerUnsafe(this.mailbox, cmd)
  }

  /**
   * Runs `f` inside the actor and returns its result. A thrown value becomes `onThrow(e)`; a full
   * mailbox or a stopped actor gives `unavailable()` at once.
   */
  call<A, E>(f: (self: Self) => A, onThrow: (e: unknown) => E, unavailable: () => E): Effect.Effect<A, E> {
    return Effect.suspend(() => {
      const done = Deferred.makeUnsafe<A, E>()
      const queued = this.offer({
        _tag: "Call",
        run: (self) => {
          let result: A
          try {
            result = f(self)
          } catch (e) {
            Deferred.doneUnsafe(done, Effect.fail(onThrow(e)))
            return
          }
          Deferred.doneUnsafe(done, Effect.succeed(result))
        },
        refuse: () => Deferred.doneUnsafe(done, Effect.fail(unavailable()))
      })
      return queued ? Deferred.await(done) : Effect.fail(unavailable())
    })
  }

  /**
   * Forks the supervised loop into the current scope. `recover` runs after a defect, before the
   * next batch; closing the scope interrupts the loop.
   */
  start(
    step: (batch: ReadonlyArray<Cmd | Call<Self>>) => Effect.Effect<void>,
    /** Runs after a defect with the batch it interrupted (its calls are refused by the kernel). */
    recover: (batch: ReadonlyArray<Cmd | Call<Self>>) => void,
    /** Answers a command that will never run because the actor failed (e.g. a publish's error reply). */
    refused: (cmd: Cmd) => void = () => {}
  ): Effect.Effect<void, never, Scope.Scope> {
    const maxRestarts = this.options.maxRestarts ?? 5
    const windowMs = Duration.toMillis(this.options.window ?? "10 seconds")
    const restarts: Array<number> = []
    const self = this
    // Callers resume synchronously when their Deferred completes, so the actor's own state (status,
    // recovery) is settled before any refusal is sent.
    const refuseCalls = (cmds: ReadonlyArray<Cmd | Call<Self>>) => {
      for (const cmd of cmds) if (cmd._tag === "Call") (cmd as Call<Self>).refuse()
    }
    const loop: Effect.Effect<void> = Effect.gen(function*() {
      while (true) {
        const batch = yield* Queue.takeAll(self.mailbox)
        const exit = yield* Effect.exit(step(batch))
        flushSoon()
        if (exit._tag === "Success") continue
        if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.failCause(exit.cause)
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        while (restarts.length > 0 && now - restarts[0]! > windowMs) restarts.shift()
        restarts.push(now)
        const reason = Cause.pretty(exit.cause)
        if (restarts.length > maxRestarts) {
          self.status = "failed"
          self.failure = reason
          self.options.logError(
            `JetStream ${self.options.label} failed ${restarts.length} times within ${windowMs} ms and is stopped: ${reason}`
          )
          recover(batch)
          const queued = yield* Queue.clear(self.mailbox)
          // A call of the interrupted batch that already ran keeps its answer (a Deferred completes once).
          for (const cmd of queued) if (cmd._tag !== "Call") refused(cmd as Cmd)
          refuseCalls(batch)
          refuseCalls(queued)
          return
        }
        self.options.logError(`JetStream ${self.options.label} failed, recovering: ${reason}`)
        recover(batch)
        refuseCalls(batch)
      }
    })
    return Effect.asVoid(Effect.forkScoped(Effect.ensuring(loop, Effect.sync(() => this.markStopped()))))
  }

  /** Stops accepting commands (the owner is being removed). */
  stop(): void {
    if (this.status === "running") this.status = "stopped"
  }

  private markStopped(): void {
    if (this.status === "running") this.status = "stopped"
  }
}
