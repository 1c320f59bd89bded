/**
 * DIRECT.GET's two request forms, decoded strictly (`JSApiMsgGetRequest` of nats-server 2.11, with
 * the batch fields of ADR-31's revision). A refusal is the status line nats-server answers with,
 * never an API error: direct gets reply with a bare header block.
 *
 * - `$JS.API.DIRECT.GET.<stream>`: a JSON body naming the message(s).
 * - `$JS.API.DIRECT.GET.<stream>.<subject>`: the last message on `<subject>`; the body may be empty
 *   or JSON, but may not name a target of its own (only `max_bytes`, which a single reply ignores).
 *
 * `no_hdr` (2.12, ADR-52): a single message or a batch is sent as its payload alone, without the
 * stored headers or ours (`multi_last` answers ignore it, as nats-server's getDirectMulti does).
 */
import { decodeStruct } from "./Requests.ts"

const DIRECT_GET = {
  seq: "uint64",
  last_by_subj: "string",
  next_by_subj: "string",
  batch: "int",
  max_bytes: "int",
  start_time: "time",
  multi_last: "strings",
  up_to_seq: "uint64",
  up_to_time: "time",
  no_hdr: "bool"
} as const

export interface DirectGetRequest {
  readonly seq: bigint
  readonly last_by_subj: string
  readonly next_by_subj: string
  /** Go `int`: 0 is a single get; a negative batch is a batch of none (nats-server loops `i < batch`). */
  readonly batch: bigint
  /** Go `int`: 0 means the server's max_pending; a negative limit stops after the first message. */
  readonly max_bytes: bigint
  /** Unix ns, or undefined when absent / null. */
  readonly start_time: bigint | undefined
  readonly multi_last: ReadonlyArray<string>
  readonly up_to_seq: bigint
  readonly up_to_time: bigint | undefined
  readonly no_hdr: boolean
}

export type DirectGetDecoded = DirectGetRequest | { readonly status: string }

const EMPTY = { status: "408 Empty Request" } as const
const MALFORMED = { status: "408 Malformed Request" } as const
const BAD = { status: "408 Bad Request" } as const

/** The JSON form: "Empty Request" for no body or no target, "Bad Request" for conflicting targets. */
export const directGetRequest = (body: Uint8Array): DirectGetDecoded => {
  if (body.length === 0) return EMPTY
  const r = decodeStruct(body, DIRECT_GET)
  if (!r.ok) return MALFORMED
  const q = r.value
  const multi = q.multi_last.length > 0
  const hasStart = q.start_time !== undefined
  if (q.seq === 0n && q.last_by_subj === "" && q.next_by_subj === "" && !multi && !hasStart) return EMPTY
  const last = q.last_by_subj !== ""
  if (
    (q.seq > 0n && last) || (q.seq > 0n && hasStart) || (hasStart && last) || (last && q.next_by_subj !== "") ||
    (last && q.batch > 0n) || (last && multi) || (q.next_by_subj !== "" && multi) ||
    (q.up_to_seq > 0n && q.up_to_time !== undefined)
  ) return BAD
  return q
}

/** The subject form: `key` is the subject after the stream name ("" when there is none). */
export const directGetBySubjectRequest = (body: Uint8Array, key: string): DirectGetDecoded => {
  let q: DirectGetRequest | undefined
  if (body.length > 0) {
    const r = decodeStruct(body, DIRECT_GET)
    if (!r.ok) return MALFORMED
    q = r.value
  }
  if (key === "") return BAD
  if (q === undefined) return { ...NONE, last_by_subj: key }
  if (
    q.last_by_subj !== "" || q.next_by_subj !== "" || q.multi_last.length > 0 || q.seq !== 0n || q.batch !== 0n ||
    q.start_time !== undefined || q.up_to_seq !== 0n || q.up_to_time !== undefined
  ) return BAD
  return { ...q, last_by_subj: key }
}

const NONE: DirectGetRequest = {
  seq: 0n,
  last_by_subj: "",
  next_by_subj: "",
  batch: 0n,
  max_bytes: 0n,
  start_time: undefined,
  multi_last: [],
  up_to_seq: 0n,
  up_to_time: undefined,
  no_hdr: false
}
