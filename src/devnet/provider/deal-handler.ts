/**
 * The provider's work on one deal, as a sequence of persisted phases: agree (onchain), run, upload,
 * `addResult` (onchain), post the Result, then (onchain) watch the chain until the deal ends, claiming
 * `timeoutAgree`, `timeoutJudgeResult` or `timeoutMediateResult` once past its deadline. Every phase is written to the state file before the next
 * starts and every step checks what is already done (on chain or on disk) before doing it, so a
 * restart at any point resumes the deal without running its job or sending a transaction twice.
 */
import {createReadStream} from 'node:fs'
import {appendFile, cp, mkdtemp, readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'

import type {Provider} from 'ethers'

import type {LilypadController} from '../../core/chain/generated/LilypadController.js'
import type {LilypadToken} from '../../core/chain/generated/LilypadToken.js'
import {stateName} from '../../core/chain/states.js'
import {isLilypadError} from '../../core/errors/index.js'
import type {Executors} from '../../core/executors/index.js'
import {runModuleJob} from '../../core/executors/module-job.js'
import type {GitEnvironment} from '../../core/module/git.js'
import {computeDataId} from '../../core/results/data-id.js'
import {RESULT_FILES, parseExitCodeFile} from '../../core/results/layout.js'
import {packResult, unpackResultTar} from '../../core/results/archive.js'
import type {SolverClient} from '../../core/solver/client.js'
import {dealTermsForChain} from '../../core/solver/offer.js'
import {GO_STATE, goStateName, isTerminalState} from '../../core/solver/states.js'
import type {DealContainer, ProtocolMode} from '../../core/solver/types.js'
import {pathExists} from '../../core/util/fs.js'
import {sendAndWait, ensureAllowance} from '../shared/chain.js'
import {type Log, messageOf} from '../shared/log.js'
import type {StateFile} from '../shared/state-file.js'

/** Where the provider is with a deal. */
export type DealPhase =
  /** Seen; about to agree on chain (onchain). */
  | 'agreeing'
  /** Agreed (or nothing to agree in the solver protocol); waiting for DealAgreed. */
  | 'agreed'
  /** The job is running (or was, when the provider stopped). */
  | 'running'
  /** The result directory is complete; not yet uploaded. */
  | 'ran'
  /** Uploaded to the solver. */
  | 'uploaded'
  /** `addResult` mined (onchain). */
  | 'result-added'
  /** The Result is posted (onchain): waiting for the job creator's judgement or the mediator's ruling. */
  | 'posted'
  /** Finished: the Result is posted (solver protocol), or the deal ended on chain. */
  | 'done'
  /** The job cannot run; its error Result is being posted. */
  | 'failing'
  /** The error Result is posted: finished. */
  | 'failed'
  /** Fault `stalling`: agreed, never finishes. */
  | 'stalled'
  /** Fault `vanishing`: agreed, then went silent. */
  | 'vanished'
  /** Not worked on: already ended when first seen, or given up after repeated failures. */
  | 'skipped'

/** What the provider persisted about one deal. */
export interface DealRecord {
  phase: DealPhase
  agreeTx?: string
  addResultTx?: string
  /** The data ID of the result directory. */
  dataId?: string
  /** The data ID reported (differs from `dataId` only for the `lying` fault). Fields other than `phase`,
   * `timeout`, `closedAs` and `updatedAt` are dropped once the deal is finished. */
  reportedDataId?: string
  exitCode?: number
  /** The timeout this provider claimed on chain, and the transaction. */
  timeout?: TimeoutClaim
  timeoutTx?: string
  /** The on-chain state the deal ended in. */
  closedAs?: string
  error?: string
  /** Steps that failed and will be retried. */
  attempts?: number
  updatedAt: string
}

/** A timeout only the provider (or, for mediation, either party) may claim; named as the solver's tx fields. */
export type TimeoutClaim = 'timeout_agree' | 'timeout_judge_result' | 'timeout_mediate_result'

/** The provider's state file. */
export interface ProviderState {
  version: 1
  deals: Record<string, DealRecord>
}

/** What the provider does, for tests and the supervisor. */
export type ProviderEvent =
  | {type: 'offer.posted'; offerId: string; reason: string}
  /** The fallback poll listed the provider's deals. */
  | {type: 'deals.polled'; count: number}
  | {type: 'deal.seen'; dealId: string; state: string}
  | {type: 'deal.agreed'; dealId: string; txHash: string}
  | {type: 'job.started'; dealId: string}
  | {type: 'job.finished'; dealId: string; dataId: string; exitCode: number}
  | {type: 'result.posted'; dealId: string; dataId: string; addResultTx: string}
  | {type: 'result.failed'; dealId: string; error: string}
  | {type: 'deal.skipped'; dealId: string; reason: string}
  | {type: 'timeout.claimed'; dealId: string; timeout: TimeoutClaim; txHash: string}
  | {type: 'deal.closed'; dealId: string; state: string}
  | {type: 'fault'; dealId: string; fault: string}

/** The provider's contracts, connected to its signer. */
export interface ProviderChain {
  controller: LilypadController
  /** Reads the latest block: deadlines are on chain time, never this machine's clock. */
  provider: Provider
  token: LilypadToken
  controllerAddress: string
}

/** What {@link createDealHandler} needs. */
export interface DealHandlerOptions {
  address: string
  protocol: ProtocolMode
  solver: SolverClient
  chain: ProviderChain | undefined
  dataDir: string
  executors: Executors
  /** Which module repositories job offers may make it fetch. */
  allowedRepo: (repoUrl: string) => boolean
  fault: 'lying' | 'stalling' | 'vanishing' | 'failing' | undefined
  gitEnv: GitEnvironment | undefined
  state: StateFile<ProviderState>
  log: Log
  emit: (event: ProviderEvent) => void
  signal: AbortSignal
  /** Called once per deal, when the provider first sees it. */
  onNewDeal: (dealId: string) => void
  /** Fault `vanishing`: stop listening to the solver. */
  vanish: () => void
}

/** Runs the deals it is given, each once, one step at a time. */
export interface DealHandler {
  /** Looks at a deal's latest state; several calls for one deal are handled in order. */
  schedule(deal: DealContainer): void
  /** Resolves when no deal is being worked on. */
  idle(): Promise<void>
  /** The deals it has not finished (it still runs, reports or watches them). */
  openDealIds(): string[]
}

const FINISHED: ReadonlySet<DealPhase> = new Set(['done', 'failed', 'stalled', 'vanished', 'skipped'])
/** On-chain states in which a deal is over (3 and 5–10). */
const CHAIN_TERMINAL: ReadonlySet<string> = new Set([
  'ResultsAccepted',
  'MediationAccepted',
  'MediationRejected',
  'TimeoutAgree',
  'TimeoutSubmitResults',
  'TimeoutJudgeResults',
  'TimeoutMediateResults',
])
/** The solver's execution timeout when the job offer sets none (the devnet solver's and Go's default). */
const SOLVER_EXECUTION_SECONDS = 900
/** Of the time left before the deadline, a fifth (at least 1 s, at most 30 s) is kept for the result. */
const RESULT_RESERVE_MIN_MS = 1000
const RESULT_RESERVE_MAX_MS = 30_000
/** Failed steps (solver or RPC trouble) are retried on later looks at the deal, this many times. */
const MAX_ATTEMPTS = 5
const FAULT_FAILING_MESSAGE =
  'this resource provider is configured to fail every job (devnet fault "failing")'

function finishedRecord(record: DealRecord): DealRecord {
  return {
    phase: record.phase,
    ...(record.timeout === undefined ? {} : {timeout: record.timeout}),
    ...(record.closedAs === undefined ? {} : {closedAs: record.closedAs}),
    updatedAt: record.updatedAt,
  }
}

/** Creates the deal handler of a provider. */
export function createDealHandler(options: DealHandlerOptions): DealHandler {
  const {state, log, solver} = options
  const call = {signal: options.signal}
  const running = new Map<string, Promise<void>>()
  const pending = new Map<string, DealContainer>()

  const record = (dealId: string): DealRecord | undefined => state.value.deals[dealId]
  const save = async (dealId: string, change: Partial<DealRecord>): Promise<DealRecord> => {
    const next = await state.update((draft) => {
      const current = draft.deals[dealId] ?? {phase: 'agreeing', updatedAt: ''}
      const next: DealRecord = {...current, ...change, updatedAt: new Date().toISOString()}
      // The file is rewritten whole on every update: a finished deal keeps only what a restart needs
      // (that it is finished, so it is never run again) and how it ended.
      draft.deals[dealId] = FINISHED.has(next.phase) ? finishedRecord(next) : next
    })
    const saved = next.deals[dealId]
    if (saved === undefined) throw new Error(`deal ${dealId} vanished from the state file`)
    return saved
  }

  const resultDirOf = (dealId: string): string => join(options.dataDir, 'results', dealId)

  async function agree(deal: DealContainer): Promise<void> {
    const chain = options.chain
    if (chain === undefined) return
    const dealId = deal.id
    const terms = dealTermsForChain(deal.deal)
    const agreement = (await chain.controller.hasDeal(dealId))
      ? await chain.controller.getAgreement(dealId)
      : undefined
    let txHash = record(dealId)?.agreeTx
    if (agreement?.resourceProviderAgreed !== true) {
      await ensureAllowance(
        chain.token,
        options.address,
        chain.controllerAddress,
        terms[2].submitResults.collateral,
        options.signal,
      )
      const receipt = await sendAndWait(() => chain.controller.agree(...terms), {
        action: `agree to deal ${dealId}`,
        account: options.address,
        signal: options.signal,
      })
      txHash = receipt.hash
    }
    await save(dealId, {phase: 'agreed', ...(txHash === undefined ? {} : {agreeTx: txHash})})
    if (txHash !== undefined) {
      await solver.postResourceProviderTxs(dealId, {agree: txHash}, call)
      log('info', 'agreed to the deal', {dealId, txHash})
      options.emit({type: 'deal.agreed', dealId, txHash})
    }
  }

  /**
   * How long the job may run: until the deal's submit deadline on chain (onchain; chain time), or
   * the solver's execution timeout counted from the deal's creation (solver protocol), less a
   * reserve for packing, uploading and reporting the result.
   */
  async function timeLeftMs(deal: DealContainer): Promise<number> {
    let leftMs: number
    const chain = options.chain
    if (options.protocol === 'onchain' && chain !== undefined) {
      const [agreement, latest] = await Promise.all([
        chain.controller.getAgreement(deal.id),
        chain.provider.getBlock('latest'),
      ])
      leftMs = (Number(agreement.deadline) - (latest?.timestamp ?? Math.floor(Date.now() / 1000))) * 1000
    } else {
      const seconds = deal.deal.job_offer.executionTimeoutSeconds || SOLVER_EXECUTION_SECONDS
      leftMs = deal.created_at + seconds * 1000 - Date.now()
    }
    const reserveMs = Math.min(RESULT_RESERVE_MAX_MS, Math.max(RESULT_RESERVE_MIN_MS, leftMs / 5))
    return Math.max(1, Math.floor(leftMs - reserveMs))
  }

  /** The data ID of a copy of the result with one byte more in stdout: what a lying provider reports. */
  async function lie(resultDir: string): Promise<string> {
    const copy = await mkdtemp(join(options.dataDir, '.lie-'))
    try {
      const dir = join(copy, 'result')
      await cp(resultDir, dir, {recursive: true})
      await appendFile(join(dir, 'stdout'), '!')
      return await computeDataId(dir)
    } finally {
      await rm(copy, {recursive: true, force: true})
    }
  }

  /**
   * The job's input files (v2.19+), fetched from the solver and unpacked safely into
   * `<dataDir>/job-inputs/<dealID>` as the Go provider lays them out; none when the module declares none.
   */
  async function inputsOf(deal: DealContainer): Promise<string | undefined> {
    const declared = deal.deal.job_offer.inputFiles
    if ((declared.required?.length ?? 0) + (declared.optional?.length ?? 0) === 0) return undefined
    const dir = join(options.dataDir, 'job-inputs', deal.id)
    if (await pathExists(dir)) return dir
    const download = await solver.getInputFiles(deal.id, {signal: options.signal})
    await unpackResultTar(download.stream, dir, {signal: options.signal})
    log('info', 'fetched the input files', {dealId: deal.id})
    return dir
  }

  async function run(deal: DealContainer): Promise<void> {
    const dealId = deal.id
    const resultDir = resultDirOf(dealId)
    await save(dealId, {phase: 'running'})
    let dataId: string
    let exitCode: number
    // A result directory only appears whole: if it is there, the job already ran before a restart.
    if (await pathExists(resultDir)) {
      dataId = await computeDataId(resultDir)
      exitCode = parseExitCodeFile(await readFile(join(resultDir, RESULT_FILES.exitCode), 'utf8')) ?? 0
      log('info', 'the job had already run; reusing its result', {dealId, dataId})
    } else {
      options.emit({type: 'job.started', dealId})
      log('info', 'running the job', {dealId, module: deal.deal.job_offer.module})
      const offer = deal.deal.job_offer
      try {
        const inputsDir = await inputsOf(deal)
        const timeoutMs = await timeLeftMs(deal)
        const job = await runModuleJob({
          module: offer.module,
          inputs: offer.inputs,
          dataDir: options.dataDir,
          resultDir,
          seed: dealId,
          executors: options.executors,
          allowedRepo: options.allowedRepo,
          inputsDir,
          env: options.gitEnv,
          // The module's own Timeout still applies when it is the shorter (runModuleJob takes the lower).
          limits: {timeoutMs},
          signal: options.signal,
        })
        dataId = job.dataId
        exitCode = job.exitCode
      } catch (error) {
        if (options.signal.aborted) throw error
        await fail(deal, `the job cannot run: ${messageOf(error)}`)
        return
      }
      options.emit({type: 'job.finished', dealId, dataId, exitCode})
      log('info', 'the job finished', {dealId, dataId, exitCode})
    }
    const reportedDataId = options.fault === 'lying' ? await lie(resultDir) : dataId
    if (reportedDataId !== dataId) {
      options.emit({type: 'fault', dealId, fault: 'lying'})
      log('warn', 'fault: reporting a data ID that does not match the result', {
        dealId,
        dataId,
        reportedDataId,
      })
    }
    await save(dealId, {phase: 'ran', dataId, reportedDataId, exitCode})
  }

  async function upload(dealId: string): Promise<void> {
    const tarFile = `${resultDirOf(dealId)}.tar`
    await packResult(resultDirOf(dealId), tarFile, {signal: options.signal})
    // Streamed: a result may be far larger than this process should hold in memory.
    try {
      await solver.uploadResultFiles(dealId, createReadStream(tarFile), 'results.tar', call)
    } finally {
      await rm(tarFile, {force: true})
    }
    await save(dealId, {phase: 'uploaded'})
    log('info', 'uploaded the result files', {dealId})
  }

  async function addResult(deal: DealContainer, reportedDataId: string): Promise<string> {
    const chain = options.chain
    if (chain === undefined) return '0x'
    const dealId = deal.id
    const existing = record(dealId)?.addResultTx
    if (existing !== undefined) return existing
    const agreement = await chain.controller.getAgreement(dealId)
    let txHash = '0x'
    if (stateName(Number(agreement.state)) === 'DealAgreed') {
      const [, , , pricing] = dealTermsForChain(deal.deal)
      const resultsCollateral = pricing.resultsCollateralMultiple * pricing.instructionPrice
      await ensureAllowance(
        chain.token,
        options.address,
        chain.controllerAddress,
        resultsCollateral,
        options.signal,
      )
      const receipt = await sendAndWait(() => chain.controller.addResult(dealId, '', reportedDataId, 1n), {
        action: `add the result of deal ${dealId}`,
        account: options.address,
        signal: options.signal,
      })
      txHash = receipt.hash
    }
    await save(dealId, {phase: 'result-added', addResultTx: txHash})
    return txHash
  }

  async function finish(deal: DealContainer): Promise<void> {
    const dealId = deal.id
    const current = record(dealId)
    const reportedDataId = current?.reportedDataId ?? current?.dataId
    if (reportedDataId === undefined) throw new Error(`deal ${dealId} has no data ID to report`)
    let txHash = '0x'
    if (options.protocol === 'onchain') {
      txHash = await addResult(deal, reportedDataId)
      if (txHash !== '0x') await solver.postResourceProviderTxs(dealId, {add_result: txHash}, call)
    }
    await solver.postResult(
      dealId,
      {
        id: '',
        deal_id: dealId,
        data_id: reportedDataId,
        error: '',
        instruction_count: 1,
      },
      call,
    )
    if (options.protocol === 'solver') await solver.postResourceProviderTxs(dealId, {add_result: '0x'}, call)
    // On chain the collateral stays locked until the job creator judges: keep watching the deal.
    await save(dealId, {phase: options.protocol === 'onchain' ? 'posted' : 'done'})
    options.emit({type: 'result.posted', dealId, dataId: reportedDataId, addResultTx: txHash})
    log('info', 'posted the result', {dealId, dataId: reportedDataId, addResultTx: txHash})
  }

  async function fail(deal: DealContainer, message: string): Promise<void> {
    const dealId = deal.id
    await save(dealId, {phase: 'failing', error: message})
    log('warn', 'posting an error result', {dealId, error: message})
    await solver.postResult(
      dealId,
      {id: '', deal_id: dealId, data_id: '', error: message, instruction_count: 0},
      call,
    )
    await save(dealId, {phase: 'failed'})
    options.emit({type: 'result.failed', dealId, error: message})
  }

  /**
   * Reads the deal on chain: records its end when it is over, and claims the timeout this provider
   * may claim once the latest block is past its deadline (agreed alone, no judgement, no ruling).
   *
   * @returns true when the deal is over on chain
   */
  async function watchChain(dealId: string): Promise<boolean> {
    const chain = options.chain
    if (chain === undefined || !(await chain.controller.hasDeal(dealId))) return false
    const agreement = await chain.controller.getAgreement(dealId)
    const state = stateName(Number(agreement.state))
    if (CHAIN_TERMINAL.has(state)) {
      await save(dealId, {phase: 'done', closedAs: state})
      options.emit({type: 'deal.closed', dealId, state})
      log('info', 'the deal ended on chain', {dealId, state})
      return true
    }
    const claim: TimeoutClaim | undefined =
      state === 'DealNegotiating' && agreement.resourceProviderAgreed && !agreement.jobCreatorAgreed
        ? 'timeout_agree'
        : state === 'ResultsSubmitted'
          ? 'timeout_judge_result'
          : state === 'ResultsChecked'
            ? 'timeout_mediate_result'
            : undefined
    if (claim === undefined) return false
    const latest = await chain.provider.getBlock('latest')
    // The contract accepts a claim only strictly after the deadline (TooEarly otherwise).
    if (latest === null || BigInt(latest.timestamp) <= agreement.deadline) return false
    const send = {
      timeout_agree: () => chain.controller.timeoutAgree(dealId),
      timeout_judge_result: () => chain.controller.timeoutJudgeResult(dealId),
      timeout_mediate_result: () => chain.controller.timeoutMediateResult(dealId),
    }[claim]
    const receipt = await sendAndWait(send, {
      action: `claim ${claim} of deal ${dealId}`,
      account: options.address,
      signal: options.signal,
    })
    const closedAs = {
      timeout_agree: 'TimeoutAgree',
      timeout_judge_result: 'TimeoutJudgeResults',
      timeout_mediate_result: 'TimeoutMediateResults',
    }[claim]
    await save(dealId, {phase: 'done', timeout: claim, timeoutTx: receipt.hash, closedAs})
    options.emit({type: 'timeout.claimed', dealId, timeout: claim, txHash: receipt.hash})
    log('info', 'claimed a timeout', {dealId, timeout: claim, txHash: receipt.hash})
    await solver.postResourceProviderTxs(dealId, {[claim]: receipt.hash}, call).catch((error: unknown) => {
      log('warn', 'could not report the timeout to the solver', {dealId, error: messageOf(error)})
    })
    return true
  }

  /** One look at a deal: does every step that its state and the record allow. */
  async function advance(deal: DealContainer): Promise<void> {
    const dealId = deal.id
    let current = record(dealId)
    if (current !== undefined && FINISHED.has(current.phase)) return
    if (current === undefined) {
      options.emit({type: 'deal.seen', dealId, state: goStateName(deal.state)})
      options.onNewDeal(dealId)
      const startable =
        deal.state === GO_STATE.DealAgreed ||
        (options.protocol === 'onchain' && deal.state === GO_STATE.DealNegotiating)
      if (!startable) {
        await save(dealId, {phase: 'skipped'})
        options.emit({type: 'deal.skipped', dealId, reason: `first seen in ${goStateName(deal.state)}`})
        log('info', 'not working on a deal first seen after it started', {
          dealId,
          state: goStateName(deal.state),
        })
        return
      }
      current = await save(dealId, {phase: options.protocol === 'onchain' ? 'agreeing' : 'agreed'})
      log('info', 'new deal', {dealId, state: goStateName(deal.state)})
    }
    // While it waits for the other side, the chain (not the solver's view) says whether it may end the deal.
    if (options.protocol === 'onchain' && (current.phase === 'agreed' || current.phase === 'posted')) {
      if (await watchChain(dealId)) return
      if (current.phase === 'posted') return
    }
    if (isTerminalState(deal.state) && ['agreeing', 'agreed', 'running'].includes(current.phase)) {
      await save(dealId, {phase: 'skipped'})
      options.emit({type: 'deal.skipped', dealId, reason: `ended in ${goStateName(deal.state)}`})
      log('warn', 'the deal ended before its job ran', {dealId, state: goStateName(deal.state)})
      return
    }

    if (current.phase === 'agreeing') {
      await agree(deal)
      if (options.fault === 'vanishing') {
        await save(dealId, {phase: 'vanished'})
        options.emit({type: 'fault', dealId, fault: 'vanishing'})
        log('warn', 'fault: agreed, now going silent', {dealId})
        options.vanish()
        return
      }
      if (options.fault === 'stalling') {
        await save(dealId, {phase: 'stalled'})
        options.emit({type: 'fault', dealId, fault: 'stalling'})
        log('warn', 'fault: agreed, will never finish', {dealId})
        return
      }
      current = record(dealId) ?? current
    }
    if (current.phase === 'agreed') {
      if (options.protocol === 'solver' && (options.fault === 'vanishing' || options.fault === 'stalling')) {
        await save(dealId, {phase: options.fault === 'vanishing' ? 'vanished' : 'stalled'})
        options.emit({type: 'fault', dealId, fault: options.fault})
        log('warn', `fault: ${options.fault}`, {dealId})
        if (options.fault === 'vanishing') options.vanish()
        return
      }
      // In the onchain protocol the solver says DealAgreed once both agree transactions are mined.
      if (deal.state !== GO_STATE.DealAgreed) return
      if (options.fault === 'failing') {
        options.emit({type: 'fault', dealId, fault: 'failing'})
        await fail(deal, FAULT_FAILING_MESSAGE)
        return
      }
      await run(deal)
      current = record(dealId) ?? current
    }
    if (current.phase === 'running') {
      await run(deal)
      current = record(dealId) ?? current
    }
    if (current.phase === 'failing') {
      await fail(deal, current.error ?? 'the job cannot run')
      return
    }
    if (current.phase === 'ran') {
      await upload(dealId)
      current = record(dealId) ?? current
    }
    if (current.phase === 'uploaded' || current.phase === 'result-added') await finish(deal)
  }

  async function look(deal: DealContainer): Promise<void> {
    try {
      await advance(deal)
    } catch (error) {
      if (options.signal.aborted) return
      const attempts = (record(deal.id)?.attempts ?? 0) + 1
      const code = isLilypadError(error) ? error.code : undefined
      log('warn', 'a step of the deal failed; it will be retried', {
        dealId: deal.id,
        attempts,
        code,
        error: messageOf(error),
      })
      const phase = record(deal.id)?.phase
      // Watching a posted Result only reads the chain and claims timeouts: never give that up.
      const giveUp = attempts >= MAX_ATTEMPTS && phase !== 'posted'
      await save(deal.id, {attempts}).catch(() => undefined)
      if (!giveUp) return
      const reason = `gave up after ${attempts} failed attempts: ${messageOf(error)}`
      // The job creator hears why no result is coming, unless the step that keeps failing is that very post.
      const resultPending = phase !== undefined && !['failed', 'done', 'posted', 'skipped'].includes(phase)
      if (resultPending && phase !== 'failing') {
        try {
          await fail(deal, reason)
          return
        } catch (postError) {
          log('error', 'could not post the error result', {dealId: deal.id, error: messageOf(postError)})
        }
      }
      log('error', 'gave up on the deal', {dealId: deal.id, attempts, error: messageOf(error)})
      await save(deal.id, {phase: 'skipped', error: reason}).catch(() => undefined)
      options.emit({type: 'deal.skipped', dealId: deal.id, reason})
    }
  }

  return {
    schedule(deal) {
      if (options.signal.aborted) return
      if (running.has(deal.id)) {
        pending.set(deal.id, deal)
        return
      }
      const loop = (async () => {
        let next: DealContainer | undefined = deal
        while (next !== undefined && !options.signal.aborted) {
          await look(next)
          next = pending.get(deal.id)
          pending.delete(deal.id)
        }
      })().finally(() => {
        running.delete(deal.id)
      })
      running.set(deal.id, loop)
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running.values()])
    },
    openDealIds() {
      return Object.entries(state.value.deals)
        .filter(([, dealRecord]) => !FINISHED.has(dealRecord.phase))
        .map(([dealId]) => dealId)
    },
  }
}
