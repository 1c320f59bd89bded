/**
 * Request bodies of the system account's monitoring services (`$SYS.REQ.SERVER.PING.CONNZ`, ...):
 * nats-server's `*EventOptions` structs, each the endpoint's options plus the `EventFilterOptions`
 * that pick which servers answer (events.go). Decoded once, strictly, before anything is computed.
 *
 * Go's `json.Unmarshal` semantics (case-insensitive keys, `null` keeps the zero value, wrong JSON
 * type = unmarshal type error) with one deliberate difference: nats-server ignores a key its struct
 * lacks; we refuse it (`json: unknown field "x"`), as we refuse options we do not implement.
 */
import {
  decodeBool,
  decodeInt,
  decodeString,
  decodeStrings,
  foldKey,
  goQuote,
  INT64_MAX,
  INT64_MIN,
  ObjectLiteral,
  parseLiterals,
  TypeMismatch,
  UINT64_MAX
} from "../jetstream/codec/GoJson.ts"
import { decodeUtf8 } from "../jetstream/codec/Json.ts"

/** `EventFilterOptions`: a server answers only when it matches every filter given. */
export interface EventFilter {
  readonly server_name: string
  readonly cluster: string
  readonly host: string
  readonly tags: ReadonlyArray<string>
  readonly domain: string
}

type FieldType = "bool" | "int" | "uint64" | "string" | "strings"

const GO_TYPES: Record<FieldType, string> = {
  bool: "bool",
  int: "int",
  uint64: "uint64",
  string: "string",
  strings: "[]string"
}

const FILTER = { server_name: "string", cluster: "string", host: "string", tags: "strings", domain: "string" } as const

/** The options of each service, by the subject's last token (JSON keys as nats-server's tags). */
export const SERVICE_FIELDS = {
  STATSZ: {},
  VARZ: {},
  CONNZ: {
    sort: "string",
    auth: "bool",
    subscriptions: "bool",
    subscriptions_detail: "bool",
    offset: "int",
    limit: "int",
    cid: "uint64",
    state: "int",
    user: "string",
    acc: "string",
    filter_subject: "string",
    mqtt_client: "string"
  },
  SUBSZ: { offset: "int", limit: "int", subscriptions: "bool", account: "string", test: "string" },
  JSZ: {
    account: "string",
    accounts: "bool",
    streams: "bool",
    consumer: "bool",
    config: "bool",
    leader_only: "bool",
    offset: "int",
    limit: "int"
  },
  // 2.10 HealthzOptions: the deprecated `js-enabled`, and the asset checks.
  HEALTHZ: {
    "js-enabled": "bool",
    "js-enabled-only": "bool",
    "js-server-only": "bool",
    account: "string",
    stream: "string",
    consumer: "string",
    details: "bool"
  },
  ACCOUNTZ: { account: "string" },
  ROUTEZ: { subscriptions: "bool", subscriptions_detail: "bool" },
  INFO: {}
} as const satisfies Record<string, Record<string, FieldType>>

export type ServiceName = keyof typeof SERVICE_FIELDS

type Value<T extends FieldType> = T extends "bool" ? boolean
  : T extends "string" ? string
  : T extends "strings" ? ReadonlyArray<string>
  : number

export type OptionsOf<S extends ServiceName> = {
  readonly [K in keyof (typeof SERVICE_FIELDS)[S]]: Value<
    (typeof SERVICE_FIELDS)[S][K] & FieldType
  >
}

/** Go's struct names, for its error texts (`... into Go struct field ConnzEventOptions.auth ...`). */
const STRUCT_NAMES: Record<ServiceName, string> = {
  STATSZ: "StatszEventOptions",
  VARZ: "VarzEventOptions",
  CONNZ: "ConnzEventOptions",
  SUBSZ: "SubszEventOptions",
  JSZ: "JszEventOptions",
  HEALTHZ: "HealthzEventOptions",
  ACCOUNTZ: "AccountzEventOptions",
  ROUTEZ: "RoutezEventOptions",
  INFO: "AccInfoEventOptions"
}

export type Decoded<S extends ServiceName> =
  | { readonly ok: true; readonly filter: EventFilter; readonly options: OptionsOf<S> }
  | { readonly ok: false; readonly error: string }

const zero = (t: FieldType): unknown => (t === "bool" ? false : t === "string" ? "" : t === "strings" ? [] : 0)

const decodeField = (t: FieldType, v: unknown, key: string): unknown => {
  switch (t) {
    case "bool":
      return decodeBool(v, key)
    case "string":
      return decodeString(v, key)
    case "strings":
      return decodeStrings(v, key) ?? []
    case "int": {
      const n = decodeInt(v, key, INT64_MIN, INT64_MAX)
      return n === undefined ? undefined : Number(n)
    }
    case "uint64": {
      const n = decodeInt(v, key, 0n, UINT64_MAX)
      return n === undefined ? undefined : Number(n)
    }
  }
}

/**
 * Decodes a request body for `service`. An empty body is all zero values (nats-server skips the
 * unmarshal then); so is `null`.
 */
export const decodeEventOptions = <S extends ServiceName>(service: S, body: Uint8Array): Decoded<S> => {
  const fields: Record<string, FieldType> = { ...SERVICE_FIELDS[service], ...FILTER }
  const out: Record<string, unknown> = {}
  for (const [k, t] of Object.entries(fields)) out[k] = zero(t)
  const split = () => {
    const filter: Record<string, unknown> = {}
    const options: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(out)) (k in FILTER ? filter : options)[k] = v
    return { ok: true, filter: filter as unknown as EventFilter, options: options as OptionsOf<S> } as const
  }
  if (body.length === 0) return split()
  const parsed = parseLiterals(decodeUtf8(body))
  if (!parsed.ok) return { ok: false, error: "invalid character in request body (not JSON)" }
  if (parsed.value === null) return split()
  if (!(parsed.value instanceof ObjectLiteral)) {
    return {
      ok: false,
      error: `json: cannot unmarshal ${jsonKind(parsed.value)} into Go value of type server.${STRUCT_NAMES[service]}`
    }
  }
  const names = Object.keys(fields)
  for (const [key, v] of parsed.value.entries) {
    const name = names.find((n) => n === key) ?? names.find((n) => foldKey(n) === foldKey(key))
    if (name === undefined) return { ok: false, error: `json: unknown field ${goQuote(key)}` }
    try {
      const d = decodeField(fields[name]!, v, name)
      if (d !== undefined) out[name] = d
    } catch (e) {
      if (!(e instanceof TypeMismatch)) throw e
      return {
        ok: false,
        error: `json: cannot unmarshal ${e.value} into Go struct field ${STRUCT_NAMES[service]}.${name} of type ${
          GO_TYPES[fields[name]!]
        }`
      }
    }
  }
  return split()
}

const jsonKind = (v: unknown): string =>
  typeof v === "string" ? "string" : typeof v === "boolean" ? "bool" : Array.isArray(v) ? "array" : "number"

/** What a server is, for the filters (nats-server filterRequest: substring matches, tags all present). */
export interface FilterTarget {
  readonly name: string
  readonly host: string
  readonly cluster: string
  readonly tags: ReadonlyArray<string>
  readonly domain: string
}

/** True when this server should stay silent (nats-server filterRequest). */
export const filteredOut = (f: EventFilter, s: FilterTarget): boolean =>
  (f.server_name !== "" && !s.name.includes(f.server_name)) ||
  (f.host !== "" && !s.host.includes(f.host)) ||
  (f.cluster !== "" && !s.cluster.includes(f.cluster)) ||
  f.tags.some((t) => !s.tags.some((x) => x.toLowerCase() === t.toLowerCase())) ||
  (f.domain !== "" && s.domain !== f.domain)
