import {describe, expect, it} from '@jest/globals'

import {formatDealAction, formatDealsTable} from '../../../../src/ui/render/deals.js'

describe('the deals table', () => {
  it('has the columns deal, module, state, provider, cost, age, aligned', () => {
    const now = 10_000_000
    const text = formatDealsTable(
      [
        {
          id: 'QmDealOne',
          jobOfferId: 'QmOffer',
          state: 'ResultsAccepted',
          module: 'cowsay:v0.0.3',
          provider: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
          cost: (3n * 10n ** 18n).toString(),
          createdAt: now - 90_000,
          source: 'run',
        },
        {
          id: 'QmDealTwo',
          jobOfferId: undefined,
          state: 'DealAgreed',
          module: 'fail:v0.1.0',
          provider: undefined,
          cost: undefined,
          createdAt: now - 5_000,
          source: 'solver',
        },
      ],
      now,
    )
    expect(text.split('\n')).toEqual([
      'DEAL       MODULE         STATE            PROVIDER     COST  AGE',
      'QmDealOne  cowsay:v0.0.3  ResultsAccepted  0x15d34AAf…  3 LP  1m',
      'QmDealTwo  fail:v0.1.0    DealAgreed       -            -     5s',
    ])
  })

  it('says how to start when there is nothing', () => {
    expect(formatDealsTable([])).toContain('lilypad run cowsay:v0.0.3')
  })

  it('says when a refund can be claimed instead of a hash', () => {
    expect(
      formatDealAction({
        dealId: 'QmD',
        tx: undefined,
        action: 'timeout_agree',
        state: 'DealNegotiating',
        note: 'after X',
      }),
    ).toBe('after X')
    expect(
      formatDealAction({
        dealId: 'QmD',
        tx: '0xab',
        action: 'timeout_agree',
        state: 'TimeoutAgree',
        note: undefined,
      }),
    ).toBe('timeout_agree for deal QmD: 0xab (now TimeoutAgree)')
  })
})
