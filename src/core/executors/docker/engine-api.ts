/**
 * A small client of the Docker Engine API over HTTP, on a unix socket or TCP, with `node:http`.
 * Only what the executor uses: ping, image inspect, container create/start/wait/kill/logs/
 * inspect/remove. Paths carry no API version, so the engine answers in its own current version.
 */
import {type IncomingMessage, request as httpRequest} from 'node:http'

import {lilypadError} from '../../errors/index.js'

/** Where the engine listens. */
export type DockerEndpoint =
  | {readonly kind: 'unix'; readonly socketPath: string}
  | {readonly kind: 'tcp'; readonly host: string; readonly port: number}

/** The default socket of a local Docker engine. */
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock'

/**
 * Reads a `DOCKER_HOST` value: `unix:///path`, `tcp://host:port` (plain HTTP; TLS is not
 * supported) or an absolute socket path. Empty or undefined means the default socket.
 *
 * @param value - the `DOCKER_HOST` value, if any
 * @returns the endpoint
 * @throws CONFIG_INVALID for another scheme (`ssh://`, `npipe://`) or a malformed value
 * @example
 * parseDockerHost('unix:///run/user/1000/docker.sock') // {kind: 'unix', socketPath: '/run/user/1000/docker.sock'}
 */
export function parseDockerHost(value: string | undefined): DockerEndpoint {
  const text = value?.trim() ?? ''
  if (text === '') return {kind: 'unix', socketPath: DEFAULT_DOCKER_SOCKET}
  if (text.startsWith('/')) return {kind: 'unix', socketPath: text}
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length)
    if (socketPath.startsWith('/')) return {kind: 'unix', socketPath}
  }
  const tcp = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]+)(?::(\d{1,5}))?\/?$/.exec(text)
  if (tcp?.[1] !== undefined) {
    return {
      kind: 'tcp',
      host: tcp[1].replace(/^\[|\]$/g, ''),
      port: tcp[2] === undefined ? 2375 : Number(tcp[2]),
    }
  }
  throw lilypadError('CONFIG_INVALID', {
    message: `DOCKER_HOST "${text}" is not a Docker endpoint this tool can reach`,
    hints: ['Use unix:///var/run/docker.sock or tcp://host:2375 (plain HTTP).'],
    details: {dockerHost: text},
  })
}

/** A complete response. */
export interface EngineResponse {
  readonly status: number
  readonly body: Buffer
}

/** Options of one request. */
export interface EngineRequestOptions {
  readonly query?: Readonly<Record<string, string>> | undefined
  readonly body?: unknown
  /** Gives up on the request after this long. Default 30 s; 0 for none (waits). */
  readonly timeoutMs?: number | undefined
  readonly signal?: AbortSignal | undefined
}

/** The engine could not be reached or broke the connection. */
export class EngineConnectionError extends Error {
  override readonly name = 'EngineConnectionError'
}

/** A Docker Engine API client bound to one endpoint. */
export class DockerEngineClient {
  constructor(readonly endpoint: DockerEndpoint) {}

  /**
   * Sends a request and returns the response as it arrives, for streams (logs).
   *
   * @throws EngineConnectionError when the engine cannot be reached, or the time limit passes
   */
  open(method: string, path: string, options: EngineRequestOptions = {}): Promise<IncomingMessage> {
    const query = options.query === undefined ? '' : `?${new URLSearchParams(options.query).toString()}`
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body))
    const target =
      this.endpoint.kind === 'unix'
        ? {socketPath: this.endpoint.socketPath}
        : {host: this.endpoint.host, port: this.endpoint.port}
    const timeoutMs = options.timeoutMs ?? 30_000
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          ...target,
          method,
          path: `${path}${query}`,
          headers: {
            host: 'docker',
            ...(body === undefined
              ? {}
              : {'content-type': 'application/json', 'content-length': body.length}),
          },
          ...(options.signal === undefined ? {} : {signal: options.signal}),
        },
        resolve,
      )
      if (timeoutMs > 0) {
        request.setTimeout(timeoutMs, () => {
          request.destroy(
            new EngineConnectionError(
              `the Docker engine did not answer ${method} ${path} within ${timeoutMs} ms`,
            ),
          )
        })
      }
      request.on('error', (error) => {
        reject(
          error instanceof EngineConnectionError || error.name === 'AbortError'
            ? error
            : new EngineConnectionError(error.message, {cause: error}),
        )
      })
      request.end(body)
    })
  }

  /**
   * Sends a request and reads the whole response.
   *
   * @throws EngineConnectionError when the engine cannot be reached, or the time limit passes
   */
  async call(method: string, path: string, options: EngineRequestOptions = {}): Promise<EngineResponse> {
    const response = await this.open(method, path, options)
    const chunks: Buffer[] = []
    for await (const chunk of response) chunks.push(chunk as Buffer)
    return {status: response.statusCode ?? 0, body: Buffer.concat(chunks)}
  }

  /** `GET /_ping`: true when the engine answers OK within `timeoutMs`. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    try {
      const response = await this.call('GET', '/_ping', {timeoutMs})
      return response.status === 200
    } catch {
      return false
    }
  }
}

/** The `message` of an engine error body, or the raw text. */
export function engineMessage(response: EngineResponse): string {
  const text = response.body.toString('utf8')
  try {
    const parsed = JSON.parse(text) as {message?: unknown}
    if (typeof parsed.message === 'string') return parsed.message
  } catch {
    // Not JSON: the text itself is the message.
  }
  return text.trim() === '' ? `HTTP ${response.status}` : text.trim()
}

/** One stream's share of a multiplexed log, cut at a cap. */
export interface CappedStream {
  readonly limit: number
  readonly chunks: Buffer[]
  kept: number
  truncated: boolean
}

/**
 * Splits the Docker multiplexed log stream (frames of an 8-byte header — stream type, three zero
 * bytes, big-endian payload length — then the payload) into stdout and stderr, keeping each up to
 * its cap. Stops reading once both streams are cut.
 *
 * @param stream - the `GET /containers/{id}/logs` response body
 * @param stdout - where stdout frames go
 * @param stderr - where stderr frames go
 * @example
 * await demultiplexLogs(response, stdout, stderr)
 */
export async function demultiplexLogs(
  stream: AsyncIterable<Buffer | string> & {destroy(): void},
  stdout: CappedStream,
  stderr: CappedStream,
): Promise<void> {
  let buffered = Buffer.alloc(0)
  const keep = (target: CappedStream, payload: Buffer): void => {
    const room = target.limit - target.kept
    if (payload.length > room) target.truncated = true
    const kept = Math.max(0, Math.min(room, payload.length))
    if (kept > 0) target.chunks.push(Buffer.from(payload.subarray(0, kept)))
    target.kept += kept
  }
  for await (const chunk of stream) {
    buffered = Buffer.concat([buffered, typeof chunk === 'string' ? Buffer.from(chunk) : chunk])
    while (buffered.length >= 8) {
      const size = buffered.readUInt32BE(4)
      if (buffered.length < 8 + size) break
      const kind = buffered[0]
      const payload = buffered.subarray(8, 8 + size)
      if (kind === 1) keep(stdout, payload)
      else if (kind === 2) keep(stderr, payload)
      buffered = buffered.subarray(8 + size)
    }
    if (stdout.truncated && stderr.truncated) {
      stream.destroy()
      return
    }
  }
}
