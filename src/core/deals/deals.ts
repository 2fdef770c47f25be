/**
 * Deals as first-class objects (`lilypad deals …`): list the journal merged with the solver's and
 * the chain's view, show one deal with its deadlines and who can act next, resume a run, accept,
 * dispute, claim a refund once a deadline passed, and download a result again.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {Wallet} from 'ethers'

import {type ChainClient, connectNetwork, parsePrivateKey} from '../chain/client.js'
import {getDealsForParty} from '../chain/deals.js'
import {toChainError} from '../chain/errors.js'
import {getResultAdded} from '../chain/events.js'
import {LilypadController__factory} from '../chain/generated/factories/LilypadController__factory.js'
import {stateName} from '../chain/states.js'
import {
  DEVNET_JOB_CREATOR_SERVICE_ACCOUNT,
  devnetAddress,
  devnetJobCreatorDir,
  devnetPrivateKey,
} from '../config/devnet.js'
import type {ResolvedConfig} from '../config/index.js'
import {isLilypadError, lilypadError} from '../errors/index.js'
import {type SolverClient, createSolverClient} from '../solver/client.js'
import {findSolverUrl} from '../solver/solver-url.js'
import {chainToGoState, goStateName, goStateNumber, isTerminalState} from '../solver/states.js'
import type {DealContainer} from '../solver/types.js'
import type {RunEventHandler} from './events.js'
import {
  type RunChain,
  type RunOutcome,
  type VerifyMode,
  costOfDeal,
  costRecord,
  downloadInto,
  followRun,
} from './follow.js'
import {type Journal, type RunRecord, journalPath, openJournal} from './journal.js'
import {ProcessLockedSigner} from './tx-lock.js'

/** Options shared by the deal operations. */
export interface DealsOptions {
  config: Pick<ResolvedConfig, 'dataDir' | 'network' | 'privateKey'>
  signal?: AbortSignal | undefined
  onEvent?: RunEventHandler | undefined
  /** A solver client to use instead of one built from the profile. */
  solver?: SolverClient | undefined
  pollIntervalMs?: number | undefined
  env?: Readonly<Record<string, string>> | undefined
}

/** One row of `deals list`. */
export interface DealSummary {
  id: string
  jobOfferId: string | undefined
  state: string
  module: string
  provider: string | undefined
  /** What the deal locks, LP wei. */
  cost: string | undefined
  /** Milliseconds since the epoch. */
  createdAt: number
  source: RunRecord['source']
  /** The on-chain job this deal serves, when a contract requested it (`deals list --all` on a devnet). */
  jobId?: string
  /** The contract that requested it. */
  requestedBy?: string
}

interface Session {
  journal: Journal
  solver: SolverClient | undefined
  chain: RunChain | undefined
  chainClient: ChainClient | undefined
  account: string | undefined
  close(): void
}

/** Connects what the profile allows: the journal always, the solver and the chain when reachable. */
async function openSession(options: DealsOptions, need: {solver: boolean; chain: boolean}): Promise<Session> {
  const {config} = options
  const network = config.network
  const key = config.privateKey === undefined ? undefined : parsePrivateKey(config.privateKey)
  const journal = openJournal(config.dataDir)
  let chainClient: ChainClient | undefined
  try {
    const wantChain = need.chain || (need.solver && network.solverUrl === undefined)
    if (wantChain && network.rpcUrls.length > 0 && (network.protocol === 'onchain' || need.solver)) {
      chainClient = await connectNetwork(network, {pollingIntervalMs: network.devnet ? 50 : 1000})
    }
    let solver = options.solver
    if (solver === undefined && need.solver) {
      let url = network.solverUrl
      if (
        url === undefined &&
        chainClient !== undefined &&
        network.contracts.users !== undefined &&
        network.solverAddress !== undefined
      ) {
        url = await findSolverUrl({
          provider: chainClient.provider,
          usersAddress: network.contracts.users,
          solverAddress: network.solverAddress,
        })
      }
      if (url !== undefined) solver = createSolverClient({url, ...(key === undefined ? {} : {signer: key})})
    }
    const {controller, token} = network.contracts
    const chain: RunChain | undefined =
      network.protocol === 'onchain' &&
      chainClient !== undefined &&
      key !== undefined &&
      controller !== undefined &&
      token !== undefined
        ? {
            client: chainClient,
            signer: new ProcessLockedSigner(new Wallet(key, chainClient.provider), {
              dataDir: config.dataDir,
              chainId: chainClient.chainId,
            }),
            controller,
            token,
          }
        : undefined
    const client = chainClient
    return {
      journal,
      solver,
      chain,
      chainClient,
      account: key === undefined ? undefined : new Wallet(key).address,
      close() {
        journal.close()
        client?.destroy()
      },
    }
  } catch (error) {
    journal.close()
    chainClient?.destroy()
    throw error
  }
}

function moduleLabel(module: RunRecord['module']): string {
  const name =
    module.repo
      .replace(/\.git$/, '')
      .split('/')
      .at(-1) ?? module.repo
  return `${name.replace(/^lilypad-module-/, '')}:${module.ref}`
}

function summary(record: RunRecord): DealSummary {
  return {
    id: record.dealId ?? record.jobOfferId ?? record.id,
    jobOfferId: record.jobOfferId,
    state: record.state,
    module: moduleLabel(record.module),
    provider: record.provider,
    cost: record.cost?.lock,
    createdAt: record.createdAt,
    source: record.source,
    ...(record.requestedBy === undefined
      ? {}
      : {jobId: record.requestedBy.jobId, requestedBy: record.requestedBy.contract}),
  }
}

/**
 * The deals the devnet's on-chain job-creator service made for contracts: its own journal, which
 * it keeps as an ordinary job creator (account #10) under the devnet's directory.
 */
function contractDeals(options: ListDealsOptions): RunRecord[] {
  const {config} = options
  const dir = devnetJobCreatorDir(config.dataDir)
  if (!existsSync(journalPath(dir))) return []
  const journal = openJournal(dir)
  try {
    return journal.list({state: options.state, network: config.network.name, limit: options.limit ?? 50})
  } finally {
    journal.close()
  }
}

/** A journal record for a deal this machine did not run (or whose record was lost). */
function recordFromSolver(
  deal: DealContainer,
  network: string,
  chainId: number,
  protocol: RunRecord['protocol'],
): RunRecord {
  const offer = deal.deal.job_offer
  return {
    id: `solver:${deal.id}`,
    network,
    chainId,
    protocol,
    jobCreator: deal.job_creator,
    module: {repo: offer.module.repo, ref: offer.module.hash, commit: ''},
    inputs: {...(offer.inputs ?? {})},
    specHash: '',
    jobOfferId: deal.job_offer,
    dealId: deal.id,
    state: goStateName(deal.state),
    provider: deal.resource_provider,
    txs: Object.fromEntries(Object.entries(deal.transactions.job_creator).filter(([, hash]) => hash !== '')),
    ...(protocol === 'onchain' ? {cost: costRecord(costOfDeal(deal.deal))} : {}),
    source: 'solver',
    createdAt: deal.created_at,
    updatedAt: Date.now(),
  }
}

/** Options of {@link listDeals}. */
export interface ListDealsOptions extends DealsOptions {
  state?: string | undefined
  limit?: number | undefined
  /** Skip the solver and the chain: the journal only. */
  offline?: boolean | undefined
  /**
   * Every account's records in the journal, not only the configured key's; on a devnet profile also
   * the deals its on-chain job creator ran for contracts (with their job ID and contract).
   */
  all?: boolean | undefined
}

/**
 * Lists this account's deals: the journal, with records rebuilt from the solver
 * (`GET /deals?job_creator=`) and the chain (`DealCreated` logs) when they are missing, and states
 * refreshed from the solver.
 *
 * @returns newest first, at most `limit` (default 50), and warnings for sources that did not answer
 * @throws JOURNAL_FAILED, PRIVATE_KEY_INVALID
 * @example
 * const {deals} = await listDeals({config, limit: 10})
 */
export async function listDeals(
  options: ListDealsOptions,
): Promise<{deals: DealSummary[]; warnings: string[]}> {
  const network = options.config.network
  const warnings: string[] = []
  const session = await openSession(options, {
    solver: options.offline !== true,
    chain: options.offline !== true,
  }).catch(async (error: unknown) => {
    if (options.offline === true || isLilypadError(error, 'JOURNAL_FAILED')) throw error
    warnings.push(`Showing the journal only: ${error instanceof Error ? error.message : String(error)}`)
    return openSession({...options}, {solver: false, chain: false})
  })
  try {
    const {journal, account} = session
    if (options.offline !== true && account !== undefined) {
      if (session.solver !== undefined) {
        try {
          const deals = await session.solver.getDeals({job_creator: account}, callOptions(options))
          for (const deal of deals) {
            const known = journal.get(deal.id)
            if (known === undefined) {
              journal.adopt(recordFromSolver(deal, network.name, network.chainId, network.protocol))
            } else if (
              known.state !== goStateName(deal.state) &&
              !isTerminalState(stateNumber(known.state))
            ) {
              journal.update(known.id, {state: goStateName(deal.state)})
            }
          }
        } catch (error) {
          warnings.push(
            `The solver did not answer: ${error instanceof Error ? error.message : String(error)}`,
          )
        }
      }
      if (session.chain !== undefined) {
        try {
          const onChain = await getDealsForParty(
            session.chain.client.provider,
            session.chain.controller,
            account,
            {
              signal: options.signal,
            },
          )
          for (const deal of onChain.filter((d) => d.role === 'jobCreator')) {
            if (journal.get(deal.dealId) !== undefined) continue
            const controller = LilypadController__factory.connect(
              session.chain.controller,
              session.chain.client.provider,
            )
            const agreement = await controller.getAgreement(deal.dealId)
            const now = Date.now()
            journal.adopt({
              id: `chain:${deal.dealId}`,
              network: network.name,
              chainId: session.chain.client.chainId,
              protocol: 'onchain',
              jobCreator: account,
              module: {repo: '', ref: '', commit: ''},
              inputs: {},
              specHash: '',
              dealId: deal.dealId,
              state: goStateName(chainToGoState(Number(agreement.state))),
              txs: {},
              source: 'chain',
              createdAt: now,
              updatedAt: now,
            })
          }
        } catch (error) {
          warnings.push(`The chain did not answer: ${error instanceof Error ? error.message : String(error)}`)
        }
      }
    }
    let records = journal.list({
      state: options.state,
      network: network.name,
      limit: options.limit ?? 50,
      ...(account === undefined || options.all === true ? {} : {jobCreator: account}),
    })
    if (options.all === true && network.devnet) {
      records = [...records, ...contractDeals(options)]
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, options.limit ?? 50)
    }
    return {deals: records.map(summary), warnings}
  } finally {
    session.close()
  }
}

function stateNumber(name: string): number {
  return goStateNumber(name) ?? -1
}

function callOptions(options: DealsOptions): {signal?: AbortSignal} {
  return options.signal === undefined ? {} : {signal: options.signal}
}

function unknownDeal(id: string): Error {
  return lilypadError('DEAL_UNKNOWN', {
    message: `No deal, job offer or run ${id} is known here or to the solver.`,
    hints: ['List your deals: lilypad deals list.'],
    details: {id},
  })
}

/** The journal's record of `id`, rebuilt from the solver when missing. */
async function recordOf(session: Session, id: string, options: DealsOptions): Promise<RunRecord> {
  if (id.trim() === '') {
    throw lilypadError('USAGE', {
      message: 'An empty deal, job offer or run ID was given.',
      hints: ['List your deals: lilypad deals list.'],
    })
  }
  const known = session.journal.get(id)
  if (known !== undefined) return known
  if (session.solver === undefined) throw unknownDeal(id)
  let deal: DealContainer
  try {
    deal = await session.solver.getDeal(id, callOptions(options))
  } catch (error) {
    if (isLilypadError(error, 'SOLVER_NOT_FOUND')) throw unknownDeal(id)
    throw error
  }
  const network = options.config.network
  const record = recordFromSolver(deal, network.name, network.chainId, network.protocol)
  session.journal.adopt(record)
  return session.journal.get(deal.id) ?? record
}

/** The chain's view of a deal. */
export interface ChainDealView {
  state: string
  jobCreatorAgreed: boolean
  resourceProviderAgreed: boolean
  /** Unix seconds when the current step times out; 0 once terminal. */
  deadline: number
  /** The chain's latest block time, Unix seconds. */
  now: number
}

/** What `deals show` prints. */
export interface DealDetails {
  record: RunRecord
  deal: DealContainer | undefined
  chain: ChainDealView | undefined
  /** Who can act next, and how. */
  next: string
}

async function chainView(chain: RunChain, dealId: string): Promise<ChainDealView | undefined> {
  const controller = LilypadController__factory.connect(chain.controller, chain.client.provider)
  try {
    const [view, block] = await Promise.all([
      controller.getAgreement(dealId),
      chain.client.provider.getBlock('latest'),
    ])
    return {
      state: stateName(Number(view.state)),
      jobCreatorAgreed: view.jobCreatorAgreed,
      resourceProviderAgreed: view.resourceProviderAgreed,
      deadline: Number(view.deadline),
      now: block?.timestamp ?? Math.floor(Date.now() / 1000),
    }
  } catch (error) {
    const failure = toChainError(error, {action: `read deal ${dealId}`})
    if (failure.code === 'DEAL_NOT_FOUND') return undefined
    throw failure
  }
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString()
}

function nextAction(record: RunRecord, view: ChainDealView | undefined): string {
  const id = record.dealId ?? record.id
  if (view === undefined) {
    if (isTerminalState(stateNumber(record.state))) return 'Nobody: the deal has ended.'
    return `You: follow it with lilypad deals wait ${id}.`
  }
  const passed = view.deadline > 0 && view.now > view.deadline
  switch (view.state) {
    case 'DealNegotiating':
      return passed
        ? `You: the provider never agreed; claim your LP back with lilypad deals refund ${id}.`
        : `The provider: it has until ${iso(view.deadline)} to agree.`
    case 'DealAgreed':
      return passed
        ? `You: the provider missed its deadline; lilypad deals refund ${id}.`
        : `The provider: it has until ${iso(view.deadline)} to post the result.`
    case 'ResultsSubmitted':
      return `You: verify and accept with lilypad deals wait ${id} (or dispute with lilypad deals dispute ${id}) before ${iso(view.deadline)}.`
    case 'ResultsChecked':
      return passed
        ? `You: the mediator did not rule in time; lilypad deals refund ${id}.`
        : `The mediator: it has until ${iso(view.deadline)} to rule.`
    default:
      return 'Nobody: the deal has ended.'
  }
}

/**
 * Shows one deal: the journal's record, the solver's deal (terms, transactions), the chain's state
 * and deadline on chain time, and who can act next.
 *
 * @param id - a deal ID, job offer ID or run ID
 * @throws DEAL_UNKNOWN, solver and chain errors
 * @example
 * const {next} = await showDeal('QmDeal…', {config})
 */
export async function showDeal(id: string, options: DealsOptions): Promise<DealDetails> {
  const session = await openSession(options, {solver: true, chain: true})
  try {
    const record = await recordOf(session, id, options)
    let deal: DealContainer | undefined
    if (session.solver !== undefined && record.dealId !== undefined) {
      deal = await session.solver.getDeal(record.dealId, callOptions(options)).catch(() => undefined)
    }
    const view =
      session.chain === undefined || record.dealId === undefined
        ? undefined
        : await chainView(session.chain, record.dealId)
    return {record, deal, chain: view, next: nextAction(record, view)}
  } finally {
    session.close()
  }
}

/** Options of {@link waitDeal}. */
export interface WaitDealOptions extends DealsOptions {
  verify?: VerifyMode | undefined
  outputDir?: string | undefined
  maxPrice: bigint
}

/**
 * The rest of a run: wait for the result, verify, accept or dispute, download.
 *
 * @param id - a deal ID, job offer ID or run ID
 * @returns the outcome, as runJob's
 * @throws DEAL_UNKNOWN and everything runJob throws after posting
 * @example
 * await waitDeal('QmDeal…', {config, maxPrice: lpToWei(10)})
 */
export async function waitDeal(id: string, options: WaitDealOptions): Promise<RunOutcome> {
  const session = await openSession(options, {solver: true, chain: true})
  try {
    const record = await recordOf(session, id, options)
    if (session.solver === undefined) throw unknownDeal(id)
    return await followRun({
      journal: session.journal,
      record,
      solver: session.solver,
      chain: session.chain,
      dataDir: options.config.dataDir,
      maxPrice: options.maxPrice,
      verify: options.verify ?? 'cid',
      outputDir: options.outputDir,
      detach: false,
      pollIntervalMs: options.pollIntervalMs ?? (options.config.network.devnet ? 500 : 5_000),
      env: options.env,
      signal: options.signal ?? new AbortController().signal,
      emit: options.onEvent ?? (() => undefined),
    })
  } finally {
    session.close()
  }
}

/** What `deals accept`, `dispute` and `refund` did. */
export interface DealActionResult {
  dealId: string
  /** The transaction sent, or "0x" in the solver protocol; undefined when nothing was sent. */
  tx: string | undefined
  action: string | undefined
  state: string
  /** Why nothing was sent, and when it can be. */
  note: string | undefined
  /** Unix seconds from when the refund can be claimed. */
  availableAt?: number
}

function requireChain(session: Session, what: string): RunChain {
  if (session.chain === undefined) {
    throw lilypadError('USAGE', {
      message: `${what} needs the onchain protocol, a reachable chain and WEB3_PRIVATE_KEY.`,
      hints: ['The solver protocol (testnet) has no on-chain deal: there is nothing to claim.'],
    })
  }
  return session.chain
}

async function send(chain: RunChain, dealId: string, action: string): Promise<string> {
  const controller = LilypadController__factory.connect(chain.controller, chain.signer)
  const account = await chain.signer.getAddress()
  try {
    const tx =
      action === 'accept_result'
        ? await controller.acceptResult(dealId)
        : action === 'check_result'
          ? await controller.checkResult(dealId, {gasLimit: 250_000n})
          : action === 'timeout_agree'
            ? await controller.timeoutAgree(dealId)
            : action === 'timeout_submit_result'
              ? await controller.timeoutSubmitResult(dealId)
              : await controller.timeoutMediateResult(dealId)
    const receipt = await tx.wait()
    if (receipt?.status !== 1)
      throw lilypadError('TX_REVERTED', {message: `${action} for deal ${dealId} reverted.`})
    return tx.hash
  } catch (error) {
    if (isLilypadError(error)) throw error
    throw toChainError(error, {action: `${action.replace(/_/g, ' ')} for deal ${dealId}`, account})
  }
}

async function act(
  id: string,
  options: DealsOptions,
  action: 'accept_result' | 'check_result',
): Promise<DealActionResult> {
  const session = await openSession(options, {solver: true, chain: true})
  try {
    const record = await recordOf(session, id, options)
    const dealId = record.dealId ?? id
    let tx: string
    if (options.config.network.protocol === 'solver') {
      if (action === 'check_result') requireChain(session, 'A dispute')
      tx = '0x'
    } else {
      tx = await send(requireChain(session, 'This'), dealId, action)
    }
    const state = action === 'accept_result' ? 'ResultsAccepted' : 'ResultsChecked'
    if (tx === '0x') {
      // Solver protocol: the solver is the only place the acceptance exists, so it must have it
      // before the journal says so.
      if (session.solver === undefined) throw unknownDeal(id)
      await session.solver.postJobCreatorTxs(dealId, {[action]: tx}, callOptions(options))
      session.journal.update(record.id, {state, txs: {[action]: tx}})
    } else {
      session.journal.update(record.id, {state, txs: {[action]: tx}})
      await session.solver
        ?.postJobCreatorTxs(dealId, {[action]: tx}, callOptions(options))
        .catch(() => undefined)
    }
    return {dealId, tx, action, state, note: undefined}
  } finally {
    session.close()
  }
}

/**
 * Accepts a deal's result without verifying it (`lilypad deals wait` verifies first).
 *
 * @throws DEAL_UNKNOWN, DEAL_WRONG_STATE and other chain errors
 */
export async function acceptDeal(id: string, options: DealsOptions): Promise<DealActionResult> {
  return act(id, options, 'accept_result')
}

/**
 * Disputes a deal's result (`checkResult`): a mediator re-runs the job and rules.
 *
 * @throws DEAL_UNKNOWN, USAGE in the solver protocol, DEAL_WRONG_STATE and other chain errors
 */
export async function disputeDeal(id: string, options: DealsOptions): Promise<DealActionResult> {
  return act(id, options, 'check_result')
}

/**
 * Claims whichever timeout applies to the job creator once its deadline has passed
 * (`timeoutAgree`, `timeoutSubmitResult`, `timeoutMediateResult`); otherwise says when it can.
 *
 * @returns the claim, or `tx: undefined` with a note and `availableAt`
 * @throws DEAL_UNKNOWN, USAGE without a chain, chain errors
 * @example
 * const {tx, note} = await refundDeal('QmDeal…', {config})
 */
export async function refundDeal(id: string, options: DealsOptions): Promise<DealActionResult> {
  const session = await openSession(options, {solver: true, chain: true})
  try {
    const record = await recordOf(session, id, options)
    const dealId = record.dealId ?? id
    const chain = requireChain(session, 'A refund')
    const view = await chainView(chain, dealId)
    if (view === undefined) {
      return {
        dealId,
        tx: undefined,
        action: undefined,
        state: record.state,
        note: 'You never agreed to this deal on chain: none of your LP is in it.',
      }
    }
    const action =
      view.state === 'DealNegotiating' && view.jobCreatorAgreed
        ? 'timeout_agree'
        : view.state === 'DealAgreed'
          ? 'timeout_submit_result'
          : view.state === 'ResultsChecked'
            ? 'timeout_mediate_result'
            : undefined
    if (action === undefined) {
      const note =
        view.state === 'ResultsSubmitted'
          ? `The provider posted a result: verify and accept it (lilypad deals wait ${dealId}) or dispute it; there is no refund to claim.`
          : `The deal is ${view.state}: there is nothing to claim.`
      return {dealId, tx: undefined, action: undefined, state: view.state, note}
    }
    if (view.now <= view.deadline) {
      return {
        dealId,
        tx: undefined,
        action,
        state: view.state,
        note: `The deadline has not passed: you can claim it after ${iso(view.deadline)} (chain time now ${iso(view.now)}).`,
        availableAt: view.deadline + 1,
      }
    }
    const tx = await send(chain, dealId, action)
    const after = await chainView(chain, dealId)
    const state = after?.state ?? view.state
    session.journal.update(record.id, {state, txs: {[action]: tx}})
    await session.solver
      ?.postJobCreatorTxs(dealId, {[action]: tx}, callOptions(options))
      .catch(() => undefined)
    return {dealId, tx, action, state, note: undefined}
  } finally {
    session.close()
  }
}

/** The devnet job creator's record of `id`, when the caller's own journal has none. */
function contractDealRecord(options: DealsOptions, id: string): RunRecord | undefined {
  const own = openJournal(options.config.dataDir)
  try {
    if (own.get(id) !== undefined) return undefined
  } finally {
    own.close()
  }
  const dir = devnetJobCreatorDir(options.config.dataDir)
  if (!existsSync(journalPath(dir))) return undefined
  const service = openJournal(dir)
  try {
    const record = service.get(id)
    const serviceAddress = devnetAddress(DEVNET_JOB_CREATOR_SERVICE_ACCOUNT)
    return record?.jobCreator.toLowerCase() === serviceAddress.toLowerCase() ? record : undefined
  } finally {
    service.close()
  }
}

/** What `deals download` did. */
export interface DealDownloadResult {
  dealId: string
  outputDir: string
  dataId: string
  expected: string
  verified: boolean
}

/**
 * Downloads a deal's result again and verifies it against the data ID on chain (or the solver's).
 * On a devnet profile, a deal the devnet's on-chain job creator ran for a contract is downloaded
 * as that job creator (its key is the devnet's public #10): the solver serves a result only to
 * the deal's job creator.
 *
 * @param options - also `outputDir` (default `<dataDir>/downloaded-files/<dealId>`, replaced; another
 *   directory is replaced only when the journal recorded it for this deal)
 * @throws DEAL_UNKNOWN, RESULT_NOT_FOUND, RESULT_DIR_EXISTS, RESULT_MISMATCH (the files are moved to
 *   `<dir>.disputed`, an earlier download stays), solver and chain errors
 */
export async function downloadDeal(
  id: string,
  options: DealsOptions & {outputDir?: string | undefined},
): Promise<DealDownloadResult> {
  const asService = options.config.network.devnet ? contractDealRecord(options, id) : undefined
  const session = await openSession(
    asService === undefined
      ? options
      : {
          ...options,
          config: {...options.config, privateKey: devnetPrivateKey(DEVNET_JOB_CREATOR_SERVICE_ACCOUNT)},
        },
    {solver: true, chain: true},
  )
  try {
    const record = asService ?? (await recordOf(session, id, options))
    const dealId = record.dealId ?? id
    if (session.solver === undefined) throw unknownDeal(id)
    const added =
      session.chain === undefined
        ? undefined
        : await getResultAdded(session.chain.client.provider, session.chain.controller, dealId)
    const expected = added?.dataId ?? (await session.solver.getResult(dealId, callOptions(options))).data_id
    const defaultDir = join(options.config.dataDir, 'downloaded-files', dealId)
    const dir = options.outputDir ?? defaultDir
    // Only a directory this deal owns is replaced: its default place, or the one the journal recorded.
    const ours = dir === defaultDir || record.outputDir === dir
    const dataId = await downloadInto(session.solver, dealId, dir, {
      signal: options.signal ?? new AbortController().signal,
      emit: options.onEvent ?? (() => undefined),
      replace: ours,
      expected,
    })
    if (asService === undefined && session.journal.get(record.id) !== undefined) {
      session.journal.update(record.id, {outputDir: dir})
    }
    return {dealId, outputDir: dir, dataId, expected, verified: true}
  } finally {
    session.close()
  }
}
