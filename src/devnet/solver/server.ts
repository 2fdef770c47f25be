/**
 * The solver's HTTP API under `/api/v1` (lilypad-protocol.md §4): the Go solver's routes, checks in
 * its order and its error texts, with 4xx statuses where Go answers 500 for a client's mistake.
 */
import {randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {rename, rm, stat} from 'node:fs/promises'
import {join} from 'node:path'
import type {Readable} from 'node:stream'

import multipart from '@fastify/multipart'
import {Ajv} from 'ajv'
import Fastify, {type FastifyInstance, type FastifyReply, type FastifyRequest} from 'fastify'
import type {Logger} from 'pino'

import {checkClientVersion, verifyAuthHeaders} from '../../core/solver/auth.js'
import {jobOfferId} from '../../core/solver/ids.js'
import {GO_STATE, goStateName, goStateNumber, isTerminalState} from '../../core/solver/states.js'
import type {DealContainer, JobOffer, ResourceOffer, Result} from '../../core/solver/types.js'
import {SolverController} from './controller.js'
import {
  FileTooLarge,
  UploadRefused,
  dealFilesDir,
  firstFile,
  inputsDir,
  uploadFilename,
  writeStreamAtomically,
} from './files.js'
import {RateLimiter, SolverHttpError, sendJson, sendText, validationToken} from './http.js'
import type {SolverLimits} from './options.js'
import {
  JC_TX_FIELDS,
  JOB_OFFER_BODY,
  MEDIATOR_TX_FIELDS,
  RESOURCE_OFFER_BODY,
  RESULT_BODY,
  RP_TX_FIELDS,
  TX_BODIES,
  normaliseJobOffer,
  normaliseResourceOffer,
  normaliseResult,
  normaliseTransactions,
} from './schemas.js'
import type {SolverStore} from './store.js'

/** What the routes need. */
export interface ServerDeps {
  store: SolverStore
  controller: SolverController
  log: Logger
  dataDir: string
  limits: SolverLimits
  minimumVersion: string | undefined
  rateLimit: {requests: number; windowMs: number} | undefined
  validationToken: {secret: string; kid: string; expirationSeconds: number}
  /** Extra admission of resource offers (balances); returns false to answer `null`. */
  admitResourceOffer?: ((offer: ResourceOffer) => Promise<boolean>) | undefined
}

const API = '/api/v1'

type IdParams = {Params: {id: string}}

/**
 * Verified header pairs. A client's headers sign a fixed payload (its address; the protocol has no
 * nonce), so every request of a client carries the same pair: recovering the key once per pair
 * instead of once per request saves about 6 ms of secp256k1 arithmetic on each call.
 */
const verified = new Map<string, string>()
const VERIFIED_MAX = 10_000

function authenticate(request: FastifyRequest): string {
  const user = request.headers['x-lilypad-user']
  const signature = request.headers['x-lilypad-signature']
  const key = typeof user === 'string' && typeof signature === 'string' ? `${user} ${signature}` : undefined
  const known = key === undefined ? undefined : verified.get(key)
  if (known !== undefined) return known
  const auth = verifyAuthHeaders(request.headers)
  if (!auth.ok) throw new SolverHttpError(auth.status, auth.message)
  if (key !== undefined) {
    if (verified.size >= VERIFIED_MAX) verified.clear()
    verified.set(key, auth.address)
  }
  return auth.address
}

function boolQuery(value: unknown): boolean {
  return value === 'true'
}

function stringQuery(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function versionHeader(request: FastifyRequest): string {
  const value = request.headers['x-lilypad-version']
  return typeof value === 'string' ? value : ''
}

function isRecent(createdAt: number, diffSeconds: number): boolean {
  return Math.abs(Date.now() - createdAt) <= diffSeconds * 1000
}

/** Go `data.CheckJobOffer`. */
function checkJobOffer(offer: JobOffer): string | undefined {
  if (offer.trusted_parties.solver === '') return "job offer must name it's solver"
  if ((offer.trusted_parties.mediator ?? []).length === 0)
    return 'job offer must have at least one trusted mediator'
  return undefined
}

/** Go `data.CheckResourceOffer`. */
function checkResourceOffer(offer: ResourceOffer): string | undefined {
  if (offer.mode === 'MarketPrice') return 'resource offer mode cannot be market price'
  if (offer.trusted_parties.solver === '') return "resource offer must name it's solver"
  if ((offer.trusted_parties.mediator ?? []).length === 0) {
    return 'resource offer must have at least one trusted mediator'
  }
  return undefined
}

function timedOutText(deal: DealContainer): string {
  return `job with deal ID ${deal.id} timed out with a ${goStateName(deal.state)} state`
}

/** Whether a provider may still upload files or post a result: only while the deal runs or uploads. */
function takesResults(deal: DealContainer): boolean {
  return deal.state === GO_STATE.DealAgreed || deal.state === GO_STATE.Uploading
}

/** The 409 text for a result or upload that would rewind or replace a deal's outcome. */
function wrongStateText(deal: DealContainer): string {
  return `deal ${deal.id} takes no results in the ${goStateName(deal.state)} state`
}

/** Builds the fastify instance with every route (not yet listening). */
export function buildServer(deps: ServerDeps): FastifyInstance {
  const {store, controller, limits} = deps
  const app = Fastify({
    loggerInstance: deps.log,
    bodyLimit: limits.bodyBytes,
    ajv: {customOptions: {coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false}},
  })
  const limiter =
    deps.rateLimit === undefined
      ? undefined
      : new RateLimiter(deps.rateLimit.requests, deps.rateLimit.windowMs)
  const partValidator = new Ajv({coerceTypes: false, allErrors: false}).compile(JOB_OFFER_BODY)

  app.setErrorHandler(
    (error: Error & {code?: string; statusCode?: number; validation?: unknown}, request, reply) => {
      if (error instanceof SolverHttpError) return sendText(reply, error.status, error.message)
      if (error.validation !== undefined)
        return sendText(reply, 400, `Error parsing request body: ${error.message}`)
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendText(reply, 413, 'request body too large')
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
        return sendText(reply, 415, 'unsupported media type')
      if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
        return sendText(reply, 400, 'Error parsing request body')
      }
      const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
      if (status >= 500) request.log.error({err: error}, 'request failed')
      return sendText(reply, status, status >= 500 ? 'internal error' : error.message)
    },
  )
  app.setNotFoundHandler((_request, reply) => sendText(reply, 404, '404 page not found'))

  app.addHook('onRequest', async (request, reply) => {
    void reply.header('access-control-allow-origin', '*')
    if (limiter === undefined || !request.url.startsWith(API)) return
    const path = request.url.split('?')[0] ?? ''
    if (!limiter.allow(`${request.ip} ${request.method} ${path}`)) {
      await sendText(reply, 429, 'Too Many Requests')
    }
  })
  app.options(`${API}/*`, async (_request, reply) =>
    reply
      .code(200)
      .header('access-control-allow-methods', 'GET, POST, OPTIONS')
      .header('access-control-allow-headers', '*')
      .send(''),
  )

  // Go decodes any body as JSON whatever its content type.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', {parseAs: 'string'}, (_request, body, done) => {
    if (body === '') {
      done(null, undefined)
      return
    }
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(new SolverHttpError(400, 'Error parsing request body'), undefined)
    }
  })

  function deal(id: string): DealContainer {
    const found = store.getDeal(id)
    if (found === undefined) throw new SolverHttpError(404, 'deal not found')
    return found
  }

  // ---- lists and getters ---------------------------------------------------------------------

  app.get<{Querystring: Record<string, string>}>(`${API}/job_offers`, async (request, reply) => {
    const q = request.query
    let cancelled: boolean | undefined
    if (q.cancelled !== undefined && q.cancelled !== '') {
      if (
        !['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False', 'T', 'F'].includes(
          q.cancelled,
        )
      ) {
        throw new SolverHttpError(400, `invalid cancelled filter value: ${q.cancelled}`)
      }
      cancelled = ['true', '1', 't', 'TRUE', 'True', 'T'].includes(q.cancelled)
    }
    const json = store.jobOffersJson({
      jobCreator: stringQuery(q.job_creator),
      notMatched: boolQuery(q.not_matched),
      active: boolQuery(q.active),
      cancelled,
    })
    return sendJson(reply, undefined, json)
  })

  app.get<IdParams>(`${API}/job_offers/:id`, async (request, reply) => {
    const found = store.getJobOffer(request.params.id)
    if (found === undefined) throw new SolverHttpError(404, 'job offer not found')
    return sendJson(reply, found)
  })

  app.get<{Querystring: Record<string, string>}>(`${API}/resource_offers`, async (request, reply) => {
    const q = request.query
    const json = store.resourceOffersJson({
      resourceProvider: stringQuery(q.resource_provider),
      active: boolQuery(q.active),
      notMatched: boolQuery(q.not_matched),
    })
    return sendJson(reply, undefined, json)
  })

  app.get<{Querystring: Record<string, string>}>(`${API}/deals`, async (request, reply) => {
    const q = request.query
    let state: number | undefined
    const stateName = stringQuery(q.state)
    if (stateName !== undefined) {
      state = goStateNumber(stateName)
      if (state === undefined) throw new SolverHttpError(400, `unknown AgreementState: ${stateName}`)
    }
    const json = store.dealsJson({
      jobCreator: stringQuery(q.job_creator),
      resourceProvider: stringQuery(q.resource_provider),
      mediator: stringQuery(q.mediator),
      state,
    })
    return sendJson(reply, undefined, json)
  })

  app.get<IdParams>(`${API}/deals/:id`, async (request, reply) => sendJson(reply, deal(request.params.id)))

  app.get<IdParams>(`${API}/deals/:id/result`, async (request, reply) => {
    const result = store.getResult(request.params.id)
    if (result === undefined) throw new SolverHttpError(404, 'result not found')
    return sendJson(reply, {...result, results_id: result.data_id})
  })

  // ---- job offers ----------------------------------------------------------------------------

  function checkCapacity(): void {
    if (store.countOpenJobOffers() > limits.maxJobOfferCapacity)
      throw new SolverHttpError(503, 'network busy')
  }

  function checkVersion(request: FastifyRequest, status: number): void {
    if (deps.minimumVersion === undefined) return
    const verdict = checkClientVersion(versionHeader(request), {minimumVersion: deps.minimumVersion})
    if (!verdict.supported) {
      throw new SolverHttpError(
        status,
        `Please update to minimum supported version ${verdict.minimumVersion} or newer: https://github.com/Lilypad-Tech/lilypad/releases`,
      )
    }
  }

  app.post(`${API}/job_offers`, {schema: {body: JOB_OFFER_BODY}}, async (request, reply) => {
    const offer = normaliseJobOffer(request.body)
    checkCapacity()
    const signer = authenticate(request)
    if (signer !== offer.job_creator) {
      throw new SolverHttpError(403, 'job creator address does not match signer address')
    }
    checkVersion(request, 403)
    if (!isRecent(offer.created_at, limits.offerTimestampDiffSeconds)) {
      throw new SolverHttpError(
        400,
        "job offer rejected because CreatedAt time is not recent, check your computer's time settings and network connection",
      )
    }
    const invalid = checkJobOffer(offer)
    if (invalid !== undefined) throw new SolverHttpError(400, invalid)
    return sendJson(reply, controller.addJobOffer(offer))
  })

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    await scope.register(multipart, {
      limits: {fileSize: limits.inputBytes, files: 4, fields: 16, parts: 20},
    })
    scope.post(
      `${API}/job_offers/with_files`,
      {bodyLimit: limits.inputBytes + (1 << 20)},
      async (request, reply) => {
        checkCapacity()
        let signer: string
        try {
          signer = authenticate(request)
        } catch {
          throw new SolverHttpError(401, 'Unauthorized')
        }
        if (!request.isMultipart()) throw new SolverHttpError(400, 'Error parsing form data')
        const staging = join(deps.dataDir, 'job-input-archives', `.upload-${randomBytes(8).toString('hex')}`)
        let offerText: string | undefined
        let inputs: {path: string; size: number} | undefined
        try {
          try {
            for await (const part of request.parts()) {
              if (part.type !== 'file') continue
              if (part.fieldname === 'job_offer.json' && offerText === undefined) {
                offerText = (await part.toBuffer()).toString('utf8')
              } else if (part.fieldname === 'inputs.tar' && inputs === undefined) {
                inputs = await writeStreamAtomically(part.file, staging, 'inputs.tar', limits.inputBytes)
                if (part.file.truncated) throw new FileTooLarge(limits.inputBytes)
              } else {
                part.file.resume()
              }
            }
          } catch (error) {
            if (
              error instanceof FileTooLarge ||
              (error as {code?: string}).code === 'FST_REQ_FILE_TOO_LARGE'
            ) {
              throw new SolverHttpError(413, 'request body too large')
            }
            if (error instanceof SolverHttpError) throw error
            throw new SolverHttpError(400, 'Error parsing form data')
          }
          if (offerText === undefined) throw new SolverHttpError(400, 'Missing job_offer.json part')
          let body: unknown
          try {
            body = JSON.parse(offerText)
          } catch {
            throw new SolverHttpError(400, 'Invalid job offer JSON')
          }
          if (!partValidator(body)) throw new SolverHttpError(400, 'Invalid job offer JSON')
          const offer = normaliseJobOffer(body)
          if (signer !== offer.job_creator) {
            throw new SolverHttpError(403, 'Job creator address does not match signer address')
          }
          checkVersion(request, 403)
          if (!isRecent(offer.created_at, limits.offerTimestampDiffSeconds)) {
            throw new SolverHttpError(
              400,
              "Job offer rejected because CreatedAt time is not recent, check your computer's time settings and network connection",
            )
          }
          const invalid = checkJobOffer(offer)
          if (invalid !== undefined) throw new SolverHttpError(400, `Invalid job offer: ${invalid}`)
          if (inputs === undefined) throw new SolverHttpError(400, 'Missing inputs.tar part')
          const id = jobOfferId({...offer, id: ''})
          const dir = inputsDir(deps.dataDir, id)
          await rm(dir, {recursive: true, force: true})
          await rename(staging, dir)
          store.putFile({
            owner: id,
            kind: 'inputs',
            filename: 'inputs.tar',
            path: join(dir, 'inputs.tar'),
            size: inputs.size,
            at: Date.now(),
          })
          return await sendJson(reply, controller.addJobOffer(offer))
        } finally {
          await rm(staging, {recursive: true, force: true})
        }
      },
    )
  })

  async function streamFile(reply: FastifyReply, path: string, filename: string): Promise<FastifyReply> {
    try {
      await stat(path)
    } catch {
      throw new SolverHttpError(404, 'no regular files found in directory')
    }
    return reply
      .code(200)
      .header('content-type', 'application/x-tar')
      .header('content-disposition', `attachment; filename=${filename}`)
      .send(createReadStream(path))
  }

  async function resultFile(dealId: string): Promise<{path: string; filename: string}> {
    const record = store.getFile(dealId, 'results')
    if (record !== undefined) return {path: record.path, filename: record.filename}
    // A kill between the rename and the store's commit leaves a complete file without its record.
    const found = await firstFile(dealFilesDir(deps.dataDir, dealId))
    if (found === undefined) throw new SolverHttpError(404, 'no regular files found in directory')
    return found
  }

  app.get<IdParams>(`${API}/job_offers/:id/files`, async (request, reply) => {
    const job = store.getJobOffer(request.params.id)
    if (job === undefined) throw new SolverHttpError(404, 'job offer not found')
    let signer: string
    try {
      signer = authenticate(request)
    } catch {
      throw new SolverHttpError(401, 'not authorized')
    }
    if (signer !== job.job_creator) throw new SolverHttpError(403, 'not authorized')
    if (job.deal_id === '') throw new SolverHttpError(404, 'deal not found')
    const file = await resultFile(job.deal_id)
    const found = deal(job.deal_id)
    if (controller.protocol === 'solver' && !isTerminalState(found.state)) {
      controller.setDealState(found.id, GO_STATE.ResultsAccepted, (d) => {
        d.download_at = Date.now()
      })
    }
    return streamFile(reply, file.path, file.filename)
  })

  // ---- resource offers -----------------------------------------------------------------------

  app.post(`${API}/resource_offers`, {schema: {body: RESOURCE_OFFER_BODY}}, async (request, reply) => {
    const offer = normaliseResourceOffer(request.body)
    const signer = authenticate(request)
    if (signer !== offer.resource_provider) {
      throw new SolverHttpError(403, 'resource provider address does not match signer address')
    }
    checkVersion(request, 403)
    if (!isRecent(offer.created_at, limits.offerTimestampDiffSeconds)) {
      throw new SolverHttpError(
        400,
        "resource offer rejected because CreatedAt time is not recent, check your computer's time settings and network connection",
      )
    }
    const invalid = checkResourceOffer(offer)
    if (invalid !== undefined) throw new SolverHttpError(400, invalid)
    if (deps.admitResourceOffer !== undefined && !(await deps.admitResourceOffer(offer))) {
      return sendJson(reply, null)
    }
    return sendJson(reply, controller.addResourceOffer(offer))
  })

  // ---- deals: files and results ---------------------------------------------------------------

  app.get<IdParams>(`${API}/deals/:id/input_files`, async (request, reply) => {
    const found = deal(request.params.id)
    let signer: string
    try {
      signer = authenticate(request)
    } catch {
      throw new SolverHttpError(401, 'unauthorized')
    }
    if (signer !== found.resource_provider) {
      throw new SolverHttpError(
        403,
        'not authorized: only the resource provider running this job can download input files',
      )
    }
    const record = store.getFile(found.job_offer, 'inputs')
    const path = record?.path ?? join(inputsDir(deps.dataDir, found.job_offer), 'inputs.tar')
    return streamFile(reply, path, 'inputs.tar')
  })

  app.get<IdParams>(`${API}/deals/:id/files`, async (request, reply) => {
    const found = deal(request.params.id)
    let signer: string
    try {
      signer = authenticate(request)
    } catch {
      throw new SolverHttpError(401, 'not authorized')
    }
    if (signer !== found.job_creator) {
      throw new SolverHttpError(403, 'not authorized: job creator address does not match signer address')
    }
    const file = await resultFile(found.id)
    controller.touchDeal(found.id, (d) => {
      // Downloading only follows a submitted result: a late download never rewinds a finished deal.
      if (d.state === GO_STATE.ResultsSubmitted) d.state = GO_STATE.Downloading
      d.download_at = Date.now()
    })
    return streamFile(reply, file.path, file.filename)
  })

  void app.register((scope, _options, registered) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => {
      done(null, payload)
    })
    scope.post<IdParams>(`${API}/deals/:id/files`, async (request, reply) => {
      const found = deal(request.params.id)
      if (SolverController.timedOut(found)) throw new SolverHttpError(409, timedOutText(found))
      const signer = authenticate(request)
      if (signer !== found.resource_provider) {
        throw new SolverHttpError(403, 'resource provider address does not match signer address')
      }
      // After its result, a deal's tar is what the job creator judges: it is never replaced.
      if (!takesResults(found)) throw new SolverHttpError(409, wrongStateText(found))
      const disposition = request.headers['content-disposition']
      const filename = uploadFilename(typeof disposition === 'string' ? disposition : undefined)
      controller.touchDeal(found.id, (d) => {
        if (d.state === GO_STATE.DealAgreed) d.state = GO_STATE.Uploading
      })
      const dir = dealFilesDir(deps.dataDir, found.id)
      const source = (request.body as Readable | undefined) ?? request.raw
      let written: {path: string; size: number}
      const current = (): DealContainer => store.getDeal(found.id) ?? found
      try {
        written = await writeStreamAtomically(source, dir, filename, limits.resultBytes, () =>
          takesResults(current()),
        )
      } catch (error) {
        if (error instanceof FileTooLarge) {
          request.raw.resume()
          throw new SolverHttpError(413, `result larger than ${limits.resultBytes} bytes`)
        }
        if (error instanceof UploadRefused) throw new SolverHttpError(409, wrongStateText(current()))
        throw error
      }
      store.transaction(() => {
        store.putFile({
          owner: found.id,
          kind: 'results',
          filename,
          path: written.path,
          size: written.size,
          at: Date.now(),
        })
        controller.touchDeal(found.id, (d) => {
          d.upload_at = Date.now()
        })
      })
      request.log.info({deal_id: found.id, bytes: written.size, filename}, 'results uploaded')
      const result: Result = {id: '', deal_id: '', data_id: found.id, error: '', instruction_count: 0}
      return sendJson(reply, {...result, results_id: result.data_id})
    })
    registered()
  })

  app.post<IdParams>(`${API}/deals/:id/result`, {schema: {body: RESULT_BODY}}, async (request, reply) => {
    const found = deal(request.params.id)
    if (SolverController.timedOut(found)) throw new SolverHttpError(409, timedOutText(found))
    const signer = authenticate(request)
    if (signer !== found.resource_provider) {
      throw new SolverHttpError(403, 'resource provider address does not match signer address')
    }
    const result = normaliseResult(request.body)
    if (result.data_id === '' && result.error === '')
      throw new SolverHttpError(400, 'result must have a data id')
    if (!takesResults(found)) {
      const stored = store.getResult(found.id)
      // The same result again (a retry whose answer was lost) changes nothing and gets the stored one.
      if (stored !== undefined && stored.data_id === result.data_id && stored.error === result.error)
        return sendJson(reply, {...stored, results_id: stored.data_id})
      // On chain, addResult can be mined (ResultsSubmitted) before the provider posts it here.
      const firstOnChain =
        stored === undefined && controller.protocol === 'onchain' && found.state !== GO_STATE.DealNegotiating
      if (!firstOnChain) throw new SolverHttpError(409, wrongStateText(found))
    }
    return sendJson(reply, controller.addResult(found, result))
  })

  // ---- deals: transactions ---------------------------------------------------------------------

  function recordTransactions(
    found: DealContainer,
    party: 'resource_provider' | 'job_creator' | 'mediator',
    posted: Record<string, string>,
  ): DealContainer | undefined {
    return store.transaction(() => {
      const updated = controller.touchDeal(found.id, (d) => {
        const txs = d.transactions[party] as unknown as Record<string, string>
        for (const [field, hash] of Object.entries(posted)) if (hash !== '') txs[field] = hash
      })
      for (const [field, txHash] of Object.entries(posted)) {
        if (txHash !== '') store.addTransaction({dealId: found.id, party, field, txHash, at: Date.now()})
      }
      return updated
    })
  }

  app.post<IdParams>(
    `${API}/deals/:id/txs/resource_provider`,
    {schema: {body: TX_BODIES.resource_provider}},
    async (request, reply) => {
      const found = deal(request.params.id)
      const signer = authenticate(request)
      if (signer !== found.resource_provider) {
        throw new SolverHttpError(403, 'resource provider address does not match signer address')
      }
      const updated = recordTransactions(
        found,
        'resource_provider',
        normaliseTransactions(RP_TX_FIELDS, request.body),
      )
      if (updated === undefined) throw new SolverHttpError(404, 'deal not found')
      controller.announceTransactions('ResourceProviderTransactionsUpdated', updated)
      return sendJson(reply, updated)
    },
  )

  app.post<IdParams>(
    `${API}/deals/:id/txs/job_creator`,
    {schema: {body: TX_BODIES.job_creator}},
    async (request, reply) => {
      const found = deal(request.params.id)
      const signer = authenticate(request)
      if (signer !== found.job_creator) {
        throw new SolverHttpError(403, 'job creator address does not match signer address')
      }
      const posted = normaliseTransactions(JC_TX_FIELDS, request.body)
      const updated = recordTransactions(found, 'job_creator', posted)
      if (updated === undefined) throw new SolverHttpError(404, 'deal not found')
      // In the `solver` protocol acceptance is this post; in `onchain` it is the acceptResult transaction.
      if (
        posted.accept_result !== '' &&
        controller.protocol === 'solver' &&
        !isTerminalState(updated.state)
      ) {
        return sendJson(reply, controller.setDealState(updated.id, GO_STATE.ResultsAccepted) ?? updated)
      }
      controller.announceTransactions('JobCreatorTransactionsUpdated', updated)
      return sendJson(reply, updated)
    },
  )

  app.post<IdParams>(
    `${API}/deals/:id/txs/mediator`,
    {schema: {body: TX_BODIES.mediator}},
    async (request, reply) => {
      const found = deal(request.params.id)
      const signer = authenticate(request)
      if (found.mediator === '' || signer !== found.mediator) {
        throw new SolverHttpError(403, 'job creator address does not match mediator address')
      }
      const updated = recordTransactions(
        found,
        'mediator',
        normaliseTransactions(MEDIATOR_TX_FIELDS, request.body),
      )
      if (updated === undefined) throw new SolverHttpError(404, 'deal not found')
      controller.announceTransactions('MediatorTransactionsUpdated', updated)
      return sendJson(reply, updated)
    },
  )

  app.get(`${API}/validation_token`, async (request, reply) => {
    const signer = authenticate(request)
    return sendJson(reply, {JWT: validationToken(signer, deps.validationToken)})
  })

  return app as unknown as FastifyInstance
}
