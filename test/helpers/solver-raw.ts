/**
 * A raw client of the solver API for conformance tests, written from the protocol description
 * alone (lilypad-protocol.md §4.1, §3.4) with ethers and multiformats: nothing from src/ is used, so
 * the service is checked against an independent reading of the protocol, not against itself.
 */
import {createHash} from 'node:crypto'

import * as dagPb from '@ipld/dag-pb'
import {type HDNodeWallet, type Wallet, getBytes, keccak256} from 'ethers'
import {CID} from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import {WebSocket} from 'ws'

export type Party = Wallet | HDNodeWallet

/** `X-Lilypad-User` / `X-Lilypad-Signature` / `X-Lilypad-Version` as go-ethereum's client writes them. */
export function rawAuthHeaders(party: Party, version = 'v2.23.0'): Record<string, string> {
  const payload = Buffer.from(`{"address":"${party.address}"}`, 'utf8')
  const signature = party.signingKey.sign(keccak256(payload))
  const bytes = Buffer.concat([
    Buffer.from(getBytes(signature.r)),
    Buffer.from(getBytes(signature.s)),
    Buffer.from([signature.v - 27]),
  ])
  return {
    'X-Lilypad-User': payload.toString('base64'),
    'X-Lilypad-Signature': bytes.toString('base64'),
    'X-Lilypad-Version': version,
  }
}

/** CIDv0 of a dag-pb node whose Data is `bytes` (how Go computes offer and deal IDs). */
export function cidOfGoJson(bytes: string): string {
  const node = dagPb.encode({Data: new Uint8Array(Buffer.from(bytes, 'utf8')), Links: []})
  const digest = createHash('sha256').update(node).digest()
  return CID.createV0(Digest.create(0x12, new Uint8Array(digest))).toString()
}

export interface ApiResponse {
  status: number
  text: string
  headers: Headers
  json: () => unknown
}

/** One request; `party` signs it. `body` is JSON-encoded unless it is a string or a Buffer. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: {party?: Party; body?: unknown; headers?: Record<string, string>} = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = {
    ...(options.party === undefined ? {} : rawAuthHeaders(options.party)),
  }
  let body: string | Buffer | undefined
  if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) body = options.body
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers['content-type'] = 'application/json'
  }
  Object.assign(headers, options.headers)
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : {body}),
  })
  const text = await response.text()
  return {status: response.status, text, headers: response.headers, json: () => JSON.parse(text) as unknown}
}

export interface SolverEventJson {
  event_type: string
  job_offer: {id: string; state: number; deal_id: string} | null
  resource_offer: {id: string; state: number; deal_id: string} | null
  deal: {id: string; state: number; mediator: string} | null
}

/** A websocket client that keeps every event it receives. */
export class EventStream {
  readonly events: SolverEventJson[] = []
  readonly socket: WebSocket
  readonly #waiters = new Set<() => void>()

  private constructor(socket: WebSocket) {
    this.socket = socket
    socket.on('message', (data: Buffer) => {
      this.events.push(JSON.parse(data.toString('utf8')) as SolverEventJson)
      for (const wake of this.#waiters) wake()
    })
  }

  static async open(base: string, type = 'JobCreator', id = ''): Promise<EventStream> {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/api/v1/ws?&Type=${type}&ID=${id}`)
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => {
        resolve()
      })
      socket.once('error', reject)
    })
    return new EventStream(socket)
  }

  /** Resolves with the first event (from index `from`) satisfying `predicate`. */
  async waitFor(
    predicate: (event: SolverEventJson) => boolean,
    from = 0,
    timeoutMs = 10_000,
  ): Promise<SolverEventJson> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.events.slice(from).find(predicate)
      if (found !== undefined) return found
      if (Date.now() > deadline) {
        throw new Error(`no matching event; got ${this.events.map((e) => e.event_type).join(', ')}`)
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.#waiters.delete(wake)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(wake, 100)
        this.#waiters.add(wake)
      })
    }
  }

  close(): void {
    this.socket.terminate()
  }
}

const pricing = {
  instruction_price: 1,
  payment_collateral: 2,
  results_collateral_multiple: 2,
  mediation_fee: 1,
}

/** A job offer as the Go CLI posts it (every field, Go field order). */
export function jobOfferBody(
  jobCreator: string,
  services: {solver: string; mediators: string[]},
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id: '',
    created_at: Date.now(),
    nonce: `nonce-${Math.random().toString(36).slice(2, 14)}`,
    job_creator: jobCreator,
    module: {
      name: '',
      repo: 'https://github.com/Lilypad-Tech/lilypad-module-cowsay',
      hash: 'v0.0.4',
      path: '/lilypad_module.json.tmpl',
    },
    spec: {gpu: 0, gpus: null, cpu: 1000, ram: 100, disk: 0},
    inputs: {Message: 'hello'},
    inputFiles: {required: null, optional: null},
    executionTimeoutSeconds: 0,
    mode: 'MarketPrice',
    pricing,
    trusted_parties: {solver: services.solver, mediator: services.mediators, api_host: ''},
    target: {address: ''},
    ...overrides,
  }
}

/** A resource offer as the Go resource provider posts it. */
export function resourceOfferBody(
  resourceProvider: string,
  services: {solver: string; mediators: string[]},
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id: '',
    created_at: Date.now(),
    resource_provider: resourceProvider,
    index: 0,
    spec: {gpu: 0, gpus: null, cpu: 8000, ram: 16_000, disk: 100_000},
    modules: [],
    mode: 'FixedPrice',
    default_pricing: pricing,
    module_pricing: {},
    trusted_parties: {solver: services.solver, mediator: services.mediators, api_host: ''},
    ...overrides,
  }
}
