/**
 * The solver's matching rules (lilypad-protocol.md §3.5): whether a resource offer can serve a job
 * offer, which of the candidates a job gets, and the deal the pair makes. Pure functions over the
 * §3.1 shapes, so the solver service decides when to match and where decisions are stored.
 *
 * Addresses are compared as the Go solver compares them, as exact strings (solver and mediators):
 * every Lilypad client writes checksummed addresses, and a deal whose members differ in spelling
 * from the offers would not be the deal the parties signed up for. The one exception is a job's
 * `target`, which a person types: it names the provider case-insensitively, because refusing a
 * lower-case address would only cancel a job the provider could have run.
 */
import {dealId} from '../../core/solver/ids.js'
import {GO_STATE} from '../../core/solver/states.js'
import type {
  Deal,
  DealTimeouts,
  GpuSpec,
  JobOffer,
  JobOfferContainer,
  MatchDecision,
  ResourceOffer,
  ResourceOfferContainer,
} from '../../core/solver/types.js'

/** Why a pair of offers matched or not, in the order the rules are checked (Go's result variants). */
export type MatchOutcome =
  | 'offersMatched'
  | 'cpuMismatch'
  | 'gpuMismatch'
  | 'ramMismatch'
  | 'vramMismatch'
  | 'diskSpaceMismatch'
  | 'marketPriceUnavailable'
  | 'priceMismatch'
  | 'mediatorMismatch'
  | 'solverMismatch'

/** One pair looked at by {@link selectResourceOffer}, with the rule that decided it. */
export interface MatchAttempt {
  resourceOffer: string
  outcome: MatchOutcome
}

/** What {@link selectResourceOffer} chose, and the decisions to remember. */
export interface Selection {
  /** The resource offer the job gets, or `undefined` when none fits (a targeted job is then cancelled). */
  chosen: ResourceOfferContainer | undefined
  /**
   * One decision per pair looked at, in the order they were looked at: `result: false` for a pair
   * that does not match, `true` for every pair that does (as the Go solver records them). `deal`
   * is "" everywhere; the caller sets it on the chosen pair's decision once the deal is built.
   */
  decisions: MatchDecision[]
  /** The same pairs with the rule that decided each, for logs. */
  attempts: MatchAttempt[]
}

/** Options of {@link buildDeal}. */
export interface BuildDealOptions {
  /** The solver's address, the deal's `members.solver`. */
  solver: string
  /** The classic deal timeouts; given in the `onchain` protocol only, where both parties pass them to `agree`. */
  timeouts?: DealTimeouts | undefined
}

function largestVram(gpus: readonly GpuSpec[] | null): number {
  let largest = 0
  for (const gpu of gpus ?? []) if (gpu.vram > largest) largest = gpu.vram
  return largest
}

/**
 * The mediators both offers trust, in the resource offer's order. Like Go's `GetMutualServices`, a
 * mediator listed twice is kept twice, so the deal (and its ID) is the Go solver's.
 */
export function mutualMediators(resourceOffer: ResourceOffer, jobOffer: JobOffer): string[] {
  const mutual: string[] = []
  for (const offered of resourceOffer.trusted_parties.mediator ?? []) {
    for (const wanted of jobOffer.trusted_parties.mediator ?? []) {
      if (offered === wanted) mutual.push(offered)
    }
  }
  return mutual
}

/**
 * Checks whether a resource offer can serve a job offer, rule by rule in the Go solver's order:
 * CPU, GPU count, RAM, largest VRAM (only when the job lists GPUs), disk, the provider's pricing
 * mode, the price when both are fixed, a mutual mediator, the same solver.
 *
 * @param resourceOffer - the provider's offer
 * @param jobOffer - the job creator's offer
 * @returns `offersMatched`, or the first rule the pair breaks
 * @example
 * if (matchOffers(container.resource_offer, job.job_offer) === 'offersMatched') …
 */
export function matchOffers(resourceOffer: ResourceOffer, jobOffer: JobOffer): MatchOutcome {
  const offered = resourceOffer.spec
  const wanted = jobOffer.spec
  if (offered.cpu < wanted.cpu) return 'cpuMismatch'
  if (offered.gpu < wanted.gpu) return 'gpuMismatch'
  if (offered.ram < wanted.ram) return 'ramMismatch'
  if ((wanted.gpus ?? []).length > 0) {
    if ((offered.gpus ?? []).length === 0) return 'vramMismatch'
    if (largestVram(offered.gpus) < largestVram(wanted.gpus)) return 'vramMismatch'
  }
  if (offered.disk < wanted.disk) return 'diskSpaceMismatch'
  // A provider must name its price: there is no market to discover one from.
  if (resourceOffer.mode === 'MarketPrice') return 'marketPriceUnavailable'
  if (
    jobOffer.mode === 'FixedPrice' &&
    resourceOffer.default_pricing.instruction_price > jobOffer.pricing.instruction_price
  ) {
    return 'priceMismatch'
  }
  if (mutualMediators(resourceOffer, jobOffer).length === 0) return 'mediatorMismatch'
  if (resourceOffer.trusted_parties.solver !== jobOffer.trusted_parties.solver) return 'solverMismatch'
  return 'offersMatched'
}

/** A deal needs a mediator both trust and the same solver, whatever else was skipped (targeted jobs). */
function dealableOutcome(resourceOffer: ResourceOffer, jobOffer: JobOffer): MatchOutcome {
  if (mutualMediators(resourceOffer, jobOffer).length === 0) return 'mediatorMismatch'
  if (resourceOffer.trusted_parties.solver !== jobOffer.trusted_parties.solver) return 'solverMismatch'
  return 'offersMatched'
}

function isUnmatched(container: ResourceOfferContainer): boolean {
  return container.deal_id === '' && container.state === GO_STATE.DealNegotiating
}

/**
 * Picks the resource offer a job offer gets. Candidates are looked at oldest first (`created_at`,
 * then the order given); those already matched (a `deal_id`, or a state other than
 * `DealNegotiating`) and pairs `tried` before are skipped, since offers never change and a decided
 * pair never changes its answer.
 *
 * - A targeted job (`target.address` set) skips the spec and price rules and gets its provider's
 *   oldest offer that shares a mediator and the solver; with none, `chosen` is `undefined` and the
 *   caller cancels the job (`JobOfferCancelled`).
 * - A `MarketPrice` job gets the cheapest matching offer (`default_pricing.instruction_price`),
 *   the oldest among equals.
 * - A `FixedPrice` job gets the oldest matching offer (matching includes affordability).
 *
 * @param jobOffer - the job offer to place
 * @param candidates - the resource offers not yet matched
 * @param tried - whether a pair (job offer ID, resource offer ID) was decided before
 * @returns the chosen offer, and the decisions and attempts of every pair looked at
 * @example
 * const {chosen, decisions} = selectResourceOffer(job, unmatched, (j, r) => store.hasDecision(j, r))
 */
export function selectResourceOffer(
  jobOffer: JobOfferContainer,
  candidates: readonly ResourceOfferContainer[],
  tried: (jobOfferId: string, resourceOfferId: string) => boolean,
): Selection {
  const job = jobOffer.job_offer
  const target = job.target.address.toLowerCase()
  const pool = candidates
    .map((container, order) => ({container, order}))
    .filter(({container}) => isUnmatched(container))
    .filter(({container}) => target === '' || container.resource_provider.toLowerCase() === target)
    .filter(({container}) => !tried(jobOffer.id, container.id))
    .sort(
      (a, b) =>
        a.container.resource_offer.created_at - b.container.resource_offer.created_at || a.order - b.order,
    )
    .map(({container}) => container)

  const attempts: MatchAttempt[] = []
  const matching: ResourceOfferContainer[] = []
  for (const container of pool) {
    const outcome =
      target === ''
        ? matchOffers(container.resource_offer, job)
        : dealableOutcome(container.resource_offer, job)
    attempts.push({resourceOffer: container.id, outcome})
    if (outcome === 'offersMatched') {
      matching.push(container)
      // A targeted job takes the first offer that can make a deal; the rest are not looked at.
      if (target !== '') break
    }
  }

  const price = (container: ResourceOfferContainer): number =>
    container.resource_offer.default_pricing.instruction_price
  // `matching` is oldest first, so keeping the first of equal prices keeps the oldest.
  const chosen =
    target === '' && job.mode === 'MarketPrice'
      ? matching.reduce<ResourceOfferContainer | undefined>(
          (best, container) => (best === undefined || price(container) < price(best) ? container : best),
          undefined,
        )
      : matching[0]

  const decisions = attempts.map((attempt): MatchDecision => ({
    job_offer: jobOffer.id,
    resource_offer: attempt.resourceOffer,
    deal: '',
    result: attempt.outcome === 'offersMatched',
  }))
  return {chosen, decisions, attempts}
}

/**
 * Builds the deal of a matched pair, as the Go solver's `GetDeal` does: the provider's
 * `default_pricing` (Go ignores `module_pricing` here, and so do we, so both sides agree on the
 * price the provider advertised by default), the mutual mediators in the provider's order, both
 * offers in full with their IDs. `timeouts` is included only when given (the `onchain` protocol).
 *
 * @param jobOffer - the matched job offer
 * @param resourceOffer - the resource offer it got
 * @param options - the solver's address and, in the `onchain` protocol, the timeouts
 * @returns the deal, in Go field order, its `id` the CID the Go solver computes (`dealId`)
 * @throws INTERNAL (from `dealId`) for an offer no Go struct can hold
 * @example
 * const deal = buildDeal(job, chosen, {solver: wallet.address, timeouts})
 */
export function buildDeal(
  jobOffer: JobOfferContainer,
  resourceOffer: ResourceOfferContainer,
  options: BuildDealOptions,
): Deal {
  const job: JobOffer = {...structuredClone(jobOffer.job_offer), id: jobOffer.id}
  const offer: ResourceOffer = {...structuredClone(resourceOffer.resource_offer), id: resourceOffer.id}
  // Key order is Go's field order: the deal ID is the CID of this object's JSON.
  const deal: Deal = {
    id: '',
    members: {
      solver: options.solver,
      job_creator: job.job_creator,
      resource_provider: offer.resource_provider,
      mediators: mutualMediators(offer, job),
    },
    pricing: {...offer.default_pricing},
    ...(options.timeouts === undefined ? {} : {timeouts: structuredClone(options.timeouts)}),
    job_offer: job,
    resource_offer: offer,
  }
  deal.id = dealId(deal)
  return deal
}
