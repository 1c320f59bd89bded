/**
 * JWT permission and account claims read as nats-server reads them (buildPermissionsFromJwt,
 * validateResponsePermissions; updateAccountClaimsWithRefresh for tiered JetStream limits).
 */
import { describe, expect, it } from "vitest"
import { accountFromClaims } from "../../../src/auth/jwt/AccountFromClaims.ts"
import type { AccountClaims } from "../../../src/auth/jwt/JwtClaims.ts"
import { permissionsFromJwt } from "../../../src/auth/jwt/JwtPermissions.ts"

describe("permissions from JWT claims", () => {
  it("empty allow/deny pairs mean no restriction", () => {
    expect(permissionsFromJwt({})).toBeUndefined()
    expect(permissionsFromJwt({ pub: { allow: [], deny: [] }, sub: {} })).toBeUndefined()
  })

  it("keeps each side that lists something", () => {
    expect(permissionsFromJwt({ pub: { deny: ["a.>"] }, sub: { allow: ["b", "c q"] } })).toEqual({
      publish: { allow: undefined, deny: ["a.>"] },
      subscribe: { allow: ["b", "c q"], deny: undefined }
    })
  })

  it("resp turns off the blanket publish allow; 0 takes the defaults; ttl is Go nanoseconds", () => {
    expect(permissionsFromJwt({ resp: { max: 2, ttl: 5e9 } })).toEqual({
      publish: { allow: [], deny: undefined },
      subscribe: undefined,
      response: { maxMsgs: 2, expiresMs: 5000 }
    })
    expect(permissionsFromJwt({ pub: { allow: ["x"] }, resp: { max: 0, ttl: 0 } })).toEqual({
      publish: { allow: ["x"], deny: undefined },
      subscribe: undefined,
      response: { maxMsgs: 1, expiresMs: 120_000 }
    })
  })
})

describe("account claims", () => {
  const claims = (nats: Record<string, unknown>): AccountClaims =>
    ({
      sub: "AACC",
      iss: "OOPS",
      iat: 1,
      jti: "j",
      aud: "NATS",
      name: "a",
      nats: { type: "account", version: 2, ...nats }
    }) as never
  const unlimited = { subs: -1, data: -1, payload: -1, conn: -1 }

  it("tiered JetStream limits: the R1 tier is the account's (a single server stores R1)", () => {
    const r = accountFromClaims(claims({
      limits: {
        ...unlimited,
        tiered_limits: { R1: { mem_storage: 10, disk_storage: 20, streams: 1, consumer: 2 }, R3: { disk_storage: 5 } }
      }
    }))
    expect(r.ok ? { js: r.account.jetstream, tiers: [...(r.account.jetstreamTiers?.keys() ?? [])] } : r.error).toEqual({
      js: {
        maxMemory: 10,
        maxStore: 20,
        maxStreams: 1,
        maxConsumers: 2,
        maxAckPending: -1,
        memoryMaxStreamBytes: -1,
        storeMaxStreamBytes: -1,
        maxBytesRequired: false
      },
      tiers: ["R1", "R3"]
    })
  })

  it("tiered limits are refused beside flat ones and under a blank tier name (jwt/v2 Validate); other names are tiers", () => {
    const of = (limits: Record<string, unknown>) => {
      const r = accountFromClaims(claims({ limits: { ...unlimited, ...limits } }))
      return r.ok ? [...(r.account.jetstreamTiers?.keys() ?? [])] : r.error
    }
    expect(of({ streams: 3, tiered_limits: { R1: { disk_storage: 20 } } })).toBe(
      "account AACC: validation error: JetStream Limits and tiered JetStream Limits are mutually exclusive"
    )
    expect(of({ tiered_limits: { "": { disk_storage: 20 } } })).toBe(
      `account AACC: validation error: Tiered JetStream Limits can not contain a blank "" tier name`
    )
    expect(of({ tiered_limits: { R1: { disk_storage: 20 }, gold: { disk_storage: 1 } } })).toEqual(["R1", "gold"])
    // No tier grants storage: JetStream is off and no tiers are kept.
    expect(of({ tiered_limits: { R1: { streams: 2 } } })).toEqual([])
  })

  it("JetStream stays off when no storage is granted, and an absent conn is 0 as Go reads it", () => {
    const r = accountFromClaims(claims({ limits: { subs: -1, data: -1, payload: -1, streams: 5 } }))
    expect(r.ok ? { js: r.account.jetstream, conn: r.account.maxConnections } : r.error).toEqual({
      js: undefined,
      conn: 0
    })
  })

  it("refuses an absent subs limit (Go reads 0: no subscription allowed) with a clear error", () => {
    const r = accountFromClaims(claims({ limits: { conn: -1 } }))
    expect(r.ok ? "accepted" : r.error).toBe("account AACC: limits.subs 0 (only -1, unlimited, is) not supported yet")
  })
})
