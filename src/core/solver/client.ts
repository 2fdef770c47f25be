/**
 * A client for the solver API (lilypad-protocol.md §4): every endpoint a job creator, resource
 * provider or mediator uses, signed as the Go client signs (GETs too), with a per-request time-out,
 * bounded retries and the solver's plain-text errors turned into LilypadErrors with hints.
 *
 * Retry rule. Retried, with exponential back-off and full jitter (honouring `Retry-After`): a
 * refused or reset connection, DNS failures, and the statuses 429, 502, 503 and 504; never another
 * 4xx or 500. Every POST of this protocol is an idempotent "set": offers are keyed by their content
 * ID (the same offer posted twice is the same record on a correct solver), results and transaction
 * hashes overwrite the same fields, an upload replaces the same file. So POSTs retry on the same
 * conditions as GETs, with two exceptions: after a time-out (the solver may still be working on the
 * first copy, so a second one only adds load) and when the body is a stream (it cannot be replayed).
 */
import {Readable} from 'node:stream'
import {type ErrorCode, type LilypadError, isLilypadError, lilypadError} from '../errors/index.js'
import {errnoCode} from '../util/errno.js'
import {type AuthSigner, PROTOCOL_CLIENT_VERSION, authHeaders} from './auth.js'
import {type SubscribeEventsOptions, subscribeEvents} from './events.js'
import {type GoSchema, encodeJobOffer, encodeResourceOffer, encodeResult, goJsonEncode} from './go-json.js'
import type {
  DealContainer,
  DealTransactionsJobCreator,
  DealTransactionsMediator,
  DealTransactionsResourceProvider,
  JobOffer,
  JobOfferContainer,
  ResourceOffer,
  ResourceOfferContainer,
  Result,
} from './types.js'

export {findSolverUrl, type FindSolverUrlOptions} from './solver-url.js'
export {eventsUrl, subscribeEvents, type SubscribeEventsOptions, type SubscriptionStatus} from './events.js'

/** What {@link createSolverClient} needs. */
export interface SolverClientOptions {
  /** The solver's base URL (`http(s)://host:port`); `/api/v1` is added. */
  readonly url: string
  /** Signs every request; without it requests go unsigned (only public GETs then work). */
  readonly signer?: AuthSigner
  /** `X-Lilypad-Version` (default {@link PROTOCOL_CLIENT_VERSION}). */
  readonly version?: string
  /** Per-attempt time-out (default 30 000 ms). */
  readonly timeoutMs?: number
  /** Retries after the first attempt (default 5). */
  readonly retries?: number
  /** First back-off ceiling (default 250 ms); doubles per retry up to `retryMaxMs`. */
  readonly retryBaseMs?: number
  /** Largest back-off (default 8 000 ms). */
  readonly retryMaxMs?: number
  /** `fetch` to use (default the global one). */
  readonly fetch?: typeof fetch
  /** Random source in [0, 1) for the jitter (default `Math.random`). */
  readonly random?: () => number
  /** Told about each retry. */
  readonly onEvent?: (event: SolverClientEvent) => void
}

/** Progress the client reports. */
export interface SolverClientEvent {
  readonly type: 'solver.retry'
  readonly method: string
  readonly path: string
  readonly attempt: number
  readonly delayMs: number
  /** Why: an HTTP status or an error code. */
  readonly reason: string
}

/** Options every method takes. */
export interface CallOptions {
  readonly signal?: AbortSignal
}

/** `GET /job_offers` filters. */
export interface JobOfferQuery {
  readonly job_creator?: string
  readonly not_matched?: boolean
  readonly active?: boolean
  readonly cancelled?: boolean
}

/** `GET /resource_offers` filters. */
export interface ResourceOfferQuery {
  readonly resource_provider?: string
  readonly active?: boolean
  readonly not_matched?: boolean
}

/** `GET /deals` filters; `state` is a Go state name such as `ResultsSubmitted`. */
export interface DealQuery {
  readonly job_creator?: string
  readonly resource_provider?: string
  readonly state?: string
}

/** A streamed download. */
export interface SolverDownload {
  readonly stream: Readable
  /** `Content-Length`, when the solver sent one. */
  readonly size: number | undefined
  /** The file name of `Content-Disposition`, when present. */
  readonly filename: string | undefined
}

/** The validation token the solver issues to resource providers. */
export interface ValidationToken {
  JWT: string
}

/** The solver API. Every method throws the SOLVER_* codes (see {@link createSolverClient}). */
export interface SolverClient {
  readonly url: string
  getJobOffers(query?: JobOfferQuery, options?: CallOptions): Promise<JobOfferContainer[]>
  postJobOffer(offer: JobOffer, options?: CallOptions): Promise<JobOfferContainer>
  postJobOfferWithFiles(
    offer: JobOffer,
    inputsTar: Uint8Array,
    options?: CallOptions,
  ): Promise<JobOfferContainer>
  getJobOffer(id: string, options?: CallOptions): Promise<JobOfferContainer>
  getResourceOffers(query?: ResourceOfferQuery, options?: CallOptions): Promise<ResourceOfferContainer[]>
  postResourceOffer(offer: ResourceOffer, options?: CallOptions): Promise<ResourceOfferContainer | null>
  getDeals(query?: DealQuery, options?: CallOptions): Promise<DealContainer[]>
  getDeal(id: string, options?: CallOptions): Promise<DealContainer>
  getResult(dealId: string, options?: CallOptions): Promise<Result>
  postResult(dealId: string, result: Result, options?: CallOptions): Promise<Result>
  uploadResultFiles(
    dealId: string,
    body: Readable | Uint8Array,
    filename?: string,
    options?: CallOptions,
  ): Promise<Result>
  downloadResultFiles(dealId: string, options?: CallOptions): Promise<SolverDownload>
  getInputFiles(dealId: string, options?: CallOptions): Promise<SolverDownload>
  postJobCreatorTxs(
    dealId: string,
    txs: Partial<DealTransactionsJobCreator>,
    options?: CallOptions,
  ): Promise<DealContainer>
  postResourceProviderTxs(
    dealId: string,
    txs: Partial<DealTransactionsResourceProvider>,
    options?: CallOptions,
  ): Promise<DealContainer>
  postMediatorTxs(
    dealId: string,
    txs: Partial<DealTransactionsMediator>,
    options?: CallOptions,
  ): Promise<DealContainer>
  getValidationToken(options?: CallOptions): Promise<ValidationToken>
  /** {@link subscribeEvents} on this solver's URL. */
  subscribeEvents(options: Omit<SubscribeEventsOptions, 'url'>): Promise<void>
}

const STRING: GoSchema = {kind: 'string'}
const txSchema = (...keys: string[]): GoSchema => ({
  kind: 'struct',
  fields: keys.map((key) => ({key, schema: STRING})),
})
const JOB_CREATOR_TXS = txSchema(
  'agree',
  'accept_result',
  'check_result',
  'timeout_agree',
  'timeout_submit_result',
  'timeout_mediate_result',
)
const RESOURCE_PROVIDER_TXS = txSchema(
  'agree',
  'add_result',
  'timeout_agree',
  'timeout_judge_result',
  'timeout_mediate_result',
)
const MEDIATOR_TXS = txSchema('mediation_accept_result', 'mediation_reject_result')

const RETRY_STATUSES = new Set([429, 502, 503, 504])
const RETRY_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

interface RequestSpec {
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly query?: Readonly<Record<string, string | boolean | undefined>>
  readonly body?: Uint8Array | Readable | FormData
  readonly headers?: Readonly<Record<string, string>>
  readonly signal: AbortSignal | undefined
}

/** Why an attempt failed, before it becomes an error or a retry. */
type AttemptFailure =
  | {kind: 'status'; status: number; text: string; retryAfterMs: number | undefined}
  | {kind: 'network'; code: string; cause: unknown}
  | {kind: 'timeout'}

const sleep = async (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(interrupted())
      return
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(interrupted())
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })

function interrupted(): LilypadError {
  return lilypadError('INTERRUPTED', {message: 'The solver request was stopped.'})
}

function networkCode(error: unknown): string {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const code = errnoCode(current)
    if (code !== undefined) return code
    current = typeof current === 'object' && 'cause' in current ? current.cause : undefined
  }
  return 'ECONNFAILED'
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}

/**
 * Turns a solver failure into a LilypadError. The solver answers with plain-text `http.Error`
 * bodies, mostly as 500, so the text decides the code.
 */
function solverError(
  failure: AttemptFailure,
  context: {method: string; url: string; attempts: number},
): LilypadError {
  const details = {method: context.method, url: context.url, attempts: context.attempts}
  const host = new URL(context.url).host
  if (failure.kind === 'timeout') {
    return lilypadError('SOLVER_TIMEOUT', {
      message: `The solver at ${host} did not answer in time`,
      hints: ['The solver may be overloaded; try again in a minute.'],
      details,
    })
  }
  if (failure.kind === 'network') {
    return lilypadError('SOLVER_UNREACHABLE', {
      message: `Cannot reach the solver at ${host} (${failure.code})`,
      hints: [
        'Check the network connection and the solver URL of the network profile.',
        'For the local network, check that it is running.',
      ],
      details: {...details, code: failure.code},
      cause: failure.cause,
    })
  }
  const text = failure.text.trim()
  const withStatus = {...details, status: failure.status, body: text.slice(0, 2000)}
  const make = (code: ErrorCode, message: string, hints: string[]): LilypadError =>
    lilypadError(code, {message, hints, details: withStatus})
  if (/Please update to minimum supported version/i.test(text)) {
    return make('SOLVER_VERSION_REJECTED', `The solver refused this client's protocol version: ${text}`, [
      `This client announces ${PROTOCOL_CLIENT_VERSION}; update lilypad to a release that speaks the solver's version.`,
    ])
  }
  if (/CreatedAt time is not recent/i.test(text)) {
    return make(
      'SOLVER_CLOCK_SKEW',
      'The solver refused the offer: its timestamp is not within 30 seconds of the solver clock',
      ["Check this computer's clock: enable automatic time synchronisation (NTP) and try again."],
    )
  }
  if (/network busy/i.test(text) || failure.status === 429) {
    return make(
      'SOLVER_BUSY',
      failure.status === 429
        ? `The solver at ${host} is rate-limiting requests`
        : `The solver at ${host} is busy: ${text}`,
      ['Try again in a few minutes.'],
    )
  }
  if (
    /does not match (signer|mediator) address|not authori[sz]ed|^unauthorized|invalid signature|invalid user header|missing (user|signature) header/i.test(
      text,
    )
  ) {
    return make('SOLVER_NOT_A_PARTY', `The solver refused the request: ${text}`, [
      'Use the private key of the account that is a party to this job or deal (WEB3_PRIVATE_KEY).',
    ])
  }
  if (failure.status === 404 || /not found/i.test(text)) {
    return make('SOLVER_NOT_FOUND', `The solver has no such record: ${text || `HTTP ${failure.status}`}`, [
      'Check the ID; the solver forgets records when it restarts without a database.',
    ])
  }
  if (RETRY_STATUSES.has(failure.status)) {
    return make('SOLVER_UNREACHABLE', `The solver at ${host} is unavailable (HTTP ${failure.status})`, [
      'Try again in a minute; check the solver URL of the network profile.',
    ])
  }
  return make('SOLVER_ERROR', `The solver failed (HTTP ${failure.status}): ${text || '(no message)'}`, [
    'If it persists, report it to the solver operator with the details above.',
  ])
}

/**
 * Creates a solver API client.
 *
 * @param options - URL, signer, time-out and retry settings
 * @returns the client; its methods throw SOLVER_UNREACHABLE, SOLVER_TIMEOUT, SOLVER_BUSY (network),
 *   SOLVER_VERSION_REJECTED, SOLVER_CLOCK_SKEW, SOLVER_NOT_A_PARTY (config), SOLVER_NOT_FOUND (job),
 *   SOLVER_ERROR, and INTERRUPTED when the call's signal aborts
 * @example
 * const solver = createSolverClient({url: 'http://127.0.0.1:8081', signer: privateKey})
 * const container = await solver.postJobOffer(offer)
 */
export function createSolverClient(options: SolverClientOptions): SolverClient {
  const base = options.url.replace(/\/+$/, '')
  const doFetch = options.fetch ?? fetch
  const timeoutMs = options.timeoutMs ?? 30_000
  const retries = options.retries ?? 5
  const retryBaseMs = options.retryBaseMs ?? 250
  const retryMaxMs = options.retryMaxMs ?? 8_000
  const random = options.random ?? Math.random
  // The signature covers only the address, and secp256k1 signing is deterministic (RFC 6979):
  // one signature serves every request, instead of a point multiplication per request.
  let auth: Record<string, string> | undefined
  const authOf = (): Record<string, string> =>
    (auth ??=
      options.signer === undefined
        ? {'X-Lilypad-Version': options.version ?? PROTOCOL_CLIENT_VERSION}
        : authHeaders(options.signer, options.version))

  function urlOf(spec: RequestSpec): string {
    const url = new URL(`${base}/api/v1${spec.path}`)
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value))
    }
    return url.toString()
  }

  async function attempt(spec: RequestSpec, url: string): Promise<Response | AttemptFailure> {
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = spec.signal === undefined ? timeout : AbortSignal.any([spec.signal, timeout])
    const headers: Record<string, string> = {...authOf(), ...spec.headers}
    const init: RequestInit & {duplex?: 'half'} = {method: spec.method, headers, signal}
    if (spec.body !== undefined) {
      init.body = spec.body as NonNullable<RequestInit['body']>
      if (spec.body instanceof Readable) init.duplex = 'half'
    }
    try {
      const response = await doFetch(url, init)
      if (response.ok) return response
      let text = ''
      try {
        text = await response.text()
      } catch {
        // The status alone still says what failed.
      }
      return {
        kind: 'status',
        status: response.status,
        text,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      }
    } catch (error) {
      if (spec.signal?.aborted === true) throw interrupted()
      if (timeout.aborted) return {kind: 'timeout'}
      return {kind: 'network', code: networkCode(error), cause: error}
    }
  }

  function retryable(spec: RequestSpec, failure: AttemptFailure): boolean {
    if (spec.body instanceof Readable) return false
    if (failure.kind === 'timeout') return spec.method === 'GET'
    if (failure.kind === 'network') return RETRY_ERRNOS.has(failure.code) || failure.code === 'ECONNFAILED'
    return RETRY_STATUSES.has(failure.status)
  }

  async function request(spec: RequestSpec): Promise<Response> {
    const url = urlOf(spec)
    for (let attemptNumber = 0; ; attemptNumber++) {
      if (spec.signal?.aborted === true) throw interrupted()
      const outcome = await attempt(spec, url)
      if (outcome instanceof Response) return outcome
      if (attemptNumber >= retries || !retryable(spec, outcome)) {
        throw solverError(outcome, {method: spec.method, url, attempts: attemptNumber + 1})
      }
      const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** attemptNumber)
      const jittered = Math.floor(random() * ceiling)
      const delayMs =
        outcome.kind === 'status' && outcome.retryAfterMs !== undefined
          ? Math.min(retryMaxMs, Math.max(jittered, outcome.retryAfterMs))
          : jittered
      options.onEvent?.({
        type: 'solver.retry',
        method: spec.method,
        path: spec.path,
        attempt: attemptNumber + 1,
        delayMs,
        reason:
          outcome.kind === 'status'
            ? `HTTP ${outcome.status}`
            : outcome.kind === 'network'
              ? outcome.code
              : 'timeout',
      })
      await sleep(delayMs, spec.signal)
    }
  }

  async function json<T>(spec: RequestSpec): Promise<T> {
    const response = await request(spec)
    const text = await readText(response, spec)
    try {
      return JSON.parse(text) as T
    } catch (cause) {
      throw lilypadError('SOLVER_ERROR', {
        message: `The solver sent something that is not JSON for ${spec.method} ${spec.path}`,
        hints: ['Check that the URL points at a Lilypad solver.'],
        details: {path: spec.path, body: text.slice(0, 500)},
        cause,
      })
    }
  }

  async function readText(response: Response, spec: RequestSpec): Promise<string> {
    try {
      return await response.text()
    } catch (cause) {
      if (spec.signal?.aborted === true) throw interrupted()
      throw lilypadError('SOLVER_UNREACHABLE', {
        message: `The connection to the solver broke while reading ${spec.path}`,
        details: {path: spec.path},
        cause,
      })
    }
  }

  async function list<T>(spec: RequestSpec): Promise<T[]> {
    // Go writes a nil slice as `null` when nothing matches.
    return (await json<T[] | null>(spec)) ?? []
  }

  async function download(path: string, signal: AbortSignal | undefined): Promise<SolverDownload> {
    const response = await request({method: 'GET', path, signal})
    if (response.body === null)
      throw solverError(
        {kind: 'status', status: response.status, text: 'empty body', retryAfterMs: undefined},
        {method: 'GET', url: `${base}/api/v1${path}`, attempts: 1},
      )
    const length = response.headers.get('content-length')
    const disposition = response.headers.get('content-disposition') ?? ''
    const filename = /filename=("?)([^";]+)\1/.exec(disposition)?.[2]
    return {
      stream: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>),
      size: length === null ? undefined : Number(length),
      filename,
    }
  }

  const jsonBody = {'Content-Type': 'application/json'}
  const path = (template: string, id: string): string => template.replace('{id}', encodeURIComponent(id))
  const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'))

  return {
    url: base,
    getJobOffers: (query = {}, call = {}) =>
      list({method: 'GET', path: '/job_offers', query: {...query}, signal: call.signal}),
    postJobOffer: (offer, call = {}) =>
      json({
        method: 'POST',
        path: '/job_offers',
        body: encodeJobOffer(offer),
        headers: jsonBody,
        signal: call.signal,
      }),
    postJobOfferWithFiles: (offer, inputsTar, call = {}) => {
      const form = new FormData()
      form.append(
        'job_offer.json',
        new Blob([encodeJobOffer(offer)], {type: 'application/json'}),
        'job_offer.json',
      )
      form.append('inputs.tar', new Blob([inputsTar], {type: 'application/x-tar'}), 'inputs.tar')
      return json({method: 'POST', path: '/job_offers/with_files', body: form, signal: call.signal})
    },
    getJobOffer: (id, call = {}) =>
      json({method: 'GET', path: path('/job_offers/{id}', id), signal: call.signal}),
    getResourceOffers: (query = {}, call = {}) =>
      list({method: 'GET', path: '/resource_offers', query: {...query}, signal: call.signal}),
    postResourceOffer: (offer, call = {}) => {
      // Go bytes, plus our `engines` extension (a Go solver ignores the unknown key).
      const goBytes = Buffer.from(encodeResourceOffer(offer)).toString('utf8')
      const body =
        offer.engines === undefined
          ? goBytes
          : `${goBytes.slice(0, -1)},"engines":${goJsonEncode({kind: 'slice', of: STRING}, offer.engines)}}`
      return json({
        method: 'POST',
        path: '/resource_offers',
        body: bytes(body),
        headers: jsonBody,
        signal: call.signal,
      })
    },
    getDeals: (query = {}, call = {}) =>
      list({method: 'GET', path: '/deals', query: {...query}, signal: call.signal}),
    getDeal: (id, call = {}) => json({method: 'GET', path: path('/deals/{id}', id), signal: call.signal}),
    getResult: (dealId, call = {}) =>
      json({method: 'GET', path: path('/deals/{id}/result', dealId), signal: call.signal}),
    postResult: (dealId, result, call = {}) =>
      json({
        method: 'POST',
        path: path('/deals/{id}/result', dealId),
        body: encodeResult(result),
        headers: jsonBody,
        signal: call.signal,
      }),
    uploadResultFiles: (dealId, body, filename, call = {}) =>
      json({
        method: 'POST',
        path: path('/deals/{id}/files', dealId),
        body: body instanceof Readable ? body : new Uint8Array(body),
        headers: {
          'Content-Type': 'application/x-tar',
          ...(filename === undefined
            ? {}
            : {'Content-Disposition': `attachment; filename="${filename.replace(/["\r\n]/g, '')}"`}),
        },
        signal: call.signal,
      }),
    downloadResultFiles: (dealId, call = {}) => download(path('/deals/{id}/files', dealId), call.signal),
    getInputFiles: (dealId, call = {}) => download(path('/deals/{id}/input_files', dealId), call.signal),
    postJobCreatorTxs: (dealId, txs, call = {}) =>
      json({
        method: 'POST',
        path: path('/deals/{id}/txs/job_creator', dealId),
        body: bytes(goJsonEncode(JOB_CREATOR_TXS, txs)),
        headers: jsonBody,
        signal: call.signal,
      }),
    postResourceProviderTxs: (dealId, txs, call = {}) =>
      json({
        method: 'POST',
        path: path('/deals/{id}/txs/resource_provider', dealId),
        body: bytes(goJsonEncode(RESOURCE_PROVIDER_TXS, txs)),
        headers: jsonBody,
        signal: call.signal,
      }),
    postMediatorTxs: (dealId, txs, call = {}) =>
      json({
        method: 'POST',
        path: path('/deals/{id}/txs/mediator', dealId),
        body: bytes(goJsonEncode(MEDIATOR_TXS, txs)),
        headers: jsonBody,
        signal: call.signal,
      }),
    getValidationToken: (call = {}) => json({method: 'GET', path: '/validation_token', signal: call.signal}),
    subscribeEvents: (subscription) => subscribeEvents({...subscription, url: base}),
  }
}

/** True for an error this client throws that a caller may retry later (the solver was unreachable or busy). */
export function isTransientSolverError(error: unknown): boolean {
  return isLilypadError(error) && ['SOLVER_UNREACHABLE', 'SOLVER_BUSY', 'SOLVER_TIMEOUT'].includes(error.code)
}
