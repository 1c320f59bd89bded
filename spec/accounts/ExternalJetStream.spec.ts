/**
 * The rule of which account a mirror's or source's `external` reaches (accounts/ExternalJetStream.ts):
 * the subjects nats-server 2.9.10 would send and listen on, and the imports that carry them.
 */
import { describe, expect, it } from "vitest"
import type { ServiceImport, StreamImport } from "../../src/accounts/AccountSettings.ts"
import {
  createSubject,
  deliverySubject,
  type ExternalRequest,
  resolveExternal
} from "../../src/accounts/ExternalJetStream.ts"

const svc = (subject: string, to?: string, account = "A"): ServiceImport => ({ account, subject, to })
const str = (subject: string, over: Partial<StreamImport> = {}): StreamImport => ({
  account: "A",
  subject,
  prefix: undefined,
  to: undefined,
  ...over
})
const importer = (services: Array<ServiceImport>, streams: Array<StreamImport>) => ({
  name: "B",
  imports: { services, streams }
})
const req = (over: Partial<ExternalRequest> = {}): ExternalRequest => ({
  api: "JS.A.API",
  deliver: "A.DELIVER",
  stream: "ORDERS",
  filter: "",
  kind: "mirror",
  ...over
})

describe("external JetStream resolution", () => {
  it("builds nats-server's subjects, collapsing the empty tokens a trailing dot leaves", () => {
    expect(createSubject(req())).toBe("JS.A.API.CONSUMER.CREATE.ORDERS")
    expect(createSubject(req({ api: "JS.A.API.", filter: "orders.x" }))).toBe(
      "JS.A.API.CONSUMER.CREATE.ORDERS.x0.orders.x"
    )
    expect(deliverySubject(req())).toBe("A.DELIVER.$JS.M.x0")
    expect(deliverySubject(req({ kind: "source", deliver: "" }))).toBe("$JS.S.x0")
  })

  it("reaches the exporter only through an aliasing service import and a plain delivery import", () => {
    const ok = importer([svc("$JS.API.>", "JS.A.API.>")], [str("A.DELIVER.>")])
    expect(resolveExternal(ok, req())).toBe("A")
    expect(resolveExternal(ok, req({ kind: "source", filter: "orders.>" }))).toBe("A")
    // Another prefix, a narrower import, a prefixed or remapped delivery import: nothing.
    expect(resolveExternal(ok, req({ api: "JS.B.API" }))).toBeUndefined()
    expect(resolveExternal(importer([svc("$JS.API.INFO", "JS.A.API.INFO")], [str("A.DELIVER.>")]), req()))
      .toBeUndefined()
    expect(resolveExternal(importer([svc("$JS.API.>", "JS.A.API.>")], [str("A.DELIVER.>", { prefix: "P" })]), req()))
      .toBeUndefined()
    expect(
      resolveExternal(importer([svc("$JS.API.>", "JS.A.API.>")], [str("A.DELIVER.>", { to: "X.>" })]), req())
    ).toBeUndefined()
    expect(resolveExternal(importer([svc("$JS.API.>", "JS.A.API.>")], []), req())).toBeUndefined()
    // The delivery import must come from the account the API import reaches.
    expect(resolveExternal(importer([svc("$JS.API.>", "JS.A.API.>")], [str("A.DELIVER.>", { account: "C" })]), req()))
      .toBeUndefined()
    // An import without alias is `$JS.API` itself, which no external prefix may be.
    expect(resolveExternal(importer([svc("$JS.API.>")], [str("A.DELIVER.>")]), req({ api: "$JS.API" })))
      .toBe("A")
  })

  it("an import that maps onto another API subject reaches nothing", () => {
    const wrong = importer([svc("$JS.API.STREAM.INFO.ORDERS", "JS.A.API.CONSUMER.CREATE.ORDERS")], [str("A.DELIVER.>")])
    expect(resolveExternal(wrong, req())).toBeUndefined()
    const literal = importer([svc("$JS.API.CONSUMER.CREATE.ORDERS", "JS.A.API.CONSUMER.CREATE.ORDERS")], [
      str("A.DELIVER.>")
    ])
    expect(resolveExternal(literal, req())).toBe("A")
    expect(resolveExternal(literal, req({ filter: "orders.x" }))).toBeUndefined()
  })

  it("a domain prefix is no import: nothing is reached on one server", () => {
    expect(resolveExternal(importer([], []), req({ api: "$JS.HUB.API", deliver: "" }))).toBeUndefined()
  })
})
