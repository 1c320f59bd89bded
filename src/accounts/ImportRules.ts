/**
 * The rules that decide whether an import is allowed, shared by the config reader and the
 * runtime (nats-server accounts.go): which export authorizes an import, how exports of one
 * subject merge, where an imported stream lands, and when imports form a cycle. Pure functions
 * over the parsed lists.
 */
import { isSubsetOf, isValidSubject, overlaps } from "../subject/Subject.ts"
import type { ServiceExport, ServiceImport, StreamExport, StreamImport } from "./AccountSettings.ts"

/** One account's exports and imports, as the rules see them. */
export interface AccountDraft {
  readonly name: string
  readonly streamExports: ReadonlyArray<StreamExport>
  readonly serviceExports: ReadonlyArray<ServiceExport>
  readonly streamImports: ReadonlyArray<StreamImport>
  readonly serviceImports: ReadonlyArray<ServiceImport>
}

/**
 * nats-server checkStreamExportApproved / checkServiceExportApproved + checkAuth: the export of
 * exactly that subject decides; else an export whose subject covers it. nats-server takes the
 * first covering export of a Go map (random order); we take one that authorizes the importer
 * when there is one, so the answer does not depend on the order.
 */
export const findExport = <
  X extends { readonly subject: string; readonly accounts: ReadonlyArray<string> | undefined }
>(
  exports: ReadonlyArray<X>,
  importer: string,
  subject: string
): { readonly found: X | undefined; readonly authorized: boolean } => {
  if (!isValidSubject(subject)) return { found: undefined, authorized: false }
  const allows = (x: X) => x.accounts === undefined || x.accounts.length === 0 || x.accounts.includes(importer)
  const direct = exports.find((x) => x.subject === subject)
  if (direct !== undefined) return { found: direct, authorized: allows(direct) }
  const covering = exports.filter((x) => isSubsetOf(subject, x.subject))
  const found = covering.find(allows) ?? covering[0]
  return { found, authorized: found !== undefined && allows(found) }
}

/**
 * Exports of one subject listed twice are one export, as in nats-server's map: approved accounts
 * add up, and any list makes it restricted (a public entry does not reopen a restricted one, nor
 * does one stay public once a list names accounts); `combine` merges the other fields.
 */
export const mergeExports = <
  X extends { readonly subject: string; readonly accounts: ReadonlyArray<string> | undefined }
>(
  exports: ReadonlyArray<X>,
  combine: (earlier: X, later: X) => X
): Array<X> => {
  const out: Array<X> = []
  for (const x of exports) {
    const k = out.findIndex((o) => o.subject === x.subject)
    if (k < 0) {
      out.push(x)
      continue
    }
    const before = out[k]!
    const restricted = (a: ReadonlyArray<string> | undefined) => a !== undefined && a.length > 0
    const accounts = restricted(before.accounts) || restricted(x.accounts)
      ? [...new Set([...(before.accounts ?? []), ...(x.accounts ?? [])])]
      : undefined
    out[k] = { ...combine(before, x), accounts }
  }
  return out
}

/** nats-server MaxAccountCycleSearchDepth. */
const MAX_CYCLE_SEARCH_DEPTH = 1024

/** The subject an imported stream's messages carry in the importing account. */
export const streamTarget = (i: StreamImport): string => {
  if (i.prefix !== undefined) return (i.prefix.endsWith(".") ? i.prefix : `${i.prefix}.`) + i.subject
  return i.to ?? i.subject
}

/**
 * nats-server checkStreamImportsForCycles: does what `importer` imports as `to` come back to it
 * through the exporter's own imports? Run over every import once all are known (nats-server runs
 * it as each import is added, in map order), so the answer does not depend on the order.
 */
export const streamImportFormsCycle = (
  byName: ReadonlyMap<string, AccountDraft>,
  importer: string,
  exporter: AccountDraft,
  to: string
): boolean => {
  const visited = new Set([importer])
  const walk = (acc: AccountDraft, subject: string): boolean => {
    if (visited.size >= MAX_CYCLE_SEARCH_DEPTH) return true
    if (!acc.streamExports.some((x) => isSubsetOf(subject, x.subject))) return false
    for (const si of acc.streamImports) {
      const siTo = streamTarget(si)
      if (!overlaps(subject, siTo)) continue
      if (visited.has(si.account)) return true
      visited.add(acc.name)
      const next = byName.get(si.account)
      if (next !== undefined && walk(next, isSubsetOf(siTo, subject) ? siTo : subject)) return true
    }
    return false
  }
  return walk(exporter, to)
}

/** nats-server checkServiceImportsForCycles, over every import (see above). */
export const serviceImportFormsCycle = (
  byName: ReadonlyMap<string, AccountDraft>,
  importer: string,
  exporter: AccountDraft,
  from: string
): boolean => {
  const visited = new Set([importer])
  const walk = (acc: AccountDraft, subject: string): boolean => {
    if (visited.size >= MAX_CYCLE_SEARCH_DEPTH) return true
    for (const si of acc.serviceImports) {
      const local = si.to ?? si.subject
      // nats-server's si.to is the exported subject the import delivers to.
      if (!overlaps(subject, si.subject)) continue
      if (visited.has(si.account)) return true
      visited.add(acc.name)
      const next = byName.get(si.account)
      if (next !== undefined && walk(next, isSubsetOf(local, subject) ? local : subject)) return true
    }
    return false
  }
  return walk(exporter, from)
}
