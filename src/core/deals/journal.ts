/**
 * The run journal: one record per `lilypad run`, in `$DATA_DIR/journal.db` (libsql, embedded
 * SQLite). A record is written before the first transaction and updated at every step, so a run
 * that was interrupted, or a machine that rebooted, can always be resumed (`lilypad deals wait`)
 * and no deal is ever forgotten. Several processes share the file: WAL mode, a busy timeout, and
 * read-modify-write updates inside immediate transactions.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'libsql'

import {lilypadError} from '../errors/index.js'
import type {ProtocolMode} from '../solver/types.js'

/** The job creator's transactions of a deal, by the solver's names (`"0x"` in the solver protocol). */
export interface RunTransactions {
  agree?: string | undefined
  accept_result?: string | undefined
  check_result?: string | undefined
  timeout_agree?: string | undefined
  timeout_submit_result?: string | undefined
  timeout_mediate_result?: string | undefined
}

/** A deal's cost, as decimal strings of LP wei (JSON-safe). */
export interface RunCost {
  lock: string
  pay: string
  paymentCollateral: string
  judgeCollateral: string
  mediationFee: string
}

/** How the result was checked before acceptance. */
export type Verification = 'verified' | 'reexecuted' | 'mismatch' | 'skipped'

/** One run, as the journal keeps it. */
export interface RunRecord {
  /** Local ID of the run (nanoid); stable before the solver has named anything. */
  id: string
  network: string
  chainId: number
  protocol: ProtocolMode
  jobCreator: string
  module: {repo: string; ref: string; commit: string}
  inputs: Record<string, string>
  /** sha256 of the canonical rendered module JSON. */
  specHash: string
  jobOfferId?: string
  dealId?: string
  /** A Go state name (`DealNegotiating` … `TimeoutAgree`), or `Created` before the offer is posted. */
  state: string
  provider?: string
  txs: RunTransactions
  cost?: RunCost
  outputDir?: string
  dataId?: string
  verification?: Verification
  /** The mediator's ruling after a dispute. */
  ruling?: 'accepted' | 'rejected'
  /** The provider's error text, or why the run stopped. */
  error?: string
  /** The on-chain job this run serves, when a contract requested it (the devnet's job-creator service). */
  requestedBy?: {jobId: string; contract: string}
  /** Where the record came from: this machine's run, or rebuilt from the solver or the chain. */
  source: 'run' | 'solver' | 'chain'
  /** Milliseconds since the epoch. */
  createdAt: number
  updatedAt: number
}

/** Filters of {@link Journal.list}. */
export interface JournalQuery {
  state?: string | undefined
  network?: string | undefined
  jobCreator?: string | undefined
  /** Newest first; default 50. */
  limit?: number | undefined
}

/** The open journal. */
export interface Journal {
  readonly path: string
  /** Adds a record. */
  insert(record: RunRecord): void
  /**
   * Applies `patch` to a record (`txs` is merged key by key) and returns the result.
   *
   * @throws DEAL_UNKNOWN when no record has this ID
   */
  update(id: string, patch: Partial<Omit<RunRecord, 'id'>>): RunRecord
  /** A record by run ID, deal ID or job offer ID. */
  get(id: string): RunRecord | undefined
  /** Records, newest first. */
  list(query?: JournalQuery): RunRecord[]
  /** Number of records. */
  count(): number
  /** Adds a record rebuilt from the solver or chain unless one for its deal exists; true when added. */
  adopt(record: RunRecord): boolean
  close(): void
}

/** Path of the journal under a data directory. */
export function journalPath(dataDir: string): string {
  return join(dataDir, 'journal.db')
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  deal_id TEXT,
  job_offer_id TEXT,
  network TEXT NOT NULL,
  job_creator TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_deal ON runs (deal_id);
CREATE INDEX IF NOT EXISTS runs_offer ON runs (job_offer_id);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);
`

interface Row {
  record: string
}

function parseRow(row: unknown): RunRecord | undefined {
  return row === undefined || row === null ? undefined : (JSON.parse((row as Row).record) as RunRecord)
}

/**
 * Opens (and creates) the journal of a data directory.
 *
 * @param dataDir - the data directory; the journal is `<dataDir>/journal.db`
 * @returns the open journal; close it when done
 * @throws JOURNAL_FAILED when the file cannot be created or opened
 * @example
 * const journal = openJournal(config.dataDir)
 * try { journal.list({limit: 10}) } finally { journal.close() }
 */
export function openJournal(dataDir: string): Journal {
  const path = journalPath(dataDir)
  let db: Database.Database
  try {
    mkdirSync(dataDir, {recursive: true})
    db = new Database(path)
    db.exec('PRAGMA busy_timeout = 10000')
    db.exec('PRAGMA journal_mode = WAL')
    db.exec(SCHEMA)
  } catch (error) {
    throw lilypadError('JOURNAL_FAILED', {
      message: `Cannot open the run journal ${path}: ${error instanceof Error ? error.message : String(error)}`,
      hints: ['Check that the data directory is writable (--data-dir or DATA_DIR).'],
      details: {path},
      cause: error,
    })
  }
  const write = <A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) => {
    const tx = db.transaction(fn)
    return (...args: A) => {
      try {
        return tx.immediate(...args)
      } catch (error) {
        if (error instanceof Error && error.name === 'LilypadError') throw error
        throw lilypadError('JOURNAL_FAILED', {
          message: `Cannot write the run journal ${path}: ${error instanceof Error ? error.message : String(error)}`,
          details: {path},
          cause: error,
        })
      }
    }
  }
  const insertStmt = db.prepare(
    'INSERT INTO runs (id, deal_id, job_offer_id, network, job_creator, state, created_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const updateStmt = db.prepare(
    'UPDATE runs SET deal_id = ?, job_offer_id = ?, state = ?, updated_at = ?, record = ? WHERE id = ?',
  )
  const byId = db.prepare('SELECT record FROM runs WHERE id = ?')
  const byOther = db.prepare(
    'SELECT record FROM runs WHERE deal_id = ? OR job_offer_id = ? ORDER BY created_at DESC LIMIT 1',
  )
  const countStmt = db.prepare('SELECT count(*) AS n FROM runs')

  const insertRow = (record: RunRecord): void => {
    insertStmt.run(
      record.id,
      record.dealId ?? null,
      record.jobOfferId ?? null,
      record.network,
      record.jobCreator,
      record.state,
      record.createdAt,
      record.updatedAt,
      JSON.stringify(record),
    )
  }
  const get = (id: string): RunRecord | undefined => parseRow(byId.get(id)) ?? parseRow(byOther.get(id, id))

  return {
    path,
    insert: write((record: RunRecord) => {
      insertRow(record)
    }),
    update: write((id: string, patch: Partial<Omit<RunRecord, 'id'>>) => {
      const current = parseRow(byId.get(id))
      if (current === undefined) {
        throw lilypadError('DEAL_UNKNOWN', {message: `The journal has no run ${id}.`, details: {id}})
      }
      const next: RunRecord = {
        ...current,
        ...patch,
        txs: {...current.txs, ...patch.txs},
        id: current.id,
        updatedAt: patch.updatedAt ?? Date.now(),
      }
      updateStmt.run(
        next.dealId ?? null,
        next.jobOfferId ?? null,
        next.state,
        next.updatedAt,
        JSON.stringify(next),
        id,
      )
      return next
    }),
    get,
    list(query = {}) {
      const where: string[] = []
      const params: unknown[] = []
      if (query.state !== undefined) {
        where.push('state = ?')
        params.push(query.state)
      }
      if (query.network !== undefined) {
        where.push('network = ?')
        params.push(query.network)
      }
      if (query.jobCreator !== undefined) {
        where.push('lower(job_creator) = lower(?)')
        params.push(query.jobCreator)
      }
      const sql = `SELECT record FROM runs${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`} ORDER BY created_at DESC, id LIMIT ?`
      params.push(Math.max(0, query.limit ?? 50))
      return db
        .prepare(sql)
        .all(...params)
        .map((row) => parseRow(row))
        .filter((record): record is RunRecord => record !== undefined)
    },
    count() {
      return (countStmt.get() as {n: number}).n
    },
    adopt: write((record: RunRecord) => {
      const key = record.dealId ?? record.jobOfferId
      if (key !== undefined && byOther.get(key, key) !== undefined) return false
      if (byId.get(record.id) !== undefined) return false
      insertRow(record)
      return true
    }),
    close() {
      db.close()
    },
  }
}
