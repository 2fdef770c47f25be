/**
 * The solver protects a deal's outcome: a provider's result and files are taken only while the deal
 * runs or uploads, so a judged deal is never rewound and the tar a job creator downloaded is never
 * replaced (an identical re-post is answered, changing nothing); and a websocket client that stops
 * reading is disconnected instead of making the solver buffer every event for it.
 */
import {request} from 'node:http'
import {mkdtemp, readFile, readdir, rm} from 'node:fs/promises'
import type {Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {HDNodeWallet, Mnemonic, Wallet} from 'ethers'

import type {DealContainer, JobOfferContainer, Result} from '../../../../src/core/solver/types.js'
import {startSolver} from '../../../../src/devnet/solver/index.js'
import {DEV_MNEMONIC} from '../../../helpers/anvil.js'
import {EventStream, api, jobOfferBody, resourceOfferBody} from '../../../helpers/solver-raw.js'

const account = (i: number): HDNodeWallet =>
  HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${i}`)
const solverWallet = account(2)
const mediator = account(3)
const creator = account(5)
const BUFFER_CAP = 64 * 1024

let dataDir: string
let base: string
let stop: () => Promise<void>

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'solver-results-state-'))
  const solver = await startSolver({
    dataDir,
    protocol: 'solver',
    solverAddress: solverWallet.address,
    limits: {bodyBytes: 1 << 20, resultBytes: 1 << 20, websocketBufferBytes: BUFFER_CAP},
  })
  base = solver.url
  stop = () => solver.stop()
})

afterAll(async () => {
  await stop()
  await rm(dataDir, {recursive: true, force: true})
})

/** A matched deal of a fresh provider, with its tar uploaded and its result posted (ResultsSubmitted). */
async function submittedDeal(): Promise<{dealId: string; rp: HDNodeWallet; tar: Buffer}> {
  const services = {solver: Wallet.createRandom().address, mediators: [mediator.address]}
  const rp = Wallet.createRandom()
  await api(base, 'POST', '/resource_offers', {party: rp, body: resourceOfferBody(rp.address, services)})
  const job = (
    await api(base, 'POST', '/job_offers', {party: creator, body: jobOfferBody(creator.address, services)})
  ).json() as JobOfferContainer
  const dealId = job.deal_id
  const tar = Buffer.from('the tar the job creator judges')
  expect((await api(base, 'POST', `/deals/${dealId}/files`, {party: rp, body: tar})).status).toBe(200)
  const posted = await api(base, 'POST', `/deals/${dealId}/result`, {
    party: rp,
    body: {deal_id: dealId, data_id: 'QmHonest', error: '', instruction_count: 1},
  })
  expect(posted.status).toBe(200)
  return {dealId, rp, tar}
}

const stateOf = async (dealId: string): Promise<number> =>
  ((await api(base, 'GET', `/deals/${dealId}`)).json() as DealContainer).state

async function storedTar(dealId: string): Promise<Buffer> {
  const dir = join(dataDir, 'job-files', dealId)
  const [name] = await readdir(dir)
  return readFile(join(dir, name!))
}

describe('results and files after the result', () => {
  it('refuses another result or tar for a submitted deal, and answers an identical re-post', async () => {
    const {dealId, rp, tar} = await submittedDeal()
    expect(await stateOf(dealId)).toBe(2)
    const other = await api(base, 'POST', `/deals/${dealId}/result`, {
      party: rp,
      body: {deal_id: dealId, data_id: 'QmSwapped', error: '', instruction_count: 1},
    })
    expect([other.status, other.text]).toEqual([
      409,
      `deal ${dealId} takes no results in the ResultsSubmitted state\n`,
    ])
    const files = await api(base, 'POST', `/deals/${dealId}/files`, {party: rp, body: Buffer.from('swapped')})
    expect(files.status).toBe(409)
    expect(await storedTar(dealId)).toEqual(tar)

    const again = await api(base, 'POST', `/deals/${dealId}/result`, {
      party: rp,
      body: {deal_id: dealId, data_id: 'QmHonest', error: '', instruction_count: 1},
    })
    expect(again.status).toBe(200)
    expect(again.json()).toMatchObject({deal_id: dealId, data_id: 'QmHonest', results_id: 'QmHonest'})
    expect(await stateOf(dealId)).toBe(2)
    expect(((await api(base, 'GET', `/deals/${dealId}/result`)).json() as Result).data_id).toBe('QmHonest')
  })

  it('never rewinds an accepted deal, by result or by upload', async () => {
    const {dealId, rp, tar} = await submittedDeal()
    const accepted = await api(base, 'POST', `/deals/${dealId}/txs/job_creator`, {
      party: creator,
      body: {accept_result: '0x'},
    })
    expect((accepted.json() as DealContainer).state).toBe(3)
    for (const body of [
      {deal_id: dealId, data_id: 'QmSwapped', error: '', instruction_count: 1},
      {deal_id: dealId, data_id: '', error: 'pretend it failed', instruction_count: 0},
    ]) {
      const rewound = await api(base, 'POST', `/deals/${dealId}/result`, {party: rp, body})
      expect([rewound.status, rewound.text]).toEqual([
        409,
        `deal ${dealId} takes no results in the ResultsAccepted state\n`,
      ])
    }
    const files = await api(base, 'POST', `/deals/${dealId}/files`, {party: rp, body: Buffer.from('swapped')})
    expect(files.status).toBe(409)
    expect(await stateOf(dealId)).toBe(3)
    expect(await storedTar(dealId)).toEqual(tar)
    expect(((await api(base, 'GET', `/deals/${dealId}/result`)).json() as Result).data_id).toBe('QmHonest')
  })
})

/** A websocket to the solver whose reading stops right after the handshake. */
async function stalledSocket(): Promise<Socket> {
  const url = new URL(`${base}/api/v1/ws?&Type=JobCreator&ID=`)
  return new Promise<Socket>((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from('sixteen byte key').toString('base64'),
      },
    })
    req.on('upgrade', (_response, socket) => {
      socket.pause()
      resolve(socket)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('websocket clients that stop reading', () => {
  it('drops a stalled client once its unsent events pass the cap; a reading client gets them all', async () => {
    const reader = await EventStream.open(base)
    const stalled = await stalledSocket()
    const closed = new Promise<boolean>((resolve) => {
      stalled.once('close', () => {
        resolve(true)
      })
      setTimeout(() => {
        resolve(false)
      }, 60_000).unref()
    })
    stalled.on('error', () => undefined)
    try {
      // About 22 MB of events: more than the kernel's socket buffers can absorb for a paused reader.
      const services = {solver: Wallet.createRandom().address, mediators: [mediator.address]}
      // Each value stays under the solver's 64 KiB per string.
      const inputs = {A: 'a'.repeat(60_000), B: 'b'.repeat(60_000), C: 'c'.repeat(60_000)}
      const ids = new Set<string>()
      for (let i = 0; i < 120; i += 1) {
        const posted = await api(base, 'POST', '/job_offers', {
          party: creator,
          body: jobOfferBody(creator.address, services, {inputs}),
        })
        expect(posted.status).toBe(200)
        ids.add((posted.json() as JobOfferContainer).id)
      }
      await reader.waitFor(
        () =>
          reader.events.filter((e) => e.event_type === 'JobOfferAdded' && ids.has(e.job_offer?.id ?? ''))
            .length === ids.size,
        0,
        30_000,
      )
      expect(reader.socket.readyState).toBe(1)
      // Reading again, the stalled client gets what the kernel held and then the end of the stream.
      let received = 0
      stalled.on('data', (chunk: Buffer) => {
        received += chunk.length
      })
      stalled.resume()
      expect(await closed).toBe(true)
      expect(received).toBeLessThan(120 * 180_000)
    } finally {
      stalled.destroy()
      reader.close()
    }
  }, 120_000)
})
