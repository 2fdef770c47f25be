/**
 * The devnet's mediator: when a job creator disputes a result (`checkResult`) and the controller
 * draws this mediator, it re-runs the job exactly as the provider had to (same module commit
 * resolution, same inputs, seed = deal ID, same executor path) and compares the data ID it gets
 * with the one the provider put on chain. Deterministic Wasm jobs give identical bytes on every
 * machine, so equal means the provider told the truth: `mediationAcceptResult`; different:
 * `mediationRejectResult` (DESIGN §2 step 7, §4, §10).
 *
 * Only Wasm jobs are re-run: a Docker job's bytes differ from run to run (timestamps, scheduling), so
 * comparing them would reject honest results; the mediator abstains on every Docker dispute.
 *
 * When the job cannot be re-run here, the ruling depends on why (the error code and, for
 * JOB_CANNOT_RUN, its `details.reason`):
 * - the module itself is broken (its ref does not exist, its template does not render or validate,
 *   its Wasm has no entry module, does not compile or imports what WASI lacks): no honest provider
 *   could have produced a result, so it rejects;
 * - this machine may be at fault (the Wasm runner process crashed, a time limit hit here, the git
 *   host or the solver unreachable): it cannot judge, rules nothing and leaves the deal to the
 *   mediation timeout, which refunds both parties (`timeoutMediateResult`).
 *
 * Every dispute is judged once: it is persisted (`queued`) before the chain cursor moves past its
 * event, its ruling is persisted, and the chain state is checked before any transaction. A judging
 * attempt that fails (RPC, solver, a result not yet visible) is tried again with back-off, a bounded
 * number of times; then the mediator gives up and the mediation timeout refunds both parties.
 */
import {mkdir, rm} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {connectChain, parsePrivateKey} from '../../core/chain/client.js'
import {followControllerEvents, getResultAdded} from '../../core/chain/events.js'
import {LilypadController__factory} from '../../core/chain/generated/factories/LilypadController__factory.js'
import {stateName} from '../../core/chain/states.js'
import {isLilypadError, lilypadError} from '../../core/errors/index.js'
import {type Executors, createExecutors, isModuleFault} from '../../core/executors/index.js'
import {runModuleJob} from '../../core/executors/module-job.js'
import {unpackResultTar} from '../../core/results/archive.js'
import type {GitEnvironment} from '../../core/module/git.js'
import {createSolverClient} from '../../core/solver/client.js'
import {sendAndWait} from '../shared/chain.js'
import {type ServiceLogger, messageOf, toLog} from '../shared/log.js'
import {openStateFile} from '../shared/state-file.js'

/** How a dispute ended for this mediator. */
export type Ruling = 'accepted' | 'rejected' | 'abstained'

/** What the mediator persisted about one dispute. */
export interface DisputeRecord {
  /** `queued`: taken in from the chain, not started; `judging`: started; both resume after a restart. */
  phase: 'queued' | 'judging' | 'ruled'
  /** Judging attempts that failed (RPC, solver, …); retried with back-off up to a bound. */
  attempts?: number
  /** The last failure of a judging attempt. */
  error?: string
  ruling?: Ruling
  txHash?: string
  /** The data ID the provider put on chain. */
  reportedDataId?: string
  /** The data ID of the re-run. */
  dataId?: string
  /** Why it rejected without a re-run result, or abstained. */
  reason?: string
  updatedAt: string
}

interface MediatorState {
  version: 1
  /** The last block whose MediationRequested events were all handled. */
  cursor: number | null
  disputes: Record<string, DisputeRecord>
}

/** What the mediator does, for tests and the supervisor. */
export type MediatorEvent =
  | {type: 'dispute.received'; dealId: string}
  /** A judging attempt failed; it is tried again after `retryInMs`. */
  | {type: 'dispute.failed'; dealId: string; attempts: number; error: string; retryInMs: number}
  | {type: 'dispute.ruled'; dealId: string; ruling: Ruling; txHash?: string; reason?: string}

/** Options of {@link startMediator}. */
export interface MediatorOptions {
  solverUrl: string
  privateKey: string
  chain: {
    rpcUrl: string
    chainId: number
    controller: string
    /** First block to look for disputes in, before any cursor is persisted (the deployment block). Default 0. */
    fromBlock?: number | undefined
  }
  /** Its own directory: state file, module cache, re-run results. */
  dataDir: string
  logger?: ServiceLogger | undefined
  gitEnv?: GitEnvironment | undefined
  /** The executors to re-run jobs on; default: what this machine has (`createExecutors({dockerHost})`). */
  executors?: Executors | undefined
  /** The Docker engine to look for when `executors` is not given (`DOCKER_HOST`); default: the local socket. */
  dockerHost?: string | undefined
  /** Pause between polls of the chain (default 250 ms). */
  pollIntervalMs?: number | undefined
  /** Wait before judging a dispute again after a failed attempt; doubles each time. Default 5000 ms. */
  judgeRetryMs?: number | undefined
  onEvent?: ((event: MediatorEvent) => void) | undefined
  signal?: AbortSignal | undefined
}

/** A running mediator. */
export interface RunningMediator {
  address: string
  /** The disputes it has handled, as persisted. */
  disputes(): Readonly<Record<string, DisputeRecord>>
  /** The last block whose disputes it has taken in (persisted), null before the first. */
  cursor(): number | null
  stop(): Promise<void>
}

const STATE_FILE = 'mediator-state.json'

/** Codes that mean the module (not this machine) is at fault: it cannot resolve or render anywhere. */
const MODULE_BROKEN = new Set([
  'MODULE_REF_INVALID',
  'MODULE_REF_UNSAFE',
  'MODULE_REF_NOT_FOUND',
  'MODULE_TEMPLATE_MISSING',
  'TEMPLATE_SYNTAX',
  'TEMPLATE_UNSUPPORTED',
  'TEMPLATE_INPUT_MISSING',
  'TEMPLATE_RENDER_FAILED',
  'TEMPLATE_NOT_JSON',
  'MODULE_INVALID',
])
/** Codes worth another try before abstaining. */
const TRANSIENT = new Set(['NETWORK_UNREACHABLE', 'TIMEOUT', 'MODULE_GIT_FAILED', 'MODULE_CACHE_LOCKED'])
const ATTEMPTS = 3
/** Judging attempts per dispute (each a whole judge(): chain reads, solver, re-run) before giving up. */
const JUDGE_ATTEMPTS = 5
const JUDGE_RETRY_MS = 5000
const NOT_DETERMINISTIC =
  'the job runs on Docker, whose runs are not deterministic, so a re-run here proves nothing about the result'

/**
 * Whether a failed re-run shows the module cannot run anywhere, so no honest result exists. A
 * JOB_CANNOT_RUN of this machine's own (`runner-crashed`, an unknown reason) condemns no one.
 */
function condemns(error: unknown): boolean {
  if (!isLilypadError(error)) return false
  return MODULE_BROKEN.has(error.code) || isModuleFault(error)
}
const RETRY_DELAY_MS = 1000

/**
 * Starts a mediator.
 *
 * @param options - solver, key, chain, data directory, logger
 * @returns its address and `stop()`
 * @throws PRIVATE_KEY_INVALID, RPC_UNREACHABLE, WRONG_CHAIN, CONFIG_INVALID (a `dockerHost` it cannot reach)
 * @example
 * const mediator = await startMediator({solverUrl, privateKey, chain: {rpcUrl, chainId, controller}, dataDir})
 */
export async function startMediator(options: MediatorOptions): Promise<RunningMediator> {
  const privateKey = parsePrivateKey(options.privateKey)
  const dataDir = resolve(options.dataDir)
  await mkdir(dataDir, {recursive: true, mode: 0o700})
  const chainClient = await connectChain({
    rpcUrl: options.chain.rpcUrl,
    chainId: options.chain.chainId,
    privateKey,
    pollingIntervalMs: 100,
  })
  const signer = chainClient.signer
  if (signer === undefined || chainClient.address === undefined)
    throw new Error('the chain client has no signer')
  const address: string = chainClient.address
  const log = toLog(options.logger, {service: 'mediator', address})
  const stopping = new AbortController()
  // Once started, an outer abort stops the service exactly as stop() does (connections closed too).
  let stop: (() => Promise<void>) | undefined
  const onOuterAbort = (): void => {
    if (stop === undefined) stopping.abort()
    else void stop()
  }
  options.signal?.addEventListener('abort', onOuterAbort, {once: true})

  try {
    const controller = LilypadController__factory.connect(options.chain.controller, signer)
    const solver = createSolverClient({url: options.solverUrl, signer: privateKey})
    const executors = options.executors ?? (await createExecutors({dockerHost: options.dockerHost}))
    // Only Wasm re-runs prove anything; a Docker job never starts here (see NOT_DETERMINISTIC).
    const wasm = executors.get('wasm')
    const rerunExecutors: Executors = {
      engines: wasm === undefined ? [] : ['wasm'],
      get: (engine) => (engine === 'wasm' ? wasm : undefined),
    }
    // git's allowlist filters this; only PATH matters here.
    const gitEnv = options.gitEnv ?? {PATH: process.env.PATH}
    const state = await openStateFile<MediatorState>(join(dataDir, STATE_FILE), () => ({
      version: 1,
      cursor: null,
      disputes: {},
    }))
    const save = async (dealId: string, change: Partial<DisputeRecord>): Promise<void> => {
      await state.update((draft) => {
        const current = draft.disputes[dealId] ?? {phase: 'queued', updatedAt: ''}
        draft.disputes[dealId] = {...current, ...change, updatedAt: new Date().toISOString()}
      })
    }

    /** Re-runs the job; returns its data ID, or why there is none and whether that condemns the result. */
    async function rerun(dealId: string): Promise<{dataId: string} | {broken: boolean; reason: string}> {
      const deal = await solver.getDeal(dealId, {signal: stopping.signal})
      const offer = deal.deal.job_offer
      const resultDir = join(dataDir, 'mediation', dealId)
      let inputsDir: string | undefined
      const declared = offer.inputFiles
      if ((declared.required?.length ?? 0) + (declared.optional?.length ?? 0) > 0) {
        // Without the job's inputs a re-run proves nothing: fetch them or do not judge.
        inputsDir = join(dataDir, 'job-inputs', dealId)
        await rm(inputsDir, {recursive: true, force: true})
        try {
          const download = await solver.getInputFiles(dealId, {signal: stopping.signal})
          await unpackResultTar(download.stream, inputsDir, {signal: stopping.signal})
        } catch (error) {
          return {broken: false, reason: `cannot fetch the job's input files: ${messageOf(error)}`}
        }
      }
      for (let attempt = 1; ; attempt += 1) {
        await rm(resultDir, {recursive: true, force: true})
        let engine: string | undefined
        try {
          const job = await runModuleJob({
            module: offer.module,
            inputs: offer.inputs,
            dataDir,
            resultDir,
            seed: dealId,
            executors: rerunExecutors,
            inputsDir,
            env: gitEnv,
            signal: stopping.signal,
            onEvent: (event) => {
              if (event.type === 'job.rendered') engine = event.engine
            },
          })
          return {dataId: job.dataId}
        } catch (error) {
          if (stopping.signal.aborted) throw error
          if (engine !== undefined && engine !== 'wasm') return {broken: false, reason: NOT_DETERMINISTIC}
          if (condemns(error)) return {broken: true, reason: messageOf(error)}
          const code = isLilypadError(error) ? error.code : undefined
          if (code !== undefined && TRANSIENT.has(code) && attempt < ATTEMPTS) {
            log('warn', 'the re-run failed; trying again', {dealId, code, error: messageOf(error)})
            await delay(RETRY_DELAY_MS * attempt, undefined, {signal: stopping.signal})
            continue
          }
          return {broken: false, reason: messageOf(error)}
        }
      }
    }

    async function judge(dealId: string): Promise<void> {
      const known = state.value.disputes[dealId]
      if (known?.phase === 'ruled') return
      options.onEvent?.({type: 'dispute.received', dealId})
      log('info', 'drawn to mediate a dispute', {dealId})
      await save(dealId, {phase: 'judging'})
      const agreement = await controller.getAgreement(dealId)
      if (stateName(Number(agreement.state)) !== 'ResultsChecked') {
        log('info', 'the dispute is already settled', {dealId, state: stateName(Number(agreement.state))})
        await save(dealId, {phase: 'ruled', ruling: 'abstained', reason: 'already settled'})
        return
      }
      const added = await getResultAdded(chainClient.provider, options.chain.controller, dealId)
      if (added === undefined)
        throw lilypadError('DEAL_NOT_FOUND', {message: `Deal ${dealId} has no result on chain.`})
      const reportedDataId = added.dataId
      const outcome = await rerun(dealId)
      let ruling: Ruling
      let reason: string | undefined
      if ('dataId' in outcome) {
        ruling = outcome.dataId === reportedDataId ? 'accepted' : 'rejected'
        await save(dealId, {reportedDataId, dataId: outcome.dataId})
        log('info', 'compared the re-run with the result on chain', {
          dealId,
          reportedDataId,
          dataId: outcome.dataId,
          ruling,
        })
      } else if (outcome.broken) {
        ruling = 'rejected'
        reason = `the module cannot run: ${outcome.reason}`
      } else {
        ruling = 'abstained'
        reason = `cannot re-run the job here: ${outcome.reason}`
      }
      if (ruling === 'abstained') {
        log('warn', 'not ruling; the mediation timeout will refund both parties', {dealId, reason})
        await save(dealId, {phase: 'ruled', ruling, ...(reason === undefined ? {} : {reason})})
        options.onEvent?.({type: 'dispute.ruled', dealId, ruling, ...(reason === undefined ? {} : {reason})})
        return
      }
      const accept = ruling === 'accepted'
      const receipt = await sendAndWait(
        () => (accept ? controller.mediationAcceptResult(dealId) : controller.mediationRejectResult(dealId)),
        {
          action: `${accept ? 'accept' : 'reject'} the result of deal ${dealId}`,
          account: address,
          signal: stopping.signal,
        },
      )
      const txHash = receipt.hash
      await save(dealId, {phase: 'ruled', ruling, txHash, ...(reason === undefined ? {} : {reason})})
      await solver
        .postMediatorTxs(
          dealId,
          accept ? {mediation_accept_result: txHash} : {mediation_reject_result: txHash},
        )
        .catch((error: unknown) => {
          log('warn', 'could not report the ruling to the solver', {dealId, error: messageOf(error)})
        })
      log('info', accept ? 'accepted the result' : 'rejected the result', {dealId, txHash, reason})
      options.onEvent?.({
        type: 'dispute.ruled',
        dealId,
        ruling,
        txHash,
        ...(reason === undefined ? {} : {reason}),
      })
    }

    const isStopping = (): boolean => stopping.signal.aborted
    const judgeRetryMs = options.judgeRetryMs ?? JUDGE_RETRY_MS
    const queue: string[] = []
    const retryTimers = new Set<NodeJS.Timeout>()
    let working: Promise<void> | undefined

    /** A failed attempt: try again later, or after the last one leave the deal to the mediation timeout. */
    async function failed(dealId: string, error: unknown): Promise<void> {
      const attempts = (state.value.disputes[dealId]?.attempts ?? 0) + 1
      const message = messageOf(error)
      if (attempts >= JUDGE_ATTEMPTS) {
        const reason = `gave up after ${attempts} failed attempts: ${message}`
        log('error', 'could not judge the dispute; the mediation timeout will refund both parties', {
          dealId,
          attempts,
          error: message,
        })
        await save(dealId, {phase: 'ruled', ruling: 'abstained', attempts, error: message, reason})
        options.onEvent?.({type: 'dispute.ruled', dealId, ruling: 'abstained', reason})
        return
      }
      const retryInMs = judgeRetryMs * 2 ** (attempts - 1)
      log('warn', 'could not judge the dispute; trying again later', {
        dealId,
        attempts,
        error: message,
        retryInMs,
      })
      await save(dealId, {phase: 'queued', attempts, error: message})
      options.onEvent?.({type: 'dispute.failed', dealId, attempts, error: message, retryInMs})
      const timer = setTimeout(() => {
        retryTimers.delete(timer)
        enqueue(dealId)
      }, retryInMs)
      retryTimers.add(timer)
    }

    const drain = async (): Promise<void> => {
      for (
        let dealId = queue.shift();
        dealId !== undefined && !stopping.signal.aborted;
        dealId = queue.shift()
      ) {
        try {
          await judge(dealId)
        } catch (error) {
          // The loop condition narrowed `aborted`; judging may have been stopped meanwhile.
          if (isStopping()) continue
          await failed(dealId, error).catch((saveError: unknown) => {
            log('error', 'could not record a failed judging attempt', {dealId, error: messageOf(saveError)})
          })
        }
      }
    }
    function enqueue(dealId: string): void {
      if (isStopping() || queue.includes(dealId) || state.value.disputes[dealId]?.phase === 'ruled') return
      queue.push(dealId)
      working ??= drain().finally(() => {
        working = undefined
      })
    }
    stopping.signal.addEventListener('abort', () => {
      for (const timer of retryTimers) clearTimeout(timer)
      retryTimers.clear()
    })
    // Disputes taken in or in flight when the mediator stopped are judged (again) from the start.
    for (const [dealId, dispute] of Object.entries(state.value.disputes)) {
      if (dispute.phase !== 'ruled') enqueue(dealId)
    }

    const following = followControllerEvents({
      provider: chainClient.provider,
      controller: options.chain.controller,
      fromBlock: state.value.cursor === null ? (options.chain.fromBlock ?? 0) : state.value.cursor + 1,
      pollIntervalMs: options.pollIntervalMs ?? 250,
      signal: stopping.signal,
      // The follower saves its cursor once this returns: the dispute is on disk before then, so a
      // restart resumes it even when it was still waiting behind another re-run.
      onEvent: async (event) => {
        if (event.type !== 'MediationRequested' || event.mediator.toLowerCase() !== address.toLowerCase())
          return
        if (state.value.disputes[event.dealId] === undefined) await save(event.dealId, {phase: 'queued'})
        enqueue(event.dealId)
      },
      onCursor: async (block) => {
        await state.update((draft) => {
          draft.cursor = block
        })
      },
      onError: (error, info) => {
        log('warn', 'reading the chain failed; retrying', {
          error: messageOf(error),
          retryInMs: info.retryInMs,
        })
      },
    })
    log('info', 'mediator started', {controller: options.chain.controller})

    let stopped: Promise<void> | undefined
    stop = () => {
      stopped ??= (async () => {
        options.signal?.removeEventListener('abort', onOuterAbort)
        stopping.abort()
        await Promise.allSettled([following.stop(), working])
        chainClient.destroy()
        log('info', 'mediator stopped')
      })()
      return stopped
    }
    if (options.signal?.aborted === true) void stop()
    return {
      address,
      disputes: () => state.value.disputes,
      cursor: () => state.value.cursor,
      stop,
    }
  } catch (error) {
    stopping.abort()
    chainClient.destroy()
    throw error
  }
}
