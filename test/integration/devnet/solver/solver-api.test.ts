/**
 * Conformance of the solver's HTTP API and websocket in the `solver` protocol, through a raw
 * client that signs with ethers and computes IDs from hand-written Go JSON (test/helpers/solver-raw).
 */
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {HDNodeWallet, Mnemonic, Wallet} from 'ethers'
import fc from 'fast-check'

import type {
  DealContainer,
  JobOfferContainer,
  ResourceOfferContainer,
  Result,
} from '../../../../src/core/solver/types.js'
import {startSolver} from '../../../../src/devnet/solver/index.js'
import {DEV_MNEMONIC} from '../../../helpers/anvil.js'
import {
  type Party,
  EventStream,
  api,
  cidOfGoJson,
  jobOfferBody,
  rawAuthHeaders,
  resourceOfferBody,
} from '../../../helpers/solver-raw.js'

const account = (i: number): HDNodeWallet =>
  HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${i}`)
const solverWallet = account(2)
const mediator = account(3)
const provider = account(4)
const creator = account(5)
const services = {solver: solverWallet.address, mediators: [mediator.address]}

let dataDir: string
let base: string
let stop: () => Promise<void>
let events: EventStream

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'solver-api-'))
  const solver = await startSolver({
    dataDir,
    protocol: 'solver',
    solverAddress: solverWallet.address,
    limits: {bodyBytes: 64 * 1024, resultBytes: 1 << 20},
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

/** Services unique to one case, so its offers never match another case's (solver mismatch). */
function isolated(): {solver: string; mediators: string[]} {
  return {solver: Wallet.createRandom().address, mediators: [mediator.address]}
}

async function postJob(
  party: Party,
  body: Record<string, unknown>,
): Promise<{status: number; text: string; json: JobOfferContainer}> {
  const response = await api(base, 'POST', '/job_offers', {party, body})
  return {
    status: response.status,
    text: response.text,
    json: response.status === 200 ? (response.json() as JobOfferContainer) : ({} as JobOfferContainer),
  }
}

async function postOffer(
  party: Party,
  body: Record<string, unknown>,
): Promise<{status: number; text: string; json: ResourceOfferContainer}> {
  const response = await api(base, 'POST', '/resource_offers', {party, body})
  return {
    status: response.status,
    text: response.text,
    json:
      response.status === 200 ? (response.json() as ResourceOfferContainer) : ({} as ResourceOfferContainer),
  }
}

describe('job offer IDs', () => {
  it('is the CID of the Go JSON of the offer, computed by the solver, whatever id the client sent', async () => {
    const createdAt = Date.now()
    const nonce = 'V1StGXR8_Z5jdHi6B-myT'
    const goJson =
      `{"id":"","created_at":${createdAt},"nonce":"${nonce}","job_creator":"${creator.address}",` +
      `"module":{"name":"","repo":"https://github.com/Lilypad-Tech/lilypad-module-cowsay","hash":"v0.0.4","path":"/lilypad_module.json.tmpl"},` +
      `"spec":{"gpu":0,"gpus":null,"cpu":1000,"ram":100,"disk":0},"inputs":{"Message":"hello"},` +
      `"inputFiles":{"required":null,"optional":null},"executionTimeoutSeconds":0,"mode":"MarketPrice",` +
      `"pricing":{"instruction_price":1,"payment_collateral":2,"results_collateral_multiple":2,"mediation_fee":1},` +
      `"trusted_parties":{"solver":"${services.solver}","mediator":["${mediator.address}"],"api_host":""},"target":{"address":""}}`
    const expected = cidOfGoJson(goJson)
    const body = jobOfferBody(creator.address, isolated(), {
      created_at: createdAt,
      nonce,
      id: 'QmClientValueIgnored',
    })
    ;(body.trusted_parties as Record<string, unknown>).solver = services.solver
    const first = await postJob(creator, body)
    expect(first.status).toBe(200)
    expect(first.json.id).toBe(expected)
    expect(first.json.job_offer.id).toBe(expected)
    expect(first.json.state).toBe(0)

    // Fields left out are Go zero values and unknown keys are dropped, so the ID is the same.
    const sparse: Record<string, unknown> = {...body, surplus: 'ignored'}
    delete sparse.inputFiles
    delete sparse.target
    delete sparse.executionTimeoutSeconds
    const again = await postJob(creator, sparse)
    expect(again.status).toBe(200)
    expect(again.json.id).toBe(expected)
  })
})

describe('authentication and admission', () => {
  const body = (): Record<string, unknown> => jobOfferBody(creator.address, isolated())

  it('refuses a request without headers', async () => {
    const response = await api(base, 'POST', '/job_offers', {body: body()})
    expect(response.status).toBe(401)
    expect(response.text).toBe('missing user header\n')
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
  })

  it('refuses a signature that is not the claimed address', async () => {
    const forged = rawAuthHeaders(provider)
    forged['X-Lilypad-User'] = Buffer.from(`{"address":"${creator.address}"}`).toString('base64')
    const response = await api(base, 'POST', '/job_offers', {body: body(), headers: forged})
    expect(response.status).toBe(401)
    expect(response.text).toMatch(/^invalid (signature|user header or signature)/)
  })

  it('refuses an offer signed by someone other than its job creator', async () => {
    const response = await postJob(provider, body())
    expect(response.status).toBe(403)
    expect(response.text).toBe('job creator address does not match signer address\n')
  })

  it('refuses an offer created two minutes ago', async () => {
    const response = await postJob(creator, {...body(), created_at: Date.now() - 120_000})
    expect(response.status).toBe(400)
    expect(response.text).toBe(
      "job offer rejected because CreatedAt time is not recent, check your computer's time settings and network connection\n",
    )
  })

  it('refuses an offer without a mediator, or without a solver', async () => {
    const noMediator = await postJob(creator, {
      ...body(),
      trusted_parties: {solver: services.solver, mediator: [], api_host: ''},
    })
    expect(noMediator.status).toBe(400)
    expect(noMediator.text).toBe('job offer must have at least one trusted mediator\n')
    const noSolver = await postJob(creator, {
      ...body(),
      trusted_parties: {solver: '', mediator: [mediator.address], api_host: ''},
    })
    expect(noSolver.status).toBe(400)
    expect(noSolver.text).toBe("job offer must name it's solver\n")
  })

  it('refuses a resource offer from someone else, and one in MarketPrice mode', async () => {
    const other = await postOffer(creator, resourceOfferBody(provider.address, isolated()))
    expect(other.status).toBe(403)
    expect(other.text).toBe('resource provider address does not match signer address\n')
    const market = await postOffer(
      provider,
      resourceOfferBody(provider.address, isolated(), {mode: 'MarketPrice'}),
    )
    expect(market.status).toBe(400)
    expect(market.text).toBe('resource offer mode cannot be market price\n')
  })
})

describe('malformed requests', () => {
  const cases: [string, string | Buffer, number][] = [
    ['not JSON', 'this is not json', 400],
    ['a JSON array', '[1,2,3]', 400],
    [
      'a string where a number goes',
      JSON.stringify(jobOfferBody(creator.address, services, {created_at: 'now'})),
      400,
    ],
    [
      'a fraction for an integer',
      JSON.stringify(jobOfferBody(creator.address, services, {executionTimeoutSeconds: 1.5})),
      400,
    ],
    [
      'a negative unsigned number',
      JSON.stringify(jobOfferBody(creator.address, services, {pricing: {instruction_price: -1}})),
      400,
    ],
    ['a missing field', JSON.stringify({...jobOfferBody(creator.address, services), spec: undefined}), 400],
    ['an empty body', '', 400],
    ['an oversized body', Buffer.alloc(200 * 1024, 0x20), 413],
  ]
  it.each(cases)('answers %s with a plain-text error (%#) and keeps serving', async (_name, body, status) => {
    const response = await api(base, 'POST', '/job_offers', {party: creator, body})
    expect(response.status).toBe(status)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(response.text.endsWith('\n')).toBe(true)
    if (status === 400) expect(response.text).toMatch(/^Error parsing request body/)
    const after = await api(base, 'GET', '/job_offers')
    expect(after.status).toBe(200)
  })

  it('answers random bodies on every JSON route with a 4xx, never a 5xx', async () => {
    const s = isolated()
    const rp = Wallet.createRandom()
    await postOffer(rp, resourceOfferBody(rp.address, s))
    const dealId = (await postJob(creator, jobOfferBody(creator.address, s))).json.deal_id
    const routes = [
      '/job_offers',
      '/resource_offers',
      `/deals/${dealId}/result`,
      `/deals/${dealId}/txs/resource_provider`,
      `/deals/${dealId}/txs/job_creator`,
    ]
    const bodies = fc.sample<string | Buffer>(
      fc.oneof(
        fc.string(),
        fc.json(),
        fc.uint8Array({maxLength: 512}).map((bytes) => Buffer.from(bytes)),
        fc
          .record({
            created_at: fc.anything(),
            job_creator: fc.anything(),
            spec: fc.anything(),
            data_id: fc.anything(),
          })
          .map((v) => JSON.stringify(v)),
      ),
      {numRuns: 60, seed: 42},
    )
    for (const [i, body] of bodies.entries()) {
      const route = routes[i % routes.length]!
      const party = route.startsWith('/deals') ? rp : creator
      const response = await api(base, 'POST', route, {
        party,
        body,
      })
      expect(response.status).toBeGreaterThanOrEqual(200)
      expect(response.status).toBeLessThan(500)
    }
    expect((await api(base, 'GET', `/deals/${dealId}`)).status).toBe(200)
  })

  it('answers an unknown deal, job offer or result with 404', async () => {
    expect((await api(base, 'GET', '/deals/QmNothing')).text).toBe('deal not found\n')
    expect((await api(base, 'GET', '/deals/QmNothing/result')).status).toBe(404)
    expect((await api(base, 'GET', '/job_offers/QmNothing')).status).toBe(404)
    expect((await api(base, 'GET', '/deals?state=NoSuchState')).status).toBe(400)
    const traversal = await api(base, 'GET', '/deals/..%2F..%2Fsolver.db/files', {party: creator})
    expect(traversal.status).toBe(404)
  })
})

describe('matching', () => {
  it('leaves a job unmatched when no provider offers enough CPU', async () => {
    const s = isolated()
    const rp = Wallet.createRandom()
    await postOffer(
      rp,
      resourceOfferBody(rp.address, s, {spec: {gpu: 0, gpus: null, cpu: 500, ram: 16_000, disk: 0}}),
    )
    const job = await postJob(creator, jobOfferBody(creator.address, s))
    expect(job.json.state).toBe(0)
    expect(job.json.deal_id).toBe('')
  })

  it('gives a MarketPrice job the cheapest offer', async () => {
    const s = isolated()
    const dear = Wallet.createRandom()
    const cheap = Wallet.createRandom()
    const price = (p: number): Record<string, unknown> => ({
      default_pricing: {
        instruction_price: p,
        payment_collateral: 2,
        results_collateral_multiple: 2,
        mediation_fee: 1,
      },
    })
    await postOffer(dear, resourceOfferBody(dear.address, s, price(3)))
    const cheapOffer = await postOffer(cheap, resourceOfferBody(cheap.address, s, price(2)))
    const job = await postJob(creator, jobOfferBody(creator.address, s))
    expect(job.json.state).toBe(1)
    const deal = (await api(base, 'GET', `/deals/${job.json.deal_id}`)).json() as DealContainer
    expect(deal.resource_offer).toBe(cheapOffer.json.id)
    expect(deal.deal.pricing.instruction_price).toBe(2)
    expect(deal.deal.members).toEqual({
      solver: solverWallet.address,
      job_creator: creator.address,
      resource_provider: cheap.address,
      mediators: [mediator.address],
    })
  })

  it('gives a FixedPrice job only an affordable offer, and a later offer goes to the oldest waiting job', async () => {
    const s = isolated()
    const dear = Wallet.createRandom()
    const fair = Wallet.createRandom()
    const fixed = {
      mode: 'FixedPrice',
      pricing: {
        instruction_price: 1,
        payment_collateral: 2,
        results_collateral_multiple: 2,
        mediation_fee: 1,
      },
    }
    await postOffer(
      dear,
      resourceOfferBody(dear.address, s, {
        default_pricing: {
          instruction_price: 5,
          payment_collateral: 2,
          results_collateral_multiple: 2,
          mediation_fee: 1,
        },
      }),
    )
    const older = await postJob(creator, jobOfferBody(creator.address, s, fixed))
    const newer = await postJob(creator, jobOfferBody(creator.address, s, fixed))
    expect(older.json.state).toBe(0)
    expect(newer.json.state).toBe(0)
    const offer = await postOffer(fair, resourceOfferBody(fair.address, s))
    expect(offer.json.state).toBe(1)
    const olderNow = (await api(base, 'GET', `/job_offers/${older.json.id}`)).json() as JobOfferContainer
    const newerNow = (await api(base, 'GET', `/job_offers/${newer.json.id}`)).json() as JobOfferContainer
    expect(olderNow.deal_id).toBe(offer.json.deal_id)
    expect(newerNow.deal_id).toBe('')
  })

  it('cancels a targeted job whose provider has no offer right now, and matches one whose provider has', async () => {
    const s = isolated()
    const absent = Wallet.createRandom()
    const from = events.events.length
    const cancelled = await postJob(
      creator,
      jobOfferBody(creator.address, s, {target: {address: absent.address}}),
    )
    expect(cancelled.json.state).toBe(10)
    const update = await events.waitFor(
      (e) => e.event_type === 'JobOfferStateUpdated' && e.job_offer?.id === cancelled.json.id,
      from,
    )
    expect(update.job_offer?.state).toBe(10)

    const present = Wallet.createRandom()
    await postOffer(
      present,
      resourceOfferBody(present.address, s, {spec: {gpu: 0, gpus: null, cpu: 1, ram: 1, disk: 0}}),
    )
    const targeted = await postJob(
      creator,
      jobOfferBody(creator.address, s, {target: {address: present.address}}),
    )
    expect(targeted.json.state).toBe(1)
  })

  it('does not match offers without a mutual mediator', async () => {
    const s = isolated()
    const rp = Wallet.createRandom()
    await postOffer(
      rp,
      resourceOfferBody(rp.address, {solver: s.solver, mediators: [Wallet.createRandom().address]}),
    )
    const job = await postJob(creator, jobOfferBody(creator.address, s))
    expect(job.json.state).toBe(0)
  })

  it('answers null to a second unmatched offer of the same provider', async () => {
    const s = isolated()
    const rp = Wallet.createRandom()
    const first = await postOffer(rp, resourceOfferBody(rp.address, s))
    expect(first.json.state).toBe(0)
    const second = await postOffer(rp, resourceOfferBody(rp.address, s, {index: 1}))
    expect(second.status).toBe(200)
    expect(second.text).toBe('null\n')
    const listed = (
      await api(base, 'GET', `/resource_offers?resource_provider=${rp.address}`)
    ).json() as unknown[]
    expect(listed).toHaveLength(1)
  })
})

describe('a deal in the solver protocol', () => {
  it('runs from match to acceptance over HTTP, with Go-ordered events', async () => {
    const s = isolated()
    const rp = Wallet.createRandom()
    const start = events.events.length
    const offer = await postOffer(rp, resourceOfferBody(rp.address, s))
    const job = await postJob(creator, jobOfferBody(creator.address, s))
    const dealId: string = job.json.deal_id
    expect(job.json.state).toBe(1)
    const sequence = events.events
      .slice(start)
      .filter(
        (e) =>
          e.job_offer?.id === job.json.id || e.deal?.id === dealId || e.resource_offer?.id === offer.json.id,
      )
      .map((e) => e.event_type)
    expect(sequence).toEqual([
      'ResourceOfferAdded',
      'JobOfferAdded',
      'DealAdded',
      'JobOfferStateUpdated',
      'ResourceOfferStateUpdated',
    ])
    const listed = (
      await api(base, 'GET', `/deals?resource_provider=${rp.address}&state=DealAgreed`)
    ).json() as DealContainer[]
    expect(listed.map((d) => d.id)).toEqual([dealId])

    // Only the deal's provider may upload; a job creator is refused.
    const tar = Buffer.from('pretend this is a tar archive')
    const wrong = await api(base, 'POST', `/deals/${dealId}/files`, {party: creator, body: tar})
    expect(wrong.status).toBe(403)
    const upload = await api(base, 'POST', `/deals/${dealId}/files`, {
      party: rp,
      body: tar,
      headers: {
        'content-type': 'application/x-tar',
        'content-disposition': 'attachment; filename="../../escape.tar"',
      },
    })
    expect(upload.status).toBe(200)
    expect((upload.json() as Result).data_id).toBe(dealId)
    const uploading = (await api(base, 'GET', `/deals/${dealId}`)).json() as DealContainer
    expect(uploading.state).toBe(12)
    expect(uploading.upload_at).toBeGreaterThan(0)
    expect(await readdir(join(dataDir, 'job-files', dealId))).toEqual(['escape.tar'])

    const before = events.events.length
    const noData = await api(base, 'POST', `/deals/${dealId}/result`, {party: rp, body: {deal_id: dealId}})
    expect(noData.status).toBe(400)
    expect(noData.text).toBe('result must have a data id\n')
    const posted = await api(base, 'POST', `/deals/${dealId}/result`, {
      party: rp,
      body: {deal_id: dealId, data_id: 'QmData', error: '', instruction_count: 1},
    })
    expect(posted.status).toBe(200)
    expect(posted.json()).toMatchObject({deal_id: dealId, data_id: 'QmData', results_id: 'QmData'})
    await events.waitFor(
      (e) => e.event_type === 'ResourceOfferStateUpdated' && e.resource_offer?.state === 2,
      before,
    )
    expect(
      events.events
        .slice(before)
        .map((e) => [e.event_type, e.deal?.state ?? e.job_offer?.state ?? e.resource_offer?.state]),
    ).toEqual([
      ['DealStateUpdated', 2],
      ['JobOfferStateUpdated', 2],
      ['ResourceOfferStateUpdated', 2],
    ])

    expect((await api(base, 'GET', `/deals/${dealId}/files`, {party: rp})).status).toBe(403)
    const download = await fetch(`${base}/api/v1/deals/${dealId}/files`, {headers: rawAuthHeaders(creator)})
    expect(download.status).toBe(200)
    expect(download.headers.get('content-type')).toBe('application/x-tar')
    expect(download.headers.get('content-disposition')).toBe('attachment; filename=escape.tar')
    expect(Buffer.from(await download.arrayBuffer())).toEqual(tar)
    expect(((await api(base, 'GET', `/deals/${dealId}`)).json() as DealContainer).state).toBe(13)

    const stranger = await api(base, 'POST', `/deals/${dealId}/txs/job_creator`, {
      party: rp,
      body: {accept_result: '0x'},
    })
    expect(stranger.status).toBe(403)
    const accepted = await api(base, 'POST', `/deals/${dealId}/txs/job_creator`, {
      party: creator,
      body: {accept_result: '0x'},
    })
    expect(accepted.status).toBe(200)
    const final = accepted.json() as DealContainer
    expect(final.state).toBe(3)
    expect(final.transactions.job_creator.accept_result).toBe('0x')
    const jobNow = (await api(base, 'GET', `/job_offers/${job.json.id}`)).json() as JobOfferContainer
    expect(jobNow.state).toBe(3)
    expect(((await api(base, 'GET', `/deals/${dealId}/result`)).json() as Result).data_id).toBe('QmData')

    const rpTx = await api(base, 'POST', `/deals/${dealId}/txs/resource_provider`, {
      party: rp,
      body: {add_result: '0x'},
    })
    expect((rpTx.json() as DealContainer).transactions.resource_provider.add_result).toBe('0x')
    expect(
      (await api(base, 'POST', `/deals/${dealId}/txs/mediator`, {party: mediator, body: {}})).status,
    ).toBe(403)
  })

  it('stores input files of /job_offers/with_files and serves them to the deal provider only', async () => {
    const s = isolated()
    const rp = Wallet.createRandom()
    await postOffer(rp, resourceOfferBody(rp.address, s))
    const inputs = Buffer.from('inputs archive bytes')
    const form = new FormData()
    form.append(
      'job_offer.json',
      new Blob([JSON.stringify(jobOfferBody(creator.address, s))]),
      'job_offer.json',
    )
    form.append('inputs.tar', new Blob([inputs]), 'inputs.tar')
    const response = await fetch(`${base}/api/v1/job_offers/with_files`, {
      method: 'POST',
      headers: rawAuthHeaders(creator),
      body: form,
    })
    expect(response.status).toBe(200)
    const job = (await response.json()) as JobOfferContainer
    expect(job.state).toBe(1)
    const refused = await api(base, 'GET', `/deals/${job.deal_id}/input_files`, {party: creator})
    expect(refused.status).toBe(403)
    const served = await fetch(`${base}/api/v1/deals/${job.deal_id}/input_files`, {
      headers: rawAuthHeaders(rp),
    })
    expect(served.status).toBe(200)
    expect(Buffer.from(await served.arrayBuffer())).toEqual(inputs)

    const missing = new FormData()
    missing.append(
      'job_offer.json',
      new Blob([JSON.stringify(jobOfferBody(creator.address, s))]),
      'job_offer.json',
    )
    const noInputs = await fetch(`${base}/api/v1/job_offers/with_files`, {
      method: 'POST',
      headers: rawAuthHeaders(creator),
      body: missing,
    })
    expect(noInputs.status).toBe(400)
    expect(await noInputs.text()).toBe('Missing inputs.tar part\n')
  })
})

describe('size limits', () => {
  it('refuses a result tar over the limit with 413 and stores nothing', async () => {
    const s = isolated()
    const rp = Wallet.createRandom()
    await postOffer(rp, resourceOfferBody(rp.address, s))
    const job = await postJob(creator, jobOfferBody(creator.address, s))
    const big = await api(base, 'POST', `/deals/${job.json.deal_id}/files`, {
      party: rp,
      body: Buffer.alloc((1 << 20) + 1),
    })
    expect(big.status).toBe(413)
    expect(await readdir(join(dataDir, 'job-files', job.json.deal_id))).toEqual([])
    const files = await api(base, 'GET', `/deals/${job.json.deal_id}/files`, {party: creator})
    expect(files.status).toBe(404)
  })

  it('refuses input files over 10 MiB with 413', async () => {
    const form = new FormData()
    form.append(
      'job_offer.json',
      new Blob([JSON.stringify(jobOfferBody(creator.address, isolated()))]),
      'job_offer.json',
    )
    form.append('inputs.tar', new Blob([Buffer.alloc((10 << 20) + 1)]), 'inputs.tar')
    const response = await fetch(`${base}/api/v1/job_offers/with_files`, {
      method: 'POST',
      headers: rawAuthHeaders(creator),
      body: form,
    })
    expect(response.status).toBe(413)
    expect((await api(base, 'GET', '/job_offers')).status).toBe(200)
  })
})

describe('other routes', () => {
  it('issues a validation token naming the signer', async () => {
    const response = await api(base, 'GET', '/validation_token', {party: provider})
    const token = (response.json() as {JWT: string}).JWT
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {sub: string}
    expect(claims.sub).toBe(`rp_${provider.address}`)
  })

  it('lists job offers by filter', async () => {
    const all = (
      await api(base, 'GET', `/job_offers?job_creator=${creator.address}`)
    ).json() as JobOfferContainer[]
    const cancelled = (
      await api(base, 'GET', `/job_offers?job_creator=${creator.address}&cancelled=true`)
    ).json() as JobOfferContainer[]
    const notMatched = (await api(base, 'GET', '/job_offers?not_matched=true')).json() as JobOfferContainer[]
    expect(all.length).toBeGreaterThan(cancelled.length)
    expect(cancelled.every((j) => j.state === 10)).toBe(true)
    expect(notMatched.every((j) => j.deal_id === '')).toBe(true)
    expect((await api(base, 'GET', '/job_offers?cancelled=maybe')).status).toBe(400)
  })

  it('answers websocket pings', async () => {
    const pong = new Promise<void>((resolve) =>
      events.socket.once('pong', () => {
        resolve()
      }),
    )
    events.socket.ping()
    await pong
    expect(events.socket.readyState).toBe(1)
  })
})
