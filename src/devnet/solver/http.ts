/**
 * HTTP plumbing shared by the routes: errors answered as Go's `http.Error` answers them (plain
 * text, a trailing newline), JSON answered as Go's `json.Encoder` writes it (a trailing newline),
 * and a fixed-window rate limit keyed by client IP and path (Go: httprate by real IP + endpoint).
 */
import {createHmac, randomUUID} from 'node:crypto'

import type {FastifyReply} from 'fastify'

/** An error a route answers with `status` and the plain-text `message`. */
export class SolverHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'SolverHttpError'
  }
}

/** Answers like Go's `http.Error(res, message, status)`. */
export function sendText(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .send(`${message}\n`)
}

/** Answers `value` (or pre-encoded JSON text) with Go's trailing newline. */
export function sendJson(reply: FastifyReply, value: unknown, encoded?: string): FastifyReply {
  return reply
    .code(200)
    .header('content-type', 'application/json')
    .send(`${encoded ?? JSON.stringify(value)}\n`)
}

/** Counts requests per key in fixed windows. */
export class RateLimiter {
  readonly #windows = new Map<string, {start: number; count: number}>()
  readonly #requests: number
  readonly #windowMs: number

  constructor(requests: number, windowMs: number) {
    this.#requests = requests
    this.#windowMs = windowMs
  }

  /** Counts one request; false when the key is over its limit in the current window. */
  allow(key: string, now = Date.now()): boolean {
    const window = this.#windows.get(key)
    if (window === undefined || now - window.start >= this.#windowMs) {
      if (this.#windows.size > 10_000) this.#prune(now)
      this.#windows.set(key, {start: now, count: 1})
      return true
    }
    window.count += 1
    return window.count <= this.#requests
  }

  #prune(now: number): void {
    for (const [key, window] of this.#windows)
      if (now - window.start >= this.#windowMs) this.#windows.delete(key)
  }
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url')
}

/** The HS256 JWT of `GET /validation_token` (claims as the Go solver writes them). */
export function validationToken(
  address: string,
  options: {secret: string; kid: string; expirationSeconds: number},
  now = Date.now(),
): string {
  const iat = Math.floor(now / 1000)
  const header = base64url(JSON.stringify({alg: 'HS256', kid: options.kid, typ: 'JWT'}))
  const claims = base64url(
    JSON.stringify({
      aud: 'kafka-broker',
      exp: iat + options.expirationSeconds,
      iat,
      iss: 'kafka-auth',
      jti: randomUUID(),
      scope: 'kafka-cluster',
      sub: `rp_${address}`,
    }),
  )
  const signature = createHmac('sha256', options.secret).update(`${header}.${claims}`).digest()
  return `${header}.${claims}.${base64url(signature)}`
}
