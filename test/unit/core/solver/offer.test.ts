import {describe, expect, it} from '@jest/globals'
import {LilypadController__factory} from '../../../../src/core/chain/generated/index.js'
import {encodeJobOffer} from '../../../../src/core/solver/go-json.js'
import {
  DEFAULT_DEAL_TIMEOUTS,
  DEFAULT_JOB_PRICING,
  buildJobOffer,
  dealTermsForChain,
  moduleConfigFor,
} from '../../../../src/core/solver/offer.js'
import type {Deal} from '../../../../src/core/solver/types.js'
import {lilypadErrorOf} from '../../../helpers/errors.js'
import {loadGoVectors} from './go-vectors.js'

const JC = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const RP = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const SOLVER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const MEDIATOR = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'
const COWSAY = 'https://github.com/Lilypad-Tech/lilypad-module-cowsay'

const cowsay = (
  overrides: Partial<Parameters<typeof buildJobOffer>[0]> = {},
): ReturnType<typeof buildJobOffer> =>
  buildJobOffer({
    jobCreator: JC.toLowerCase(),
    module: moduleConfigFor(COWSAY, 'v0.0.4'),
    rendered: {machine: {gpu: 0, cpu: 1000, ram: 100}},
    inputs: {Message: 'hello, world'},
    services: {solver: SOLVER, mediators: [MEDIATOR]},
    now: () => 1722211200123,
    nonce: 'V1StGXR8_Z5jdHi6B-myT',
    ...overrides,
  })

describe('buildJobOffer', () => {
  it('gives the bytes the Go CLI offer marshals to (Go vector)', () => {
    const vector = loadGoVectors().vectors.find((v) => v.name === 'job offer: cowsay as the CLI builds it')
    expect(Buffer.from(encodeJobOffer(cowsay())).toString('hex')).toBe(vector?.hex)
  })

  it('fills the Go CLI defaults and normalises the machine spec', () => {
    const offer = cowsay()
    expect(offer.job_creator).toBe(JC)
    expect(offer.pricing).toEqual(DEFAULT_JOB_PRICING)
    expect(offer.mode).toBe('MarketPrice')
    expect(offer.spec).toEqual({gpu: 0, gpus: null, cpu: 1000, ram: 100, disk: 0})
    expect(offer.inputFiles).toEqual({required: null, optional: null})
    expect(offer.executionTimeoutSeconds).toBe(0)
    expect(offer.target).toEqual({address: ''})
    expect(offer.trusted_parties).toEqual({solver: SOLVER, mediator: [MEDIATOR], api_host: ''})
  })

  it('writes {} for no inputs, as pflag’s empty map marshals', () => {
    const offer = cowsay({inputs: {}})
    expect(offer.inputs).toEqual({})
    expect(Buffer.from(encodeJobOffer(cowsay({inputs: undefined as never}))).toString()).toContain(
      '"inputs":{}',
    )
  })

  it('takes the module’s GPUs, input files, timeout; the pricing and target given', () => {
    const offer = cowsay({
      rendered: {
        machine: {gpu: 1, gpus: [{vram: 8192}], cpu: 2000, ram: 4096, disk: 10},
        executionTimeoutSeconds: 600,
        inputFiles: {required: ['a.csv']},
      },
      pricing: {instruction_price: 5, mediation_fee: undefined},
      mode: 'FixedPrice',
      target: RP.toLowerCase(),
      services: {solver: SOLVER, mediators: [], apiHost: 'https://api/'},
    })
    expect(offer.spec.gpus).toEqual([{name: '', vendor: '', vram: 8192}])
    expect(offer.inputFiles).toEqual({required: ['a.csv'], optional: null})
    expect(offer.executionTimeoutSeconds).toBe(600)
    expect(offer.pricing).toEqual({...DEFAULT_JOB_PRICING, instruction_price: 5})
    expect(offer.target.address).toBe(RP)
    expect(offer.trusted_parties).toEqual({solver: SOLVER, mediator: [], api_host: 'https://api/'})
  })

  it('makes a fresh 21-character nanoid nonce and a millisecond timestamp by default', () => {
    const a = buildJobOffer({
      jobCreator: JC,
      module: moduleConfigFor(COWSAY, 'v0.0.4'),
      rendered: {machine: {}},
      services: {solver: SOLVER, mediators: [MEDIATOR]},
    })
    const b = buildJobOffer({
      jobCreator: JC,
      module: moduleConfigFor(COWSAY, 'v0.0.4'),
      rendered: {machine: {}},
      services: {solver: SOLVER, mediators: [MEDIATOR]},
    })
    expect(a.nonce).toMatch(/^[A-Za-z0-9_-]{21}$/)
    expect(a.nonce).not.toBe(b.nonce)
    expect(Number.isInteger(a.created_at)).toBe(true)
    expect(a.created_at).toBeGreaterThan(1_600_000_000_000)
  })

  it('refuses a job creator or target that is not an address', () => {
    expect(lilypadErrorOf(() => cowsay({jobCreator: '0x123'})).code).toBe('ADDRESS_INVALID')
    const error = lilypadErrorOf(() => cowsay({target: 'bob'}))
    expect(error.code).toBe('ADDRESS_INVALID')
    expect(error.message).toContain('"bob"')
  })
})

describe('moduleConfigFor', () => {
  it('gives the Go CLI module config', () => {
    expect(moduleConfigFor(COWSAY, 'v0.0.4')).toEqual({
      name: '',
      repo: COWSAY,
      hash: 'v0.0.4',
      path: '/lilypad_module.json.tmpl',
    })
  })
})

describe('dealTermsForChain', () => {
  const deal = (timeouts?: Deal['timeouts']): Deal =>
    ({
      id: 'QmDeal',
      members: {
        solver: SOLVER.toLowerCase(),
        job_creator: JC,
        resource_provider: RP,
        mediators: [MEDIATOR, SOLVER],
      },
      pricing: {
        instruction_price: 3,
        payment_collateral: 4,
        results_collateral_multiple: 2,
        mediation_fee: 1,
      },
      ...(timeouts === undefined ? {} : {timeouts}),
      job_offer: cowsay(),
    }) as unknown as Deal

  it('scales collateral and prices to wei, keeps the multiple, checksums members in order', () => {
    const [id, members, timeouts, pricing] = dealTermsForChain(deal())
    expect(id).toBe('QmDeal')
    expect(members).toEqual({
      solver: SOLVER,
      jobCreator: JC,
      resourceProvider: RP,
      mediators: [MEDIATOR, SOLVER],
    })
    const lp = 10n ** 18n
    expect(timeouts).toEqual({
      agree: {timeout: 3600n, collateral: 0n},
      submitResults: {timeout: 3600n, collateral: lp},
      judgeResults: {timeout: 3600n, collateral: lp},
      mediateResults: {timeout: 3600n, collateral: 0n},
    })
    expect(pricing).toEqual({
      instructionPrice: 3n * lp,
      paymentCollateral: 4n * lp,
      resultsCollateralMultiple: 2n,
      mediationFee: lp,
    })
  })

  it('uses the deal’s own timeouts when it has them', () => {
    const custom = {...DEFAULT_DEAL_TIMEOUTS, submit_results: {timeout: 60, collateral: 5}}
    expect(dealTermsForChain(deal(custom))[2].submitResults).toEqual({
      timeout: 60n,
      collateral: 5n * 10n ** 18n,
    })
  })

  it('gives arguments the controller ABI accepts, byte-identical from both parties’ copies', () => {
    const controller = LilypadController__factory.createInterface()
    const mine = controller.encodeFunctionData('agree', dealTermsForChain(deal()))
    const theirs = controller.encodeFunctionData(
      'agree',
      dealTermsForChain(JSON.parse(JSON.stringify(deal())) as Deal),
    )
    expect(mine).toBe(theirs)
    expect(mine.startsWith(controller.getFunction('agree').selector)).toBe(true)
  })

  it('refuses fractional amounts', () => {
    const bad = deal()
    bad.pricing.instruction_price = 1.5
    expect(lilypadErrorOf(() => dealTermsForChain(bad)).code).toBe('DEAL_TERMS_INVALID')
  })
})
