/**
 * The account runtime: one subject space (a MessageRouter) per account, built from
 * AccountsSettings only (the config file and, later, account JWTs both produce those).
 *
 * The global account `$G` uses the server's Router, so everything that predates accounts (no-auth
 * clients, `authorization {}` users, embedders) keeps its subject space. A client that
 * authenticates as a user of account A holds A's router for its whole connection: routing a
 * message costs no lookup. Routers are linked only by the configured imports (Imports.ts).
 */
import { Context, Effect, Layer } from "effect"
import { ServerConfig } from "../config/BrokerConfig.ts"
import { MessageRouter, Router } from "../core/Router.ts"
import { type AccountSettings, DEFAULT_SYSTEM_ACCOUNT, emptyAccount, GLOBAL_ACCOUNT } from "./AccountSettings.ts"
import { findExport } from "./ImportRules.ts"
import { startServiceImport, startStreamImport } from "./Imports.ts"

export class Account {
  readonly name: string
  readonly router: MessageRouter
  readonly settings: AccountSettings
  constructor(settings: AccountSettings, router: MessageRouter) {
    this.name = settings.name
    this.settings = settings
    this.router = router
  }
}

export interface AccountsShape {
  readonly global: Account
  /** The system account (`$SYS.>` services and events), undefined with `no_system_account`. */
  readonly system: Account | undefined
  /**
   * True when accounts besides `$G` and the system account are configured, or in operator mode
   * (nats-server !globalAccountOnly).
   */
  readonly configured: boolean
  readonly get: (name: string) => Account | undefined
  /** `$G` first, then the configured accounts in configuration order, then a created system account. */
  readonly all: () => ReadonlyArray<Account>
}

/**
 * Builds the accounts and starts their imports; `stop` ends the imports. The system account is
 * one of the configured ones when named so, else created empty (nats-server SetDefaultSystemAccount).
 */
export const make = (
  settings: ReadonlyArray<AccountSettings>,
  globalRouter: MessageRouter,
  /** Undefined = no system account (`no_system_account`). */
  systemAccount: string | undefined,
  operatorMode = false
): AccountsShape & { readonly stop: () => void } => {
  const global = new Account(emptyAccount(GLOBAL_ACCOUNT), globalRouter)
  const byName = new Map<string, Account>([[GLOBAL_ACCOUNT, global]])
  for (const s of settings) byName.set(s.name, new Account(s, new MessageRouter()))
  if (systemAccount !== undefined && !byName.has(systemAccount)) {
    byName.set(systemAccount, new Account(emptyAccount(systemAccount), new MessageRouter()))
  }
  const stops: Array<() => void> = []
  for (const acc of byName.values()) {
    for (const i of acc.settings.imports.streams) {
      const exporter = byName.get(i.account)
      // The settings were checked (config file / JWT); an import that names no account is a bug there.
      if (exporter === undefined) throw new Error(`stream import from unknown account ${i.account}`)
      stops.push(startStreamImport(i, { importer: acc.router, exporter: exporter.router }))
    }
    for (const i of acc.settings.imports.services) {
      const exporter = byName.get(i.account)
      if (exporter === undefined) throw new Error(`service import from unknown account ${i.account}`)
      const found = findExport(exporter.settings.exports.services, acc.name, i.subject).found
      if (found === undefined) throw new Error(`service import of ${i.subject} that ${i.account} does not export`)
      const started = startServiceImport(i, { importer: acc.router, exporter: exporter.router }, found)
      stops.push(started.stop)
    }
  }
  const all = [...byName.values()]
  return {
    global,
    system: systemAccount === undefined ? undefined : byName.get(systemAccount),
    configured: operatorMode || settings.some((s) => s.name !== systemAccount),
    get: (name) => byName.get(name),
    all: () => all,
    stop: () => {
      for (const s of stops.splice(0)) s()
    }
  }
}

export class Accounts extends Context.Service<Accounts, AccountsShape>()("effect-jetstream/accounts/Accounts") {
  static readonly layer: Layer.Layer<Accounts, never, ServerConfig | Router> = Layer.effect(Accounts)(
    Effect.gen(function*() {
      const config = yield* ServerConfig
      const router = yield* Router
      const accounts = yield* Effect.acquireRelease(
        Effect.sync(() =>
          make(
            config.accounts?.accounts ?? [],
            router,
            config.accounts === undefined ? DEFAULT_SYSTEM_ACCOUNT : config.accounts.systemAccount,
            config.auth?.operator !== undefined
          )
        ),
        (a) => Effect.sync(() => a.stop())
      )
      return accounts
    })
  )
}
