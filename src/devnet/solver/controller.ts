/**
 * The solver's state machine: offers in, matching, deals, state changes with their websocket
 * events (in the Go solver's order), and the off-chain timeouts. Synchronous over the synchronous
 * store, so one change runs to completion before the next request is looked at: no locks, no
 * interleaving of two matches.
 *
 * Timeouts run on one timer per active job offer, set to the next deadline its current state can
 * reach and recomputed whenever the job's records change and on start (from the stored
 * timestamps), instead of the Go solver's 10-second scan. In the `onchain` protocol only the match
 * timeout is off-chain, and only until the deal is on chain (someone agreed); from then on the
 * contract's own timeouts decide, through its events.
 */
import type {Logger} from 'pino'

import {jobOfferId, resourceOfferId} from '../../core/solver/ids.js'
import {GO_STATE, goStateName, isTimeoutState} from '../../core/solver/states.js'
import type {
  DealContainer,
  DealTimeouts,
  JobOffer,
  JobOfferContainer,
  ProtocolMode,
  ResourceOffer,
  ResourceOfferContainer,
  Result,
  SolverEvent,
} from '../../core/solver/types.js'
import {buildDeal, selectResourceOffer} from './matcher.js'
import type {SolverTimeouts} from './options.js'
import type {SolverStore} from './store.js'

/** The longest delay `setTimeout` keeps (about 24.8 days); later deadlines are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Settings the controller needs. */
export interface ControllerConfig {
  protocol: ProtocolMode
  solverAddress: string
  timeouts: SolverTimeouts
  dealTimeouts: DealTimeouts | undefined
}

/** Collaborators of the controller. */
export interface ControllerDeps {
  store: SolverStore
  log: Logger
  /** Receives every event, in order (the websocket broadcasts them). */
  emit: (event: SolverEvent) => void
  /** `onchain`: whether the chain already knows a deal (checked before a match timeout ends it). */
  dealOnChain?: ((dealId: string) => Promise<boolean>) | undefined
  /** The clock (ms); tests of the service use the real one. */
  now?: () => number
}

function event(
  type: SolverEvent['event_type'],
  parts: Partial<Pick<SolverEvent, 'job_offer' | 'resource_offer' | 'deal'>>,
): SolverEvent {
  return {event_type: type, job_offer: null, resource_offer: null, deal: null, ...parts}
}

function emptyTransactions(): DealContainer['transactions'] {
  return {
    resource_provider: {
      agree: '',
      add_result: '',
      timeout_agree: '',
      timeout_judge_result: '',
      timeout_mediate_result: '',
    },
    job_creator: {
      agree: '',
      accept_result: '',
      check_result: '',
      timeout_agree: '',
      timeout_submit_result: '',
      timeout_mediate_result: '',
    },
    mediator: {mediation_accept_result: '', mediation_reject_result: ''},
  }
}

/** The solver's state machine (see the module comment). */
export class SolverController {
  readonly #store: SolverStore
  readonly #log: Logger
  readonly #emit: (event: SolverEvent) => void
  readonly #config: ControllerConfig
  readonly #dealOnChain: ((dealId: string) => Promise<boolean>) | undefined
  readonly #now: () => number
  readonly #timers = new Map<string, NodeJS.Timeout>()
  /** Unmatched resource offers and waiting job offers, mirrored from the store for matching. */
  readonly #openOffers = new Map<string, ResourceOfferContainer>()
  readonly #waitingJobs = new Map<string, JobOfferContainer>()
  #stopped = false

  constructor(config: ControllerConfig, deps: ControllerDeps) {
    this.#config = config
    this.#store = deps.store
    this.#log = deps.log
    this.#emit = deps.emit
    this.#dealOnChain = deps.dealOnChain
    this.#now = deps.now ?? Date.now
    for (const offer of this.#store.resourceOffers({notMatched: true})) this.#openOffers.set(offer.id, offer)
    for (const job of this.#store.jobOffers({notMatched: true, cancelled: false})) {
      if (job.state === GO_STATE.DealNegotiating) this.#waitingJobs.set(job.id, job)
    }
  }

  get protocol(): ProtocolMode {
    return this.#config.protocol
  }

  /** Matches what is waiting and arms every active job's timer (on start, from stored state). */
  resume(): void {
    for (const job of this.#store.jobOffers({active: true})) this.#schedule(job.id)
    this.#solveAll()
  }

  /** Clears every timer; nothing changes afterwards. */
  stop(): void {
    this.#stopped = true
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }

  // ---- offers ----------------------------------------------------------------------------------

  /**
   * Stores a job offer under the ID the solver computes, announces it, and matches it at once. The
   * same offer posted again (same nonce and time) is the same ID: the stored one is returned.
   */
  addJobOffer(offer: JobOffer): JobOfferContainer {
    const id = jobOfferId({...offer, id: ''})
    const existing = this.#store.getJobOffer(id)
    if (existing !== undefined) return existing
    const container: JobOfferContainer = {
      id,
      deal_id: '',
      job_creator: offer.job_creator,
      state: GO_STATE.DealNegotiating,
      job_offer: {...offer, id},
    }
    // The offer and its match commit together: one write to disk per offer.
    return this.#store.transaction(() => {
      this.#store.putJobOffer(container)
      this.#log.info({job_offer_id: id, job_creator: offer.job_creator}, 'add job offer')
      this.#emit(event('JobOfferAdded', {job_offer: container}))
      this.#waitingJobs.set(id, container)
      // A new offer has no decisions yet: no pair needs looking up.
      this.#matchJobOffer(container, [...this.#openOffers.values()], () => false)
      this.#schedule(id)
      return this.#store.getJobOffer(id) ?? container
    })
  }

  /**
   * Stores a resource offer and matches it. A provider with an unmatched offer already gets
   * `null` and nothing is stored, as from the Go solver (which cannot tell an old provider an error).
   */
  addResourceOffer(offer: ResourceOffer): ResourceOfferContainer | null {
    const id = resourceOfferId({...offer, id: ''})
    const existing = this.#store.getResourceOffer(id)
    if (existing !== undefined) return existing
    const provider = offer.resource_provider
    if ([...this.#openOffers.values()].some((open) => open.resource_provider === provider)) {
      this.#log.warn(
        {resource_provider: offer.resource_provider},
        'resource provider posted a resource offer when an unmatched offer already exists',
      )
      return null
    }
    const container: ResourceOfferContainer = {
      id,
      deal_id: '',
      resource_provider: offer.resource_provider,
      state: GO_STATE.DealNegotiating,
      resource_offer: {...offer, id},
    }
    return this.#store.transaction(() => {
      this.#store.putResourceOffer(container)
      this.#log.info(
        {resource_offer_id: id, resource_provider: offer.resource_provider},
        'add resource offer',
      )
      this.#emit(event('ResourceOfferAdded', {resource_offer: container}))
      this.#openOffers.set(id, container)
      this.#matchResourceOffer(container)
      return this.#store.getResourceOffer(id) ?? container
    })
  }

  /** Removes a provider's unmatched offers (the Go solver's websocket-disconnect behaviour). */
  removeUnmatchedResourceOffers(resourceProvider: string): number {
    const offers = this.#store.resourceOffers({resourceProvider, notMatched: true})
    this.#store.transaction(() => {
      for (const offer of offers) this.#store.removeResourceOffer(offer.id)
    })
    for (const offer of offers) this.#openOffers.delete(offer.id)
    for (const offer of offers) {
      this.#log.info(
        {resource_offer_id: offer.id, resource_provider: resourceProvider},
        'remove resource offer',
      )
      this.#emit(event('ResourceOfferRemoved', {resource_offer: offer}))
    }
    return offers.length
  }

  // ---- matching --------------------------------------------------------------------------------

  #solveAll(): void {
    const tried = (j: string, r: string): boolean => this.#store.hasDecision(j, r)
    for (const job of this.#oldestWaiting()) this.#matchJobOffer(job, [...this.#openOffers.values()], tried)
  }

  #oldestWaiting(): JobOfferContainer[] {
    return [...this.#waitingJobs.values()].sort((a, b) => a.job_offer.created_at - b.job_offer.created_at)
  }

  /** Places one job offer; returns the resource offer it took. */
  #matchJobOffer(
    job: JobOfferContainer,
    candidates: readonly ResourceOfferContainer[],
    tried: (jobOfferId: string, resourceOfferId: string) => boolean,
  ): ResourceOfferContainer | undefined {
    const selection = selectResourceOffer(job, candidates, tried)
    const chosen = selection.chosen
    if (chosen === undefined) {
      this.#store.putDecisions(selection.decisions)
      if (job.job_offer.target.address !== '') {
        this.#log.info(
          {job_offer_id: job.id, target: job.job_offer.target.address},
          'targeted provider has no offer',
        )
        this.#setJobOfferState(job.id, '', GO_STATE.JobOfferCancelled)
      }
      return undefined
    }
    this.#makeDeal(job, chosen, selection.decisions)
    return chosen
  }

  /** A new resource offer goes to the oldest waiting job it can serve. */
  #matchResourceOffer(offer: ResourceOfferContainer): void {
    const refused: SolverDecision[] = []
    let match: {job: JobOfferContainer; selection: ReturnType<typeof selectResourceOffer>} | undefined
    for (const job of this.#oldestWaiting()) {
      // A new offer has no decisions yet: no pair needs looking up.
      const selection = selectResourceOffer(job, [offer], () => false)
      if (selection.chosen !== undefined) {
        match = {job, selection}
        break
      }
      refused.push(...selection.decisions)
    }
    this.#store.putDecisions(refused)
    if (match?.selection.chosen !== undefined)
      this.#makeDeal(match.job, match.selection.chosen, match.selection.decisions)
  }

  #makeDeal(
    job: JobOfferContainer,
    offer: ResourceOfferContainer,
    decisions: readonly SolverDecision[],
  ): void {
    const onchain = this.#config.protocol === 'onchain'
    const deal = buildDeal(job, offer, {
      solver: this.#config.solverAddress,
      timeouts: onchain ? this.#config.dealTimeouts : undefined,
    })
    const state = onchain ? GO_STATE.DealNegotiating : GO_STATE.DealAgreed
    const container: DealContainer = {
      id: deal.id,
      created_at: this.#now(),
      upload_at: 0,
      download_at: 0,
      job_creator: deal.members.job_creator,
      resource_provider: deal.members.resource_provider,
      job_offer: job.id,
      resource_offer: offer.id,
      state,
      deal,
      transactions: emptyTransactions(),
      mediator: '',
    }
    const {jobOffer, resourceOffer} = this.#store.transaction(() => {
      // The refusals, and the chosen pair with its deal. Go also stores the other pairs that
      // matched; they can never be consulted (the job is matched), so they are not written.
      this.#store.putDecisions(
        decisions.flatMap((decision) => {
          if (decision.resource_offer === offer.id) return [{...decision, deal: deal.id}]
          return decision.result ? [] : [decision]
        }),
      )
      if (this.#store.getDeal(deal.id) === undefined) this.#store.putDeal(container)
      return {
        jobOffer: this.#store.updateJobOffer(job.id, deal.id, state),
        resourceOffer: this.#store.updateResourceOffer(offer.id, deal.id, state),
      }
    })
    this.#waitingJobs.delete(job.id)
    this.#openOffers.delete(offer.id)
    this.#log.info(
      {deal_id: deal.id, job_offer_id: job.id, resource_offer_id: offer.id, state: goStateName(state)},
      'add deal',
    )
    this.#emit(event('DealAdded', {deal: container}))
    if (jobOffer !== undefined) this.#emit(event('JobOfferStateUpdated', {job_offer: jobOffer}))
    if (resourceOffer !== undefined)
      this.#emit(event('ResourceOfferStateUpdated', {resource_offer: resourceOffer}))
    this.#schedule(job.id)
  }

  // ---- state changes ---------------------------------------------------------------------------

  #setJobOfferState(id: string, dealId: string, state: number): void {
    const container = this.#store.updateJobOffer(id, dealId, state)
    if (container === undefined) return
    if (state !== GO_STATE.DealNegotiating || dealId !== '') this.#waitingJobs.delete(id)
    this.#log.info({job_offer_id: id, state: goStateName(state)}, 'update job offer')
    this.#emit(event('JobOfferStateUpdated', {job_offer: container}))
    this.#schedule(id)
  }

  /**
   * Moves a deal and both its offers to `state` in one transaction, then announces the deal, the
   * job offer and the resource offer, in that order (Go's `updateDealState`).
   */
  setDealState(
    dealId: string,
    state: number,
    change?: (deal: DealContainer) => void,
  ): DealContainer | undefined {
    const updated = this.#store.transaction(() => {
      const deal = this.#store.getDeal(dealId)
      if (deal === undefined) return undefined
      deal.state = state
      change?.(deal)
      this.#store.saveDeal(deal)
      return {
        deal,
        jobOffer: this.#store.updateJobOffer(deal.job_offer, deal.id, state),
        resourceOffer: this.#store.updateResourceOffer(deal.resource_offer, deal.id, state),
      }
    })
    if (updated === undefined) return undefined
    this.#log.info({deal_id: dealId, state: goStateName(state)}, 'update deal')
    this.#emit(event('DealStateUpdated', {deal: updated.deal}))
    if (updated.jobOffer !== undefined)
      this.#emit(event('JobOfferStateUpdated', {job_offer: updated.jobOffer}))
    if (updated.resourceOffer !== undefined) {
      this.#emit(event('ResourceOfferStateUpdated', {resource_offer: updated.resourceOffer}))
    }
    this.#schedule(updated.deal.job_offer)
    return updated.deal
  }

  /**
   * Changes a deal's own record without touching its offers and without an event (Go's
   * `Uploading`/`Downloading` marks and upload/download times).
   */
  touchDeal(dealId: string, change: (deal: DealContainer) => void): DealContainer | undefined {
    const deal = this.#store.transaction(() => {
      const found = this.#store.getDeal(dealId)
      if (found === undefined) return undefined
      change(found)
      this.#store.saveDeal(found)
      return found
    })
    if (deal !== undefined) this.#schedule(deal.job_offer)
    return deal
  }

  /** Stores a provider's result; in the `solver` protocol the deal moves to `ResultsSubmitted`. */
  addResult(deal: DealContainer, result: Result): Result {
    const stored: Result = {...result, deal_id: deal.id}
    if (this.#config.protocol === 'solver') {
      this.#store.transaction(() => {
        this.#store.putResult(stored)
        // Only a running or uploading deal moves on: a result never rewinds a judged one.
        const state = this.#store.getDeal(deal.id)?.state
        if (state === GO_STATE.DealAgreed || state === GO_STATE.Uploading)
          this.setDealState(deal.id, GO_STATE.ResultsSubmitted)
      })
    } else {
      this.#store.putResult(stored)
    }
    this.#log.info({deal_id: deal.id, data_id: stored.data_id, error: stored.error}, 'add result')
    return {...stored, results_id: stored.data_id}
  }

  /** Records the mediator the chain drew and announces it. */
  setMediator(dealId: string, mediator: string): void {
    const deal = this.#store.transaction(() => {
      const found = this.#store.getDeal(dealId)
      if (found === undefined) return undefined
      found.mediator = mediator
      this.#store.saveDeal(found)
      return found
    })
    if (deal === undefined) return
    this.#log.info({deal_id: dealId, mediator}, 'update deal mediator')
    this.#emit(event('DealMediatorUpdated', {deal}))
  }

  /** Announces a deal whose transactions changed. */
  announceTransactions(
    type:
      'ResourceProviderTransactionsUpdated' | 'JobCreatorTransactionsUpdated' | 'MediatorTransactionsUpdated',
    deal: DealContainer,
  ): void {
    this.#emit(event(type, {deal}))
  }

  /** The chain announced the deal (its first agree): the match timeout no longer applies. */
  markOnChain(dealId: string): void {
    const deal = this.#store.getDeal(dealId)
    if (deal === undefined) return
    this.#store.markDealOnChain(dealId)
    this.#schedule(deal.job_offer)
  }

  // ---- timeouts --------------------------------------------------------------------------------

  /** The timeout due now for this job, by Go's rules in Go's order, or the next deadline. */
  #evaluate(
    job: JobOfferContainer,
    deal: DealContainer | undefined,
    now: number,
  ): {due?: number; next?: number} {
    const t = this.#config.timeouts
    const createdAt = job.job_offer.created_at
    const candidates: {state: number; at: number}[] = []
    if (this.#config.protocol === 'onchain') {
      const beforeChain = deal === undefined || !this.#store.isDealOnChain(deal.id)
      if (job.state === GO_STATE.DealNegotiating && beforeChain) {
        candidates.push({state: GO_STATE.TimeoutMatch, at: createdAt + t.matchSeconds * 1000})
      }
    } else {
      if (job.state === GO_STATE.DealNegotiating) {
        candidates.push({state: GO_STATE.TimeoutMatch, at: createdAt + t.matchSeconds * 1000})
      } else if (deal?.state === GO_STATE.DealAgreed) {
        const seconds = deal.deal.job_offer.executionTimeoutSeconds || t.executionSeconds
        candidates.push({state: GO_STATE.TimeoutExecution, at: deal.created_at + seconds * 1000})
      } else if (deal?.state === GO_STATE.ResultsSubmitted) {
        candidates.push({state: GO_STATE.TimeoutDownload, at: deal.upload_at + t.downloadSeconds * 1000})
      }
      candidates.push({state: GO_STATE.JobTimedOut, at: createdAt + t.totalSeconds * 1000})
    }
    const due = candidates.find((candidate) => now > candidate.at)
    if (due !== undefined) return {due: due.state}
    const next = Math.min(...candidates.map((candidate) => candidate.at))
    return Number.isFinite(next) ? {next} : {}
  }

  #schedule(jobOfferId: string): void {
    const previous = this.#timers.get(jobOfferId)
    if (previous !== undefined) clearTimeout(previous)
    this.#timers.delete(jobOfferId)
    if (this.#stopped) return
    const job = this.#store.getJobOffer(jobOfferId)
    if (job === undefined || !(job.state <= GO_STATE.ResultsSubmitted)) return
    const deal = job.deal_id === '' ? undefined : this.#store.getDeal(job.deal_id)
    const {due, next} = this.#evaluate(job, deal, this.#now())
    if (due !== undefined) {
      // Fire from the event loop, not from inside the change that made the job due.
      this.#timers.set(
        jobOfferId,
        setTimeout(() => void this.#expire(jobOfferId), 0),
      )
      return
    }
    if (next === undefined) return
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.#now() + 1))
    this.#timers.set(
      jobOfferId,
      setTimeout(() => void this.#expire(jobOfferId), delay),
    )
  }

  async #expire(jobOfferId: string): Promise<void> {
    this.#timers.delete(jobOfferId)
    if (this.#stopped) return
    const job = this.#store.getJobOffer(jobOfferId)
    if (job === undefined) return
    const deal = job.deal_id === '' ? undefined : this.#store.getDeal(job.deal_id)
    const {due} = this.#evaluate(job, deal, this.#now())
    if (due === undefined) {
      this.#schedule(jobOfferId)
      return
    }
    if (deal !== undefined && this.#config.protocol === 'onchain' && this.#dealOnChain !== undefined) {
      let known = false
      try {
        known = await this.#dealOnChain(deal.id)
      } catch (error) {
        this.#log.warn({deal_id: deal.id, err: error}, 'could not ask the chain about a deal; retrying')
        if (!this.#isStopped())
          this.#timers.set(
            jobOfferId,
            setTimeout(() => void this.#expire(jobOfferId), 1000),
          )
        return
      }
      if (this.#isStopped()) return
      if (known) {
        this.markOnChain(deal.id)
        return
      }
    }
    this.#log.info({job_offer_id: jobOfferId, deal_id: job.deal_id, state: goStateName(due)}, 'job timed out')
    if (deal === undefined) this.#setJobOfferState(jobOfferId, '', due)
    else this.setDealState(deal.id, due)
  }

  #isStopped(): boolean {
    return this.#stopped
  }

  /** Whether uploads and results for this deal are refused (Go: any timeout state). */
  static timedOut(deal: DealContainer): boolean {
    return isTimeoutState(deal.state)
  }
}

type SolverDecision = ReturnType<typeof selectResourceOffer>['decisions'][number]
