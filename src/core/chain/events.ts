/**
 * Following the controller's events by polling `eth_getLogs`, so any plain HTTP endpoint works
 * (no websocket subscription, no filter kept on the node that a restart would lose), plus one-shot
 * reads for clients: wait until a deal reaches a state, and fetch a deal's `ResultAdded` event.
 *
 * Delivery is in chain order (block, then log index), each event once. The follower reports the
 * last block whose events were all delivered; a caller that persists it resumes at that block + 1
 * and neither loses nor repeats an event, provided it stopped through `stop()` or the signal (a
 * stop lets the block in hand finish). A process killed in the middle of a block sees that block's
 * earlier events again on resume, so handlers should be idempotent per (txHash, logIndex).
 * Reorganisations are not undone: on chains that reorganise, set `confirmations`.
 */
import type {Log, Provider} from 'ethers'

import {type LilypadError, isLilypadError, lilypadError} from '../errors/index.js'
import {toChainError} from './errors.js'
import {LilypadController__factory} from './generated/factories/LilypadController__factory.js'
import {stateName} from './states.js'

const CONTROLLER = LilypadController__factory.createInterface()

/** The controller events the follower delivers. */
export const CONTROLLER_EVENT_NAMES = [
  'DealCreated',
  'DealStateChange',
  'ResultAdded',
  'MediationRequested',
  'Payment',
] as const

const TOPICS = CONTROLLER_EVENT_NAMES.map((name) => CONTROLLER.getEvent(name).topicHash)

/** `PaymentReason` of the contracts, by number. */
export const PAYMENT_REASONS = [
  'PaymentCollateral',
  'ResultsCollateral',
  'TimeoutCollateral',
  'JobPayment',
  'MediationFee',
] as const

/** `PaymentDirection` of the contracts, by number. */
export const PAYMENT_DIRECTIONS = ['PaidIn', 'PaidOut', 'Refunded', 'Slashed'] as const

/** Why a `Payment` moved tokens. */
export type PaymentReason = (typeof PAYMENT_REASONS)[number]
/** Which way a `Payment` moved tokens. */
export type PaymentDirection = (typeof PAYMENT_DIRECTIONS)[number]

/** Where an event was emitted. */
export interface EventPosition {
  dealId: string
  blockNumber: number
  txHash: string
  /** The log's index in its block. */
  logIndex: number
}

/** One controller event, decoded. Amounts are wei; `state` uses the chain's numbering (`states.ts`). */
export type ControllerEvent =
  | ({type: 'DealCreated'; jobCreator: string; resourceProvider: string} & EventPosition)
  | ({type: 'DealStateChange'; state: number} & EventPosition)
  | ({type: 'ResultAdded'; resultsId: string; dataId: string; instructionCount: bigint} & EventPosition)
  | ({type: 'MediationRequested'; mediator: string} & EventPosition)
  | ({
      type: 'Payment'
      payee: string
      amount: bigint
      reason: PaymentReason
      direction: PaymentDirection
    } & EventPosition)

/** The `ResultAdded` event of a deal. */
export type ResultAddedEvent = Extract<ControllerEvent, {type: 'ResultAdded'}>

/**
 * Decodes one log of the controller.
 *
 * @param log - a log emitted by the controller
 * @returns the event, or `undefined` for a log that is none of {@link CONTROLLER_EVENT_NAMES}
 * @example
 * const events = receipt.logs.map(decodeControllerLog).filter((e) => e !== undefined)
 */
export function decodeControllerLog(log: Log): ControllerEvent | undefined {
  let parsed
  try {
    parsed = CONTROLLER.parseLog({topics: [...log.topics], data: log.data})
  } catch {
    return undefined
  }
  if (parsed === null) return undefined
  const args = parsed.args
  const position: EventPosition = {
    dealId: String(args[0]),
    blockNumber: log.blockNumber,
    txHash: log.transactionHash,
    logIndex: log.index,
  }
  switch (parsed.name) {
    case 'DealCreated':
      return {
        type: 'DealCreated',
        ...position,
        jobCreator: String(args[1]),
        resourceProvider: String(args[2]),
      }
    case 'DealStateChange':
      return {type: 'DealStateChange', ...position, state: Number(args[1])}
    case 'ResultAdded':
      return {
        type: 'ResultAdded',
        ...position,
        resultsId: String(args[1]),
        dataId: String(args[2]),
        instructionCount: args[3] as bigint,
      }
    case 'MediationRequested':
      return {type: 'MediationRequested', ...position, mediator: String(args[1])}
    case 'Payment': {
      const reason = PAYMENT_REASONS[Number(args[3])]
      const direction = PAYMENT_DIRECTIONS[Number(args[4])]
      if (reason === undefined || direction === undefined) return undefined
      return {
        type: 'Payment',
        ...position,
        payee: String(args[1]),
        amount: args[2] as bigint,
        reason,
        direction,
      }
    }
    default:
      return undefined
  }
}

/** A failure the follower survived, and when it tries again. */
export interface FollowErrorInfo {
  /** `rpc` for a failed chain request, `handler` when `onEvent` or `onCursor` threw. */
  source: 'rpc' | 'handler'
  /** Consecutive failures so far (1 for the first). */
  attempt: number
  /** The pause before the next try. */
  retryInMs: number
}

/** Options of {@link followControllerEvents}. */
export interface FollowOptions {
  provider: Provider
  /** The LilypadController address. */
  controller: string
  /** First block to read (a persisted cursor + 1, or the controller's deployment block). */
  fromBlock: number
  /** Pause between polls once caught up (default 1,000 ms). */
  pollIntervalMs?: number
  /** Blocks to stay behind the head (default 0: fine on a dev chain, which never reorganises). */
  confirmations?: number
  /** Blocks per `eth_getLogs` request (default 10,000; public endpoints refuse large ranges). */
  blockRange?: number
  /** Longest pause between retries (default 30,000 ms); the pause doubles from `pollIntervalMs` (at least 250 ms). */
  maxRetryDelayMs?: number
  /** Called for each event, in order; the next waits for it. If it throws, the same event is retried. */
  onEvent: (event: ControllerEvent) => void | Promise<void>
  /** Called with the last block whose events were all delivered, each time it moves forward. */
  onCursor?: (block: number) => void | Promise<void>
  /** Told about each failure; the follower retries after `info.retryInMs`. */
  onError?: (error: unknown, info: FollowErrorInfo) => void
  signal?: AbortSignal | undefined
}

/** A running follower. */
export interface Follower {
  /** Stops after the block being delivered; resolves when the loop has ended. */
  stop(): Promise<void>
  /** Resolves when the loop ends (after `stop()` or an abort); never rejects. */
  done: Promise<void>
}

/** Sleeps, waking early on abort. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve()
      return
    }
    const wake = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', wake)
      resolve()
    }
    const timer = setTimeout(wake, ms)
    signal.addEventListener('abort', wake, {once: true})
  })
}

const STOPPED = Symbol('stopped')

/** Awaits `promise` unless the signal fires first; an RPC request cannot be cancelled, only abandoned. */
async function unlessStopped<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof STOPPED> {
  promise.catch(() => undefined)
  if (signal.aborted) return STOPPED
  let onAbort = (): void => undefined
  const aborted = new Promise<typeof STOPPED>((resolve) => {
    onAbort = () => {
      resolve(STOPPED)
    }
    signal.addEventListener('abort', onAbort, {once: true})
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

class HandlerFailure extends Error {
  constructor(readonly original: unknown) {
    super('handler failed')
  }
}

async function callHandler(fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (error) {
    throw new HandlerFailure(error)
  }
}

/** Logs grouped by block, blocks ascending, each block's logs by index. */
function byBlock(logs: readonly Log[]): Map<number, Log[]> {
  const blocks = new Map<number, Log[]>()
  for (const log of [...logs].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index)) {
    const inBlock = blocks.get(log.blockNumber)
    if (inBlock === undefined) blocks.set(log.blockNumber, [log])
    else inBlock.push(log)
  }
  return blocks
}

async function follow(options: FollowOptions, signal: AbortSignal): Promise<void> {
  const pollMs = Math.max(0, options.pollIntervalMs ?? 1000)
  const confirmations = Math.max(0, options.confirmations ?? 0)
  const range = Math.max(1, options.blockRange ?? 10_000)
  const maxDelayMs = Math.max(pollMs, options.maxRetryDelayMs ?? 30_000)
  let cursor = options.fromBlock - 1
  // The last event delivered, so a retried range does not deliver it again.
  let delivered: {block: number; index: number} | undefined
  let failures = 0

  const advance = async (block: number): Promise<void> => {
    if (block <= cursor) return
    cursor = block
    if (options.onCursor !== undefined) {
      const onCursor = options.onCursor
      await callHandler(() => onCursor(block))
    }
  }
  const isDelivered = (log: Log): boolean =>
    delivered !== undefined &&
    (log.blockNumber < delivered.block ||
      (log.blockNumber === delivered.block && log.index <= delivered.index))

  // A function, not the property: TypeScript would narrow `signal.aborted` to false across awaits.
  const stopped = (): boolean => signal.aborted
  while (!stopped()) {
    try {
      const head = await unlessStopped(options.provider.getBlockNumber(), signal)
      if (head === STOPPED) return
      const last = head - confirmations
      while (cursor < last && !stopped()) {
        const fromBlock = cursor + 1
        const toBlock = Math.min(last, cursor + range)
        const logs = await unlessStopped(
          options.provider.getLogs({address: options.controller, topics: [TOPICS], fromBlock, toBlock}),
          signal,
        )
        if (logs === STOPPED) return
        for (const [block, inBlock] of byBlock(logs)) {
          // A stop is honoured between blocks only, so the cursor never splits a block.
          if (stopped()) return
          for (const log of inBlock) {
            if (log.removed || isDelivered(log)) continue
            const event = decodeControllerLog(log)
            if (event !== undefined) await callHandler(() => options.onEvent(event))
            delivered = {block: log.blockNumber, index: log.index}
          }
          await advance(block)
        }
        await advance(toBlock)
      }
      failures = 0
    } catch (error) {
      if (stopped()) return
      failures += 1
      const retryInMs = Math.min(maxDelayMs, Math.max(pollMs, 250) * 2 ** Math.min(failures - 1, 16))
      const handler = error instanceof HandlerFailure
      const reported = handler
        ? error.original
        : readFailure(error, `read the events of ${options.controller}`)
      try {
        options.onError?.(reported, {source: handler ? 'handler' : 'rpc', attempt: failures, retryInMs})
      } catch {
        // A failing error reporter must not end the loop it reports on.
      }
      await pause(retryInMs, signal)
      continue
    }
    await pause(pollMs, signal)
  }
}

/** Socket errors Node raises when an endpoint cannot be reached; ethers passes them through as they are. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
])

function socketErrorCode(error: unknown): string | undefined {
  const seen = new Set<unknown>()
  for (let current = error; typeof current === 'object' && current !== null && !seen.has(current);) {
    seen.add(current)
    const code = (current as {code?: unknown}).code
    if (typeof code === 'string' && UNREACHABLE.has(code)) return code
    current = (current as {cause?: unknown}).cause
  }
  return undefined
}

/** A chain read's failure as a LilypadError; a refused or dropped connection is RPC_UNREACHABLE. */
function readFailure(error: unknown, action: string): LilypadError {
  if (isLilypadError(error)) return error
  const code = socketErrorCode(error)
  if (code !== undefined) {
    return lilypadError('RPC_UNREACHABLE', {
      message: `Cannot ${action}: the RPC endpoint could not be reached (${code}).`,
      hints: ['Check that the node is running and WEB3_RPC_URL (or --network) is right.'],
      details: {action},
      cause: error,
    })
  }
  return toChainError(error, {action})
}

/**
 * Follows the controller's `DealCreated`, `DealStateChange`, `ResultAdded`, `MediationRequested`
 * and `Payment` events from `fromBlock` on, in chain order, each once, until stopped. RPC failures
 * never end the loop: they are reported to `onError` and retried with a doubling pause.
 *
 * @param options - the provider, the controller, where to start, and the callbacks
 * @returns the follower: `stop()` and `done`
 * @example
 * const follower = followControllerEvents({
 *   provider, controller, fromBlock: saved + 1,
 *   onEvent: (event) => store.apply(event),
 *   onCursor: (block) => store.saveCursor(block),
 *   signal,
 * })
 * await follower.stop()
 */
export function followControllerEvents(options: FollowOptions): Follower {
  const stopper = new AbortController()
  const outer = options.signal
  const onAbort = (): void => {
    stopper.abort()
  }
  if (outer?.aborted === true) stopper.abort()
  else outer?.addEventListener('abort', onAbort, {once: true})
  const done = follow(options, stopper.signal)
    .catch(() => undefined)
    .finally(() => {
      outer?.removeEventListener('abort', onAbort)
    })
  return {
    stop: async () => {
      stopper.abort()
      await done
    },
    done,
  }
}

/** A deal's lifecycle as `getAgreement` reports it. */
export interface DealAgreement {
  /** Chain numbering (`states.ts`). */
  state: number
  jobCreatorAgreed: boolean
  resourceProviderAgreed: boolean
  /** Unix seconds when the current step's timeout passes; 0 once terminal. */
  deadline: number
  /** Unix seconds when the deal ended; 0 before. */
  closedAt: number
}

/** Options of {@link waitForDealState}. */
export interface WaitForDealStateOptions {
  signal?: AbortSignal | undefined
  /** Give up after this long (default: wait until aborted). */
  timeoutMs?: number | undefined
  /** Pause between reads (default 1,000 ms). */
  pollIntervalMs?: number | undefined
}

const TRANSIENT = new Set(['RPC_UNREACHABLE', 'RPC_ERROR', 'TIMEOUT'])

/**
 * Reads a deal's agreement until `predicate` accepts it. A deal nobody agreed to yet counts as
 * "not yet", and so do RPC failures (retried); any other failure ends the wait.
 *
 * @param provider - a provider of the chain
 * @param controller - the LilypadController address
 * @param dealId - the deal to watch
 * @param predicate - the condition, e.g. `(a) => a.state === 2` (chain numbering)
 * @param options - signal, time-out and poll interval
 * @returns the first agreement that satisfied `predicate`
 * @throws TIMEOUT when `timeoutMs` passed first, INTERRUPTED on abort, CHAIN_ERROR or TX_REVERTED for a broken read
 * @example
 * const agreement = await waitForDealState(provider, controller, dealId, (a) => a.state >= 2, {timeoutMs: 60_000})
 */
export async function waitForDealState(
  provider: Provider,
  controller: string,
  dealId: string,
  predicate: (agreement: DealAgreement) => boolean,
  options: WaitForDealStateOptions = {},
): Promise<DealAgreement> {
  const contract = LilypadController__factory.connect(controller, provider)
  const pollMs = Math.max(0, options.pollIntervalMs ?? 1000)
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs
  const signal = options.signal ?? new AbortController().signal
  let seen: DealAgreement | undefined
  let lastFailure: LilypadError | undefined
  for (;;) {
    if (signal.aborted) throw lilypadError('INTERRUPTED', {message: `Stopped waiting for deal ${dealId}.`})
    try {
      const view = await unlessStopped(contract.getAgreement(dealId), signal)
      if (view === STOPPED) continue
      seen = {
        state: Number(view.state),
        jobCreatorAgreed: view.jobCreatorAgreed,
        resourceProviderAgreed: view.resourceProviderAgreed,
        deadline: Number(view.deadline),
        closedAt: Number(view.closedAt),
      }
      lastFailure = undefined
      if (predicate(seen)) return seen
    } catch (error) {
      const failure = readFailure(error, `read deal ${dealId}`)
      if (failure.code !== 'DEAL_NOT_FOUND' && !TRANSIENT.has(failure.code)) throw failure
      lastFailure = failure.code === 'DEAL_NOT_FOUND' ? undefined : failure
    }
    const left = deadline - Date.now()
    if (left <= 0) {
      const now = seen === undefined ? 'nobody has agreed to it yet' : `it is ${stateName(seen.state)}`
      throw lilypadError('TIMEOUT', {
        message: `Deal ${dealId} did not reach the awaited state within ${options.timeoutMs ?? 0} ms: ${now}.`,
        hints: [
          lastFailure === undefined
            ? 'Look at the deal with lilypad deals show <id>, or wait longer.'
            : 'The chain did not answer the last reads: check the RPC endpoint.',
        ],
        details: {dealId, ...(seen === undefined ? {} : {state: stateName(seen.state)})},
        cause: lastFailure,
      })
    }
    await pause(Math.min(pollMs, left), signal)
  }
}

/**
 * Reads the `ResultAdded` event of a deal: the contract keeps only the block that holds it
 * (`getResult(dealId).resultsBlock`), so this is one view call and one `eth_getLogs` of that block.
 *
 * @param provider - a provider of the chain
 * @param controller - the LilypadController address
 * @param dealId - the deal
 * @returns the event (`dataId`, `resultsId`, `instructionCount`, where it was emitted), or
 *   `undefined` while no result was posted
 * @throws DEAL_NOT_FOUND for a deal nobody agreed to; CHAIN_ERROR when the block lacks the event
 *   (an endpoint that prunes logs); RPC_UNREACHABLE, RPC_ERROR, TIMEOUT
 * @example
 * const result = await getResultAdded(provider, controller, dealId)
 * if (result?.dataId !== localCid) await dispute()
 */
export async function getResultAdded(
  provider: Provider,
  controller: string,
  dealId: string,
): Promise<ResultAddedEvent | undefined> {
  const contract = LilypadController__factory.connect(controller, provider)
  try {
    const view = await contract.getResult(dealId)
    const block = Number(view.resultsBlock)
    if (block === 0) return undefined
    const logs = await provider.getLogs({
      address: controller,
      topics: [CONTROLLER.getEvent('ResultAdded').topicHash],
      fromBlock: block,
      toBlock: block,
    })
    const found = logs
      .map(decodeControllerLog)
      .filter((event): event is ResultAddedEvent => event?.type === 'ResultAdded' && event.dealId === dealId)
      .at(-1)
    if (found === undefined) {
      throw lilypadError('CHAIN_ERROR', {
        message: `The chain records a result for deal ${dealId} in block ${block}, but the endpoint returns no ResultAdded event there.`,
        hints: ['The RPC endpoint may prune old logs: use an archive endpoint (WEB3_RPC_URL).'],
        details: {dealId, block},
      })
    }
    return found
  } catch (error) {
    throw readFailure(error, `read the result of deal ${dealId}`)
  }
}
