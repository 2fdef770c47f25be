/**
 * The checks a run makes before it agrees: the deal must be for our account and the job offer we
 * posted (its ID, module, inputs and spec), with mediators the offer trusts and sane timeouts; the
 * cap covers what a dispute may pull.
 */
import {describe, expect, it} from '@jest/globals'

import {checkMaxPrice, dealCost, withDisputeCost} from '../../../../src/core/deals/cost.js'
import {checkDealTerms} from '../../../../src/core/deals/follow.js'
import {jobOfferId} from '../../../../src/core/solver/ids.js'
import {DEFAULT_DEAL_TIMEOUTS, buildJobOffer, moduleConfigFor} from '../../../../src/core/solver/offer.js'
import type {DealContainer, JobOffer} from '../../../../src/core/solver/types.js'
import {lilypadErrorOf} from '../../../helpers/errors.js'

const JC = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const RP = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const SOLVER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const MEDIATOR = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'
const STRANGER = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65'
const LP = 10n ** 18n

const posted: JobOffer = buildJobOffer({
  jobCreator: JC,
  module: moduleConfigFor('https://github.com/Lilypad-Tech/lilypad-module-cowsay', 'v0.0.3'),
  rendered: {machine: {gpu: 0, cpu: 1000, ram: 100}},
  inputs: {Message: 'hi'},
  services: {solver: SOLVER, mediators: [MEDIATOR]},
})
const postedId = jobOfferId(posted)

function container(change: (deal: DealContainer['deal']) => void = () => undefined): DealContainer {
  const deal = {
    id: 'QmDeal',
    members: {solver: SOLVER, job_creator: JC, resource_provider: RP, mediators: [MEDIATOR]},
    pricing: posted.pricing,
    timeouts: structuredClone(DEFAULT_DEAL_TIMEOUTS),
    job_offer: {...structuredClone(posted), id: postedId},
    resource_offer: {} as DealContainer['deal']['resource_offer'],
  }
  change(deal)
  return {id: 'QmDeal', deal, job_offer: postedId} as unknown as DealContainer
}

const code = (fn: () => void): string => lilypadErrorOf(fn).code

describe('checkDealTerms', () => {
  const expected = {account: JC, jobOfferId: postedId, offer: posted}

  it('accepts the deal for the offer we posted', () => {
    expect(() => {
      checkDealTerms(container(), expected)
    }).not.toThrow()
  })

  it('refuses another job creator, another offer, a changed offer, an untrusted mediator, a wild timeout', () => {
    const refused: ((deal: DealContainer['deal']) => void)[] = [
      (deal) => {
        deal.members.job_creator = STRANGER
      },
      (deal) => {
        deal.job_offer.id = 'QmSomeoneElse'
      },
      (deal) => {
        deal.job_offer.inputs = {Message: 'something else'}
      },
      (deal) => {
        deal.job_offer.module = {...deal.job_offer.module, hash: 'v9.9.9'}
      },
      (deal) => {
        deal.job_offer.spec = {...deal.job_offer.spec, gpu: 8}
      },
      (deal) => {
        deal.members.mediators = [STRANGER]
      },
      (deal) => {
        if (deal.timeouts !== undefined) deal.timeouts.judge_results.timeout = 400 * 24 * 3600
      },
      (deal) => {
        if (deal.timeouts !== undefined) deal.timeouts.submit_results.timeout = 0
      },
    ]
    for (const change of refused) {
      expect(
        code(() => {
          checkDealTerms(container(change), expected)
        }),
      ).toBe('DEAL_TERMS_INVALID')
    }
  })

  it('checks the module and inputs against the record when the offer itself is not at hand', () => {
    const fromRecord = {
      account: JC,
      jobOfferId: postedId,
      module: {repo: posted.module.repo, ref: posted.module.hash},
      inputs: {Message: 'hi'},
    }
    expect(() => {
      checkDealTerms(container(), fromRecord)
    }).not.toThrow()
    expect(
      code(() => {
        checkDealTerms(
          container((deal) => {
            deal.job_offer.inputs = {Message: 'other'}
          }),
          fromRecord,
        )
      }),
    ).toBe('DEAL_TERMS_INVALID')
  })

  it('refuses when the run recorded no job offer ID', () => {
    expect(
      code(() => {
        checkDealTerms(container(), {account: JC, jobOfferId: undefined})
      }),
    ).toBe('DEAL_TERMS_INVALID')
  })
})

describe('withDisputeCost', () => {
  const timeouts = {judge_results: {timeout: 3600, collateral: 1}}
  const pricing = {
    instruction_price: 1,
    payment_collateral: 2,
    results_collateral_multiple: 2,
    mediation_fee: 4,
  }

  it('adds what checkResult pulls beyond the judge collateral (F − J), and nothing when F ≤ J', () => {
    expect(withDisputeCost(dealCost(pricing, timeouts)).lock).toBe(6n * LP)
    expect(withDisputeCost(dealCost({...pricing, mediation_fee: 1}, timeouts)).lock).toBe(3n * LP)
  })

  it('makes a cap that covers the lock but not a dispute refuse the deal', () => {
    const cost = dealCost(pricing, timeouts)
    expect(() => {
      checkMaxPrice(cost, 3n * LP)
    }).not.toThrow()
    expect(
      code(() => {
        checkMaxPrice(withDisputeCost(cost), 3n * LP)
      }),
    ).toBe('MAX_PRICE_EXCEEDED')
  })
})
