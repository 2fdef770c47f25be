/**
 * The matcher under random arrivals of job and resource offers, fed through a small loop that
 * matches on arrival, oldest job first, using only the matcher's exports. Every deal and every
 * leftover is judged by predicates written here straight from lilypad-protocol.md §3.5.
 */
import {describe, expect, it} from '@jest/globals'
import fc from 'fast-check'

import type {
  Deal,
  JobOffer,
  JobOfferContainer,
  MachineSpec,
  ResourceOffer,
  ResourceOfferContainer,
} from '../../../../src/core/solver/types.js'
import {buildDeal, selectResourceOffer} from '../../../../src/devnet/solver/matcher.js'

const SOLVERS = ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC']
const PROVIDERS = [
  '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
  '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
  '0x976EA74026E726554dB657fA54763abd0C3a0aa9',
]
const MEDIATORS = [
  '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955',
  '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f',
  '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720',
]
const JOB_CREATOR = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'

// Small domains, so that both matches and every kind of mismatch are frequent; providers lean
// towards larger machines than jobs ask for, as on a real network.
function pick<T>(values: readonly T[], weights: readonly number[]): fc.Arbitrary<T> {
  return fc.oneof(...values.map((value, i) => ({weight: weights[i] ?? 1, arbitrary: fc.constant(value)})))
}
function specArb(weights: readonly number[]): fc.Arbitrary<MachineSpec> {
  const gpuArb = pick([0, 8, 16], weights).map((vram) => ({name: 'g', vendor: 'v', vram}))
  return fc.record({
    gpu: pick([0, 1, 2], weights),
    gpus: fc.option(fc.array(gpuArb, {maxLength: 2}), {nil: null}),
    cpu: pick([0, 1000, 2000], weights),
    ram: pick([0, 512, 1024], weights),
    disk: pick([0, 100, 200], weights),
  })
}
const jobSpecArb = specArb([4, 2, 1])
const resourceSpecArb = specArb([1, 2, 4])
const pricingArb = fc.integer({min: 0, max: 3}).map((price) => ({
  instruction_price: price,
  payment_collateral: 2,
  results_collateral_multiple: 2,
  mediation_fee: 1,
}))
const partiesArb = fc.record({
  solver: fc.oneof(
    {weight: 5, arbitrary: fc.constant(SOLVERS[0]!)},
    {weight: 1, arbitrary: fc.constant(SOLVERS[1]!)},
  ),
  mediator: fc.option(fc.subarray(MEDIATORS), {nil: null, freq: 10}),
  api_host: fc.constant(''),
})
const createdAtArb = fc.integer({min: 0, max: 15})

type Arrival = {kind: 'job'; offer: JobOffer} | {kind: 'resource'; offer: ResourceOffer}

const jobArb: fc.Arbitrary<Arrival> = fc
  .record({
    created_at: createdAtArb,
    spec: jobSpecArb,
    mode: fc.constantFrom('MarketPrice' as const, 'FixedPrice' as const),
    pricing: pricingArb,
    trusted_parties: partiesArb,
    target: fc.oneof(
      {weight: 4, arbitrary: fc.constant('')},
      {weight: 1, arbitrary: fc.constantFrom(...PROVIDERS, PROVIDERS[0]!.toLowerCase())},
    ),
  })
  .map(({target, ...fields}) => ({
    kind: 'job',
    offer: {
      id: '',
      nonce: 'V1StGXR8_Z5jdHi6B-myT',
      job_creator: JOB_CREATOR,
      module: {name: '', repo: 'https://example.invalid/m', hash: 'v1', path: '/lilypad_module.json.tmpl'},
      inputs: null,
      inputFiles: {required: null, optional: null},
      executionTimeoutSeconds: 0,
      ...fields,
      target: {address: target},
    },
  }))

const resourceArb: fc.Arbitrary<Arrival> = fc
  .record({
    created_at: createdAtArb,
    resource_provider: fc.constantFrom(...PROVIDERS),
    spec: resourceSpecArb,
    mode: fc.oneof(
      {weight: 6, arbitrary: fc.constant('FixedPrice' as const)},
      {weight: 1, arbitrary: fc.constant('MarketPrice' as const)},
    ),
    default_pricing: pricingArb,
    trusted_parties: partiesArb,
  })
  .map((fields) => ({
    kind: 'resource',
    offer: {id: '', index: 0, modules: null, module_pricing: null, ...fields},
  }))

// ---- the rules, restated from the spec ---------------------------------------------------------------

const maxVram = (spec: MachineSpec): number => Math.max(0, ...(spec.gpus ?? []).map((g) => g.vram))
const trusted = (offer: JobOffer | ResourceOffer): string[] => offer.trusted_parties.mediator ?? []
const sharesMediator = (r: ResourceOffer, j: JobOffer): boolean =>
  trusted(r).some((m) => trusted(j).includes(m))
const sameSolver = (r: ResourceOffer, j: JobOffer): boolean =>
  r.trusted_parties.solver === j.trusted_parties.solver

/** §3.5: may this pair make a deal for a job that names no target? */
function compatible(r: ResourceOffer, j: JobOffer): boolean {
  const bigEnough = (['cpu', 'gpu', 'ram', 'disk'] as const).every((key) => r.spec[key] >= j.spec[key])
  const vramOk =
    (j.spec.gpus ?? []).length === 0 || ((r.spec.gpus ?? []).length > 0 && maxVram(r.spec) >= maxVram(j.spec))
  const priceOk =
    r.mode === 'FixedPrice' &&
    (j.mode === 'MarketPrice' || r.default_pricing.instruction_price <= j.pricing.instruction_price)
  return bigEnough && vramOk && priceOk && sharesMediator(r, j) && sameSolver(r, j)
}

/** A targeted job's pair: the named provider, and what any deal needs. */
function targetFits(r: ResourceOffer, j: JobOffer): boolean {
  return (
    r.resource_provider.toLowerCase() === j.target.address.toLowerCase() &&
    sharesMediator(r, j) &&
    sameSolver(r, j)
  )
}

const fits = (r: ResourceOffer, j: JobOffer): boolean =>
  j.target.address === '' ? compatible(r, j) : targetFits(r, j)

// ---- the loop -----------------------------------------------------------------------------------------

interface Run {
  deals: Deal[]
  jobs: JobOfferContainer[]
  resources: ResourceOfferContainer[]
  cancelled: Set<string>
  failures: string[]
}

function simulate(arrivals: Arrival[]): Run {
  const jobs: JobOfferContainer[] = []
  const resources: ResourceOfferContainer[] = []
  const decided = new Set<string>()
  const cancelled = new Set<string>()
  const deals: Deal[] = []
  const failures: string[] = []
  const freeResources = () => resources.filter((r) => r.deal_id === '')

  const place = (job: JobOfferContainer): void => {
    // Hand the matcher every resource offer ever seen, matched ones included, newest first: it must
    // filter and order them itself.
    const {chosen, decisions} = selectResourceOffer(job, [...resources].reverse(), (j, r) =>
      decided.has(`${j}|${r}`),
    )
    for (const decision of decisions) decided.add(`${decision.job_offer}|${decision.resource_offer}`)
    const target = job.job_offer.target.address
    if (chosen === undefined) {
      if (target !== '') {
        if (freeResources().some((r) => targetFits(r.resource_offer, job.job_offer))) {
          failures.push(`targeted ${job.id} cancelled while its provider had a usable offer`)
        }
        cancelled.add(job.id)
      }
      return
    }
    // The choice must be the best fitting free offer: cheapest then oldest (market), oldest (fixed or targeted).
    const others = freeResources().filter((r) => r.id !== chosen.id && fits(r.resource_offer, job.job_offer))
    const age = (r: ResourceOfferContainer) => r.resource_offer.created_at
    const price = (r: ResourceOfferContainer) => r.resource_offer.default_pricing.instruction_price
    const better = others.find((r) =>
      target === '' && job.job_offer.mode === 'MarketPrice'
        ? price(r) < price(chosen) || (price(r) === price(chosen) && age(r) < age(chosen))
        : age(r) < age(chosen),
    )
    if (better !== undefined) failures.push(`${job.id} got ${chosen.id} although ${better.id} was better`)

    const deal = buildDeal(job, chosen, {solver: SOLVERS[0]!})
    deals.push(deal)
    job.deal_id = deal.id
    job.state = 1
    chosen.deal_id = deal.id
    chosen.state = 1
  }

  arrivals.forEach((arrival, i) => {
    if (arrival.kind === 'job') {
      const job: JobOfferContainer = {
        id: `job-${i}`,
        deal_id: '',
        job_creator: arrival.offer.job_creator,
        state: 0,
        job_offer: {...arrival.offer, id: `job-${i}`},
      }
      jobs.push(job)
      place(job)
    } else {
      resources.push({
        id: `ro-${i}`,
        deal_id: '',
        resource_provider: arrival.offer.resource_provider,
        state: 0,
        resource_offer: {...arrival.offer, id: `ro-${i}`},
      })
      const waiting = jobs
        .filter((job) => job.deal_id === '' && !cancelled.has(job.id))
        .sort((a, b) => a.job_offer.created_at - b.job_offer.created_at)
      for (const job of waiting) place(job)
    }
  })
  return {deals, jobs, resources, cancelled, failures}
}

describe('matching offers as they arrive', () => {
  it('never breaks a rule, never uses an offer twice, and leaves no match undone', () => {
    let dealsSeen = 0
    let leftoversSeen = 0
    fc.assert(
      fc.property(fc.array(fc.oneof(jobArb, resourceArb), {minLength: 1, maxLength: 30}), (arrivals) => {
        const run = simulate(arrivals)
        expect(run.failures).toEqual([])

        for (const deal of run.deals) {
          const job = deal.job_offer
          const resource = deal.resource_offer
          expect(fits(resource, job)).toBe(true)
          expect(deal.pricing).toEqual(resource.default_pricing)
          expect(deal.members.mediators).toEqual(trusted(resource).filter((m) => trusted(job).includes(m)))
          expect(deal.members.job_creator).toBe(job.job_creator)
          expect(deal.members.resource_provider).toBe(resource.resource_provider)
        }

        const jobIds = run.deals.map((d) => d.job_offer.id)
        const resourceIds = run.deals.map((d) => d.resource_offer.id)
        expect(new Set(jobIds).size).toBe(jobIds.length)
        expect(new Set(resourceIds).size).toBe(resourceIds.length)

        const free = run.resources.filter((r) => r.deal_id === '')
        for (const job of run.jobs.filter((j) => j.deal_id === '' && j.job_offer.target.address === '')) {
          leftoversSeen += 1
          const left = free.find((r) => compatible(r.resource_offer, job.job_offer))
          expect(left?.id).toBeUndefined()
        }
        for (const job of run.jobs.filter((j) => j.deal_id === '' && j.job_offer.target.address !== '')) {
          expect(run.cancelled.has(job.id)).toBe(true)
        }
        dealsSeen += run.deals.length
      }),
      {numRuns: 200},
    )
    // The generators must exercise both outcomes, or the property says little.
    expect(dealsSeen).toBeGreaterThan(50)
    expect(leftoversSeen).toBeGreaterThan(50)
  })
})
