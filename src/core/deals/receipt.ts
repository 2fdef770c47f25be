/**
 * The receipt of a run: `<result dir>.receipt.json`, beside the result directory and never inside
 * it (the directory's CID must stay the data ID). It says what ran (module commit, rendered-spec
 * hash, inputs), where (job offer, deal, provider, transactions) and what came back (data ID and
 * how it was verified), so anyone can audit the run or re-run it.
 */
import {createHash, randomBytes} from 'node:crypto'
import {rename, rm, writeFile} from 'node:fs/promises'

import type {RunCost, RunTransactions, Verification} from './journal.js'

/** The receipt's content. */
export interface RunReceipt {
  version: 1
  network: string
  chainId: number
  protocol: 'onchain' | 'solver'
  module: {repo: string; ref: string; commit: string}
  /** sha256 (hex) of the canonical rendered module JSON; see {@link specHash}. */
  specHash: string
  inputs: Record<string, string>
  jobCreator: string
  jobOfferId: string
  dealId: string
  provider: string
  txs: RunTransactions
  cost?: RunCost
  dataId: string
  verification: Verification
  /** The mediator's ruling, after a dispute. */
  ruling?: 'accepted' | 'rejected'
  /** ISO-8601 time the receipt was written. */
  completedAt: string
}

/** JSON with object keys sorted at every level and no whitespace. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`
  }
  return value === undefined ? 'null' : JSON.stringify(value)
}

/**
 * The hash that identifies a rendered job spec, whatever the template's whitespace or key order.
 *
 * @param rendered - the rendered module JSON
 * @returns `sha256:<hex>`
 * @example
 * specHash({machine: {cpu: 1000}, job: {}}) === specHash({job: {}, machine: {cpu: 1000}}) // true
 */
export function specHash(rendered: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(rendered)).digest('hex')}`
}

/** Path of the receipt of a result directory. */
export function receiptPath(outputDir: string): string {
  return `${outputDir.replace(/\/+$/, '')}.receipt.json`
}

/**
 * Writes the receipt atomically (a temporary file renamed over the old one).
 *
 * @param outputDir - the result directory; the receipt goes beside it
 * @param receipt - what to write
 * @returns the receipt's path
 * @example
 * await writeReceipt('/tmp/lilypad/data/downloaded-files/Qm…', receipt)
 */
export async function writeReceipt(outputDir: string, receipt: RunReceipt): Promise<string> {
  const path = receiptPath(outputDir)
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await writeFile(temp, `${JSON.stringify(receipt, null, 2)}\n`, {mode: 0o644})
    await rename(temp, path)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
  return path
}
