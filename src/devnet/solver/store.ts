/**
 * The solver's store: one SQLite file (libsql, WAL) holding job offers, resource offers, deals,
 * results, match decisions, the transactions parties reported, file records and the chain cursor.
 * Records are kept as the exact container JSON the API returns, next to the columns queries filter
 * on, so a list is served by concatenating stored text. Every change runs in a transaction, so a
 * process killed at any point leaves either the old or the new state, never half of one.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import Database from 'libsql'

import type {
  DealContainer,
  JobOfferContainer,
  MatchDecision,
  ResourceOfferContainer,
  Result,
} from '../../core/solver/types.js'

/** Filters of `GET /job_offers` (Go `GetJobOffersQuery`). */
export interface JobOfferQuery {
  jobCreator?: string | undefined
  notMatched?: boolean | undefined
  /** States 0, 1 and 2. */
  active?: boolean | undefined
  /** true: only cancelled or timed out; false: none of those. */
  cancelled?: boolean | undefined
}

/** Filters of `GET /resource_offers`. */
export interface ResourceOfferQuery {
  resourceProvider?: string | undefined
  /** States 0 and 1. */
  active?: boolean | undefined
  notMatched?: boolean | undefined
}

/** Filters of `GET /deals`. */
export interface DealQuery {
  jobCreator?: string | undefined
  resourceProvider?: string | undefined
  mediator?: string | undefined
  state?: number | undefined
}

/** A stored file: a deal's result tar or a job offer's inputs. */
export interface FileRecord {
  /** Deal ID (results) or job offer ID (inputs). */
  owner: string
  kind: 'results' | 'inputs'
  filename: string
  path: string
  size: number
  at: number
}

/** One transaction a party reported. */
export interface TransactionRecord {
  dealId: string
  party: 'resource_provider' | 'job_creator' | 'mediator'
  field: string
  txHash: string
  at: number
}

/** Rows per insert statement: 5 parameters each, far below SQLite's parameter limit. */
const DECISION_CHUNK = 200

const CANCELLED_STATES = '(10, 11, 14, 15, 16, 7, 8, 9, 17)'

const SCHEMA = `
create table if not exists job_offers (
  id text primary key, seq integer not null, created_at integer not null, job_creator text not null,
  deal_id text not null, state integer not null, container text not null);
create index if not exists job_offers_unmatched on job_offers (deal_id, created_at);
create table if not exists resource_offers (
  id text primary key, seq integer not null, created_at integer not null, resource_provider text not null,
  deal_id text not null, state integer not null, container text not null);
create index if not exists resource_offers_provider on resource_offers (resource_provider, deal_id);
create table if not exists deals (
  id text primary key, seq integer not null, created_at integer not null, job_creator text not null,
  resource_provider text not null, mediator text not null, state integer not null,
  on_chain integer not null default 0, container text not null);
create index if not exists deals_job_creator on deals (job_creator);
create index if not exists deals_resource_provider on deals (resource_provider);
create table if not exists results (deal_id text primary key, result text not null, at integer not null);
create table if not exists match_decisions (
  job_offer text not null, resource_offer text not null, deal text not null, result integer not null,
  at integer not null, primary key (job_offer, resource_offer));
create table if not exists transactions (
  seq integer primary key autoincrement, deal_id text not null, party text not null, field text not null,
  tx_hash text not null, at integer not null);
create table if not exists files (
  owner text not null, kind text not null, filename text not null, path text not null, size integer not null,
  at integer not null, primary key (owner, kind));
create table if not exists meta (key text primary key, value text not null);
`

interface ContainerRow {
  container: string
}

/** The solver's persistent state. Synchronous: libsql runs statements in the calling thread. */
export class SolverStore {
  readonly path: string
  readonly #db: Database.Database
  readonly #statements = new Map<string, Database.Statement>()
  #seq: number

  /** Opens (creating if needed) `<dataDir>/solver.db`. */
  constructor(dataDir: string) {
    mkdirSync(dataDir, {recursive: true})
    this.path = join(dataDir, 'solver.db')
    this.#db = new Database(this.path)
    this.#db.exec('pragma journal_mode = wal')
    this.#db.exec('pragma synchronous = normal')
    this.#db.exec('pragma busy_timeout = 5000')
    this.#db.exec(SCHEMA)
    const row = this.#db
      .prepare(
        'select max(s) as s from (select max(seq) as s from job_offers union all select max(seq) from resource_offers union all select max(seq) from deals)',
      )
      .get() as {s: number | null}
    this.#seq = row.s ?? 0
  }

  #stmt(sql: string): Database.Statement {
    let statement = this.#statements.get(sql)
    if (statement === undefined) {
      statement = this.#db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  /** Runs `work` in one transaction (nested calls join the outer one). */
  transaction<T>(work: () => T): T {
    if (this.#db.inTransaction) return work()
    return this.#db.transaction(work)()
  }

  close(): void {
    this.#db.close()
  }

  // ---- job offers ------------------------------------------------------------------------------

  /** Stores a new job offer (or replaces the same ID). */
  putJobOffer(container: JobOfferContainer): void {
    this.#seq += 1
    this.#stmt(
      `insert into job_offers (id, seq, created_at, job_creator, deal_id, state, container) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (id) do update set deal_id = excluded.deal_id, state = excluded.state, container = excluded.container`,
    ).run(
      container.id,
      this.#seq,
      container.job_offer.created_at,
      container.job_creator,
      container.deal_id,
      container.state,
      JSON.stringify(container),
    )
  }

  getJobOffer(id: string): JobOfferContainer | undefined {
    const row = this.#stmt('select container from job_offers where id = ?').get(id) as
      ContainerRow | undefined
    return row === undefined ? undefined : (JSON.parse(row.container) as JobOfferContainer)
  }

  /** Sets a job offer's deal and state; returns the updated container. */
  updateJobOffer(id: string, dealId: string, state: number): JobOfferContainer | undefined {
    const container = this.getJobOffer(id)
    if (container === undefined) return undefined
    container.deal_id = dealId
    container.state = state
    this.#stmt('update job_offers set deal_id = ?, state = ?, container = ? where id = ?').run(
      dealId,
      state,
      JSON.stringify(container),
      id,
    )
    return container
  }

  #jobOfferWhere(query: JobOfferQuery): {where: string; args: unknown[]} {
    const clauses: string[] = []
    const args: unknown[] = []
    if (query.jobCreator !== undefined) {
      clauses.push('job_creator = ?')
      args.push(query.jobCreator)
    }
    if (query.notMatched === true) clauses.push("deal_id = ''")
    if (query.active === true) clauses.push('state in (0, 1, 2)')
    if (query.cancelled === true) clauses.push(`state in ${CANCELLED_STATES}`)
    if (query.cancelled === false) clauses.push(`state not in ${CANCELLED_STATES}`)
    return {where: clauses.length === 0 ? '' : `where ${clauses.join(' and ')}`, args}
  }

  /** The job offers matching `query` as a JSON array text, oldest first. */
  jobOffersJson(query: JobOfferQuery): string {
    const {where, args} = this.#jobOfferWhere(query)
    const rows = this.#stmt(`select container from job_offers ${where} order by seq`).all(
      ...args,
    ) as ContainerRow[]
    return `[${rows.map((row) => row.container).join(',')}]`
  }

  /** The job offers matching `query`, oldest `created_at` first. */
  jobOffers(query: JobOfferQuery): JobOfferContainer[] {
    const {where, args} = this.#jobOfferWhere(query)
    const rows = this.#stmt(`select container from job_offers ${where} order by created_at, seq`).all(
      ...args,
    ) as ContainerRow[]
    return rows.map((row) => JSON.parse(row.container) as JobOfferContainer)
  }

  /** How many job offers are unmatched and not cancelled (the capacity check). */
  countOpenJobOffers(): number {
    const row = this.#stmt(
      `select count(*) as n from job_offers where deal_id = '' and state not in ${CANCELLED_STATES}`,
    ).get() as {n: number}
    return row.n
  }

  // ---- resource offers -------------------------------------------------------------------------

  putResourceOffer(container: ResourceOfferContainer): void {
    this.#seq += 1
    this.#stmt(
      `insert into resource_offers (id, seq, created_at, resource_provider, deal_id, state, container) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (id) do update set deal_id = excluded.deal_id, state = excluded.state, container = excluded.container`,
    ).run(
      container.id,
      this.#seq,
      container.resource_offer.created_at,
      container.resource_provider,
      container.deal_id,
      container.state,
      JSON.stringify(container),
    )
  }

  getResourceOffer(id: string): ResourceOfferContainer | undefined {
    const row = this.#stmt('select container from resource_offers where id = ?').get(id) as
      ContainerRow | undefined
    return row === undefined ? undefined : (JSON.parse(row.container) as ResourceOfferContainer)
  }

  updateResourceOffer(id: string, dealId: string, state: number): ResourceOfferContainer | undefined {
    const container = this.getResourceOffer(id)
    if (container === undefined) return undefined
    container.deal_id = dealId
    container.state = state
    this.#stmt('update resource_offers set deal_id = ?, state = ?, container = ? where id = ?').run(
      dealId,
      state,
      JSON.stringify(container),
      id,
    )
    return container
  }

  removeResourceOffer(id: string): void {
    this.#stmt('delete from resource_offers where id = ?').run(id)
  }

  #resourceOfferWhere(query: ResourceOfferQuery): {where: string; args: unknown[]} {
    const clauses: string[] = []
    const args: unknown[] = []
    if (query.resourceProvider !== undefined) {
      clauses.push('resource_provider = ?')
      args.push(query.resourceProvider)
    }
    if (query.notMatched === true) clauses.push("deal_id = ''")
    if (query.active === true) clauses.push('state in (0, 1)')
    return {where: clauses.length === 0 ? '' : `where ${clauses.join(' and ')}`, args}
  }

  resourceOffersJson(query: ResourceOfferQuery): string {
    const {where, args} = this.#resourceOfferWhere(query)
    const rows = this.#stmt(`select container from resource_offers ${where} order by seq`).all(
      ...args,
    ) as ContainerRow[]
    return `[${rows.map((row) => row.container).join(',')}]`
  }

  /** The resource offers matching `query`, oldest `created_at` first. */
  resourceOffers(query: ResourceOfferQuery): ResourceOfferContainer[] {
    const {where, args} = this.#resourceOfferWhere(query)
    const rows = this.#stmt(`select container from resource_offers ${where} order by created_at, seq`).all(
      ...args,
    ) as ContainerRow[]
    return rows.map((row) => JSON.parse(row.container) as ResourceOfferContainer)
  }

  // ---- deals -----------------------------------------------------------------------------------

  putDeal(container: DealContainer, onChain = false): void {
    this.#seq += 1
    this.#stmt(
      `insert into deals (id, seq, created_at, job_creator, resource_provider, mediator, state, on_chain, container)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      container.id,
      this.#seq,
      container.created_at,
      container.job_creator,
      container.resource_provider,
      container.mediator,
      container.state,
      onChain ? 1 : 0,
      JSON.stringify(container),
    )
  }

  getDeal(id: string): DealContainer | undefined {
    const row = this.#stmt('select container from deals where id = ?').get(id) as ContainerRow | undefined
    return row === undefined ? undefined : (JSON.parse(row.container) as DealContainer)
  }

  /** Writes back a changed deal container (state, times, transactions, mediator). */
  saveDeal(container: DealContainer): void {
    this.#stmt('update deals set state = ?, mediator = ?, container = ? where id = ?').run(
      container.state,
      container.mediator,
      JSON.stringify(container),
      container.id,
    )
  }

  /** Marks that the chain knows the deal (someone agreed): off-chain timeouts stop applying. */
  markDealOnChain(id: string): void {
    this.#stmt('update deals set on_chain = 1 where id = ?').run(id)
  }

  isDealOnChain(id: string): boolean {
    const row = this.#stmt('select on_chain from deals where id = ?').get(id) as
      {on_chain: number} | undefined
    return row?.on_chain === 1
  }

  dealsJson(query: DealQuery): string {
    const clauses: string[] = []
    const args: unknown[] = []
    if (query.jobCreator !== undefined) {
      clauses.push('job_creator = ?')
      args.push(query.jobCreator)
    }
    if (query.resourceProvider !== undefined) {
      clauses.push('resource_provider = ?')
      args.push(query.resourceProvider)
    }
    if (query.mediator !== undefined) {
      clauses.push('mediator = ?')
      args.push(query.mediator)
    }
    if (query.state !== undefined) {
      clauses.push('state = ?')
      args.push(query.state)
    }
    const where = clauses.length === 0 ? '' : `where ${clauses.join(' and ')}`
    const rows = this.#stmt(`select container from deals ${where} order by seq`).all(
      ...args,
    ) as ContainerRow[]
    return `[${rows.map((row) => row.container).join(',')}]`
  }

  // ---- results, decisions, transactions, files, meta ---------------------------------------------

  putResult(result: Result): void {
    this.#stmt(
      'insert into results (deal_id, result, at) values (?, ?, ?) on conflict (deal_id) do update set result = excluded.result, at = excluded.at',
    ).run(result.deal_id, JSON.stringify(result), Date.now())
  }

  getResult(dealId: string): Result | undefined {
    const row = this.#stmt('select result from results where deal_id = ?').get(dealId) as
      {result: string} | undefined
    return row === undefined ? undefined : (JSON.parse(row.result) as Result)
  }

  hasDecision(jobOffer: string, resourceOffer: string): boolean {
    return (
      this.#stmt('select 1 from match_decisions where job_offer = ? and resource_offer = ?').get(
        jobOffer,
        resourceOffer,
      ) !== undefined
    )
  }

  putDecision(decision: MatchDecision): void {
    this.#stmt(
      `insert into match_decisions (job_offer, resource_offer, deal, result, at) values (?, ?, ?, ?, ?)
       on conflict (job_offer, resource_offer) do update set deal = excluded.deal, result = excluded.result`,
    ).run(decision.job_offer, decision.resource_offer, decision.deal, decision.result ? 1 : 0, Date.now())
  }

  /** Stores many decisions with multi-row inserts (a job can meet a thousand offers at once). */
  putDecisions(decisions: readonly MatchDecision[]): void {
    if (decisions.length === 0) return
    const at = Date.now()
    this.transaction(() => {
      for (let start = 0; start < decisions.length; start += DECISION_CHUNK) {
        const chunk = decisions.slice(start, start + DECISION_CHUNK)
        const sql = `insert into match_decisions (job_offer, resource_offer, deal, result, at) values ${chunk
          .map(() => '(?, ?, ?, ?, ?)')
          .join(
            ', ',
          )} on conflict (job_offer, resource_offer) do update set deal = excluded.deal, result = excluded.result`
        const statement = chunk.length === DECISION_CHUNK ? this.#stmt(sql) : this.#db.prepare(sql)
        statement.run(...chunk.flatMap((d) => [d.job_offer, d.resource_offer, d.deal, d.result ? 1 : 0, at]))
      }
    })
  }

  decisions(jobOffer?: string): MatchDecision[] {
    const rows = (
      jobOffer === undefined
        ? this.#stmt('select * from match_decisions order by at').all()
        : this.#stmt('select * from match_decisions where job_offer = ? order by at').all(jobOffer)
    ) as {job_offer: string; resource_offer: string; deal: string; result: number}[]
    return rows.map((row) => ({
      job_offer: row.job_offer,
      resource_offer: row.resource_offer,
      deal: row.deal,
      result: row.result === 1,
    }))
  }

  addTransaction(record: TransactionRecord): void {
    this.#stmt('insert into transactions (deal_id, party, field, tx_hash, at) values (?, ?, ?, ?, ?)').run(
      record.dealId,
      record.party,
      record.field,
      record.txHash,
      record.at,
    )
  }

  transactions(dealId: string): TransactionRecord[] {
    const rows = this.#stmt(
      'select deal_id, party, field, tx_hash, at from transactions where deal_id = ? order by seq',
    ).all(dealId) as {
      deal_id: string
      party: TransactionRecord['party']
      field: string
      tx_hash: string
      at: number
    }[]
    return rows.map((row) => ({
      dealId: row.deal_id,
      party: row.party,
      field: row.field,
      txHash: row.tx_hash,
      at: row.at,
    }))
  }

  putFile(record: FileRecord): void {
    this.#stmt(
      `insert into files (owner, kind, filename, path, size, at) values (?, ?, ?, ?, ?, ?)
       on conflict (owner, kind) do update set filename = excluded.filename, path = excluded.path, size = excluded.size, at = excluded.at`,
    ).run(record.owner, record.kind, record.filename, record.path, record.size, record.at)
  }

  getFile(owner: string, kind: FileRecord['kind']): FileRecord | undefined {
    return this.#stmt(
      'select owner, kind, filename, path, size, at from files where owner = ? and kind = ?',
    ).get(owner, kind) as FileRecord | undefined
  }

  getMeta(key: string): string | undefined {
    const row = this.#stmt('select value from meta where key = ?').get(key) as {value: string} | undefined
    return row?.value
  }

  setMeta(key: string, value: string): void {
    this.#stmt(
      'insert into meta (key, value) values (?, ?) on conflict (key) do update set value = excluded.value',
    ).run(key, value)
  }
}
