/**
 * The solver's off-chain timeouts (match, execution, download, total) with short configured values,
 * observed on the websocket and through `GET /deals/{id}`; the rate limit; and the Go behaviour of
 * removing a provider's unmatched offers when its websocket closes (an option, on here); the
 * version gate and the job offer capacity.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet} from 'ethers'

import type {DealContainer, JobOfferContainer} from '../../../../src/core/solver/types.js'
import {startSolver} from '../../../../src/devnet/solver/index.js'
import {EventStream, type Party, api, jobOfferBody, resourceOfferBody} from '../../../helpers/solver-raw.js'

const solverWallet = Wallet.createRandom()
const mediator = Wallet.createRandom()
const creator = Wallet.createRandom()

let dataDir: string
let base: string
let stop: () => Promise<void>
let events: EventStream

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'solver-timeouts-'))
  const solver = await startSolver({
    dataDir,
    protocol: 'solver',
    solverAddress: solverWallet.address,
    timeouts: {matchSeconds: 0.4, executionSeconds: 0.6, downloadSeconds: 0.6, totalSeconds: 2.5},
    rateLimit: {requests: 40, windowMs: 60_000},
    removeOffersOnDisconnect: true,
    minimumVersion: 'v2.0.0',
    limits: {maxJobOfferCapacity: 3},
  })
  base = solver.url
  stop = () => solver.stop()
  events = await EventStream.open(base)
})

afterAll(async () => {
  events.close()
  await stop()
  await rm(dataDir, {recursive: true, force: true})
})

function isolated(): {solver: string; mediators: string[]} {
  return {solver: Wallet.createRandom().address, mediators: [mediator.address]}
}

async function matchedDeal(): Promise<{job: JobOfferContainer; rp: Party}> {
  const s = isolated()
  const rp = Wallet.createRandom()
  await api(base, 'POST', '/resource_offers', {party: rp, body: resourceOfferBody(rp.address, s)})
  const job = (
    await api(base, 'POST', '/job_offers', {party: creator, body: jobOfferBody(creator.address, s)})
  ).json()
  return {job: job as JobOfferContainer, rp}
}

async function stateEvent(dealOrJob: string, state: number): Promise<void> {
  await events.waitFor(
    (e) =>
      (e.event_type === 'DealStateUpdated' && e.deal?.id === dealOrJob && e.deal.state === state) ||
      (e.event_type === 'JobOfferStateUpdated' &&
        e.job_offer?.id === dealOrJob &&
        e.job_offer.state === state),
  )
}

describe('off-chain timeouts', () => {
  it('ends an unmatched job offer as TimeoutMatch', async () => {
    const job = (
      await api(base, 'POST', '/job_offers', {
        party: creator,
        body: jobOfferBody(creator.address, isolated()),
      })
    ).json() as JobOfferContainer
    await stateEvent(job.id, 14)
    expect(((await api(base, 'GET', `/job_offers/${job.id}`)).json() as JobOfferContainer).state).toBe(14)
  })

  it('ends a deal without results as TimeoutExecution and then refuses its upload and result', async () => {
    const {job, rp} = await matchedDeal()
    await stateEvent(job.deal_id, 15)
    const deal = (await api(base, 'GET', `/deals/${job.deal_id}`)).json() as DealContainer
    expect(deal.state).toBe(15)
    const text = `job with deal ID ${job.deal_id} timed out with a TimeoutExecution state\n`
    const result = await api(base, 'POST', `/deals/${job.deal_id}/result`, {
      party: rp,
      body: {data_id: 'QmX'},
    })
    expect([result.status, result.text]).toEqual([409, text])
    const upload = await api(base, 'POST', `/deals/${job.deal_id}/files`, {
      party: rp,
      body: Buffer.from('tar'),
    })
    expect([upload.status, upload.text]).toEqual([409, text])
  })

  it('ends a deal whose results were never downloaded as TimeoutDownload', async () => {
    const {job, rp} = await matchedDeal()
    await api(base, 'POST', `/deals/${job.deal_id}/files`, {party: rp, body: Buffer.from('tar')})
    const posted = await api(base, 'POST', `/deals/${job.deal_id}/result`, {
      party: rp,
      body: {data_id: 'QmY'},
    })
    expect(posted.status).toBe(200)
    await stateEvent(job.deal_id, 16)
    expect(((await api(base, 'GET', `/job_offers/${job.id}`)).json() as JobOfferContainer).state).toBe(16)
  })

  it('ends a job stuck while uploading as JobTimedOut', async () => {
    const {job, rp} = await matchedDeal()
    await api(base, 'POST', `/deals/${job.deal_id}/files`, {party: rp, body: Buffer.from('tar')})
    expect(((await api(base, 'GET', `/deals/${job.deal_id}`)).json() as DealContainer).state).toBe(12)
    await stateEvent(job.deal_id, 11)
    const deal = (await api(base, 'GET', `/deals/${job.deal_id}`)).json() as DealContainer
    expect(deal.state).toBe(11)
  })
})

describe('provider disconnect (removeOffersOnDisconnect)', () => {
  it("removes a provider's unmatched offers when its ResourceProvider socket closes", async () => {
    const rp = Wallet.createRandom()
    const socket = await EventStream.open(base, 'ResourceProvider', rp.address)
    const from = events.events.length
    const offer = (
      await api(base, 'POST', '/resource_offers', {
        party: rp,
        body: resourceOfferBody(rp.address, isolated()),
      })
    ).json() as {id: string}
    socket.close()
    const removed = await events.waitFor((e) => e.event_type === 'ResourceOfferRemoved', from)
    expect(removed.resource_offer?.id).toBe(offer.id)
    const left = (
      await api(base, 'GET', `/resource_offers?resource_provider=${rp.address}`)
    ).json() as unknown[]
    expect(left).toEqual([])
  })
})

describe('admission', () => {
  it('refuses a client older than the minimum version with the Go text', async () => {
    const response = await api(base, 'POST', '/job_offers', {
      party: creator,
      body: jobOfferBody(creator.address, isolated()),
      headers: {'X-Lilypad-Version': 'v1.9.0'},
    })
    expect(response.status).toBe(403)
    expect(response.text).toBe(
      'Please update to minimum supported version v2.0.0 or newer: https://github.com/Lilypad-Tech/lilypad/releases\n',
    )
  })

  it('answers "network busy" once more than the capacity of job offers wait unmatched', async () => {
    const s = isolated()
    const responses = await Promise.all(
      Array.from({length: 6}, () =>
        api(base, 'POST', '/job_offers', {party: creator, body: jobOfferBody(creator.address, s)}),
      ),
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((status) => status === 200)).toHaveLength(4)
    expect(responses.filter((r) => r.status === 503).map((r) => r.text)).toEqual([
      'network busy\n',
      'network busy\n',
    ])
  })
})

describe('rate limit', () => {
  it('answers 429 once a client exceeds its requests on a route, and other routes keep answering', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 45; i++) statuses.push((await api(base, 'GET', '/resource_offers')).status)
    expect(statuses).toContain(429)
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200])
    const limited = await api(base, 'GET', '/resource_offers')
    expect([limited.status, limited.text]).toEqual([429, 'Too Many Requests\n'])
    expect((await api(base, 'GET', '/job_offers')).status).toBe(200)
  })
})
