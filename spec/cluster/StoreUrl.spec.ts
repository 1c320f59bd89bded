/**
 * The cluster_store URL: libpq's multi-host form split into one node-postgres URL per host, the
 * single-host form left as it is, and every other form refused at config decode with the reason.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { parseStoreUrl } from "../../src/cluster/store/StoreUrl.ts"
import * as ConfigFile from "../../src/config/ConfigFile.ts"
import { configChecks } from "../support/ConfigText.ts"

const { ok, errors } = configChecks((text) =>
  ConfigFile.load("/etc/c.conf", {
    readFile: (f: string) => {
      if (f !== "/etc/c.conf") throw new Error(`ENOENT: no such file '${f}'`)
      return text
    },
    env: {}
  })
)
const store = (url: string) => `jetstream { cluster_store: ${JSON.stringify(url)} }`

describe("cluster_store URL", () => {
  it("a single-host URL is handed on unchanged", () => {
    expect(parseStoreUrl("postgres://u:p@h:5432/db?sslmode=disable")).toEqual({
      _tag: "Single",
      url: "postgres://u:p@h:5432/db?sslmode=disable"
    })
    expect(parseStoreUrl("postgresql://h/db")).toEqual({ _tag: "Single", url: "postgresql://h/db" })
  })

  it("a host list with target_session_attrs becomes one URL per host, in order, without the attribute", () => {
    expect(
      parseStoreUrl("postgres://ejs:s%40cret@a:5001,b,[::1]:5003/ejs?target_session_attrs=read-write&sslmode=disable")
    )
      .toEqual({
        _tag: "Primary",
        attrs: "read-write",
        hosts: [
          { host: "a", port: 5001, url: "postgres://ejs:s%40cret@a:5001/ejs?sslmode=disable" },
          // libpq's default port for a host without one.
          { host: "b", port: 5432, url: "postgres://ejs:s%40cret@b:5432/ejs?sslmode=disable" },
          { host: "[::1]", port: 5003, url: "postgres://ejs:s%40cret@[::1]:5003/ejs?sslmode=disable" }
        ]
      })
    expect(parseStoreUrl("postgres://h1:1,h2:2/d?target_session_attrs=primary")).toEqual({
      _tag: "Primary",
      attrs: "primary",
      hosts: [
        { host: "h1", port: 1, url: "postgres://h1:1/d" },
        { host: "h2", port: 2, url: "postgres://h2:2/d" }
      ]
    })
    // One host with the attribute: still checked for writability on every connect.
    expect(parseStoreUrl("postgres://u@h:7/d?target_session_attrs=read-write")).toMatchObject({
      _tag: "Primary",
      hosts: [{ host: "h", port: 7, url: "postgres://u@h:7/d" }]
    })
  })

  it("refuses host lists that cannot reach the writable server, and malformed hosts", () => {
    expect(parseStoreUrl("postgres://a,b/db")).toBe(
      "a cluster_store URL with several hosts needs target_session_attrs=read-write or primary " +
        "(every session must reach the server that accepts writes), got none"
    )
    for (const attr of ["any", "standby", "read-only", "prefer-standby", "READ-WRITE"]) {
      expect(parseStoreUrl(`postgres://a,b/db?target_session_attrs=${attr}`)).toContain(`got "${attr}"`)
    }
    expect(parseStoreUrl("postgres://a,b/db?target_session_attrs=primary&target_session_attrs=primary")).toContain(
      `got "primary", "primary"`
    )
    expect(parseStoreUrl("postgres://a:1,,b/db?target_session_attrs=primary")).toBe(
      `empty host in the host list of "postgres://a:1,,b/db?target_session_attrs=primary"`
    )
    expect(parseStoreUrl("postgres://a:0,b/db?target_session_attrs=primary")).toBe(
      `port "0" of "a:0" is not a port number (1-65535)`
    )
    expect(parseStoreUrl("postgres://a:65536,b/db?target_session_attrs=primary")).toContain(`port "65536"`)
    expect(parseStoreUrl("postgres://a:x,b/db?target_session_attrs=primary")).toContain(`port "x"`)
    expect(parseStoreUrl("postgres://a:1,a:1/db?target_session_attrs=primary")).toBe("host a:1 is listed twice")
    expect(parseStoreUrl("postgres://a,b/db?target_session_attrs=primary&port=5")).toBe(
      "the port parameter cannot be combined with a host list in the URL"
    )
    expect(parseStoreUrl("mysql://a/db")).toBe(`must be a postgres:// URL, got "mysql://a/db"`)
  })

  it("config decode: a multi-host URL is kept as written, a refused one is an error at its position", () => {
    const url = "postgres://ejs@127.0.0.1:5001,127.0.0.1:5002/ejs?target_session_attrs=read-write"
    const r = ok(store(url))
    expect(r._tag === "Success" ? r.config.clusterStore : undefined).toBe(url)
    expect(errors(store("postgres://a,b/db"))).toEqual([
      "/etc/c.conf:1:13: jetstream.cluster_store: a cluster_store URL with several hosts needs " +
      "target_session_attrs=read-write or primary (every session must reach the server that accepts writes), got none"
    ])
    expect(errors(store("postgres://a:1,b:99999/db?target_session_attrs=primary"))).toEqual([
      `/etc/c.conf:1:13: jetstream.cluster_store: port "99999" of "b:99999" is not a port number (1-65535)`
    ])
  })

  it("property: any host list round-trips, each URL naming its own host and port and the shared rest", () => {
    const host = fc.oneof(
      fc.stringMatching(/^[a-z][a-z0-9-]{0,10}(\.[a-z0-9]{1,5}){0,2}$/),
      fc.ipV4()
    )
    const entry = fc.record({ host, port: fc.integer({ min: 1, max: 65535 }) })
    fc.assert(
      fc.property(
        fc.uniqueArray(entry, { minLength: 1, maxLength: 5, selector: (e) => `${e.host}:${e.port}` }),
        fc.constantFrom("read-write", "primary"),
        fc.constantFrom("", "u@", "u:pw@"),
        (list, attrs, userinfo) => {
          const url = `postgres://${userinfo}${list.map((e) => `${e.host}:${e.port}`).join(",")}/db` +
            `?application_name=x&target_session_attrs=${attrs}`
          const parsed = parseStoreUrl(url)
          expect(parsed).toEqual({
            _tag: "Primary",
            attrs,
            hosts: list.map((e) => ({
              ...e,
              url: `postgres://${userinfo}${e.host}:${e.port}/db?application_name=x`
            }))
          })
        }
      )
    )
  })
})
