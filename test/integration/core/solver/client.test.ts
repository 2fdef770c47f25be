import {createHash} from 'node:crypto'
import type {ServerResponse} from 'node:http'
import {Readable} from 'node:stream'
import {afterAll, afterEach, beforeAll, describe, expect, it} from '@jest/globals'
import {isLilypadError, type LilypadError} from '../../../../src/core/errors/index.js'
import {verifyAuthHeaders} from '../../../../src/core/solver/auth.js'
import {type SolverClientEvent, createSolverClient} from '../../../../src/core/solver/client.js'
import {encodeJobOffer, encodeResourceOffer} from '../../../../src/core/solver/go-json.js'
import {buildJobOffer, moduleConfigFor} from '../../../../src/core/solver/offer.js'
import type {ResourceOffer} from '../../../../src/core/solver/types.js'
import {freePort} from '../../../helpers/net.js'
import {type TestServer, startTestServer, until} from './solver-test-server.js'

const KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const SOLVER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'

const offer = buildJobOffer({
  jobCreator: ADDRESS,
  module: moduleConfigFor('https://github.com/Lilypad-Tech/lilypad-module-cowsay', 'v0.0.4'),
  rendered: {machine: {cpu: 1000, ram: 100}},
  inputs: {Message: 'a<b'},
  services: {solver: SOLVER, mediators: [SOLVER]},
})

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server.close()
})
afterEach(() => {
  server.requests.length = 0
})

const reply =
  (status: number, body: string, headers: Record<string, string> = {}) =>
  (_request: unknown, response: ServerResponse): void => {
    response.writeHead(status, headers)
    response.end(body)
  }

const client = (
  extra: Partial<Parameters<typeof createSolverClient>[0]> = {},
): ReturnType<typeof createSolverClient> =>
  createSolverClient({
    url: `${server.url}/`,
    signer: KEY,
    retries: 3,
    retryBaseMs: 1,
    retryMaxMs: 5,
    timeoutMs: 5_000,
    ...extra,
  })

async function failure(promise: Promise<unknown>): Promise<LilypadError> {
  try {
    await promise
  } catch (error) {
    if (isLilypadError(error)) return error
    throw error
  }
  throw new Error('expected a LilypadError')
}

describe('solver client requests', () => {
  it('POSTs the Go bytes of the offer, signed, and returns the container', async () => {
    server.handle((request, response) => {
      const auth = verifyAuthHeaders(request.headers)
      response.writeHead(auth.ok ? 200 : 401)
      response.end(
        auth.ok
          ? JSON.stringify({id: 'QmJob', deal_id: '', job_creator: auth.address, state: 0, job_offer: offer})
          : auth.message,
      )
    })
    const container = await client().postJobOffer(offer)
    expect(container).toMatchObject({id: 'QmJob', job_creator: ADDRESS})
    const [seen] = server.requests
    expect(seen?.method).toBe('POST')
    expect(seen?.url).toBe('/api/v1/job_offers')
    expect(seen?.body.equals(Buffer.from(encodeJobOffer(offer)))).toBe(true)
    expect(seen?.body.toString()).toContain('"Message":"a\\u003cb"')
    expect(seen?.headers['content-type']).toBe('application/json')
    expect(seen?.headers['x-lilypad-version']).toBe('v2.23.0')
  })

  it('signs GETs too, sends the filters, and reads a Go nil list as []', async () => {
    server.handle(reply(200, 'null'))
    const deals = await client({version: 'v2.99.0'}).getDeals({
      job_creator: ADDRESS,
      state: 'ResultsSubmitted',
    })
    expect(deals).toEqual([])
    const [seen] = server.requests
    expect(seen?.url).toBe(`/api/v1/deals?job_creator=${ADDRESS}&state=ResultsSubmitted`)
    expect(verifyAuthHeaders(seen?.headers ?? {})).toEqual({ok: true, address: ADDRESS})
    expect(seen?.headers['x-lilypad-version']).toBe('v2.99.0')
    await client().getJobOffers({job_creator: ADDRESS, not_matched: true, cancelled: false})
    expect(server.requests[1]?.url).toBe(
      `/api/v1/job_offers?job_creator=${ADDRESS}&not_matched=true&cancelled=false`,
    )
    await client().getDeal('Qm/../x')
    expect(server.requests[2]?.url).toBe('/api/v1/deals/Qm%2F..%2Fx')
  })

  it('writes transaction bodies as the Go structs (every field, "" when not set)', async () => {
    server.handle(reply(200, '{}'))
    await client().postJobCreatorTxs('QmDeal', {accept_result: '0x'})
    await client().postResourceProviderTxs('QmDeal', {agree: '0xabc'})
    await client().postMediatorTxs('QmDeal', {mediation_accept_result: '0x1'})
    expect(server.requests.map((r) => [r.url, r.body.toString()])).toEqual([
      [
        '/api/v1/deals/QmDeal/txs/job_creator',
        '{"agree":"","accept_result":"0x","check_result":"","timeout_agree":"","timeout_submit_result":"","timeout_mediate_result":""}',
      ],
      [
        '/api/v1/deals/QmDeal/txs/resource_provider',
        '{"agree":"0xabc","add_result":"","timeout_agree":"","timeout_judge_result":"","timeout_mediate_result":""}',
      ],
      ['/api/v1/deals/QmDeal/txs/mediator', '{"mediation_accept_result":"0x1","mediation_reject_result":""}'],
    ])
  })

  it('posts results with results_id, and resource offers with the engines extension after the Go fields', async () => {
    server.handle(reply(200, 'null'))
    await client().postResult('QmDeal', {
      id: '',
      deal_id: 'QmDeal',
      data_id: 'QmData',
      error: '',
      instruction_count: 1,
    })
    expect(server.requests[0]?.body.toString()).toBe(
      '{"id":"","deal_id":"QmDeal","data_id":"QmData","error":"","instruction_count":1,"results_id":"QmData"}',
    )
    const resource = {id: '', resource_provider: ADDRESS, engines: ['wasm']} as unknown as ResourceOffer
    expect(await client().postResourceOffer(resource)).toBeNull()
    const body = server.requests[1]?.body.toString() ?? ''
    const goBytes = Buffer.from(encodeResourceOffer(resource)).toString()
    expect(body).toBe(`${goBytes.slice(0, -1)},"engines":["wasm"]}`)
    expect(JSON.parse(body)).toMatchObject({engines: ['wasm'], resource_provider: ADDRESS})
  })

  it('sends job offers with files as the two multipart file parts of the Go client', async () => {
    server.handle(reply(200, '{"id":"QmJob"}'))
    const tar = Buffer.from('pretend tar \u0000 bytes')
    await client().postJobOfferWithFiles(offer, tar)
    const seen = server.requests[0]
    expect(seen?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/)
    const body = seen?.body.toString('latin1') ?? ''
    expect(body).toContain('name="job_offer.json"; filename="job_offer.json"')
    expect(body).toContain('name="inputs.tar"; filename="inputs.tar"')
    expect(body).toContain(Buffer.from(encodeJobOffer(offer)).toString('latin1'))
    expect(body).toContain(tar.toString('latin1'))
  })

  it('uploads a tar from a buffer or a stream, naming it when asked', async () => {
    server.handle(reply(200, '{"data_id":"QmDeal"}'))
    await client().uploadResultFiles('QmDeal', Buffer.from('abc'))
    await client().uploadResultFiles(
      'QmDeal',
      Readable.from([Buffer.from('de'), Buffer.from('f')]),
      'out.tar',
    )
    expect(server.requests.map((r) => r.body.toString())).toEqual(['abc', 'def'])
    expect(server.requests[0]?.headers['content-type']).toBe('application/x-tar')
    expect(server.requests[1]?.headers['content-disposition']).toBe('attachment; filename="out.tar"')
  })

  it('streams downloads: the stream is handed over before the solver finished sending', async () => {
    const chunk = Buffer.alloc(256 * 1024, 7)
    let release: () => void = () => undefined
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    server.handle((_request, response) => {
      response.writeHead(200, {
        'Content-Type': 'application/x-tar',
        'Content-Length': String(chunk.length * 8),
        'Content-Disposition': 'attachment; filename=results.tar',
      })
      response.write(chunk)
      void released.then(() => {
        for (let i = 1; i < 8; i++) response.write(chunk)
        response.end()
      })
    })
    const download = await client().downloadResultFiles('QmDeal')
    expect(download.size).toBe(chunk.length * 8)
    expect(download.filename).toBe('results.tar')
    release()
    const hash = createHash('sha256')
    let total = 0
    for await (const part of download.stream) {
      hash.update(part as Buffer)
      total += (part as Buffer).length
    }
    expect(total).toBe(chunk.length * 8)
    const expected = createHash('sha256')
    for (let i = 0; i < 8; i++) expected.update(chunk)
    expect(hash.digest('hex')).toBe(expected.digest('hex'))
    const inputs = await client().getInputFiles('QmDeal')
    inputs.stream.resume()
    expect(server.requests[1]?.url).toBe('/api/v1/deals/QmDeal/input_files')
  })
})

describe('solver client retries', () => {
  it('retries 503 with back-off, then succeeds', async () => {
    let calls = 0
    server.handle((_request, response) => {
      calls++
      response.writeHead(calls < 3 ? 503 : 200)
      response.end(calls < 3 ? 'unavailable' : '{"id":"QmDeal"}')
    })
    const events: SolverClientEvent[] = []
    const deal = await client({onEvent: (event) => events.push(event)}).getDeal('QmDeal')
    expect(deal.id).toBe('QmDeal')
    expect(server.requests).toHaveLength(3)
    expect(events.map((e) => [e.attempt, e.reason])).toEqual([
      [1, 'HTTP 503'],
      [2, 'HTTP 503'],
    ])
  })

  it('gives up after the bounded number of retries: network busy is SOLVER_BUSY', async () => {
    server.handle(reply(503, 'network busy\n'))
    const error = await failure(client().postJobOffer(offer))
    expect(error.code).toBe('SOLVER_BUSY')
    expect(error.category).toBe('network')
    expect(server.requests).toHaveLength(4)
  })

  it('grows the back-off ceiling exponentially, capped, and honours Retry-After within the cap', async () => {
    server.handle(reply(429, 'Too Many Requests', {'Retry-After': '0'}))
    const events: SolverClientEvent[] = []
    const error = await failure(
      client({
        retries: 4,
        retryBaseMs: 1,
        retryMaxMs: 4,
        random: () => 0.999,
        onEvent: (e) => events.push(e),
      }).getDeals(),
    )
    expect(error.code).toBe('SOLVER_BUSY')
    expect(events.map((e) => e.delayMs)).toEqual([0, 1, 3, 3])
  })

  it('does not retry a 400 or a 500', async () => {
    server.handle(reply(400, 'Invalid job offer: bad\n'))
    const error = await failure(client().postJobOffer(offer))
    expect(error.code).toBe('SOLVER_ERROR')
    expect(error.message).toContain('Invalid job offer: bad')
    expect(server.requests).toHaveLength(1)
    server.handle(reply(500, 'boom'))
    await failure(client().getDeals())
    expect(server.requests).toHaveLength(2)
  })

  it('does not retry a streamed upload', async () => {
    server.handle(reply(503, 'unavailable'))
    const error = await failure(client().uploadResultFiles('QmDeal', Readable.from([Buffer.from('x')])))
    expect(error.code).toBe('SOLVER_UNREACHABLE')
    expect(server.requests).toHaveLength(1)
  })

  it('retries a refused connection, then reports SOLVER_UNREACHABLE', async () => {
    const port = await freePort()
    const events: SolverClientEvent[] = []
    const error = await failure(
      createSolverClient({
        url: `http://127.0.0.1:${port}`,
        retries: 2,
        retryBaseMs: 1,
        onEvent: (e) => events.push(e),
      }).getDeals(),
    )
    expect(error.code).toBe('SOLVER_UNREACHABLE')
    expect(error.category).toBe('network')
    expect(error.message).toContain('ECONNREFUSED')
    expect(events.map((e) => e.reason)).toEqual(['ECONNREFUSED', 'ECONNREFUSED'])
  })

  it('times out each attempt: GETs are retried, POSTs are not', async () => {
    server.handle(() => undefined)
    const error = await failure(client({timeoutMs: 100, retries: 1}).getDeals())
    expect(error.code).toBe('SOLVER_TIMEOUT')
    expect(server.requests).toHaveLength(2)
    server.requests.length = 0
    expect((await failure(client({timeoutMs: 100, retries: 1}).postJobOffer(offer))).code).toBe(
      'SOLVER_TIMEOUT',
    )
    expect(server.requests).toHaveLength(1)
  })

  it('stops when the signal aborts, during a request or a back-off', async () => {
    server.handle(() => undefined)
    const controller = new AbortController()
    const pending = failure(client().getDeals({}, {signal: controller.signal}))
    await until(() => server.requests.length === 1)
    controller.abort()
    expect((await pending).code).toBe('INTERRUPTED')
    server.handle(reply(503, 'unavailable'))
    const second = new AbortController()
    const backingOff = failure(
      client({
        retryBaseMs: 60_000,
        retryMaxMs: 60_000,
        random: () => 0.5,
        onEvent: () => {
          second.abort()
        },
      }).getDeals({}, {signal: second.signal}),
    )
    expect((await backingOff).code).toBe('INTERRUPTED')
    expect((await failure(client().getDeals({}, {signal: AbortSignal.abort()}))).code).toBe('INTERRUPTED')
  })
})

describe('solver error texts', () => {
  it.each([
    [
      500,
      'Please update to minimum supported version v2.23.0 or newer: https://github.com/Lilypad-Tech/lilypad/releases',
      'SOLVER_VERSION_REJECTED',
      'config',
    ],
    [
      500,
      "job offer rejected because CreatedAt time is not recent, check your computer's time settings and network connection",
      'SOLVER_CLOCK_SKEW',
      'config',
    ],
    [500, 'job creator address does not match signer address', 'SOLVER_NOT_A_PARTY', 'config'],
    [401, 'invalid signature', 'SOLVER_NOT_A_PARTY', 'config'],
    [500, 'deal not found', 'SOLVER_NOT_FOUND', 'job'],
    [404, '404 page not found', 'SOLVER_NOT_FOUND', 'job'],
    [500, 'job with deal ID Qm timed out with a TimeoutExecution state', 'SOLVER_ERROR', 'network'],
  ])('HTTP %i %s → %s', async (status, text, code, category) => {
    server.handle(reply(status, `${text}\n`))
    const error = await failure(client().postJobOffer(offer))
    expect(error.code).toBe(code)
    expect(error.category).toBe(category)
    expect(error.hints.length).toBeGreaterThan(0)
    expect(error.details).toMatchObject({status, method: 'POST'})
  })

  it('hints at the clock for clock skew', async () => {
    server.handle(
      reply(
        400,
        "Job offer rejected because CreatedAt time is not recent, check your computer's time settings and network connection",
      ),
    )
    const error = await failure(client().postJobOfferWithFiles(offer, Buffer.from('')))
    expect(error.hints.join(' ')).toMatch(/clock/)
  })

  it('reports a body that is not JSON as SOLVER_ERROR', async () => {
    server.handle(reply(200, '<html>'))
    expect((await failure(client().getDeal('Qm'))).code).toBe('SOLVER_ERROR')
  })
})
