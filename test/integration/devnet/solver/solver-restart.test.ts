/**
 * Persistence: the solver runs as a separate process, is killed with SIGKILL in the middle of a
 * deal (after the match and the upload, before the result), and started again on the same data
 * directory. Offers, the deal, its file, its transactions and the match decisions are all there,
 * the deal completes, and a pending timeout fires from its stored timestamp.
 */
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet} from 'ethers'
import Database from 'libsql'

import type {DealContainer, JobOfferContainer} from '../../../../src/core/solver/types.js'
import {api, jobOfferBody, rawAuthHeaders, resourceOfferBody} from '../../../helpers/solver-raw.js'
import {type SolverProcess, prepareSolverEntry, startSolverProcess} from '../../../helpers/solver-process.js'

const solverWallet = Wallet.createRandom()
const mediator = Wallet.createRandom()
const rp = Wallet.createRandom()
const jc = Wallet.createRandom()
const services = {solver: solverWallet.address, mediators: [mediator.address]}

let workDir: string
let dataDir: string
let script: string
let running: SolverProcess | undefined
const options = (): object => ({
  dataDir,
  protocol: 'solver',
  solverAddress: solverWallet.address,
  timeouts: {matchSeconds: 2},
  logFile: join(workDir, 'logs', 'solver.log'),
})

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'solver-restart-'))
  dataDir = join(workDir, 'data')
  script = await prepareSolverEntry(join(workDir, 'build'))
})

afterAll(async () => {
  await running?.kill('SIGKILL')
  await rm(workDir, {recursive: true, force: true})
})

async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (ok(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('a solver killed mid-deal', () => {
  it('keeps offers, the deal, its file, transactions and decisions, and completes the deal after a restart', async () => {
    running = await startSolverProcess(script, options())
    let base = running.url
    await api(base, 'POST', '/resource_offers', {party: rp, body: resourceOfferBody(rp.address, services)})
    const job = (
      await api(base, 'POST', '/job_offers', {party: jc, body: jobOfferBody(jc.address, services)})
    ).json() as JobOfferContainer
    const dealId = job.deal_id
    expect(job.state).toBe(1)
    const waiting = (
      await api(base, 'POST', '/job_offers', {
        party: jc,
        body: jobOfferBody(jc.address, {
          solver: Wallet.createRandom().address,
          mediators: [mediator.address],
        }),
      })
    ).json() as JobOfferContainer
    expect(waiting.state).toBe(0)
    const tar = Buffer.from('results that must survive a kill')
    expect((await api(base, 'POST', `/deals/${dealId}/files`, {party: rp, body: tar})).status).toBe(200)
    await api(base, 'POST', `/deals/${dealId}/txs/resource_provider`, {party: rp, body: {agree: '0xfeed'}})

    await running.kill('SIGKILL')
    running = await startSolverProcess(script, options())
    base = running.url

    const deal = (await api(base, 'GET', `/deals/${dealId}`)).json() as DealContainer
    expect(deal.state).toBe(12)
    expect(deal.upload_at).toBeGreaterThan(0)
    expect(deal.transactions.resource_provider.agree).toBe('0xfeed')
    const offers = (
      await api(base, 'GET', `/resource_offers?resource_provider=${rp.address}`)
    ).json() as unknown[]
    expect(offers).toHaveLength(1)

    const posted = await api(base, 'POST', `/deals/${dealId}/result`, {party: rp, body: {data_id: 'QmKept'}})
    expect(posted.status).toBe(200)
    const download = await fetch(`${base}/api/v1/deals/${dealId}/files`, {headers: rawAuthHeaders(jc)})
    expect(Buffer.from(await download.arrayBuffer())).toEqual(tar)
    const accepted = await api(base, 'POST', `/deals/${dealId}/txs/job_creator`, {
      party: jc,
      body: {accept_result: '0x'},
    })
    expect((accepted.json() as DealContainer).state).toBe(3)

    // The unmatched offer's match timeout was re-armed from its stored created_at.
    const timedOut = await eventually(
      async () => (await api(base, 'GET', `/job_offers/${waiting.id}`)).json() as JobOfferContainer,
      (j) => j.state === 14,
    )
    expect(timedOut.state).toBe(14)

    await running.kill('SIGTERM')
    running = undefined
    const db = new Database(join(dataDir, 'solver.db'))
    const decisions = db
      .prepare('select deal, result from match_decisions where job_offer = ?')
      .all(job.id) as {
      deal: string
      result: number
    }[]
    const transactions = db.prepare('select field, tx_hash from transactions where deal_id = ?').all(dealId)
    db.close()
    expect(decisions).toEqual([{deal: dealId, result: 1}])
    const log = (await readFile(join(workDir, 'logs', 'solver.log'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
    const dealLines = log
      .map((line) => JSON.parse(line) as {deal_id?: string; msg: string})
      .filter((l) => l.deal_id === dealId)
    expect(dealLines.map((l) => l.msg)).toContain('add deal')
    expect(transactions).toEqual([
      {field: 'agree', tx_hash: '0xfeed'},
      {field: 'accept_result', tx_hash: '0x'},
    ])
  })
})
