/**
 * A stream that follows another one inside the broker: the mirror (`mirror { name, opt_start_seq,
 * opt_start_time, filter_subject }`). nats-server does this with an ephemeral push consumer on the
 * origin and a socket-free internal subscription; here the follower reads the origin's log directly
 * (as consumers do) and hands batches to its own stream's mailbox, so there is no hop and no
 * consumer visible on the origin.
 *
 * Position is the follower's own log: a mirror stores each message under the origin's sequence, so
 * after a restart it resumes at its last sequence + 1 (no gap, no duplicate) and sequences the
 * origin no longer has (deleted, expired, filtered out) become gaps in the mirror too. The origin
 * wakes the follower after every batch it stores; a 1 s tick stands in for nats-server's source
 * heartbeat (it keeps `active` fresh and notices an origin that appears or goes away).
 */
import { Effect, Latch } from "effect"
import { Buffer } from "node:buffer"
import { headerValue } from "../../protocol/Headers.ts"
import type { MessageLog } from "../../store/MessageLog.ts"
import { matches, toWire } from "../../subject/Subject.ts"
import { compileTransform, type SubjectTransform } from "../../subject/SubjectTransform.ts"
import { parseTime } from "../codec/GoTime.ts"
import { type ApiError, ApiErrors } from "../model/ApiError.ts"
import {
  type ExternalStream,
  indexName,
  sourceKey,
  type StreamConfig,
  type StreamSource
} from "../model/StreamConfig.ts"
import { ConsumerSource, type SourcingApi } from "./ConsumerSource.ts"
import type { FollowingStream, SourcedRecord } from "./FollowingStream.ts"

/** What the follower sees of the origin stream (the actor, structurally). */
export interface OriginStream {
  readonly config: StreamConfig
  readonly store: MessageLog
  /** Called after each batch the origin stored; the follower registers here while it follows. */
  readonly followers: Set<() => void>
}

/**
 * An `external` origin that cannot be reached (nats-server's consumer create request is not
 * answered, or its deliveries never arrive): no error, no contact, the follower keeps trying. With
 * `error`, the origin answered with one (its account has no JetStream).
 */
export interface OriginUnreachable {
  readonly _tag: "OriginUnreachable"
  readonly error: ApiError | undefined
}

/** What the follower asks for: the origin by name, in the account or domain `external` reaches. */
export interface OriginQuery {
  readonly name: string
  readonly external: ExternalStream | undefined
  readonly filter: string
  readonly kind: "mirror" | "source"
}

/** Finds an origin; undefined = no stream of that name where the query reaches (10059). */
export type OriginLookup = (q: OriginQuery) => OriginStream | OriginUnreachable | undefined

/** How many messages (and bytes) one hand-over carries at most: bounded memory, steady batches. */
const BATCH_MSGS = 2048
const BATCH_BYTES = 4 * 1024 * 1024
/** nats-server `dgetCaughtUpThresh`: a mirror this close to its origin serves its direct gets. */
const CAUGHT_UP = 10
/** nats-server's source heartbeat interval. */
const TICK_MS = 1000

export class MirrorFollower {
  readonly source: StreamSource
  /** "mirror": the origin's sequences; "source": new sequences, tagged with the origin's. */
  readonly mode: "mirror" | "source"
  /** Messages of the origin (matching the filter) not copied yet. */
  lag = 0
  /** When the origin was last reached (ms), for `active`; undefined = never. */
  private lastContact: number | undefined
  private error: ApiError | undefined
  /**
   * What is taken from the origin: one subject filter each (wire form), with the transform that
   * renames it (2.10 `subject_transforms`); one `>` or `filter_subject` entry without.
   */
  private readonly filters: ReadonlyArray<{ readonly filter: string; readonly transform: SubjectTransform | undefined }>
  private readonly wake = Latch.makeUnsafe(true)
  /** Wakes the follower now (the origin stored a batch, or a stream of the origin's name appeared). */
  readonly poke = () => void this.wake.openUnsafe()
  private following: OriginStream | undefined
  /** The highest origin sequence examined (non-matching ones included): scanning resumes after it. */
  private cursor: number | undefined

  /** The source's identity among the stream's sources (sourceKey), written in `Nats-Stream-Source`. */
  readonly key: string
  /**
   * The only source of its stream: its copies are tagged `<name> <seq>` as by nats-server 2.9.10,
   * and it resumes after the newest message from that stream whatever filters it had, so changing
   * them neither repeats nor skips messages. A stream sourced twice (2.10, other filters) tags and
   * resumes each source by its whole key instead, as nats-server does.
   */
  readonly soleOfName: boolean

  private readonly query: OriginQuery

  constructor(source: StreamSource, mode: "mirror" | "source" = "mirror", soleOfName = true) {
    this.source = source
    this.mode = mode
    this.query = { name: source.name, external: source.external, filter: source.filter_subject ?? "", kind: mode }
    this.key = sourceKey(source)
    this.soleOfName = soleOfName
    const trs = source.subject_transforms ?? []
    this.filters = trs.length > 0 ?
      trs.map((t) => {
        const filter = t.src === "" ? ">" : toWire(t.src)
        const c = t.dest === "" ? undefined : compileTransform(filter, toWire(t.dest), { allWildcards: false })
        // Validated on create/update; one that does not compile keeps the subject.
        return { filter, transform: c?.ok === true ? c.transform : undefined }
      }) :
      [{
        filter: source.filter_subject === undefined || source.filter_subject === "" ?
          ">" :
          toWire(source.filter_subject),
        transform: undefined
      }]
  }

  /** The first origin sequence at or after `seq` that one of the filters takes. */
  private nextMatching(store: MessageLog, seq: number): number | undefined {
    let best: number | undefined
    for (const f of this.filters) {
      if (f.filter === ">") return seq
      const n = store.firstSeqMatching(seq, f.filter)
      if (n !== undefined && (best === undefined || n < best)) best = n
    }
    return best
  }

  /** The subject a taken message is stored under (the first filter it matches renames it). */
  private renamed(subject: string): string {
    if (this.filters.length === 1 && this.filters[0]!.transform === undefined) return subject
    for (const f of this.filters) {
      if (f.filter === ">" || matches(f.filter, subject)) return f.transform?.apply(subject) ?? subject
    }
    return subject
  }

  /** Messages of the origin from `seq` on that the filters take (summed: 2.10 refuses overlaps). */
  private countFrom(store: MessageLog, seq: number): number {
    let n = 0
    for (const f of this.filters) n += store.countMatching(seq, f.filter)
    return n
  }

  /** nats-server `StreamSourceInfo`: name, lag, active (ns since last contact, -1 never), error. */
  info(nowMs: number): Record<string, unknown> {
    const ext = this.source.external
    const out: Record<string, unknown> = {
      name: this.source.name,
      ...(ext === undefined ? {} : { external: { api: ext.api, deliver: ext.deliver } }),
      lag: this.lag,
      active: this.lastContact === undefined ? -1 : Math.max(0, nowMs - this.lastContact) * 1_000_000
    }
    if (this.error !== undefined) {
      out.error = { code: this.error.code, err_code: this.error.err_code, description: this.error.description }
    }
    // 2.10's StreamSourceInfo adds the filter and the transforms, as configured.
    if (this.source.filter_subject !== undefined && this.source.filter_subject !== "") {
      out.filter_subject = this.source.filter_subject
    }
    const trs = this.source.subject_transforms ?? []
    if (trs.length > 0) out.subject_transforms = trs.map((t) => ({ src: t.src, dest: t.dest }))
    return out
  }

  /** Set once the origin turned out to be a WorkQueue / Interest stream (ConsumerSource.ts). */
  private viaConsumer: ConsumerSource | undefined

  /** The source left the stream's config: its durable consumer on the origin goes too. */
  removed(): void {
    this.viaConsumer?.deleteConsumer()
  }

  private readonly promoted = Latch.makeUnsafe(false)

  /**
   * 2.12 mirror promotion: an update removed the stream's `mirror`, so it is a normal stream from
   * now on (nats-server `update`: the mirror consumer is cancelled, and deleted on the origin). The
   * loop ends here rather than by its scope, which is the stream's own.
   */
  promote(): void {
    if (this.mode !== "mirror") return
    this.removed()
    this.lag = 0
    this.promoted.openUnsafe()
  }

  /** The follower's loop, forked in the mirror's scope: closing it stops following; a promotion ends it. */
  run(
    self: FollowingStream,
    lookup: OriginLookup,
    nowMs: () => number,
    sourcing?: SourcingApi
  ): Effect.Effect<never> {
    // Scoped here: the finalizers of an interrupted loop (its subscriptions) run then, not with the stream.
    return Effect.race(Effect.scoped(this.follower(self, lookup, nowMs, sourcing)), this.promoted.await).pipe(
      Effect.andThen(Effect.never)
    )
  }

  private follower(
    self: FollowingStream,
    lookup: OriginLookup,
    nowMs: () => number,
    sourcing?: SourcingApi
  ): Effect.Effect<never> {
    return Effect.gen({ self: this }, function*() {
      yield* Effect.addFinalizer(() => Effect.sync(() => this.follow(undefined)))
      // Durable sourcing: the user's consumer is the way in, whatever the origin's retention or account.
      if (sourcing !== undefined && this.source.consumer !== undefined) {
        this.viaConsumer = this.consumerSource(self, sourcing)
        return yield* this.viaConsumer.run(nowMs)
      }
      while (true) {
        yield* Effect.timeoutOption(this.wake.await, TICK_MS)
        this.wake.closeUnsafe()
        const found = lookup(this.query)
        const origin = found !== undefined && "_tag" in found ? undefined : found
        this.follow(origin)
        if (found !== undefined && "_tag" in found) {
          this.error = found.error
          continue
        }
        if (origin === undefined) {
          this.error = ApiErrors.streamNotFound()
          continue
        }
        if (sourcing !== undefined && this.source.external === undefined && origin.config.retention !== "limits") {
          this.follow(undefined)
          this.viaConsumer = this.consumerSource(self, sourcing)
          return yield* this.viaConsumer.run(nowMs)
        }
        this.error = undefined
        this.lastContact = nowMs()
        const batch = this.collect(self, origin)
        if (batch === undefined) continue
        const ok = yield* Effect.callback<boolean>((resume) => {
          const done = (ok: boolean) => resume(Effect.succeed(ok))
          const queued = this.mode === "source" ?
            self.ingestSourced(batch.records, done, this.soleOfName ? indexName(this.source) : this.key) :
            self.ingestSourced(batch.records, done)
          if (!queued) resume(Effect.succeed(false))
        })
        if (!ok) {
          // The mirror could not store (or take) the batch: start over from what it has.
          this.cursor = undefined
          this.error = ApiErrors.streamStoreFailed(`stream '${self.name}' could not store mirrored messages`)
          continue
        }
        this.cursor = batch.upTo
        this.lag = this.countFrom(origin.store, batch.upTo + 1)
        if (this.lag < CAUGHT_UP && this.mode === "mirror") self.mirrorCaughtUp()
        // More to copy: go again at once.
        if (this.lag > 0) this.wake.openUnsafe()
      }
    }) as Effect.Effect<never>
  }

  private consumerSource(self: FollowingStream, api: SourcingApi): ConsumerSource {
    const status = {
      get lag(): number {
        return follower.lag
      },
      set lag(n: number) {
        follower.lag = n
      },
      contact: (ms: number) => void (follower.lastContact = ms),
      failed: (e: ApiError | undefined) => void (follower.error = e)
    }
    const follower = this
    return new ConsumerSource({
      source: this.source,
      kind: this.mode,
      self,
      api,
      tag: this.mode === "mirror" ? undefined : this.soleOfName ? indexName(this.source) : this.key,
      rename: (s) => this.renamed(s),
      status,
      soleOfName: this.soleOfName,
      resumeAfter: () =>
        this.mode === "mirror" ? self.store.state().lastSeq : self.lastSourced(this.key, this.soleOfName) ?? 0
    })
  }

  /** Registers with the origin (and leaves the previous one, which may have been deleted and re-created). */
  private follow(origin: OriginStream | undefined): void {
    if (this.following === origin) return
    this.following?.followers.delete(this.poke)
    this.following = origin
    origin?.followers.add(this.poke)
  }

  /** Reads the next batch from the origin's log, or undefined when there is nothing new. */
  private collect(
    self: FollowingStream,
    origin: OriginStream
  ): { readonly records: Array<SourcedRecord>; readonly upTo: number } | undefined {
    const mine = self.store.state()
    const theirs = origin.store.state()
    let from: number
    // Nothing taken from this origin yet: where the config says to start.
    let fresh = false
    if (this.cursor !== undefined) from = this.cursor + 1
    else if (this.mode === "source") {
      const last = self.lastSourced(this.key, this.soleOfName)
      fresh = last === undefined
      from = last === undefined ? this.startSeq(origin) : last + 1
    } else {
      fresh = mine.lastSeq === 0
      from = fresh ? this.startSeq(origin) : mine.lastSeq + 1
    }
    from = Math.max(from, theirs.firstSeq)
    const records: Array<SourcedRecord> = []
    let bytes = 0
    let upTo = from - 1
    let seq = from
    while (records.length < BATCH_MSGS && bytes < BATCH_BYTES && seq <= theirs.lastSeq) {
      if (this.filters.length > 1 || this.filters[0]!.filter !== ">") {
        const next = this.nextMatching(origin.store, seq)
        if (next === undefined || next > theirs.lastSeq) {
          upTo = theirs.lastSeq
          break
        }
        seq = next
      }
      const m = origin.store.get(seq)
      if (m !== undefined) {
        // Copies: the origin's reads may be views into its shared read buffer.
        const subject = this.renamed(m.subject)
        records.push({
          seq,
          subject,
          ...(subject !== m.subject ? { originSubject: m.subject } : {}),
          hdr: m.hdr?.slice(),
          data: m.data.slice(),
          ts: m.ts
        })
        bytes += m.data.length + (m.hdr?.length ?? 0)
      }
      upTo = seq
      seq++
    }
    if (records.length === 0) {
      // Only gaps or non-matching messages so far: remember them, store nothing until a message comes.
      // A new mirror starting at a time keeps asking the origin where that time begins.
      const timed = fresh && this.source.opt_start_time !== undefined
      if (!timed) this.cursor = Math.max(this.cursor ?? 0, upTo)
      this.lag = 0
      return undefined
    }
    return { records, upTo }
  }

  /** Where a new mirror starts: `opt_start_seq`, else the first message at `opt_start_time`, else the origin's first. */
  private startSeq(origin: OriginStream): number {
    if (this.source.opt_start_seq !== undefined && this.source.opt_start_seq > 0) return this.source.opt_start_seq
    if (this.source.opt_start_time !== undefined) {
      const ns = parseTime(this.source.opt_start_time) ?? 0n
      return origin.store.firstSeqAtOrAfterTime(ns) ?? origin.store.state().lastSeq + 1
    }
    return 1
  }
}

export type { FollowingStream, SourcedRecord } from "./FollowingStream.ts"

const SOURCE_HEADER = "Nats-Stream-Source"

/** The source stream's name in a key (sourceKey). */
const keyName = (key: string): string => {
  const i = key.indexOf(" ")
  return i < 0 ? key : key.slice(0, i)
}

/**
 * The header block of a sourced message: its own headers without an earlier `Nats-Stream-Source`
 * (daisy chains keep only the last hop, as nats-server), plus `Nats-Stream-Source: <name> <seq>`,
 * followed for a filtering source by its filters and destinations (nats-server's field order).
 */
export const withSourceHeader = (hdr: Uint8Array | undefined, key: string, seq: number): Uint8Array => {
  const name = keyName(key)
  const rest = key.slice(name.length)
  const line = `${SOURCE_HEADER}: ${toWire(name)} ${seq}${toWire(rest)}\r\n`
  if (hdr === undefined || hdr.length <= 4) return Buffer.from(`NATS/1.0\r\n${line}\r\n`, "latin1")
  const text = Buffer.from(hdr.buffer, hdr.byteOffset, hdr.length).toString("latin1")
  const lines = text.slice(0, -2).split("\r\n").filter((l, i) => i === 0 || !/^nats-stream-source:/i.test(l))
  return Buffer.from(`${lines.join("\r\n")}${lines[lines.length - 1] === "" ? "" : "\r\n"}${line}\r\n`, "latin1")
}

/**
 * The origin sequence in a stored message's `Nats-Stream-Source` (`<name> <seq> [<filters> <dests>]`),
 * if it came from the source `key`, or with `byName` from any source of that key's stream. A tag
 * without filters matches by name either way: it was written while the stream was that stream's
 * only source, so a source resumes after it (and copies nothing twice) when a second one is added.
 */
export const sourcedSeq = (hdr: Uint8Array | undefined, key: string, byName = false): number | undefined => {
  if (hdr === undefined) return undefined
  const v = headerValue(hdr, SOURCE_HEADER)
  if (v === undefined) return undefined
  // Spaces only: filters are joined by form feeds, which a split on any whitespace would cut.
  const f = v.trim().split(" ")
  if ((f.length !== 2 && f.length < 4) || !/^\d+$/.test(f[1]!)) return undefined
  const wanted = toWire(key)
  const matched = byName || f.length === 2 ?
    f[0] === toWire(keyName(key)) :
    `${f[0]} ${f[2]} ${f[3]}` === wanted
  return matched ? Number(f[1]) : undefined
}

/** Whether a message's headers ask the stream to roll up (mirrored rollups apply in the mirror too). */
export const rollupOf = (hdr: Uint8Array | undefined): "sub" | "all" | undefined => {
  if (hdr === undefined) return undefined
  const r = headerValue(hdr, "Nats-Rollup")
  return r === "sub" || r === "all" ? r : undefined
}
