/**
 * `/accountz` and `/accountz?acc=<name>` in nats-server 2.9.10's shapes (monitor.go `Accountz`,
 * `AccountInfo`, `ExtExport`, `ExtImport`), with the `system_account` field. nats-server's
 * automatic `$SYS.REQ.*` service imports are not listed: the system services answer inside
 * the system account only.
 */
import type { Account, AccountsShape } from "../accounts/Accounts.ts"
import type { ResponseType } from "../accounts/AccountSettings.ts"
import { streamImportTarget } from "../accounts/Imports.ts"
import type { ServerShape } from "../core/Server.ts"
import { sublistStats } from "./Connz.ts"
import { timeMs } from "./GoFormat.ts"

/** nats-server ServiceRespType.String(). */
const RESPONSE_TYPE_NAMES: Record<ResponseType, string> = {
  Singleton: "Singleton",
  Stream: "Streamed",
  Chunked: "Chunked"
}

export interface AccountzInput {
  readonly server: ServerShape
  readonly accounts: AccountsShape
  /** When the accounts were set up (nats-server `update_time`). */
  readonly updatedMs: number
  readonly jetstreamEnabled: (account: string) => boolean
  readonly nowMs: number
}

/** The body, or the 400 text nats-server sends for an unknown account. */
export const accountz = (input: AccountzInput, acc: string): Record<string, unknown> | string => {
  const sys = input.accounts.system?.name
  const base = {
    server_id: input.server.serverId,
    now: timeMs(input.nowMs),
    ...(sys === undefined ? {} : { system_account: sys })
  }
  if (acc === "") return { ...base, accounts: input.accounts.all().map((a) => a.name) }
  const account = input.accounts.get(acc)
  if (account === undefined) return `Account ${acc} does not exist`
  return { ...base, account_detail: accountInfo(input, account) }
}

const accountInfo = (input: AccountzInput, a: Account): Record<string, unknown> => {
  const s = a.settings
  const exports = [
    ...s.exports.services.map((x) => ({
      subject: x.subject,
      type: "service",
      response_type: RESPONSE_TYPE_NAMES[x.responseType],
      approved_accounts: x.accounts !== undefined && x.accounts.length > 0 ? x.accounts : undefined
    })),
    ...s.exports.streams.map((x) => ({
      subject: x.subject,
      type: "stream",
      approved_accounts: x.accounts !== undefined && x.accounts.length > 0 ? x.accounts : undefined
    }))
  ]
  const imports = [
    ...s.imports.streams.map((i) => ({
      subject: i.subject,
      account: i.account,
      local_subject: streamImportTarget(i).to,
      type: "stream",
      invalid: false,
      share: false,
      tracking: false
    })),
    ...s.imports.services.map((i) => ({
      subject: i.to ?? i.subject,
      account: i.account,
      to: i.subject,
      type: "service",
      invalid: false,
      share: false,
      tracking: false
    }))
  ]
  let clients = 0
  for (const c of input.server.connections) if (c.account === a.name) clients++
  const stats = sublistStats(a.router)
  return {
    account_name: a.name,
    update_time: timeMs(input.updatedMs),
    expired: false,
    complete: true,
    jetstream_enabled: input.jetstreamEnabled(a.name),
    leafnode_connections: 0,
    client_connections: clients,
    subscriptions: stats.num_subscriptions,
    exports: exports.length > 0 ? exports : undefined,
    imports: imports.length > 0 ? imports : undefined,
    sublist_stats: stats
  }
}
