/**
 * The devnet's on-chain job-creator service: it follows `JobAdded` on LilypadOnChainJobCreator, runs
 * each job as an ordinary Lilypad job creator (its own key, the same `runJob` path as the CLI, the
 * data ID verified before it is accepted) and answers on chain with `submitResults`, or `failJob`
 * with the reason when the job fails or takes too long (§6; DESIGN §10).
 *
 * Unlike Lilypad's service, nothing lives only in memory: the chain cursor and one record per job
 * (seen, running, submitting, failing, submitted, failed) are persisted atomically under its data
 * directory, the cursor in the same write as the jobs it covers. A restart resumes every unsettled
 * job, and before any transaction the job's state is read from the chain, so a job settled by a
 * transaction whose record was never written is recognised and not answered twice.
 */
import {mkdir} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {Wallet} from 'ethers'

import {connectChain, parsePrivateKey} from '../../core/chain/client.js'
import {LilypadOnChainJobCreator__factory} from '../../core/chain/generated/factories/LilypadOnChainJobCreator__factory.js'
import type {LilypadOnChainJobCreator} from '../../core/chain/generated/LilypadOnChainJobCreator.js'
import {ProcessLockedSigner} from '../../core/deals/tx-lock.js'
import {sendAndWait} from '../shared/chain.js'
import {type ServiceLogger, messageOf, toLog} from '../shared/log.js'
import {openStateFile} from '../shared/state-file.js'

/** Numbering of the contract's `JobState`. */
const ON_CHAIN = {None: 0, Pending: 1, Completed: 2, Failed: 3, TimedOut: 4} as const

/** Where one job stands for the service. `submitted` and `failed` are final. */
export type JobPhase = 'seen' | 'running' | 'submitting' | 'failing' | 'submitted' | 'failed'

/** What the service persisted about one job. */
export interface JobRecord {
  phase: JobPhase
  module: string
  /** The inputs exactly as the contract received them (`KEY=VALUE`). */
  inputs: string[]
  callingContract: string
  payee: string
  /** The block of its `JobAdded`. */
  blockNumber: number
  /** How many times its run was started. */
  attempts: number
  /** The run (journal ID) that posted its job offer, as soon as it was posted (passed back on a resumed run). */
  runId?: string
  /** The deal running it, once the run reported one (passed back on a resumed run). */
  dealId?: string
  /** The verified data ID of its outputs. */
  dataId?: string
  /** Why it failed. */
  reason?: string
  /** The settling transaction (absent when the chain was found settled by someone else). */
  txHash?: string
  /** How it ended on chain, when the service did not end it itself. */
  settledOnChain?: 'Completed' | 'Failed' | 'TimedOut'
  updatedAt: string
}

interface ServiceState {
  version: 1
  /** The last block whose JobAdded events were all taken in. */
  cursor: number | null
  jobs: Record<string, JobRecord>
}

/** One job as the service hands it to {@link JobCreatorServiceOptions.runJob}. */
export interface JobRequest {
  jobId: bigint
  /** The module reference as the contract passed it, e.g. `cowsay:v0.0.3`. */
  module: string
  /** The inputs split at their first `=` (the contract guarantees an identifier key). */
  inputs: Record<string, string>
  callingContract: string
  payee: string
  /** 1 on the first run; more when a run was interrupted by a stop and is started again. */
  attempt: number
  /** The deal of an interrupted earlier run, if it reported one: resume it rather than start anew. */
  resumeDealId?: string
  /** The run of an interrupted earlier run that posted its offer but reported no deal: resume it. */
  resumeRunId?: string
  /** Persists the run that posted this job's offer, so a run interrupted before a match is resumed. */
  onPosted: (runId: string) => Promise<void>
  /** Persists the deal running this job, so a run interrupted later can be resumed. */
  onDeal: (dealId: string) => Promise<void>
  /** Aborted when the service stops or the job takes longer than `jobTimeoutMs`. */
  signal: AbortSignal
}

/** What the service does, for tests and the supervisor. */
export type JobCreatorEvent =
  | {type: 'job.seen'; jobId: bigint}
  | {type: 'job.running'; jobId: bigint; attempt: number}
  | {type: 'job.submitted'; jobId: bigint; dealId: string; dataId: string; txHash: string}
  | {type: 'job.failed'; jobId: bigint; reason: string; txHash: string}
  | {type: 'job.settled-on-chain'; jobId: bigint; state: 'Completed' | 'Failed' | 'TimedOut'}
  | {type: 'job.retrying'; jobId: bigint; failures: number; delayMs: number; error: string}

/** Options of {@link startJobCreatorService}. */
export interface JobCreatorServiceOptions {
  rpcUrl: string
  chainId: number
  /** Address of LilypadOnChainJobCreator. */
  jobCreatorContract: string
  /** The service's key: the contract's `service`, and the job creator of every deal it makes. */
  privateKey: string
  /** Its own directory: the state file. */
  dataDir: string
  /**
   * Runs one job to a verified result. It must only resolve with a data ID it checked against the
   * downloaded outputs; a throw fails the job on chain with the error's message.
   */
  runJob: (request: JobRequest) => Promise<{dealId: string; dataId: string}>
  /** First block to look for jobs in before any cursor is persisted (the deployment block). Default 0. */
  fromBlock?: number | undefined
  /** Where the transaction locks live; the same data directory `runJob` uses, so their sends never collide
   * on a nonce. Default: `dataDir`. */
  lockDataDir?: string | undefined
  /** How long one run may take before the job is failed (default 30 minutes). */
  jobTimeoutMs?: number | undefined
  /** Jobs run at the same time (default 4). */
  concurrency?: number | undefined
  /** Pause between polls of the chain (default 250 ms). */
  pollIntervalMs?: number | undefined
  /** First pause before a job whose handling threw is taken up again; it doubles up to 60 s (default 1 s). */
  retryDelayMs?: number | undefined
  /** Times a job's handling may throw before the job is failed on chain with the error (default 5). */
  maxHandleFailures?: number | undefined
  logger?: ServiceLogger | undefined
  onEvent?: ((event: JobCreatorEvent) => void) | undefined
  signal?: AbortSignal | undefined
}

/** A running job-creator service. */
export interface RunningJobCreatorService {
  address: string
  /** The jobs it has taken in, as persisted (keyed by job ID in decimal). */
  jobs(): Readonly<Record<string, JobRecord>>
  /** The last block whose jobs it has taken in (persisted), null before the first. */
  cursor(): number | null
  stop(): Promise<void>
}

const STATE_FILE = 'jobcreator-state.json'
const DEFAULT_JOB_TIMEOUT_MS = 30 * 60_000
/** Blocks per `eth_getLogs` request. */
const LOG_CHUNK = 2_000
/** A reason longer than this is cut: it is stored on chain in an event. */
const MAX_REASON = 500
const SEND_ATTEMPTS = 3

const FINAL: ReadonlySet<JobPhase> = new Set(['submitted', 'failed'])

/** `KEY=VALUE` strings → a record; a key given twice is an error (never silently dropped or merged). */
function splitInputs(inputs: string[]): Record<string, string> {
  const result: Record<string, string> = {}
  for (const input of inputs) {
    const at = input.indexOf('=')
    const key = input.slice(0, at)
    if (at < 1) throw new Error(`input ${JSON.stringify(input)} is not KEY=VALUE`)
    if (Object.hasOwn(result, key)) throw new Error(`input ${key} is given more than once`)
    result[key] = input.slice(at + 1)
  }
  return result
}

function shorten(reason: string): string {
  return reason.length <= MAX_REASON ? reason : `${reason.slice(0, MAX_REASON - 1)}…`
}

/**
 * Starts the job-creator service.
 *
 * @param options - chain, contract, key, data directory, the `runJob` path, logger
 * @returns its address, its persisted jobs and cursor, and `stop()`
 * @throws PRIVATE_KEY_INVALID, RPC_UNREACHABLE, WRONG_CHAIN
 * @example
 * const service = await startJobCreatorService({rpcUrl, chainId, jobCreatorContract, privateKey, dataDir, runJob})
 */
export async function startJobCreatorService(
  options: JobCreatorServiceOptions,
): Promise<RunningJobCreatorService> {
  const privateKey = parsePrivateKey(options.privateKey)
  const dataDir = resolve(options.dataDir)
  await mkdir(dataDir, {recursive: true, mode: 0o700})
  const chainClient = await connectChain({
    rpcUrl: options.rpcUrl,
    chainId: options.chainId,
    pollingIntervalMs: 100,
  })
  const provider = chainClient.provider
  const signer = new ProcessLockedSigner(new Wallet(privateKey, provider), {
    dataDir: resolve(options.lockDataDir ?? dataDir),
    chainId: chainClient.chainId,
  })
  const address = await signer.getAddress()
  const log = toLog(options.logger, {service: 'jobcreator', address})
  const stopping = new AbortController()
  const onOuterAbort = (): void => {
    stopping.abort()
  }
  options.signal?.addEventListener('abort', onOuterAbort, {once: true})
  const isStopping = (): boolean => stopping.signal.aborted

  try {
    const creator: LilypadOnChainJobCreator = LilypadOnChainJobCreator__factory.connect(
      options.jobCreatorContract,
      signer,
    )
    const state = await openStateFile<ServiceState>(join(dataDir, STATE_FILE), () => ({
      version: 1,
      cursor: null,
      jobs: {},
    }))
    const save = async (key: string, change: Partial<JobRecord>): Promise<JobRecord> => {
      const next = await state.update((draft) => {
        const current = draft.jobs[key]
        if (current === undefined) throw new Error(`no record of job ${key}`)
        draft.jobs[key] = {...current, ...change, updatedAt: new Date().toISOString()}
      })
      return next.jobs[key] as JobRecord
    }

    /** The job's state on chain, by name. */
    async function chainState(jobId: bigint): Promise<keyof typeof ON_CHAIN> {
      const job = await creator.getJob(jobId)
      const value = Number(job.state)
      const name = (Object.keys(ON_CHAIN) as (keyof typeof ON_CHAIN)[]).find((k) => ON_CHAIN[k] === value)
      if (name === undefined) throw new Error(`job ${jobId} is in unknown state ${value}`)
      return name
    }

    /** Records a job that is no longer pending on chain; true when it is. */
    async function settledOnChain(key: string, jobId: bigint): Promise<boolean> {
      const onChain = await chainState(jobId)
      if (onChain === 'Pending') return false
      if (onChain === 'None') throw new Error(`job ${key} does not exist on chain`)
      await save(key, {phase: onChain === 'Completed' ? 'submitted' : 'failed', settledOnChain: onChain})
      log('info', 'the job is already settled on chain', {jobId: key, state: onChain})
      options.onEvent?.({type: 'job.settled-on-chain', jobId, state: onChain})
      return true
    }

    /** Sends a settling transaction, retrying transient failures; re-reads the chain before each try. */
    async function settle(key: string, jobId: bigint, kind: 'submit' | 'fail'): Promise<void> {
      for (let attempt = 1; ; attempt += 1) {
        if (await settledOnChain(key, jobId)) return
        const record = state.value.jobs[key] as JobRecord
        try {
          const receipt = await sendAndWait(
            () =>
              kind === 'submit'
                ? creator.submitResults(jobId, record.dealId ?? '', record.dataId ?? '')
                : creator.failJob(jobId, record.reason ?? 'failed'),
            {action: `${kind === 'submit' ? 'submit the results of' : 'fail'} job ${key}`, account: address},
          )
          await save(key, {phase: kind === 'submit' ? 'submitted' : 'failed', txHash: receipt.hash})
          if (kind === 'submit') {
            log('info', 'submitted the results', {jobId: key, dealId: record.dealId, dataId: record.dataId})
            options.onEvent?.({
              type: 'job.submitted',
              jobId,
              dealId: record.dealId ?? '',
              dataId: record.dataId ?? '',
              txHash: receipt.hash,
            })
          } else {
            log('info', 'failed the job; the payee is refunded', {jobId: key, reason: record.reason})
            options.onEvent?.({type: 'job.failed', jobId, reason: record.reason ?? '', txHash: receipt.hash})
          }
          return
        } catch (error) {
          if (attempt >= SEND_ATTEMPTS || isStopping()) throw error
          log('warn', 'settling the job failed; trying again', {jobId: key, error: messageOf(error)})
          await delay(500 * attempt, undefined, {signal: stopping.signal})
        }
      }
    }

    async function handle(key: string): Promise<void> {
      const jobId = BigInt(key)
      let record = state.value.jobs[key]
      if (record === undefined || FINAL.has(record.phase)) return
      if (await settledOnChain(key, jobId)) return
      if (record.phase === 'seen' || record.phase === 'running') {
        let inputs: Record<string, string> | undefined
        try {
          inputs = splitInputs(record.inputs)
        } catch (error) {
          record = await save(key, {phase: 'failing', reason: shorten(messageOf(error))})
        }
        if (inputs !== undefined) {
          const attempt = record.attempts + 1
          record = await save(key, {phase: 'running', attempts: attempt})
          options.onEvent?.({type: 'job.running', jobId, attempt})
          log('info', 'running the job', {jobId: key, module: record.module, attempt})
          const timeoutMs = options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS
          const timer = AbortSignal.timeout(timeoutMs)
          const signal = AbortSignal.any([stopping.signal, timer])
          try {
            const result = await options.runJob({
              jobId,
              module: record.module,
              inputs,
              callingContract: record.callingContract,
              payee: record.payee,
              attempt,
              ...(record.dealId === undefined ? {} : {resumeDealId: record.dealId}),
              ...(record.runId === undefined ? {} : {resumeRunId: record.runId}),
              onPosted: async (runId) => {
                await save(key, {runId})
              },
              onDeal: async (dealId) => {
                await save(key, {dealId})
              },
              signal,
            })
            if (result.dataId === '') throw new Error('the run returned an empty data ID')
            // The result is persisted before it is sent, so a stop from here on never runs the job again.
            record = await save(key, {phase: 'submitting', dealId: result.dealId, dataId: result.dataId})
            if (isStopping()) return
          } catch (error) {
            // Stopped: the record stays `running`; the next start runs (or resumes) it again.
            if (isStopping()) return
            const reason = timer.aborted
              ? `timed out: the job did not finish within ${timeoutMs / 1000} s`
              : messageOf(error)
            log('warn', 'the job failed', {jobId: key, reason})
            record = await save(key, {phase: 'failing', reason: shorten(reason)})
          }
        }
      }
      if (record.phase === 'submitting') await settle(key, jobId, 'submit')
      else if (record.phase === 'failing') await settle(key, jobId, 'fail')
    }

    // A small pool: jobs wait in `queue`, at most `concurrency` run at once, each job once at a time.
    const queue: string[] = []
    const active = new Map<string, Promise<void>>()
    const concurrency = Math.max(1, options.concurrency ?? 4)
    const retryDelayMs = options.retryDelayMs ?? 1_000
    const maxHandleFailures = Math.max(1, options.maxHandleFailures ?? 5)
    /** Consecutive throws of `handle` per job; a job is never dropped until the next start. */
    const handleFailures = new Map<string, number>()
    const retryTimers = new Set<NodeJS.Timeout>()
    async function handleFailed(key: string, error: unknown): Promise<void> {
      const failures = (handleFailures.get(key) ?? 0) + 1
      handleFailures.set(key, failures)
      const message = messageOf(error)
      log('error', 'could not handle the job', {jobId: key, error: message, failures})
      const record = state.value.jobs[key]
      if (failures >= maxHandleFailures && record !== undefined && record.phase !== 'failing') {
        // Failing refunds the payee rather than leaving its deposit locked until the on-chain timeout.
        await save(key, {
          phase: 'failing',
          reason: shorten(`the service could not handle the job: ${message}`),
        })
      }
      const delayMs = Math.min(retryDelayMs * 2 ** (failures - 1), 60_000)
      options.onEvent?.({type: 'job.retrying', jobId: BigInt(key), failures, delayMs, error: message})
      const timer = setTimeout(() => {
        retryTimers.delete(timer)
        enqueue(key)
      }, delayMs)
      retryTimers.add(timer)
    }
    const pump = (): void => {
      while (!isStopping() && active.size < concurrency && queue.length > 0) {
        const key = queue.shift() as string
        const run = handle(key)
          .then(() => {
            handleFailures.delete(key)
          })
          .catch(async (error: unknown) => {
            if (!isStopping()) await handleFailed(key, error).catch(() => undefined)
          })
          .finally(() => {
            active.delete(key)
            pump()
          })
        active.set(key, run)
      }
    }
    const enqueue = (key: string): void => {
      if (active.has(key) || queue.includes(key)) return
      const record = state.value.jobs[key]
      if (record === undefined || FINAL.has(record.phase)) return
      queue.push(key)
      pump()
    }
    // Jobs that were not settled when the service last stopped, oldest first.
    for (const key of Object.keys(state.value.jobs).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))) {
      enqueue(key)
    }

    /** Takes in the JobAdded events of the next blocks; the jobs and the cursor in one write. */
    async function poll(): Promise<void> {
      const latest = await provider.getBlockNumber()
      for (;;) {
        const from = state.value.cursor === null ? (options.fromBlock ?? 0) : state.value.cursor + 1
        if (from > latest || isStopping()) return
        const to = Math.min(latest, from + LOG_CHUNK - 1)
        const events = await creator.queryFilter(creator.filters.JobAdded(), from, to)
        const fresh: string[] = []
        await state.update((draft) => {
          for (const event of events) {
            const [jobId, callingContract, payee, module, inputs] = event.args
            const key = jobId.toString()
            if (draft.jobs[key] !== undefined) continue
            draft.jobs[key] = {
              phase: 'seen',
              module,
              inputs: [...inputs],
              callingContract,
              payee,
              blockNumber: event.blockNumber,
              attempts: 0,
              updatedAt: new Date().toISOString(),
            }
            fresh.push(key)
          }
          draft.cursor = to
        })
        for (const key of fresh) {
          log('info', 'job requested on chain', {jobId: key, module: state.value.jobs[key]?.module})
          options.onEvent?.({type: 'job.seen', jobId: BigInt(key)})
          enqueue(key)
        }
      }
    }

    const pollIntervalMs = options.pollIntervalMs ?? 250
    const following = (async () => {
      let failures = 0
      while (!isStopping()) {
        try {
          await poll()
          failures = 0
        } catch (error) {
          if (isStopping()) break
          failures += 1
          log('warn', 'reading the chain failed; retrying', {error: messageOf(error), failures})
        }
        await delay(pollIntervalMs * Math.min(2 ** failures, 40), undefined, {signal: stopping.signal}).catch(
          () => undefined,
        )
      }
    })()
    log('info', 'job-creator service started', {contract: options.jobCreatorContract})

    let stopped: Promise<void> | undefined
    return {
      address,
      jobs: () => state.value.jobs,
      cursor: () => state.value.cursor,
      stop: () => {
        stopped ??= (async () => {
          options.signal?.removeEventListener('abort', onOuterAbort)
          stopping.abort()
          for (const timer of retryTimers) clearTimeout(timer)
          retryTimers.clear()
          await Promise.allSettled([following, ...active.values()])
          chainClient.destroy()
          log('info', 'job-creator service stopped')
        })()
        return stopped
      },
    }
  } catch (error) {
    stopping.abort()
    chainClient.destroy()
    throw error
  }
}
