/** The matching rules of lilypad-protocol.md §3.5, one row per rule, on a job and a resource offer that match changed one field at a time. */
import {describe, expect, it} from '@jest/globals'

import {dealId} from '../../../../src/core/solver/ids.js'
import type {
  DealPricing,
  DealTimeouts,
  JobOffer,
  JobOfferContainer,
  MachineSpec,
  ResourceOffer,
  ResourceOfferContainer,
} from '../../../../src/core/solver/types.js'
import {
  type MatchOutcome,
  buildDeal,
  matchOffers,
  mutualMediators,
  selectResourceOffer,
} from '../../../../src/devnet/solver/matcher.js'

const SOLVER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const OTHER_SOLVER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const JOB_CREATOR = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'
const PROVIDERS = [
  '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
  '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
  '0x976EA74026E726554dB657fA54763abd0C3a0aa9',
] as const
const MEDIATORS = [
  '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955',
  '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f',
  '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720',
] as const

function pricing(instructionPrice: number): DealPricing {
  return {
    instruction_price: instructionPrice,
    payment_collateral: 2,
    results_collateral_multiple: 2,
    mediation_fee: 1,
  }
}

function spec(overrides: Partial<MachineSpec> = {}): MachineSpec {
  return {gpu: 0, gpus: null, cpu: 1000, ram: 1024, disk: 2048, ...overrides}
}

function jobOffer(overrides: Partial<JobOffer> = {}): JobOffer {
  return {
    id: '',
    created_at: 1_700_000_000_000,
    nonce: 'V1StGXR8_Z5jdHi6B-myT',
    job_creator: JOB_CREATOR,
    module: {
      name: '',
      repo: 'https://github.com/lilypad-tech/lilypad-module-cowsay',
      hash: 'v0.0.4',
      path: '/lilypad_module.json.tmpl',
    },
    spec: spec(),
    inputs: {Message: 'hi'},
    inputFiles: {required: null, optional: null},
    executionTimeoutSeconds: 0,
    mode: 'MarketPrice',
    pricing: pricing(1),
    trusted_parties: {solver: SOLVER, mediator: [MEDIATORS[0]], api_host: ''},
    target: {address: ''},
    ...overrides,
  }
}

function resourceOffer(overrides: Partial<ResourceOffer> = {}): ResourceOffer {
  return {
    id: '',
    created_at: 1_700_000_000_000,
    resource_provider: PROVIDERS[0],
    index: 0,
    spec: spec(),
    modules: null,
    mode: 'FixedPrice',
    default_pricing: pricing(1),
    module_pricing: null,
    trusted_parties: {solver: SOLVER, mediator: [MEDIATORS[0]], api_host: ''},
    ...overrides,
  }
}

function jobContainer(id: string, offer: JobOffer): JobOfferContainer {
  return {id, deal_id: '', job_creator: offer.job_creator, state: 0, job_offer: {...offer, id}}
}

function resourceContainer(id: string, offer: ResourceOffer): ResourceOfferContainer {
  return {
    id,
    deal_id: '',
    resource_provider: offer.resource_provider,
    state: 0,
    resource_offer: {...offer, id},
  }
}

const gpu = (vram: number) => ({name: 'gpu', vendor: 'vendor', vram})
const never = () => false

describe('matchOffers', () => {
  const rows: Array<[string, Partial<ResourceOffer>, Partial<JobOffer>, MatchOutcome]> = [
    ['equal specs match', {}, {}, 'offersMatched'],
    [
      'a zero spec matches anything',
      {spec: spec({cpu: 0, ram: 0, disk: 0})},
      {spec: spec({cpu: 0, ram: 0, disk: 0})},
      'offersMatched',
    ],
    ['one milli-CPU short', {spec: spec({cpu: 999})}, {}, 'cpuMismatch'],
    ['one GPU short', {spec: spec({gpu: 1})}, {spec: spec({gpu: 2})}, 'gpuMismatch'],
    ['GPU count equal', {spec: spec({gpu: 2})}, {spec: spec({gpu: 2})}, 'offersMatched'],
    ['one MB of RAM short', {spec: spec({ram: 1023})}, {}, 'ramMismatch'],
    [
      'VRAM asked, the provider lists no GPU',
      {spec: spec({gpus: null})},
      {spec: spec({gpus: [gpu(8)]})},
      'vramMismatch',
    ],
    [
      'VRAM asked, the provider lists an empty GPU list',
      {spec: spec({gpus: []})},
      {spec: spec({gpus: [gpu(8)]})},
      'vramMismatch',
    ],
    [
      'largest VRAM one MB short',
      {spec: spec({gpus: [gpu(8191)]})},
      {spec: spec({gpus: [gpu(8192)]})},
      'vramMismatch',
    ],
    [
      'largest VRAM equal',
      {spec: spec({gpus: [gpu(8192)]})},
      {spec: spec({gpus: [gpu(8192)]})},
      'offersMatched',
    ],
    [
      'largest against largest, whatever the order',
      {spec: spec({gpus: [gpu(4), gpu(24), gpu(8)]})},
      {spec: spec({gpus: [gpu(16), gpu(2)]})},
      'offersMatched',
    ],
    [
      'no VRAM asked: the provider needs no GPU list',
      {spec: spec({gpus: null})},
      {spec: spec({gpus: []})},
      'offersMatched',
    ],
    ['one MB of disk short', {spec: spec({disk: 2047})}, {}, 'diskSpaceMismatch'],
    ['a market-priced provider', {mode: 'MarketPrice'}, {}, 'marketPriceUnavailable'],
    [
      'both fixed, the provider one LP dearer',
      {default_pricing: pricing(3)},
      {mode: 'FixedPrice', pricing: pricing(2)},
      'priceMismatch',
    ],
    [
      'both fixed, equal prices',
      {default_pricing: pricing(2)},
      {mode: 'FixedPrice', pricing: pricing(2)},
      'offersMatched',
    ],
    [
      'both fixed, the provider cheaper',
      {default_pricing: pricing(1)},
      {mode: 'FixedPrice', pricing: pricing(2)},
      'offersMatched',
    ],
    [
      'a market job takes any price',
      {default_pricing: pricing(50)},
      {mode: 'MarketPrice', pricing: pricing(1)},
      'offersMatched',
    ],
    [
      'no mutual mediator',
      {trusted_parties: {solver: SOLVER, mediator: [MEDIATORS[1]], api_host: ''}},
      {},
      'mediatorMismatch',
    ],
    [
      'the job trusts no mediator',
      {},
      {trusted_parties: {solver: SOLVER, mediator: null, api_host: ''}},
      'mediatorMismatch',
    ],
    [
      'one mutual mediator among several',
      {trusted_parties: {solver: SOLVER, mediator: [MEDIATORS[1], MEDIATORS[2]], api_host: ''}},
      {trusted_parties: {solver: SOLVER, mediator: [MEDIATORS[0], MEDIATORS[2]], api_host: ''}},
      'offersMatched',
    ],
    [
      'mediators compare as exact strings, as in Go',
      {trusted_parties: {solver: SOLVER, mediator: [MEDIATORS[0].toLowerCase()], api_host: ''}},
      {},
      'mediatorMismatch',
    ],
    [
      'another solver',
      {trusted_parties: {solver: OTHER_SOLVER, mediator: [MEDIATORS[0]], api_host: ''}},
      {},
      'solverMismatch',
    ],
    [
      'the solver compares as an exact string, as in Go',
      {trusted_parties: {solver: SOLVER.toLowerCase(), mediator: [MEDIATORS[0]], api_host: ''}},
      {},
      'solverMismatch',
    ],
    ['CPU is checked before RAM', {spec: spec({cpu: 1, ram: 1})}, {}, 'cpuMismatch'],
    [
      'disk is checked before the pricing mode',
      {spec: spec({disk: 1}), mode: 'MarketPrice'},
      {},
      'diskSpaceMismatch',
    ],
    [
      'the pricing mode before the price',
      {mode: 'MarketPrice', default_pricing: pricing(9)},
      {mode: 'FixedPrice'},
      'marketPriceUnavailable',
    ],
    [
      'the price before the mediators',
      {default_pricing: pricing(9), trusted_parties: {solver: OTHER_SOLVER, mediator: null, api_host: ''}},
      {mode: 'FixedPrice'},
      'priceMismatch',
    ],
    [
      'the mediators before the solver',
      {trusted_parties: {solver: OTHER_SOLVER, mediator: null, api_host: ''}},
      {},
      'mediatorMismatch',
    ],
  ]
  it.each(rows)('%s', (_name, resource, job, outcome) => {
    expect(matchOffers(resourceOffer(resource), jobOffer(job))).toBe(outcome)
  })
})

describe('selectResourceOffer', () => {
  const job = (overrides: Partial<JobOffer> = {}) => jobContainer('job', jobOffer(overrides))
  const offer = (id: string, createdAt: number, price: number, overrides: Partial<ResourceOffer> = {}) =>
    resourceContainer(
      id,
      resourceOffer({created_at: createdAt, default_pricing: pricing(price), ...overrides}),
    )

  it('gives a market-priced job the cheapest offer', () => {
    const {chosen, decisions} = selectResourceOffer(
      job(),
      [offer('old', 1, 3), offer('cheap', 2, 1), offer('mid', 3, 2)],
      never,
    )
    expect(chosen?.id).toBe('cheap')
    expect(decisions).toEqual(
      ['old', 'cheap', 'mid'].map((id) => ({job_offer: 'job', resource_offer: id, deal: '', result: true})),
    )
  })

  it('breaks a price tie by age, whatever order the candidates come in', () => {
    const {chosen} = selectResourceOffer(
      job(),
      [offer('newer', 5, 1), offer('dear', 1, 2), offer('older', 3, 1)],
      never,
    )
    expect(chosen?.id).toBe('older')
  })

  it('breaks a tie of price and age by the order given', () => {
    expect(selectResourceOffer(job(), [offer('first', 3, 1), offer('second', 3, 1)], never).chosen?.id).toBe(
      'first',
    )
  })

  it('gives a fixed-price job the oldest affordable offer, not the cheapest', () => {
    const {chosen, decisions} = selectResourceOffer(
      job({mode: 'FixedPrice', pricing: pricing(2)}),
      [offer('cheap', 3, 1), offer('too-dear', 1, 3), offer('oldest-affordable', 2, 2)],
      never,
    )
    expect(chosen?.id).toBe('oldest-affordable')
    expect(decisions.map((d) => [d.resource_offer, d.result])).toEqual([
      ['too-dear', false],
      ['oldest-affordable', true],
      ['cheap', true],
    ])
  })

  it('records every failed pair and why', () => {
    const small = offer('small', 1, 1, {spec: spec({ram: 1})})
    const foreign = offer('foreign', 2, 1, {
      trusted_parties: {solver: OTHER_SOLVER, mediator: [MEDIATORS[0]], api_host: ''},
    })
    const {chosen, decisions, attempts} = selectResourceOffer(job(), [small, foreign], never)
    expect(chosen).toBeUndefined()
    expect(decisions.map((d) => d.result)).toEqual([false, false])
    expect(attempts).toEqual([
      {resourceOffer: 'small', outcome: 'ramMismatch'},
      {resourceOffer: 'foreign', outcome: 'solverMismatch'},
    ])
  })

  it('skips pairs decided before and records nothing for them', () => {
    const asked: string[] = []
    const {chosen, decisions} = selectResourceOffer(
      job(),
      [offer('cheap', 1, 1), offer('dear', 2, 2)],
      (j, r) => {
        asked.push(`${j}/${r}`)
        return r === 'cheap'
      },
    )
    expect(asked).toEqual(['job/cheap', 'job/dear'])
    expect(chosen?.id).toBe('dear')
    expect(decisions.map((d) => d.resource_offer)).toEqual(['dear'])
  })

  it('never offers a resource offer that is already matched', () => {
    const taken = {...offer('taken', 1, 1), deal_id: 'QmDeal', state: 1}
    const agreed = {...offer('agreed', 1, 1), state: 1}
    const {chosen, decisions} = selectResourceOffer(job(), [taken, agreed, offer('free', 2, 5)], never)
    expect(chosen?.id).toBe('free')
    expect(decisions.map((d) => d.resource_offer)).toEqual(['free'])
  })

  it("gives a targeted job its provider's oldest offer, skipping spec and price", () => {
    const target = PROVIDERS[1]
    const tiny = {spec: spec({cpu: 1, ram: 1, disk: 1}), resource_provider: target}
    const {chosen, decisions} = selectResourceOffer(
      job({target: {address: target.toLowerCase()}, mode: 'FixedPrice', pricing: pricing(1)}),
      [offer('other-provider', 1, 1), offer('newer', 3, 9, tiny), offer('older', 2, 9, tiny)],
      never,
    )
    expect(chosen?.id).toBe('older')
    expect(decisions).toEqual([{job_offer: 'job', resource_offer: 'older', deal: '', result: true}])
  })

  it('gives a targeted job nothing when its provider has no free offer (the caller cancels it)', () => {
    const target = PROVIDERS[2]
    const busy = {...offer('busy', 1, 1, {resource_provider: target}), deal_id: 'QmDeal', state: 1}
    const {chosen, decisions} = selectResourceOffer(
      job({target: {address: target}}),
      [offer('other', 1, 1), busy],
      never,
    )
    expect(chosen).toBeUndefined()
    expect(decisions).toEqual([])
  })

  it('still needs a mutual mediator and the same solver for a targeted job', () => {
    const target = PROVIDERS[1]
    const lonely = offer('lonely', 1, 1, {
      resource_provider: target,
      trusted_parties: {solver: SOLVER, mediator: [MEDIATORS[2]], api_host: ''},
    })
    const fine = offer('fine', 2, 1, {resource_provider: target})
    const {chosen, attempts} = selectResourceOffer(job({target: {address: target}}), [lonely, fine], never)
    expect(chosen?.id).toBe('fine')
    expect(attempts).toEqual([
      {resourceOffer: 'lonely', outcome: 'mediatorMismatch'},
      {resourceOffer: 'fine', outcome: 'offersMatched'},
    ])
  })
})

describe('mutualMediators', () => {
  it("keeps the resource offer's order", () => {
    const [a, b, c] = MEDIATORS
    expect(
      mutualMediators(
        resourceOffer({trusted_parties: {solver: SOLVER, mediator: [c, a, b], api_host: ''}}),
        jobOffer({trusted_parties: {solver: SOLVER, mediator: [b, c], api_host: ''}}),
      ),
    ).toEqual([c, b])
  })
})

describe('buildDeal', () => {
  const [a, b, c] = MEDIATORS
  const job = jobContainer(
    'QmJob',
    jobOffer({trusted_parties: {solver: SOLVER, mediator: [a, c], api_host: ''}}),
  )
  const resource = resourceContainer(
    'QmResource',
    resourceOffer({
      resource_provider: PROVIDERS[2],
      default_pricing: pricing(3),
      module_pricing: {QmVvTRUBJiiUmEp3P1ubU3djgsbABdF3xswouVpM21rCto: pricing(7)},
      trusted_parties: {solver: SOLVER, mediator: [c, b, a], api_host: ''},
    }),
  )
  const timeouts: DealTimeouts = {
    agree: {timeout: 3600, collateral: 0},
    submit_results: {timeout: 3600, collateral: 1},
    judge_results: {timeout: 3600, collateral: 1},
    mediate_results: {timeout: 3600, collateral: 0},
  }

  it("makes the Go solver's deal: members, the provider's default pricing, both offers with their IDs", () => {
    const deal = buildDeal(job, resource, {solver: SOLVER})
    expect(Object.keys(deal)).toEqual(['id', 'members', 'pricing', 'job_offer', 'resource_offer'])
    expect(deal.members).toEqual({
      solver: SOLVER,
      job_creator: JOB_CREATOR,
      resource_provider: PROVIDERS[2],
      mediators: [c, a],
    })
    expect(deal.pricing).toEqual(pricing(3))
    expect(deal.job_offer).toEqual(job.job_offer)
    expect(deal.job_offer.id).toBe('QmJob')
    expect(deal.resource_offer.id).toBe('QmResource')
    expect(deal.id).toMatch(/^Qm[1-9A-HJ-NP-Za-km-z]{44}$/)
    expect(deal.id).toBe(dealId({...deal, id: ''}))
  })

  it('carries the offers by value, not by reference', () => {
    const deal = buildDeal(job, resource, {solver: SOLVER})
    deal.job_offer.spec.cpu = 1
    deal.resource_offer.trusted_parties.mediator?.push('0x0')
    deal.pricing.instruction_price = 0
    expect(job.job_offer.spec.cpu).toBe(1000)
    expect(resource.resource_offer.trusted_parties.mediator).toEqual([c, b, a])
    expect(resource.resource_offer.default_pricing.instruction_price).toBe(3)
  })

  it('takes the IDs from the containers, which the solver computed', () => {
    const stale = {...job, job_offer: {...job.job_offer, id: 'QmWhatTheClientSent'}}
    expect(buildDeal(stale, resource, {solver: SOLVER}).job_offer.id).toBe('QmJob')
  })

  it('adds the timeouts after the pricing only when given, and they change the ID', () => {
    const withTimeouts = buildDeal(job, resource, {solver: SOLVER, timeouts})
    expect(Object.keys(withTimeouts)).toEqual([
      'id',
      'members',
      'pricing',
      'timeouts',
      'job_offer',
      'resource_offer',
    ])
    expect(withTimeouts.timeouts).toEqual(timeouts)
    expect(withTimeouts.id).not.toBe(buildDeal(job, resource, {solver: SOLVER}).id)
  })
})
