/**
 * The part of a run after the job offer is posted, shared by `lilypad run` and `lilypad deals
 * wait`: follow the offer to its deal, agree on chain (once: the journal and the chain are both
 * asked), wait for the result on chain time, download, verify, then accept or dispute. Every
 * step is written to the journal before the next one starts, so an interrupted run resumes.
 */
import {randomBytes} from 'node:crypto'
import {readFile, rename, rm, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {Transform, type TransformCallback} from 'node:stream'
import {setTimeout as delay} from 'node:timers/promises'

import {type Signature, Signature as EthersSignature, type Signer} from 'ethers'

import type {ChainClient} from '../chain/client.js'
import {toChainError} from '../chain/errors.js'
import {getResultAdded} from '../chain/events.js'
import {stateName} from '../chain/states.js'
import {LilypadController__factory} from '../chain/generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from '../chain/generated/factories/LilypadToken__factory.js'
import {type LilypadError, isLilypadError, lilypadError} from '../errors/index.js'
import {RESULT_FILES, parseExitCodeFile} from '../results/layout.js'
import type {SolverClient} from '../solver/client.js'
import {subscribeEvents} from '../solver/events.js'
import {DEFAULT_DEAL_TIMEOUTS, dealTermsForChain} from '../solver/offer.js'
import {GO_STATE, goStateName, isTerminalState} from '../solver/states.js'
import type {DealContainer, JobOffer, Result, SolverEvent} from '../solver/types.js'
import {type DealCost, checkMaxPrice, formatLp, planFunding, withDisputeCost} from './cost.js'
import type {RunEventHandler} from './events.js'
import type {Journal, RunCost, RunRecord, Verification} from './journal.js'
import {type RunReceipt, canonicalJson, writeReceipt} from './receipt.js'
import type {ProcessLockedSigner} from './tx-lock.js'

/** How the result is checked before it is accepted. */
export type VerifyMode = 'cid' | 'reexecute' | 'none'

/** The chain side of a run (`onchain` protocol). */
export interface RunChain {
  client: ChainClient
  signer: ProcessLockedSigner
  controller: string
  token: string
}

/** Everything {@link followRun} works with. */
export interface FollowContext {
  journal: Journal
  record: RunRecord
  solver: SolverClient
  chain: RunChain | undefined
  dataDir: string
  maxPrice: bigint
  verify: VerifyMode
  /** The job offer as this process posted it, checked against the deal before agreeing. */
  offer?: JobOffer | undefined
  /** `--output DIR`; default `<dataDir>/downloaded-files/<dealId>`. */
  outputDir?: string | undefined
  detach: boolean
  pollIntervalMs: number
  env?: Readonly<Record<string, string>> | undefined
  signal: AbortSignal
  emit: RunEventHandler
}

/** What a finished (or detached) run returns. */
export interface RunOutcome {
  runId: string
  jobOfferId: string
  dealId: string | undefined
  dataId: string | undefined
  verified: boolean
  verification: Verification | undefined
  outputDir: string | undefined
  receiptPath: string | undefined
  state: string
  provider: string | undefined
  txs: RunRecord['txs']
  cost: RunCost | undefined
  module: RunRecord['module']
  detached: boolean
}

const GAS_CHECK_RESULT = 250_000n

/** The journal's JSON-safe form of a cost. */
export function costRecord(cost: DealCost): RunCost {
  return {
    lock: cost.lock.toString(),
    pay: cost.pay.toString(),
    paymentCollateral: cost.paymentCollateral.toString(),
    judgeCollateral: cost.judgeCollateral.toString(),
    mediationFee: cost.mediationFee.toString(),
  }
}

/** The cost of a deal exactly as `agree` will lock it (the chain terms, ×1e18 already). */
export function costOfDeal(deal: DealContainer['deal'], instructionCount = 1): DealCost {
  const [, , timeouts, pricing] = dealTermsForChain(deal)
  const jobCost = pricing.instructionPrice * BigInt(instructionCount)
  const pay = jobCost < pricing.paymentCollateral ? jobCost : pricing.paymentCollateral
  const lock = pricing.paymentCollateral + timeouts.judgeResults.collateral
  return {
    lock,
    paymentCollateral: pricing.paymentCollateral,
    judgeCollateral: timeouts.judgeResults.collateral,
    pay,
    mediationFee: pricing.mediationFee,
    refundOnAccept: lock - pay,
  }
}

function outcome(record: RunRecord, extra: Partial<RunOutcome> = {}): RunOutcome {
  return {
    runId: record.id,
    jobOfferId: record.jobOfferId ?? '',
    dealId: record.dealId,
    dataId: record.dataId,
    verified: record.verification === 'verified' || record.verification === 'reexecuted',
    verification: record.verification,
    outputDir: record.outputDir,
    receiptPath: undefined,
    state: record.state,
    provider: record.provider,
    txs: record.txs,
    cost: record.cost,
    module: record.module,
    detached: false,
    ...extra,
  }
}

function interrupted(record: RunRecord, cause?: unknown): LilypadError {
  // A run ID may start with "-", which a shell command line would take for a flag: the CIDs cannot.
  const id = record.dealId ?? (record.jobOfferId === '' ? undefined : record.jobOfferId) ?? record.id
  return lilypadError('INTERRUPTED', {
    message: `Stopped waiting for ${record.dealId === undefined ? 'job offer' : 'deal'} ${record.dealId ?? record.jobOfferId ?? record.id}; the job was not cancelled.`,
    hints: [`lilypad deals wait ${id}`],
    details: {runId: record.id, ...(record.dealId === undefined ? {} : {dealId: record.dealId})},
    cause,
  })
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, {signal})
  } catch {
    // aborted: the loop checks the signal
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/** Reads the solver's Result, `undefined` while there is none. */
async function resultOf(
  solver: SolverClient,
  dealId: string,
  signal: AbortSignal,
): Promise<Result | undefined> {
  try {
    return await solver.getResult(dealId, {signal})
  } catch (error) {
    if (isLilypadError(error, 'SOLVER_NOT_FOUND')) return undefined
    throw error
  }
}

async function chainNow(chain: RunChain): Promise<number> {
  const block = await chain.client.provider.getBlock('latest')
  return block?.timestamp ?? Math.floor(Date.now() / 1000)
}

interface ChainAgreement {
  state: number
  jobCreatorAgreed: boolean
  deadline: number
}

async function agreementOf(chain: RunChain, dealId: string): Promise<ChainAgreement | undefined> {
  const controller = LilypadController__factory.connect(chain.controller, chain.client.provider)
  try {
    const view = await controller.getAgreement(dealId)
    return {
      state: Number(view.state),
      jobCreatorAgreed: view.jobCreatorAgreed,
      deadline: Number(view.deadline),
    }
  } catch (error) {
    const failure = toChainError(error, {action: `read deal ${dealId}`})
    if (failure.code === 'DEAL_NOT_FOUND') return undefined
    throw failure
  }
}

/** Signs an EIP-2612 permit of `value` for the controller, with the token's own domain. */
async function signPermit(
  raw: Signer,
  chain: RunChain,
  value: bigint,
): Promise<{value: bigint; deadline: bigint; v: number; r: string; s: string}> {
  const token = LilypadToken__factory.connect(chain.token, chain.client.provider)
  const owner = await raw.getAddress()
  const [domain, nonce, now] = await Promise.all([token.eip712Domain(), token.nonces(owner), chainNow(chain)])
  const deadline = BigInt(now + 3600)
  const signature = await raw.signTypedData(
    {
      name: domain.name,
      version: domain.version,
      chainId: domain.chainId,
      verifyingContract: domain.verifyingContract,
    },
    {
      Permit: [
        {name: 'owner', type: 'address'},
        {name: 'spender', type: 'address'},
        {name: 'value', type: 'uint256'},
        {name: 'nonce', type: 'uint256'},
        {name: 'deadline', type: 'uint256'},
      ],
    },
    {owner, spender: chain.controller, value, nonce, deadline},
  )
  const sig: Signature = EthersSignature.from(signature)
  return {value, deadline, v: sig.v, r: sig.r, s: sig.s}
}

/** The longest step timeout a deal may carry before we refuse it: 30 days. */
const MAX_STEP_TIMEOUT_S = 30 * 24 * 3600

/**
 * Refuses a deal whose terms are not the ones a run asked for: someone else as job creator,
 * another job offer (by ID, and by module, inputs and spec), a mediator the offer did not trust,
 * or a step timeout outside 1 s to 30 days.
 *
 * @param container - the deal as the solver sent it
 * @param expected - our account, the job offer ID the run posted, and the offer itself (or the
 *   record's module and inputs)
 * @throws DEAL_TERMS_INVALID naming the first term that differs
 * @example
 * checkDealTerms(container, {account, jobOfferId: record.jobOfferId})
 */
export function checkDealTerms(
  container: DealContainer,
  expected: {
    account: string
    jobOfferId: string | undefined
    /** The offer as posted, when this process posted it: module, inputs, spec and mediators must match. */
    offer?: JobOffer | undefined
    /** Otherwise the run's record: module repo and ref, inputs. */
    module?: {repo: string; ref: string} | undefined
    inputs?: Readonly<Record<string, string>> | undefined
  },
): void {
  const {account} = expected
  const deal = container.deal
  const refuse = (why: string): never => {
    throw lilypadError('DEAL_TERMS_INVALID', {
      message: `Deal ${container.id} was not agreed to: ${why}. Nothing was sent.`,
      hints: ['The solver offered terms this run did not ask for; run the job again, or use another solver.'],
      details: {dealId: container.id},
    })
  }
  if (deal.members.job_creator.toLowerCase() !== account.toLowerCase()) {
    refuse(`its job creator is ${deal.members.job_creator}, not your account ${account}`)
  }
  const ours = expected.jobOfferId
  if (ours === undefined || deal.job_offer.id !== ours) {
    refuse(`its job offer is not the one this run posted (${ours ?? 'none recorded'})`)
  }
  const got = deal.job_offer
  if (got.job_creator.toLowerCase() !== account.toLowerCase()) {
    refuse('its job offer names another job creator')
  }
  // Compared field by field rather than by recomputing the CID: a newer solver's fields we do not
  // know would change the CID, not the terms.
  const posted = expected.offer
  const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null)
  if (posted !== undefined) {
    if (!same(got.module, posted.module)) refuse('its job offer names another module')
    if (!same(got.inputs ?? {}, posted.inputs ?? {})) refuse('its job offer carries other inputs')
    if (!same(got.spec, posted.spec)) refuse('its job offer asks for another machine')
  } else if (expected.module !== undefined) {
    if (got.module.repo !== expected.module.repo || got.module.hash !== expected.module.ref) {
      refuse('its job offer names another module')
    }
    if (expected.inputs !== undefined && !same(got.inputs ?? {}, expected.inputs)) {
      refuse('its job offer carries other inputs')
    }
  }
  const trustedList = (posted ?? got).trusted_parties.mediator ?? []
  const trusted = new Set(trustedList.map((m) => m.toLowerCase()))
  const stranger = (deal.members.mediators ?? []).find((m) => !trusted.has(m.toLowerCase()))
  if (stranger !== undefined) refuse(`its mediator ${stranger} is not one your job offer trusts`)
  const timeouts = deal.timeouts ?? DEFAULT_DEAL_TIMEOUTS
  for (const [name, step] of Object.entries(timeouts) as [string, {timeout: number}][]) {
    if (!(step.timeout > 0 && step.timeout <= MAX_STEP_TIMEOUT_S)) {
      refuse(`its ${name} timeout of ${String(step.timeout)} s is outside 1 s to 30 days`)
    }
  }
}

/**
 * Agrees to a deal on chain, once: the journal's record and the chain's `jobCreatorAgreed` are
 * both checked first. The terms are checked against what this run posted, and the cost (with a
 * dispute's) against the cap and the balance, before anything is sent.
 */
async function agreeOnChain(
  ctx: FollowContext,
  container: DealContainer,
  cost: DealCost,
): Promise<{hash: string; sent: boolean}> {
  const chain = ctx.chain
  if (chain === undefined) throw new Error('agreeOnChain without a chain')
  const dealId = container.id
  const existing = await agreementOf(chain, dealId)
  if (existing?.jobCreatorAgreed === true) {
    // Agreed before (the journal lost it): recorded once, with the hash the solver kept if any.
    const kept = container.transactions.job_creator.agree
    const hash = ctx.record.txs.agree ?? (kept === '' ? '0x' : kept)
    ctx.record = ctx.journal.update(ctx.record.id, {txs: {agree: hash}})
    return {hash, sent: false}
  }
  const account = await chain.signer.getAddress()
  checkDealTerms(container, {
    account,
    jobOfferId: ctx.record.jobOfferId,
    offer: ctx.offer,
    module: ctx.record.source === 'run' ? ctx.record.module : undefined,
    inputs: ctx.record.source === 'run' ? ctx.record.inputs : undefined,
  })
  const exposure = withDisputeCost(cost)
  checkMaxPrice(exposure, ctx.maxPrice, dealId)
  const token = LilypadToken__factory.connect(chain.token, chain.client.provider)
  const terms = dealTermsForChain(container.deal)
  try {
    const hash = await chain.signer.exclusive(async (raw) => {
      // Read under the lock: another run of this key may have just spent the allowance.
      const [balance, allowance] = await Promise.all([
        token.balanceOf(account),
        token.allowance(account, chain.controller),
      ])
      const plan = planFunding(exposure, {balance, allowance, account})
      const controller = LilypadController__factory.connect(chain.controller, raw)
      // The provider may agree between our estimate and our send, making ours the second agree,
      // which writes more storage: leave a margin instead of running out of gas.
      const margin = (estimate: bigint): {gasLimit: bigint} => ({gasLimit: (estimate * 3n) / 2n + 50_000n})
      let sent
      if (plan.permit) {
        const permit = await signPermit(raw, chain, exposure.lock)
        const estimate = await controller.agreeWithPermit.estimateGas(...terms, permit)
        sent = await controller.agreeWithPermit(...terms, permit, margin(estimate))
      } else {
        sent = await controller.agree(...terms, margin(await controller.agree.estimateGas(...terms)))
      }
      // Written before the receipt is awaited: a crash now must not lead to a second agree.
      ctx.record = ctx.journal.update(ctx.record.id, {txs: {agree: sent.hash}})
      return sent.hash
    })
    const receipt = await chain.client.provider.waitForTransaction(hash)
    if (receipt?.status !== 1) {
      // A reverted agree locked nothing: forget it, so a resumed run may agree again.
      ctx.record = ctx.journal.update(ctx.record.id, {txs: {agree: undefined}})
      throw lilypadError('TX_REVERTED', {
        message: `The agree transaction ${hash} for deal ${dealId} reverted.`,
      })
    }
    return {hash, sent: true}
  } catch (error) {
    if (isLilypadError(error)) throw error
    throw toChainError(error, {action: `agree to deal ${dealId}`, account})
  }
}

async function sendDealTx(
  ctx: FollowContext,
  dealId: string,
  name:
    'accept_result' | 'check_result' | 'timeout_agree' | 'timeout_submit_result' | 'timeout_mediate_result',
): Promise<string> {
  const chain = ctx.chain
  if (chain === undefined) return '0x'
  const controller = LilypadController__factory.connect(chain.controller, chain.signer)
  const account = await chain.signer.getAddress()
  try {
    const sent =
      name === 'accept_result'
        ? await controller.acceptResult(dealId)
        : name === 'check_result'
          ? await controller.checkResult(dealId, {gasLimit: GAS_CHECK_RESULT})
          : name === 'timeout_agree'
            ? await controller.timeoutAgree(dealId)
            : name === 'timeout_submit_result'
              ? await controller.timeoutSubmitResult(dealId)
              : await controller.timeoutMediateResult(dealId)
    ctx.record = ctx.journal.update(ctx.record.id, {txs: {[name]: sent.hash}})
    const receipt = await sent.wait()
    if (receipt?.status !== 1) {
      throw lilypadError('TX_REVERTED', {
        message: `The ${name} transaction ${sent.hash} for deal ${dealId} reverted.`,
      })
    }
    return sent.hash
  } catch (error) {
    if (isLilypadError(error)) throw error
    throw toChainError(error, {action: `${name.replace(/_/g, ' ')} for deal ${dealId}`, account})
  }
}

/** Tells the solver about a transaction; the solver's view is advisory, so failures only warn. */
async function reportTx(ctx: FollowContext, dealId: string, txs: Record<string, string>): Promise<void> {
  try {
    await ctx.solver.postJobCreatorTxs(dealId, txs, {signal: ctx.signal})
  } catch (error) {
    if (ctx.chain === undefined) throw error
    ctx.emit({
      type: 'run.warning',
      message: `Could not report ${Object.keys(txs).join(', ')} for deal ${dealId} to the solver: ${error instanceof Error ? error.message : String(error)}`,
    })
  }
}

/** Counts bytes through a stream, for the download bar. */
function counter(total: number | undefined, emit: RunEventHandler): Transform {
  let received = 0
  let last = 0
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      received += chunk.length
      const now = Date.now()
      if (now - last > 100) {
        last = now
        emit({type: 'run.download', received, total})
      }
      callback(null, chunk)
    },
    flush(callback: TransformCallback) {
      emit({type: 'run.download', received, total})
      callback()
    },
  })
}

let results:
  Promise<[typeof import('../results/archive.js'), typeof import('../results/data-id.js')]> | undefined

/** The unpacking and CID code, loaded once and in the background while the job runs. */
function resultModules(): NonNullable<typeof results> {
  results ??= Promise.all([import('../results/archive.js'), import('../results/data-id.js')])
  return results
}

/**
 * Downloads a deal's result and returns its data ID. The archive is unpacked into a fresh sibling
 * of `dir` and moved into place only once it unpacked completely (and, with `expected`, matched):
 * a failed or lying download never touches what `dir` held. With `replace`, an existing `dir`
 * (one this run recorded as its own) is replaced; without it an existing `dir` is refused.
 *
 * @param options - `expected`: the committed data ID; a different one moves the files to
 *   `<dir>.disputed` instead and throws RESULT_MISMATCH
 * @returns the data ID of what is now in `dir`
 * @throws RESULT_DIR_EXISTS, RESULT_MISMATCH, RESULT_ARCHIVE_* and solver errors
 * @example
 * const dataId = await downloadInto(solver, dealId, dir, {signal, emit, replace: false})
 */
export async function downloadInto(
  solver: SolverClient,
  dealId: string,
  dir: string,
  options: {signal: AbortSignal; emit: RunEventHandler; replace: boolean; expected?: string | undefined},
): Promise<string> {
  if (!options.replace && (await exists(dir))) throw dirExists(dir)
  const [{unpackResultTar}, {computeDataId}] = await resultModules()
  const staging = `${dir}.partial-${randomBytes(4).toString('hex')}`
  let dataId: string
  try {
    const download = await solver.downloadResultFiles(dealId, {signal: options.signal})
    await unpackResultTar(download.stream.pipe(counter(download.size, options.emit)), staging, {
      signal: options.signal,
    })
    dataId = await computeDataId(staging, {signal: options.signal})
  } catch (error) {
    await rm(staging, {recursive: true, force: true})
    throw error
  }
  if (options.expected !== undefined && dataId !== options.expected) {
    const aside = `${dir}.disputed`
    await rm(aside, {recursive: true, force: true})
    await rename(staging, aside)
    throw lilypadError('RESULT_MISMATCH', {
      message: `The result's data ID is ${dataId}, but the provider committed to ${options.expected}; its files are in ${aside} and are not the job's result.`,
      hints: [`lilypad deals show ${dealId}`],
      details: {dealId, expected: options.expected, actual: dataId, disputedDir: aside},
    })
  }
  if (await exists(dir)) {
    if (!options.replace) {
      await rm(staging, {recursive: true, force: true})
      throw dirExists(dir)
    }
    const old = `${dir}.old-${randomBytes(4).toString('hex')}`
    await rename(dir, old)
    await rm(old, {recursive: true, force: true})
  }
  await rename(staging, dir)
  return dataId
}

function dirExists(dir: string): LilypadError {
  return lilypadError('RESULT_DIR_EXISTS', {
    message: `The result directory ${dir} already exists.`,
    hints: ['Remove it, or pass another --output directory.'],
    details: {dir},
  })
}

/** Failures worth another try: the solver or the network, not the archive itself. */
const TRANSIENT_DOWNLOAD = new Set([
  'SOLVER_UNREACHABLE',
  'SOLVER_BUSY',
  'SOLVER_TIMEOUT',
  'SOLVER_ERROR',
  'NETWORK_UNREACHABLE',
  'TIMEOUT',
])
const DOWNLOAD_ATTEMPTS = 5

/**
 * Downloads with a bounded number of retries for transient failures, stopping early when chain
 * time nears the judge deadline (a dispute must be sent before the provider may claim it).
 */
async function downloadWithRetries(ctx: FollowContext, dealId: string, dir: string): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await downloadInto(ctx.solver, dealId, dir, {signal: ctx.signal, emit: ctx.emit, replace: true})
    } catch (error) {
      if (ctx.signal.aborted || !isLilypadError(error) || !TRANSIENT_DOWNLOAD.has(error.code)) throw error
      if (attempt >= DOWNLOAD_ATTEMPTS) throw error
      if (ctx.chain !== undefined) {
        const agreement = await agreementOf(ctx.chain, dealId)
        if (agreement !== undefined && (await chainNow(ctx.chain)) + 120 > agreement.deadline) throw error
      }
      ctx.emit({
        type: 'run.warning',
        message: `Downloading the result of deal ${dealId} failed (${error.message}); retrying.`,
      })
      await pause(Math.min(30_000, ctx.pollIntervalMs * 2 ** attempt), ctx.signal)
    }
  }
}

/** Where the data ID the provider committed to is read: the chain (`onchain`) or the solver's Result. */
async function expectedDataId(ctx: FollowContext, dealId: string, result: Result): Promise<string> {
  if (ctx.chain === undefined) return result.data_id
  const added = await getResultAdded(ctx.chain.client.provider, ctx.chain.controller, dealId)
  if (added === undefined) {
    throw lilypadError('RESULT_NOT_FOUND', {message: `Deal ${dealId} has no result on chain yet.`})
  }
  return added.dataId
}

async function dispute(
  ctx: FollowContext,
  container: DealContainer,
  dir: string,
  why: string,
  actual: string,
): Promise<never> {
  const dealId = container.id
  const aside = `${dir}.disputed`
  await rm(aside, {recursive: true, force: true})
  if (await exists(dir)) await rename(dir, aside)
  ctx.record = ctx.journal.update(ctx.record.id, {verification: 'mismatch', outputDir: aside, error: why})
  const acceptedElsewhere = ctx.chain !== undefined && (await agreementOf(ctx.chain, dealId))?.state === 3
  if (ctx.chain === undefined || acceptedElsewhere) {
    throw lilypadError('RESULT_MISMATCH', {
      message: `${why} The result was not accepted; its files are in ${aside} and are not the job's result.`,
      hints: acceptedElsewhere
        ? [
            `The deal was already accepted on chain, so it can no longer be disputed: lilypad deals show ${dealId}`,
          ]
        : ['The solver protocol has no mediation: run the job again, or with --target another provider.'],
      details: {dealId, disputedDir: aside},
    })
  }
  if (ctx.record.txs.check_result === undefined) {
    const hash = await sendDealTx(ctx, dealId, 'check_result')
    ctx.emit({type: 'run.tx', name: 'check_result', hash, dealId})
    await reportTx(ctx, dealId, {check_result: hash})
  }
  ctx.record = ctx.journal.update(ctx.record.id, {state: 'ResultsChecked'})
  ctx.emit({type: 'run.state', state: 'ResultsChecked', dealId})
  try {
    return await ruled(ctx, ctx.chain, dealId, why, aside)
  } catch (error) {
    // The receipt of a dispute sits beside the set-aside files: what was committed, what came, the ruling.
    if (isLilypadError(error, 'JOB_DISPUTED')) {
      await writeReceipt(aside, receiptOf(ctx, container, actual, 'mismatch')).catch(() => undefined)
    }
    throw error
  }
}

/**
 * Waits for the mediator on chain time and throws the outcome as JOB_DISPUTED. A mediator that
 * misses its deadline would hold P + F forever: the timeout is claimed then (either party may).
 */
async function ruled(
  ctx: FollowContext,
  chain: RunChain,
  dealId: string,
  why: string,
  aside: string | undefined,
): Promise<never> {
  let chainState: number
  for (;;) {
    if (ctx.signal.aborted) throw interrupted(ctx.record)
    const agreement = await agreementOf(chain, dealId)
    if (agreement !== undefined && agreement.state !== 4) {
      chainState = agreement.state
      break
    }
    if (agreement !== undefined && (await chainNow(chain)) > agreement.deadline) {
      try {
        const claim = await sendDealTx(ctx, dealId, 'timeout_mediate_result')
        ctx.emit({type: 'run.tx', name: 'timeout_mediate_result', hash: claim, dealId})
        await reportTx(ctx, dealId, {timeout_mediate_result: claim})
      } catch (error) {
        // The provider may have claimed it first; the next read tells.
        if ((await agreementOf(chain, dealId))?.state === 4) throw error
      }
      continue
    }
    await pause(ctx.pollIntervalMs, ctx.signal)
  }
  const cost = ctx.record.cost
  const state =
    chainState === 5 ? 'MediationAccepted' : chainState === 6 ? 'MediationRejected' : 'TimeoutMediateResults'
  const ruling = chainState === 5 ? 'accepted' : chainState === 6 ? 'rejected' : undefined
  ctx.record = ctx.journal.update(ctx.record.id, {state, ...(ruling === undefined ? {} : {ruling})})
  if (ruling !== undefined) ctx.emit({type: 'run.ruling', ruling, dealId})
  const refund =
    cost === undefined
      ? undefined
      : ruling === 'rejected'
        ? BigInt(cost.paymentCollateral)
        : ruling === 'accepted'
          ? BigInt(cost.paymentCollateral) - BigInt(cost.pay)
          : BigInt(cost.paymentCollateral) + BigInt(cost.mediationFee)
  const files = aside === undefined ? '' : ` The files in ${aside} are not the job's result.`
  throw lilypadError('JOB_DISPUTED', {
    message: `${why} Disputed: the mediator ${ruling === undefined ? 'did not rule in time (mediation timed out)' : ruling === 'rejected' ? 'rejected the result' : 'accepted the result'}${refund === undefined ? '' : `; ${formatLp(refund)} came back to you`}.${files}`,
    hints: [`lilypad deals show ${dealId}`],
    details: {
      dealId,
      state,
      ...(aside === undefined ? {} : {disputedDir: aside}),
      ...(ruling === undefined ? {} : {ruling}),
      ...(refund === undefined ? {} : {refund: refund.toString()}),
      ...(ctx.record.txs.check_result === undefined ? {} : {checkResult: ctx.record.txs.check_result}),
    },
  })
}

function receiptOf(
  ctx: FollowContext,
  container: DealContainer,
  dataId: string,
  verification: Verification,
): RunReceipt {
  return {
    version: 1,
    network: ctx.record.network,
    chainId: ctx.record.chainId,
    protocol: ctx.record.protocol,
    module: ctx.record.module,
    specHash: ctx.record.specHash,
    inputs: ctx.record.inputs,
    jobCreator: ctx.record.jobCreator,
    jobOfferId: ctx.record.jobOfferId ?? '',
    dealId: container.id,
    provider: container.resource_provider,
    txs: ctx.record.txs,
    ...(ctx.record.cost === undefined ? {} : {cost: ctx.record.cost}),
    dataId,
    verification,
    ...(ctx.record.ruling === undefined ? {} : {ruling: ctx.record.ruling}),
    completedAt: new Date().toISOString(),
  }
}

/** Download, verify, accept or dispute, write the receipt. */
async function finish(
  ctx: FollowContext,
  container: DealContainer,
  result: Result,
  acceptedOnChain: boolean,
): Promise<RunOutcome> {
  const dealId = container.id
  const dir = ctx.outputDir ?? ctx.record.outputDir ?? join(ctx.dataDir, 'downloaded-files', dealId)
  const expected = await expectedDataId(ctx, dealId, result)
  const replace = ctx.record.outputDir === dir
  if (!replace && (await exists(dir))) throw dirExists(dir)
  ctx.record = ctx.journal.update(ctx.record.id, {outputDir: dir})
  let actual: string
  try {
    actual = await downloadWithRetries(ctx, dealId, dir)
  } catch (error) {
    // A result that cannot be fetched as a valid archive is no result: left undisputed, the
    // provider would collect through timeoutJudgeResult.
    if (ctx.signal.aborted || acceptedOnChain || !isLilypadError(error)) throw error
    ctx.emit({
      type: 'run.warning',
      message: `The result of deal ${dealId} could not be downloaded as a valid archive (${error.message}). Disputing the result.`,
    })
    return dispute(
      ctx,
      container,
      dir,
      `The result of deal ${dealId} could not be downloaded as a valid archive (${error.message}).`,
      '',
    )
  }
  let verification: Verification
  if (ctx.verify === 'none') {
    verification = 'skipped'
    ctx.emit({
      type: 'run.warning',
      message: `--verify none: the result of deal ${dealId} is accepted without checking its data ID.`,
    })
  } else {
    if (actual !== expected) {
      ctx.emit({type: 'run.mismatch', expected, actual})
      return dispute(
        ctx,
        container,
        dir,
        `The result's data ID is ${actual}, but the provider committed to ${expected}.`,
        actual,
      )
    }
    verification = 'verified'
    ctx.emit({type: 'run.verified', dataId: actual, method: 'cid'})
    if (ctx.verify === 'reexecute') {
      const scratch = join(ctx.dataDir, 'reexecuted', `${dealId}-${randomBytes(4).toString('hex')}`)
      try {
        const offer = container.deal.job_offer
        // The executors are loaded only for re-execution: most runs never need them.
        const {runModuleJob} = await import('../executors/module-job.js')
        // The commit this run rendered, not the tag again: a tag moved since would re-run other code.
        const commit = ctx.record.module.commit
        const local = await runModuleJob({
          module: commit === '' ? offer.module : {...offer.module, hash: commit},
          inputs: offer.inputs,
          dataDir: ctx.dataDir,
          resultDir: scratch,
          seed: dealId,
          env: ctx.env,
          signal: ctx.signal,
        })
        if (local.dataId !== expected) {
          ctx.emit({type: 'run.mismatch', expected, actual: local.dataId})
          return await dispute(
            ctx,
            container,
            dir,
            `Re-running the job here gave ${local.dataId}, but the provider committed to ${expected}.`,
            local.dataId,
          )
        }
      } finally {
        await rm(scratch, {recursive: true, force: true})
      }
      verification = 'reexecuted'
      ctx.emit({type: 'run.verified', dataId: actual, method: 'reexecute'})
    }
  }
  ctx.record = ctx.journal.update(ctx.record.id, {dataId: actual, verification})
  if (ctx.record.txs.accept_result === undefined && !acceptedOnChain) {
    const hash = await sendDealTx(ctx, dealId, 'accept_result')
    if (ctx.chain !== undefined) ctx.emit({type: 'run.tx', name: 'accept_result', hash, dealId})
    await reportTx(ctx, dealId, {accept_result: hash})
    // Solver protocol: the acceptance exists only once the solver has it, so it is journalled after.
    if (ctx.chain === undefined) ctx.record = ctx.journal.update(ctx.record.id, {txs: {accept_result: hash}})
  }
  ctx.record = ctx.journal.update(ctx.record.id, {state: 'ResultsAccepted'})
  ctx.emit({type: 'run.state', state: 'ResultsAccepted', dealId})
  const receiptPath = await writeReceipt(dir, receiptOf(ctx, container, actual, verification))
  await throwIfJobFailed(dir, dealId, actual)
  return outcome(ctx.record, {receiptPath})
}

/**
 * A job that ran and exited non-zero is an honest result (accepted, paid for), but the run did
 * not succeed: say so with the job's own stderr, exit 6.
 */
async function throwIfJobFailed(dir: string, dealId: string, dataId: string): Promise<void> {
  const read = async (name: string): Promise<string> => readFile(join(dir, name), 'utf8').catch(() => '')
  const exitCode = parseExitCodeFile(await read(RESULT_FILES.exitCode))
  if (exitCode === undefined || exitCode === 0) return
  const stderr = (await read(RESULT_FILES.stderr)).trimEnd().split('\n').slice(-20).join('\n')
  throw lilypadError('JOB_FAILED', {
    message: `The job exited with code ${exitCode}${stderr === '' ? '.' : `; its stderr:\n${stderr}`}`,
    hints: [`The whole result is in ${dir}: cat ${dir}/stdout ${dir}/stderr`],
    details: {dealId, dataId, exitCode, outputDir: dir},
  })
}

function timedOut(
  record: RunRecord,
  state: string,
  dealId: string | undefined,
  claimed = false,
): LilypadError {
  // After TimeoutJudgeResults the provider has been paid: nothing is left for the job creator.
  const judged = state === 'TimeoutJudgeResults'
  const refundable =
    !judged &&
    !claimed &&
    dealId !== undefined &&
    record.protocol === 'onchain' &&
    record.txs.agree !== undefined
  return lilypadError('JOB_TIMED_OUT', {
    message: `The job ${state === 'TimeoutMatch' ? 'found no provider in time' : `timed out (${state})`}${dealId === undefined ? '' : ` on deal ${dealId}`}.`,
    hints: refundable
      ? [`Get your LP back: lilypad deals refund ${dealId}`]
      : judged
        ? [
            'The result was neither accepted nor disputed before its deadline, so the provider was paid and took the judge collateral; there is nothing to refund.',
            ...(dealId === undefined ? [] : [`lilypad deals show ${dealId}`]),
          ]
        : claimed
          ? [`The timeout was claimed on chain and its refund paid out: lilypad deals show ${dealId ?? ''}`]
          : ['Run it again later, or on another network.'],
    details: {state, ...(dealId === undefined ? {} : {dealId})},
  })
}

/**
 * Follows a posted run to its end.
 *
 * @param given - the run's journal record, clients, settings, signal and event sink
 * @returns the outcome: accepted (with its data ID and receipt), or detached
 * @throws JOB_FAILED (the provider's error text), JOB_TIMED_OUT, JOB_CANCELLED, JOB_DISPUTED,
 *   RESULT_MISMATCH, MAX_PRICE_EXCEEDED, LP_BALANCE_TOO_LOW, chain and solver errors, USAGE (an
 *   onchain record without a chain), INTERRUPTED
 *   (with the `lilypad deals wait <id>` hint; the journal keeps the run)
 */
export async function followRun(given: FollowContext): Promise<RunOutcome> {
  // The record's protocol decides, not whether a chain happens to be connected: an onchain deal
  // followed without its chain would take the solver's word for the data ID and "accept" with 0x.
  if (given.record.protocol === 'onchain' && given.chain === undefined) {
    throw lilypadError('USAGE', {
      message: `Deal ${given.record.dealId ?? given.record.jobOfferId ?? given.record.id} is an onchain deal, but no chain is connected (an RPC URL, the controller and token contracts, and your key are needed).`,
      hints: [
        'Check the network profile (lilypad doctor), or pass --network for the network the deal is on.',
      ],
      details: {runId: given.record.id},
    })
  }
  const ctx: FollowContext = given.record.protocol === 'solver' ? {...given, chain: undefined} : given
  const stop = new AbortController()
  const onAbort = (): void => {
    stop.abort()
  }
  ctx.signal.addEventListener('abort', onAbort, {once: true})
  void resultModules().catch(() => undefined)
  const waker = createWaker()
  const relevant = (event: SolverEvent): boolean => {
    const ids = [ctx.record.jobOfferId, ctx.record.dealId].filter((id) => id !== undefined && id !== '')
    return (
      ids.includes(event.job_offer?.id ?? '-') ||
      ids.includes(event.deal?.id ?? '-') ||
      ids.includes(event.deal?.job_offer ?? '-')
    )
  }
  const subscription = subscribeEvents({
    url: ctx.solver.url,
    type: 'JobCreator',
    address: ctx.record.jobCreator,
    signal: stop.signal,
    filter: relevant,
    onEvent: () => {
      waker.wake()
    },
    poll: () => {
      waker.wake()
      return Promise.resolve()
    },
    pollIntervalMs: ctx.pollIntervalMs,
  }).catch(() => undefined)
  try {
    return await followLoop(ctx, waker)
  } catch (error) {
    if (ctx.signal.aborted) throw interrupted(ctx.record, error)
    if (isLilypadError(error)) ctx.record = ctx.journal.update(ctx.record.id, {error: error.message})
    throw error
  } finally {
    ctx.signal.removeEventListener('abort', onAbort)
    stop.abort()
    await subscription
  }
}

interface Waker {
  wake(): void
  /** Resolves on the next wake, after `ms`, or on abort. */
  wait(ms: number, signal: AbortSignal): Promise<void>
}

function createWaker(): Waker {
  let pending = false
  let resolveWait: (() => void) | undefined
  return {
    wake() {
      pending = true
      resolveWait?.()
    },
    async wait(ms, signal) {
      if (pending) {
        pending = false
        return
      }
      const local = new AbortController()
      const woken = new Promise<void>((resolve) => {
        resolveWait = resolve
      })
      await Promise.race([woken, pause(ms, AbortSignal.any([signal, local.signal]))])
      local.abort()
      resolveWait = undefined
      pending = false
    },
  }
}

async function followLoop(ctx: FollowContext, waker: Waker): Promise<RunOutcome> {
  const {solver, signal} = ctx
  let lastState: string | undefined
  const show = (state: string): void => {
    if (state === lastState) return
    lastState = state
    if (ctx.record.state !== state) ctx.record = ctx.journal.update(ctx.record.id, {state})
    // The Go CLI never shows these deal-only states: no job offer event carries them.
    if (state === 'Uploading' || state === 'Downloading') return
    ctx.emit({type: 'run.state', state, dealId: ctx.record.dealId})
  }
  for (;;) {
    if (signal.aborted) throw interrupted(ctx.record)
    let dealId = ctx.record.dealId
    if (dealId === undefined) {
      if (ctx.record.jobOfferId === undefined || ctx.record.jobOfferId === '') {
        throw lilypadError('DEAL_UNKNOWN', {
          message: `Run ${ctx.record.id} has no job offer ID: its offer was never posted.`,
          hints: ['Run the job again.'],
          details: {runId: ctx.record.id},
        })
      }
      const offer = await solver.getJobOffer(ctx.record.jobOfferId, {signal})
      if (offer.deal_id === '') {
        const state = goStateName(offer.state)
        if (offer.state === GO_STATE.JobOfferCancelled) {
          throw lilypadError('JOB_CANCELLED', {
            message: `The solver cancelled job offer ${offer.id}: the targeted provider has no free offer.`,
            hints: ['Run it without --target, or target another provider.'],
            details: {jobOfferId: offer.id},
          })
        }
        if (isTerminalState(offer.state)) throw timedOut(ctx.record, state, undefined)
        await waker.wait(ctx.pollIntervalMs, signal)
        continue
      }
      dealId = offer.deal_id
      ctx.record = ctx.journal.update(ctx.record.id, {dealId})
    }
    const container = await solver.getDeal(dealId, {signal})
    const state = goStateName(container.state)
    if (ctx.record.provider === undefined) {
      const cost = ctx.chain === undefined ? undefined : costOfDeal(container.deal)
      ctx.record = ctx.journal.update(ctx.record.id, {
        provider: container.resource_provider,
        ...(cost === undefined ? {} : {cost: costRecord(cost)}),
      })
      ctx.emit({type: 'run.deal', dealId, provider: container.resource_provider, cost})
    }
    show(state)

    if (
      ctx.chain !== undefined &&
      ctx.record.txs.agree === undefined &&
      container.state === GO_STATE.DealNegotiating
    ) {
      const agreed = await agreeOnChain(ctx, container, costOfDeal(container.deal))
      if (agreed.sent) {
        ctx.emit({type: 'run.tx', name: 'agree', hash: agreed.hash, dealId})
        await reportTx(ctx, dealId, {agree: agreed.hash})
      }
    }
    if (ctx.detach && (ctx.chain === undefined || ctx.record.txs.agree !== undefined)) {
      return outcome(ctx.record, {detached: true})
    }

    if (container.state === GO_STATE.ResultsAccepted && ctx.record.verification !== undefined) {
      return outcome(ctx.record)
    }
    if (isTerminalState(container.state) && container.state !== GO_STATE.ResultsAccepted) {
      if (container.state === GO_STATE.JobOfferCancelled) {
        throw lilypadError('JOB_CANCELLED', {message: `Deal ${dealId} was cancelled.`, details: {dealId}})
      }
      if (container.state === GO_STATE.MediationAccepted || container.state === GO_STATE.MediationRejected) {
        // On chain the ruling and what came back are read from the deal itself.
        if (ctx.chain !== undefined) {
          return await ruled(ctx, ctx.chain, dealId, `Deal ${dealId} was disputed.`, undefined)
        }
        throw lilypadError('JOB_DISPUTED', {
          message: `Deal ${dealId} ended in mediation: ${state}.`,
          hints: [`lilypad deals show ${dealId}`],
          details: {dealId, state},
        })
      }
      throw timedOut(ctx.record, state, dealId)
    }

    // The chain is the truth about an onchain deal: its deadlines end waits the solver never ends
    // (it drops its timers once a deal is on chain), and `deals accept` / `deals dispute` may have
    // moved the deal on outside this run.
    const chain = ctx.chain
    const onChain = chain === undefined ? undefined : await agreementOf(chain, dealId)
    if (chain !== undefined && onChain !== undefined) {
      if (onChain.state === 4 || onChain.state === 5 || onChain.state === 6) {
        return await ruled(ctx, chain, dealId, `Deal ${dealId} was disputed.`, undefined)
      }
      if (onChain.state >= 5) {
        const ended = stateName(onChain.state)
        ctx.record = ctx.journal.update(ctx.record.id, {state: ended})
        throw timedOut(ctx.record, ended, dealId, true)
      }
      const waiting = (onChain.state === 0 && onChain.jobCreatorAgreed) || onChain.state === 1
      if (waiting && (await chainNow(chain)) > onChain.deadline) {
        throw lilypadError('JOB_TIMED_OUT', {
          message: `The provider did not ${onChain.state === 0 ? 'agree to' : 'post a result for'} deal ${dealId} before its deadline (${new Date(onChain.deadline * 1000).toISOString()}, chain time).`,
          hints: [`Get your LP back: lilypad deals refund ${dealId}`],
          details: {dealId, deadline: onChain.deadline, state: stateName(onChain.state)},
        })
      }
    }
    const running =
      container.state === GO_STATE.DealAgreed ||
      container.state === GO_STATE.ResultsSubmitted ||
      container.state === GO_STATE.Uploading ||
      container.state === GO_STATE.Downloading ||
      container.state === GO_STATE.ResultsAccepted ||
      onChain?.state === 2 ||
      onChain?.state === 3
    if (running) {
      const result = await resultOf(solver, dealId, signal)
      if (result !== undefined && result.error !== '') {
        const refund =
          ctx.chain === undefined
            ? []
            : [`Get your LP back once the provider's deadline passes: lilypad deals refund ${dealId}`]
        throw lilypadError('JOB_FAILED', {
          message: `The job failed on the provider: ${result.error}`,
          hints: [...refund, 'Try the module locally: lilypad module test <module>.'],
          details: {dealId, error: result.error},
        })
      }
      const onChainReady = chain === undefined || onChain?.state === 2 || onChain?.state === 3
      if (result !== undefined && result.data_id !== '' && onChainReady) {
        show('ResultsSubmitted')
        return await finish(ctx, container, result, onChain?.state === 3)
      }
    }
    await waker.wait(ctx.pollIntervalMs, signal)
  }
}
