/**
 * The tree the config reader (ConfigLexer.ts) produces: values with the position they were read
 * at, so that ConfigFile.ts can report problems as `file:line:col` like nats-server, and the
 * syntax error type carrying such a position.
 */
export interface Position {
  readonly file: string
  readonly line: number
  readonly column: number
}

export type ConfigValue =
  | { readonly _tag: "String"; readonly value: string; readonly pos: Position }
  | { readonly _tag: "Integer"; readonly value: number; readonly raw: string; readonly pos: Position }
  | { readonly _tag: "Float"; readonly value: number; readonly pos: Position }
  | { readonly _tag: "Bool"; readonly value: boolean; readonly pos: Position }
  | { readonly _tag: "Datetime"; readonly value: Date; readonly pos: Position }
  | { readonly _tag: "Array"; readonly items: ReadonlyArray<ConfigValue>; readonly pos: Position }
  | ConfigMap

export interface ConfigMap {
  readonly _tag: "Map"
  readonly entries: Map<string, ConfigEntry>
  readonly pos: Position
}

export interface ConfigEntry {
  readonly key: string
  readonly keyPos: Position
  readonly value: ConfigValue
  /** Referenced as `$key` somewhere; nats-server then does not report it as an unknown field. */
  usedAsVariable: boolean
}

export class ConfigSyntaxError extends Error {
  readonly pos: Position
  readonly key: string | undefined
  constructor(pos: Position, message: string, key?: string) {
    super(message)
    this.name = "ConfigSyntaxError"
    this.pos = pos
    this.key = key
  }
  /** `file:line:col: message (key "a.b")` */
  render(): string {
    const where = `${this.pos.file}:${this.pos.line}:${this.pos.column}`
    return this.key === undefined ? `${where}: ${this.message}` : `${where}: ${this.message} (at key "${this.key}")`
  }
}

/** Plain JS view of a value (tests, debugging). */
export const toJs = (v: ConfigValue): unknown => {
  switch (v._tag) {
    case "Array":
      return v.items.map(toJs)
    case "Map":
      return Object.fromEntries([...v.entries].map(([k, e]) => [k, toJs(e.value)]))
    default:
      return v.value
  }
}

/** Go's `%T` of a decoded config value, as nats-server prints it in type errors. */
export const goType = (v: ConfigValue): string => {
  switch (v._tag) {
    case "String":
      return "string"
    case "Integer":
      return "int64"
    case "Float":
      return "float64"
    case "Bool":
      return "bool"
    case "Datetime":
      return "time.Time"
    case "Array":
      return "[]interface {}"
    case "Map":
      return "map[string]interface {}"
  }
}
