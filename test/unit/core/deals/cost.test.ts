import {describe, expect, it} from '@jest/globals'

import {checkMaxPrice, dealCost, formatLp, lpToWei, planFunding} from '../../../../src/core/deals/cost.js'
import {lilypadErrorOf} from '../../../helpers/errors.js'

const LP = 10n ** 18n
const standard = {
  instruction_price: 1,
  payment_collateral: 2,
  results_collateral_multiple: 2,
  mediation_fee: 1,
}
const timeouts = {judge_results: {timeout: 3600, collateral: 1}}

describe('dealCost', () => {
  it('locks payment + judge collateral and pays min(price × count, payment collateral), as contracts/README.md', () => {
    const cost = dealCost(standard, timeouts)
    expect(cost).toEqual({
      lock: 3n * LP,
      paymentCollateral: 2n * LP,
      judgeCollateral: 1n * LP,
      pay: 1n * LP,
      mediationFee: 1n * LP,
      refundOnAccept: 2n * LP,
    })
  })

  it('caps the pay at the payment collateral for a long job', () => {
    expect(dealCost(standard, timeouts, 5).pay).toBe(2n * LP)
  })

  it('has no judge collateral without timeouts (the solver protocol)', () => {
    expect(dealCost(standard).lock).toBe(2n * LP)
  })

  it('takes fractional whole-LP amounts exactly', () => {
    expect(dealCost({...standard, payment_collateral: 0.5, instruction_price: 0.25}).lock).toBe(LP / 2n)
  })
})

describe('lpToWei and formatLp', () => {
  it('converts whole LP text and numbers', () => {
    expect(lpToWei('10')).toBe(10n * LP)
    expect(lpToWei(2.5)).toBe(25n * 10n ** 17n)
    expect(formatLp(3n * LP)).toBe('3 LP')
    expect(formatLp(LP / 2n)).toBe('0.5 LP')
  })

  it('refuses what is not an amount', () => {
    for (const bad of ['-1', 'ten', '1e3', '']) expect(lilypadErrorOf(() => lpToWei(bad)).code).toBe('USAGE')
  })
})

describe('checkMaxPrice', () => {
  it('accepts a lock equal to the cap', () => {
    expect(() => {
      checkMaxPrice(dealCost(standard, timeouts), 3n * LP)
    }).not.toThrow()
  })

  it('refuses a lock above the cap and says what it would cost', () => {
    const error = lilypadErrorOf(() => {
      checkMaxPrice(dealCost(standard, timeouts), 2n * LP, 'QmDeal')
    })
    expect(error.code).toBe('MAX_PRICE_EXCEEDED')
    expect(error.category).toBe('chain')
    expect(error.message).toContain('lock 3 LP')
    expect(error.message).toContain('pays 1 LP')
    expect(error.message).toContain('cap of 2 LP')
    expect(error.hints[0]).toBe('Raise the cap: --max-price 3.')
    expect(error.details).toMatchObject({lock: (3n * LP).toString(), dealId: 'QmDeal'})
  })
})

describe('planFunding', () => {
  const account = '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc'

  it('uses a permit when the allowance is short, agree otherwise', () => {
    expect(planFunding({lock: 3n * LP}, {balance: 10n * LP, allowance: 0n, account})).toEqual({
      permit: true,
      balanceAfter: 7n * LP,
    })
    expect(planFunding({lock: 3n * LP}, {balance: 3n * LP, allowance: 3n * LP, account}).permit).toBe(false)
  })

  it('refuses a lock above the balance, naming the account and the shortfall', () => {
    const error = lilypadErrorOf(() => planFunding({lock: 3n * LP}, {balance: LP, allowance: 0n, account}))
    expect(error.code).toBe('LP_BALANCE_TOO_LOW')
    expect(error.message).toContain(account)
    expect(error.hints[0]).toContain('2 LP more')
  })
})
