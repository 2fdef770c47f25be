/**
 * The solver's websocket event stream (lilypad-protocol.md §4.2), made dependable. The Go client
 * reconnects every 2 s forever and has no fallback (Lilypad #185, #429); here a dropped socket is
 * noticed by a missed pong, reconnection backs off exponentially with full jitter up to a cap, and
 * while the socket is down the caller's `poll` runs every `pollIntervalMs`, so a run never stalls
 * waiting for an event that was broadcast while nobody listened.
 */
import WebSocket from 'ws'
import type {SolverEvent} from './types.js'

/** The socket's state, reported through `onStatus`. */
export type SubscriptionStatus =
  | {readonly state: 'connected'}
  | {
      readonly state: 'disconnected'
      readonly attempt: number
      readonly retryInMs: number
      readonly reason: string
    }
  | {readonly state: 'polling'; readonly intervalMs: number}
  | {readonly state: 'poll-failed'; readonly error: unknown}
  | {readonly state: 'handler-failed'; readonly error: unknown}

/** What {@link subscribeEvents} needs. */
export interface SubscribeEventsOptions {
  /** The solver's base URL (`http(s)://…`); the socket is `ws(s)://…/api/v1/ws`. */
  readonly url: string
  /** Which party listens (the Go client sends it; the solver removes an RP's offers when it leaves). */
  readonly type: 'JobCreator' | 'ResourceProvider' | 'Mediator'
  readonly address: string
  /** Each event (the solver broadcasts all events to everyone) that passes `filter`. */
  readonly onEvent: (event: SolverEvent) => void
  readonly filter?: (event: SolverEvent) => boolean
  /**
   * Fetches by HTTP what events would have said. Called on every (re)connect, to cover the gap,
   * and every `pollIntervalMs` while the socket is down.
   */
  readonly poll: () => Promise<void>
  /** Stops the subscription; the returned promise resolves then. */
  readonly signal: AbortSignal
  readonly onStatus?: (status: SubscriptionStatus) => void
  /** Default 10 000 ms, the Go CLI's control-loop period. */
  readonly pollIntervalMs?: number
  /** Ping period; a ping unanswered by the next one drops the socket (default 5 000 ms). */
  readonly pingIntervalMs?: number
  /** First reconnect delay ceiling (default 500 ms), doubled per failed attempt. */
  readonly reconnectBaseMs?: number
  /** Largest reconnect delay (default 30 000 ms). */
  readonly reconnectMaxMs?: number
  /** Handshake time-out (default 10 000 ms). */
  readonly connectTimeoutMs?: number
  /** Random source in [0, 1) for the jitter (default `Math.random`). */
  readonly random?: () => number
}

/** The websocket URL the Go client uses: `ws(s)://<host>/api/v1/ws?&Type=<type>&ID=<address>`. */
export function eventsUrl(url: string, type: string, address: string): string {
  const base = url
    .replace(/\/+$/, '')
    .replace(/^https:\/\//, 'wss://')
    .replace(/^http:\/\//, 'ws://')
  return `${base}/api/v1/ws?&Type=${encodeURIComponent(type)}&ID=${encodeURIComponent(address)}`
}

/**
 * Follows the solver's events until `signal` aborts. Never throws for connection trouble: it
 * reports it through `onStatus` and keeps the caller informed by polling.
 *
 * @returns a promise that resolves once the signal aborted and the socket is closed
 * @example
 * const stop = new AbortController()
 * const done = subscribeEvents({url, type: 'JobCreator', address, signal: stop.signal,
 *   onEvent: (event) => { if (event.job_offer?.id === jobId) update(event.job_offer) },
 *   poll: async () => update(await solver.getJobOffer(jobId))})
 */
export async function subscribeEvents(options: SubscribeEventsOptions): Promise<void> {
  const {signal} = options
  const pollIntervalMs = options.pollIntervalMs ?? 10_000
  const pingIntervalMs = options.pingIntervalMs ?? 5_000
  const reconnectBaseMs = options.reconnectBaseMs ?? 500
  const reconnectMaxMs = options.reconnectMaxMs ?? 30_000
  const random = options.random ?? Math.random
  const url = eventsUrl(options.url, options.type, options.address)
  const status = (value: SubscriptionStatus): void => {
    try {
      options.onStatus?.(value)
    } catch {
      // A failing status listener must not take the subscription down.
    }
  }

  let polling: ReturnType<typeof setInterval> | undefined
  let pollRunning = false
  const pollOnce = (): void => {
    if (pollRunning || signal.aborted) return
    pollRunning = true
    options
      .poll()
      .catch((error: unknown) => {
        status({state: 'poll-failed', error})
      })
      .finally(() => {
        pollRunning = false
      })
  }
  const startPolling = (): void => {
    if (polling !== undefined || signal.aborted) return
    status({state: 'polling', intervalMs: pollIntervalMs})
    pollOnce()
    polling = setInterval(pollOnce, pollIntervalMs)
  }
  const stopPolling = (): void => {
    if (polling !== undefined) clearInterval(polling)
    polling = undefined
  }

  /** One connection, until it drops; resolves with why, and whether it had connected. */
  const connectOnce = async (): Promise<{opened: boolean; reason: string}> =>
    new Promise((resolve) => {
      const socket = new WebSocket(url, {handshakeTimeout: options.connectTimeoutMs ?? 10_000})
      let opened = false
      let awaitingPong = false
      let pinger: ReturnType<typeof setInterval> | undefined
      let reason = 'closed'
      const finish = (): void => {
        if (pinger !== undefined) clearInterval(pinger)
        signal.removeEventListener('abort', onAbort)
        resolve({opened, reason})
      }
      const onAbort = (): void => {
        reason = 'stopped'
        socket.terminate()
      }
      signal.addEventListener('abort', onAbort, {once: true})
      socket.on('open', () => {
        opened = true
        stopPolling()
        status({state: 'connected'})
        pollOnce()
        pinger = setInterval(() => {
          if (awaitingPong) {
            reason = 'no pong'
            socket.terminate()
            return
          }
          awaitingPong = true
          socket.ping()
        }, pingIntervalMs)
      })
      socket.on('pong', () => {
        awaitingPong = false
      })
      socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        if (isBinary) return
        let event: SolverEvent
        try {
          event = JSON.parse(rawText(data)) as SolverEvent
        } catch {
          return
        }
        try {
          if (options.filter === undefined || options.filter(event)) options.onEvent(event)
        } catch (error) {
          status({state: 'handler-failed', error})
        }
      })
      socket.on('unexpected-response', (_request, response) => {
        reason = `HTTP ${response.statusCode ?? 0}`
        response.resume()
        socket.terminate()
      })
      socket.on('error', (error: Error) => {
        if (reason === 'closed') reason = error.message
      })
      socket.on('close', finish)
      if (signal.aborted) onAbort()
    })

  let attempt = 0
  while (!signal.aborted) {
    const {opened, reason} = await connectOnce()
    // The loop condition cannot see that connectOnce awaited; the signal may have aborted meanwhile.
    if ((signal as {aborted: boolean}).aborted) break
    attempt = opened ? 1 : attempt + 1
    const ceiling = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** (attempt - 1))
    const retryInMs = Math.floor(random() * ceiling)
    status({state: 'disconnected', attempt, retryInMs, reason})
    startPolling()
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, retryInMs)
      function done(): void {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      signal.addEventListener('abort', done, {once: true})
    })
  }
  stopPolling()
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8')
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(new Uint8Array(data)).toString('utf8')
}
