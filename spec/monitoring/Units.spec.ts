/**
 * The pure parts of monitoring: health decisions (including the recovering state a live test cannot
 * hold still), Go formatting, and the ports file's host list.
 */
import { describe, expect, it } from "vitest"
import { encodeIndent, uptime } from "../../src/monitoring/GoFormat.ts"
import { healthz, parseHealthzQuery } from "../../src/monitoring/Healthz.ts"
import { hostPorts, portsFileName } from "../../src/monitoring/PortsFile.ts"

const opts = { jsEnabledOnly: false, jsServerOnly: false }

describe("healthz", () => {
  it("is ok when the listener is up and JetStream (if configured) has recovered", () => {
    expect(healthz({ serverReady: true, jetstreamConfigured: true, jetstreamReady: true }, opts)).toEqual({
      status: "ok",
      code: 200
    })
    expect(healthz({ serverReady: true, jetstreamConfigured: false, jetstreamReady: false }, opts)).toEqual({
      status: "ok",
      code: 200
    })
  })
  it("is unavailable while JetStream recovers, an error before the listener is up", () => {
    expect(healthz({ serverReady: false, jetstreamConfigured: true, jetstreamReady: false }, opts)).toEqual({
      status: "unavailable",
      code: 503,
      error: "JetStream is recovering (not enabled yet)"
    })
    expect(healthz({ serverReady: false, jetstreamConfigured: false, jetstreamReady: false }, opts)).toEqual({
      status: "error",
      code: 500,
      error: "failed to be ready for connections after 1ms: startup did not complete"
    })
  })
  it("cluster mode: not current with the store (503), a replicated stream assigned here not served (503, STREAM)", () => {
    const up = { serverReady: true, jetstreamConfigured: true, jetstreamReady: true, metaLeaderKnown: true }
    const asked: Array<boolean> = []
    const stream = {
      ...up,
      notCurrent: (streams: boolean) => {
        asked.push(streams)
        return streams ? { account: "$G", stream: "R3", error: "JetStream stream '$G > R3' is not current" } : undefined
      }
    }
    expect(healthz(stream, opts)).toEqual({
      status: "unavailable",
      code: 503,
      error: "JetStream stream '$G > R3' is not current"
    })
    expect(healthz(stream, { ...opts, details: true })).toEqual({
      status: "error",
      code: 503,
      errors: [{ type: "STREAM", account: "$G", stream: "R3", error: "JetStream stream '$G > R3' is not current" }]
    })
    // js-server-only skips the assets; js-enabled-only skips the cluster altogether.
    expect(healthz(stream, { ...opts, jsServerOnly: true })).toEqual({ status: "ok", code: 200 })
    expect(healthz(stream, { ...opts, jsEnabledOnly: true })).toEqual({ status: "ok", code: 200 })
    expect(asked).toEqual([true, true, false])
    const store = { ...up, notCurrent: () => ({ error: "JetStream is not current with the meta leader" }) }
    expect(healthz(store, { ...opts, details: true })).toEqual({
      status: "error",
      code: 503,
      errors: [{ type: "JETSTREAM", error: "JetStream is not current with the meta leader" }]
    })
  })
  it("2.10 asset checks (monitor.go healthz, single server): bad requests 400, a missing asset 404", () => {
    const up = { serverReady: true, jetstreamConfigured: true, jetstreamReady: true }
    const has = {
      ...up,
      missing: (a: string, s: string, c: string) =>
        a !== "A" ? "account" as const : s !== "" && s !== "S" ? "stream" as const : c !== "" && c !== "C" ?
          "consumer" as const :
          undefined
    }
    expect(healthz(up, { ...opts, stream: "S" })).toEqual({
      status: "error",
      code: 400,
      error: "\"account\" must not be empty when checking stream health"
    })
    expect(healthz(up, { ...opts, account: "A", consumer: "C", details: true })).toEqual({
      status: "error",
      code: 400,
      errors: [{ type: "BAD_REQUEST", error: "\"stream\" must not be empty when checking consumer health" }]
    })
    expect(healthz(has, { ...opts, account: "A", stream: "S", consumer: "C" })).toEqual({ status: "ok", code: 200 })
    expect(healthz(has, { ...opts, account: "B" })).toEqual({
      status: "unavailable",
      code: 404,
      error: "JetStream account \"B\" not found"
    })
    expect(healthz(has, { ...opts, account: "A", stream: "T" })).toEqual({
      status: "unavailable",
      code: 404,
      error: "JetStream stream \"T\" not found on account \"A\""
    })
    expect(healthz(has, { ...opts, account: "A", stream: "S", consumer: "D", details: true })).toEqual({
      status: "error",
      code: 404,
      errors: [{
        type: "CONSUMER",
        account: "A",
        stream: "S",
        consumer: "D",
        error: "JetStream consumer \"D\" not found for stream \"S\" on account \"A\""
      }]
    })
    // js-enabled-only skips the asset checks; no JetStream configured, nothing to check.
    expect(healthz(has, { ...opts, jsEnabledOnly: true, account: "B" })).toEqual({ status: "ok", code: 200 })
    expect(healthz({ ...has, jetstreamConfigured: false }, { ...opts, account: "B" })).toEqual({
      status: "ok",
      code: 200
    })
  })
  it("decodes its flags as Go's strconv.ParseBool", () => {
    expect(parseHealthzQuery(new URLSearchParams("js-enabled=T&js-server-only=0"))).toEqual({
      jsEnabledOnly: true,
      jsServerOnly: false,
      account: "",
      stream: "",
      consumer: "",
      details: false
    })
    expect(parseHealthzQuery(new URLSearchParams("account=A&stream=S&consumer=C&details=1"))).toMatchObject({
      account: "A",
      stream: "S",
      consumer: "C",
      details: true
    })
    expect(parseHealthzQuery(new URLSearchParams("js-server-only=yes"))).toMatchObject({
      message: "Error decoding boolean for 'js-server-only': strconv.ParseBool: parsing \"yes\": invalid syntax"
    })
  })
})

describe("Go formatting", () => {
  it("uptime as nats-server's myUptime", () => {
    expect([0, 999, 61_000, 3_661_000, 90_061_000, 366 * 86_400_000].map(uptime)).toEqual([
      "0s",
      "0s",
      "1m1s",
      "1h1m1s",
      "1d1h1m1s",
      "1y1d0h0m0s"
    ])
  })
  it("encodeIndent matches json.MarshalIndent with Go escaping and u64", () => {
    expect(encodeIndent({ a: [], b: {}, c: [1, { d: "<&>" }], e: undefined, f: 2n ** 64n - 1n })).toBe(
      "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": \"\\u003c\\u0026\\u003e\"\n    }\n  ],\n  \"f\": 18446744073709551615\n}"
    )
  })
})

describe("ports file", () => {
  const ifaces = {
    lo: [{ address: "127.0.0.1", family: "IPv4" }, { address: "::1", family: "IPv6" }],
    eth0: [{ address: "192.0.2.2", family: "IPv4" }, { address: "fe80::1", family: "IPv6" }]
  } as unknown as NodeJS.Dict<Array<import("node:os").NetworkInterfaceInfo>>
  it("lists every interface address for a wildcard host, loopback first", () => {
    expect(hostPorts("0.0.0.0", 4222, ifaces)).toEqual(["127.0.0.1:4222", "192.0.2.2:4222"])
    expect(hostPorts("::", 4222, ifaces)).toEqual(["127.0.0.1:4222", "[::1]:4222", "192.0.2.2:4222", "[fe80::1]:4222"])
    expect(hostPorts("127.0.0.1", 4222, ifaces)).toEqual(["127.0.0.1:4222"])
    expect(hostPorts("::1", 8222, ifaces)).toEqual(["[::1]:8222"])
  })
  it("is named nats-server_<pid>.ports", () => {
    expect(portsFileName("/tmp/x", 42)).toBe("/tmp/x/nats-server_42.ports")
  })
})
