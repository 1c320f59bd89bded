/**
 * Reader for nats-server's configuration syntax (the `conf` format): text in, a tree of positioned
 * values out. It knows nothing about which keys mean what; `ConfigFile.ts` maps the tree onto
 * `BrokerConfig`.
 *
 * The accepted language follows nats-server 2.9.10 (`conf/lex.go`, `conf/parse.go`), including its
 * quirks, because operators move files between the two servers:
 * - `key = v`, `key: v` and `key v`; `;` or `,` may end a value; a top-level `{ ... }` is allowed.
 * - bare strings end at whitespace, newline, `;`, `,`, `]`, `}`; `true/false/yes/no/on/off` (any
 *   case) are booleans; `$name` is a variable; a bare value starting with a digit is a number only
 *   when it is one (`10s` and `500ms` stay strings, `1m` is the integer 1,000,000).
 * - integers take size suffixes: `k/m/g/t/p/e` are powers of 1000, `kb/ki/kib`... powers of 1024.
 * - `1.2.3.4[:port]` is a string, `2024-01-02T03:04:05Z` a date, `( ... \n)` a multi-line string.
 * - variables resolve against keys already defined in the enclosing blocks, then the environment
 *   (whose value is itself read as a config value); `include path` is relative to the including file
 *   and starts a fresh variable scope.
 *
 * Plain TypeScript, synchronous: it runs once before the broker starts. Syntax errors are thrown as
 * `ConfigSyntaxError` inside this module and returned as values by `parseFile`/`parseText`.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { type ConfigMap, ConfigSyntaxError, type ConfigValue, type Position } from "./ConfigValue.ts"

// The value tree lives in ConfigValue.ts; re-exported so this module stays the one entry point.
export {
  type ConfigEntry,
  type ConfigMap,
  ConfigSyntaxError,
  type ConfigValue,
  type Position,
  toJs
} from "./ConfigValue.ts"

export type ParseResult =
  | { readonly _tag: "Success"; readonly root: ConfigMap }
  | { readonly _tag: "Failure"; readonly error: ConfigSyntaxError }

export interface ParseOptions {
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly readFile?: (file: string) => string
}

const MAX_INCLUDE_DEPTH = 16
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

const EOF = ""
const isDigit = (c: string) => c >= "0" && c <= "9"
const isBlank = (c: string) => c === " " || c === "\t"
const isNL = (c: string) => c === "\n" || c === "\r"
const isSpace = (c: string) => c !== EOF && /\s/.test(c)
const isSeparator = (c: string) => c === "=" || c === ":"
const isSizeSuffix = (c: string) => "kmgtpeKMGTPE".includes(c) && c !== EOF
const BOOLS: Record<string, boolean> = { true: true, yes: true, on: true, false: false, no: false, off: false }

const SIZE_SUFFIX: Record<string, bigint> = { "": 1n }
for (const [i, letter] of ["k", "m", "g", "t", "p", "e"].entries()) {
  SIZE_SUFFIX[letter] = 1000n ** BigInt(i + 1)
  for (const bin of ["b", "i", "ib"]) SIZE_SUFFIX[letter + bin] = 1024n ** BigInt(i + 1)
}

/** Printable form of a character for error messages. */
const show = (c: string) => (c === EOF ? "EOF" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : c)

class Reader {
  readonly text: string
  readonly file: string
  readonly dir: string
  readonly options: ParseOptions
  readonly depth: number
  pos = 0
  line = 1
  lineStart = 0
  /** Open maps, innermost last: the scopes for `$variable` lookups. */
  readonly scopes: Array<ConfigMap> = []
  /** Keys being read, for error messages. */
  readonly keyPath: Array<string> = []

  constructor(text: string, file: string, options: ParseOptions, depth: number) {
    this.text = text
    this.file = file
    this.dir = path.dirname(file)
    this.options = options
    this.depth = depth
  }

  here(): Position {
    return { file: this.file, line: this.line, column: this.pos - this.lineStart + 1 }
  }
  peek(offset = 0): string {
    return this.text[this.pos + offset] ?? EOF
  }
  next(): string {
    const c = this.text[this.pos]
    if (c === undefined) return EOF
    this.pos++
    if (c === "\n") {
      this.line++
      this.lineStart = this.pos
    }
    return c
  }
  fail(message: string, pos: Position = this.here()): never {
    throw new ConfigSyntaxError(pos, message, this.keyPath.length > 0 ? this.keyPath.join(".") : undefined)
  }
  skipSpaces() {
    while (isSpace(this.peek())) this.next()
  }
  skipBlanks() {
    while (isBlank(this.peek())) this.next()
  }
  /** At `#` or `//`: consume the comment up to (not including) the end of line. */
  atComment(): boolean {
    return this.peek() === "#" || (this.peek() === "/" && this.peek(1) === "/")
  }
  skipComment() {
    while (this.peek() !== EOF && !isNL(this.peek())) this.next()
  }

  document(): ConfigMap {
    const root: ConfigMap = { _tag: "Map", entries: new Map(), pos: this.here() }
    this.scopes.push(root)
    for (;;) {
      this.skipSpaces()
      const c = this.peek()
      if (c === EOF) break
      if (c === "{") {
        // nats-server tolerates the whole file wrapped in braces.
        this.next()
        continue
      }
      if (this.atComment()) {
        this.skipComment()
        continue
      }
      if (c === "/") this.fail("unexpected '/' (comments start with # or //)")
      if (!this.entry(root, "top")) continue
      this.topValueEnd()
    }
    return root
  }

  topValueEnd() {
    this.skipBlanks()
    if (this.atComment()) return this.skipComment()
    const c = this.peek()
    if (c === EOF) return
    if (isNL(c) || c === ";" || c === "," || c === "}") {
      this.next()
      return
    }
    this.fail(`Expected a top-level value to end with a new line, comment or EOF, but got '${show(c)}' instead.`)
  }

  /**
   * One `key [sep] value` (or `include path`) into `into`. Returns false for a key at the end of
   * the input, which nats-server silently drops.
   */
  entry(into: ConfigMap, where: "top" | "map"): boolean {
    const keyPos = this.here()
    const c = this.peek()
    if (isSeparator(c)) this.fail(`Unexpected key separator '${c}'.`)
    let key: string
    let bare = false
    if (c === "\"" || c === "'") {
      this.next()
      const start = this.pos
      while (this.peek() !== c) {
        if (this.peek() === EOF) {
          this.fail(where === "top" ? "Unexpected EOF." : "Unexpected EOF processing quoted map key.")
        }
        this.next()
      }
      key = this.text.slice(start, this.pos)
      this.next()
    } else {
      bare = true
      const start = this.pos
      while (this.peek() !== EOF && !isSpace(this.peek()) && !isSeparator(this.peek())) this.next()
      key = this.text.slice(start, this.pos)
      if (where === "map" && this.peek() === EOF) this.fail("Unexpected EOF processing map key.")
    }
    if (bare && key.toLowerCase() === "include" && isSpace(this.peek())) {
      this.include(into)
      return true
    }
    this.keyPath.push(key)
    this.skipSpaces()
    if (where === "top" && this.peek() === EOF) {
      this.keyPath.pop()
      return false
    }
    const separated = isSeparator(this.peek())
    if (separated) this.next()
    if (where === "top") {
      this.skipBlanks()
      if (isNL(this.peek())) this.fail("Expected value but found new line")
    } else {
      this.skipSpaces()
      if (this.peek() === ",") this.fail("Unexpected map value terminator ','.")
      if (this.peek() === "}") this.fail(`key "${key}" has no value`)
      if (this.peek() === EOF) this.fail("Unexpected EOF processing map.")
    }
    const value = this.value()
    this.keyPath.pop()
    into.entries.set(key, { key, keyPos, value, usedAsVariable: false })
    return true
  }

  include(into: ConfigMap) {
    this.skipBlanks()
    const c = this.peek()
    const pos = this.here()
    let target: string
    if (c === "\"" || c === "'") {
      this.next()
      const start = this.pos
      while (this.peek() !== c) {
        if (this.peek() === EOF) this.fail("Unexpected EOF in quoted include")
        this.next()
      }
      target = this.text.slice(start, this.pos)
      this.next()
    } else {
      if (c === "[" || c === "{" || c === "(") this.fail(`Expected include value but found '${c}'`)
      if (isDigit(c) || c === "-") this.fail("Expected include value but found start of a number")
      if (c === "\\") this.fail("Expected include value but found escape sequence")
      if (isNL(c) || c === EOF) this.fail("Expected include value but found new line")
      const start = this.pos
      for (;;) {
        const d = this.peek()
        if (d === EOF || isNL(d) || d === ";" || d === "}" || isBlank(d) || d === "'") break
        this.next()
      }
      target = this.text.slice(start, this.pos)
      if (this.peek() === "'") this.next()
    }
    if (this.depth >= MAX_INCLUDE_DEPTH) this.fail(`include '${target}': includes nested too deeply (a cycle?)`, pos)
    const file = path.join(this.dir, target)
    let text: string
    try {
      text = (this.options.readFile ?? ((f) => fs.readFileSync(f, "utf8")))(file)
    } catch (e) {
      return this.fail(`error opening include file '${target}' (${file}): ${(e as Error).message}`, pos)
    }
    const inner = new Reader(text, file, this.options, this.depth + 1).document()
    for (const [k, e] of inner.entries) into.entries.set(k, e)
  }

  value(): ConfigValue {
    const pos = this.here()
    const c = this.peek()
    switch (c) {
      case "[":
        return this.array()
      case "{":
        return this.map()
      case "'": {
        this.next()
        const start = this.pos
        while (this.peek() !== "'") {
          if (this.peek() === EOF) this.fail("Unexpected EOF.")
          this.next()
        }
        const value = this.text.slice(start, this.pos)
        this.next()
        return { _tag: "String", value, pos }
      }
      case "\"":
        return this.quoted(pos)
      case "-":
        return this.negative(pos)
      case "(":
        return this.block(pos)
      case ".":
        return this.fail("Floats must start with a digit")
    }
    if (isDigit(c)) return this.numberLike(pos)
    if (isNL(c)) this.fail("Expected value but found new line")
    return this.bare(pos, "")
  }

  array(): ConfigValue {
    const pos = this.here()
    this.next()
    const items: Array<ConfigValue> = []
    for (;;) {
      this.skipSpaces()
      if (this.atComment()) {
        this.skipComment()
        continue
      }
      const c = this.peek()
      if (c === ",") this.fail("Unexpected array value terminator ','.")
      if (c === "]") {
        this.next()
        return { _tag: "Array", items, pos }
      }
      if (c === EOF) this.fail("Unexpected EOF processing array.")
      items.push(this.value())
      // After a value: blanks and comments, then `,` or a new line, or the end of the array.
      for (;;) {
        this.skipBlanks()
        if (this.atComment()) {
          this.skipComment()
          continue
        }
        const d = this.peek()
        if (d === "," || isNL(d)) {
          this.next()
          break
        }
        if (d === "]") break
        this.fail(`Expected an array value terminator ',' or an array terminator ']', but got '${show(d)}' instead.`)
      }
    }
  }

  map(): ConfigMap {
    const pos = this.here()
    this.next()
    const m: ConfigMap = { _tag: "Map", entries: new Map(), pos }
    this.scopes.push(m)
    for (;;) {
      this.skipSpaces()
      if (this.atComment()) {
        this.skipComment()
        continue
      }
      const c = this.peek()
      if (c === "}") {
        this.next()
        break
      }
      if (isSeparator(c)) this.fail(`Unexpected key separator '${c}'.`)
      if (c === "]") this.fail("Unexpected array end ']' processing map.")
      if (c === EOF) this.fail("Unexpected EOF processing map.")
      if (!this.entry(m, "map")) continue
      let ended = false
      while (!ended) {
        this.skipBlanks()
        if (this.atComment()) {
          this.skipComment()
          continue
        }
        const d = this.peek()
        if (d === ";" || d === "," || isNL(d)) {
          this.next()
          ended = true
        } else if (d === "}") {
          ended = true
        } else {
          this.fail(`Expected a map value terminator ',' or a map terminator '}', but got '${show(d)}' instead.`)
        }
      }
    }
    this.scopes.pop()
    return m
  }

  /** `\x41`, `\t`, `\n`, `\r`, `\"`, `\\` (after the backslash). */
  escape(): string {
    const c = this.next()
    switch (c) {
      case "t":
        return "\t"
      case "n":
        return "\n"
      case "r":
        return "\r"
      case "\"":
        return "\""
      case "\\":
        return "\\"
      case "x": {
        const hex = this.next() + this.next()
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail(`Expected two hexadecimal digits after '\\x', but got '${hex}'`)
        return String.fromCharCode(parseInt(hex, 16))
      }
    }
    return this.fail(
      `Invalid escape character '${show(c)}'. ` +
        `Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\", \\\\.`
    )
  }

  quoted(pos: Position): ConfigValue {
    this.next()
    let out = ""
    for (;;) {
      const c = this.next()
      if (c === "\"") return { _tag: "String", value: out, pos }
      if (c === EOF) this.fail("Unexpected EOF.")
      out += c === "\\" ? this.escape() : c
    }
  }

  /** An unquoted string; `prefix` is what a number-looking start already consumed. */
  bare(pos: Position, prefix: string): ConfigValue {
    let out = prefix
    let escaped = false
    for (;;) {
      const c = this.peek()
      if (c === "\\") {
        this.next()
        out += this.escape()
        escaped = true
        continue
      }
      if (c === EOF || isNL(c) || isBlank(c) || c === ";" || c === "," || c === "]" || c === "}") break
      if (c === "'") {
        // nats-server ends a bare string at a quote and drops the quote.
        this.next()
        return { _tag: "String", value: out, pos }
      }
      out += this.next()
    }
    if (!escaped && prefix === "") {
      const bool = BOOLS[out.toLowerCase()]
      if (bool !== undefined) return { _tag: "Bool", value: bool, pos }
      if (out.startsWith("$")) return this.variable(out.slice(1), pos)
    }
    return { _tag: "String", value: out, pos }
  }

  variable(name: string, pos: Position): ConfigValue {
    // bcrypt hashes (`$2a$11$...`) are passwords, not references.
    if (name.startsWith("2a$")) return { _tag: "String", value: "$" + name, pos }
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const found = this.scopes[i]!.entries.get(name)
      if (found !== undefined) {
        found.usedAsVariable = true
        return { ...found.value, pos }
      }
    }
    const env = (this.options.env ?? process.env)[name]
    if (env === undefined) this.fail(`variable reference for '${name}' on line ${pos.line} can not be found`, pos)
    const parsed = parseText(`pk=${env}`, `$${name} (environment)`, { ...this.options, env: {} })
    if (parsed._tag === "Failure") {
      const why = parsed.error.message
      return this.fail(`variable reference for '${name}' on line ${pos.line} could not be parsed: ${why}`, pos)
    }
    const v = parsed.root.entries.get("pk")
    if (v === undefined) return this.fail(`variable reference for '${name}' on line ${pos.line} can not be found`, pos)
    return { ...v.value, pos }
  }

  digits(): string {
    const start = this.pos
    while (isDigit(this.peek())) this.next()
    return this.text.slice(start, this.pos)
  }

  integer(raw: string, pos: Position): ConfigValue {
    const m = /^(-?\d+)([a-zA-Z]*)$/.exec(raw)!
    const n = BigInt(m[1]!)
    if (n < INT64_MIN || n > INT64_MAX) this.fail(`integer '${raw}' is out of the range`, pos)
    const mult = SIZE_SUFFIX[m[2]!.toLowerCase()]
    if (mult === undefined) this.fail(`invalid size suffix in '${raw}' (use k, kb, m, mb, g, gb, t, tb ...)`, pos)
    return { _tag: "Integer", value: Number(n * mult), raw, pos }
  }

  /** After digits and a k/m/g/t/p/e: any b/B/i/I, then an integer if the value ends here. */
  sizeSuffix(start: number, pos: Position, allowString: boolean): ConfigValue {
    this.next()
    while ("bBiI".includes(this.peek()) && this.peek() !== EOF) this.next()
    const c = this.peek()
    if (c === EOF || isNL(c) || isBlank(c) || c === "}" || c === ";" || c === "," || isDigit(c) || !allowString) {
      return this.integer(this.text.slice(start, this.pos), pos)
    }
    return this.bare(pos, this.text.slice(start, this.pos))
  }

  /** Digits then `.digits` (a float) and possibly more dots/colons (an address, kept as a string). */
  fraction(start: number, pos: Position): ConfigValue {
    this.next()
    if (!isDigit(this.peek())) {
      this.fail(`Floats must have a digit after the '.', but got '${show(this.peek())}' instead.`)
    }
    this.digits()
    if (this.peek() === ".") {
      while (isDigit(this.peek()) || this.peek() === "." || this.peek() === ":" || this.peek() === "-") this.next()
      return { _tag: "String", value: this.text.slice(start, this.pos), pos }
    }
    const raw = this.text.slice(start, this.pos)
    return { _tag: "Float", value: Number(raw), pos }
  }

  numberLike(pos: Position): ConfigValue {
    const start = this.pos
    const lead = this.digits()
    const c = this.peek()
    if (c === "-") {
      if (lead.length !== 4) this.fail("All ISO8601 dates must be in full Zulu form.")
      return this.date(start, pos)
    }
    if (c === ".") return this.fraction(start, pos)
    if (isSizeSuffix(c)) return this.sizeSuffix(start, pos, true)
    if (c === EOF || isNL(c) || isBlank(c) || c === "}" || c === ";" || c === ",") {
      return this.integer(lead, pos)
    }
    return this.bare(pos, lead)
  }

  negative(pos: Position): ConfigValue {
    const start = this.pos
    this.next()
    if (!isDigit(this.peek())) {
      if (this.peek() === ".") this.fail("Floats must start with a digit, not '.'.")
      this.fail(`Expected a digit but got '${show(this.peek())}'.`)
    }
    this.digits()
    const c = this.peek()
    if (c === ".") return this.fraction(start, pos)
    if (isSizeSuffix(c)) return this.sizeSuffix(start, pos, true)
    return this.integer(this.text.slice(start, this.pos), pos)
  }

  date(start: number, pos: Position): ConfigValue {
    for (const f of "-00-00T00:00:00Z") {
      const c = this.next()
      if (f === "0" ? !isDigit(c) : c !== f) {
        this.fail(`Expected ${f === "0" ? "digit" : `'${f}'`} in ISO8601 datetime, but found '${show(c)}' instead.`)
      }
    }
    const raw = this.text.slice(start, this.pos)
    const d = new Date(raw)
    if (Number.isNaN(d.getTime())) this.fail(`expected Zulu formatted DateTime, but got '${raw}'`, pos)
    return { _tag: "Datetime", value: d, pos }
  }

  /** `( ... )` where the closing `)` stands alone at the start of a line. */
  block(pos: Position): ConfigValue {
    this.next()
    const start = this.pos
    for (;;) {
      const c = this.next()
      if (c === EOF) this.fail("Unexpected EOF processing block.")
      if (c === ")" && this.text[this.pos - 2] === "\n" && (this.peek() === "\n" || this.peek() === EOF)) {
        return { _tag: "String", value: this.text.slice(start, this.pos - 2), pos }
      }
    }
  }
}

/** Reads configuration text; `file` names it in errors and anchors relative includes. */
export const parseText = (text: string, file: string, options: ParseOptions = {}, depth = 0): ParseResult => {
  try {
    return { _tag: "Success", root: new Reader(text, file, options, depth).document() }
  } catch (e) {
    if (e instanceof ConfigSyntaxError) return { _tag: "Failure", error: e }
    throw e
  }
}

export const parseFile = (file: string, options: ParseOptions = {}): ParseResult => {
  let text: string
  try {
    text = (options.readFile ?? ((f) => fs.readFileSync(f, "utf8")))(file)
  } catch (e) {
    return {
      _tag: "Failure",
      error: new ConfigSyntaxError({ file, line: 0, column: 0 }, `error opening config file: ${(e as Error).message}`)
    }
  }
  return parseText(text, file, options)
}
