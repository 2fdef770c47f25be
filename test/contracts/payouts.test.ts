/**
 * Every terminal path of a deal, with exact LP balances of job creator, provider, mediator, treasury and
 * escrow, and the exact `Payment` events of the closing call (the payout table of contracts/README.md).
 */
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import type {TransactionReceipt, Wallet} from 'ethers'

import {
  Direction,
  LP,
  Reason,
  State,
  as,
  mined,
  paymentsOf,
  statesOf,
  CHECK_RESULT_OVERRIDES,
} from '../helpers/contracts.js'
import type {PaymentLog} from '../helpers/contracts.js'
import {afterDeadline, agreeAs, balances, driveTo, newDeal, setupFixture} from './fixture.js'
import type {Deal, Fixture} from './fixture.js'

let f: Fixture

beforeAll(async () => {
  f = await setupFixture()
})

afterAll(async () => {
  await f.chain.stop()
})

/** Amounts of one deal: the terms plus what a result of `count` instructions implies. */
interface Amounts {
  P: bigint // payment collateral
  J: bigint // judge-timeout collateral
  S: bigint // submit-timeout collateral
  F: bigint // mediation fee
  R: bigint // results collateral
  pay: bigint // job payment = min(price × count, P)
}

function amountsOf(deal: Deal, count: bigint): Amounts {
  const cost = deal.pricing.instructionPrice * count
  return {
    P: deal.pricing.paymentCollateral,
    J: deal.timeouts.judgeResults.collateral,
    S: deal.timeouts.submitResults.collateral,
    F: deal.pricing.mediationFee,
    R: cost * deal.pricing.resultsCollateralMultiple,
    pay: cost < deal.pricing.paymentCollateral ? cost : deal.pricing.paymentCollateral,
  }
}

type Actor = 'jc' | 'rp' | 'mediator' | 'treasury'

interface Path {
  name: string
  /** Brings the deal up to just before the closing call. */
  prepare: (deal: Deal, count: bigint) => Promise<void>
  closer: Actor
  close: (deal: Deal, who: Wallet) => Promise<TransactionReceipt>
  state: number
  /** Net LP change over the whole deal of [job creator, provider, mediator, treasury]. */
  net: (a: Amounts) => [bigint, bigint, bigint, bigint]
  /** The closing call's Payment events, zero amounts left out. */
  events: (a: Amounts) => [Actor, bigint, number, number][]
}

const {PaidIn, PaidOut, Refunded, Slashed} = Direction
const {PaymentCollateral, ResultsCollateral, TimeoutCollateral, JobPayment, MediationFee} = Reason

const paths: Path[] = [
  {
    name: 'acceptResult',
    prepare: (d, n) => driveTo(f, d, 'submitted', n),
    closer: 'jc',
    close: (d, w) => mined(as(f.controller, w).acceptResult(d.dealId)),
    state: State.ResultsAccepted,
    net: (a) => [-a.pay, a.pay, 0n, 0n],
    events: (a) => [
      ['rp', a.pay, JobPayment, PaidOut],
      ['rp', a.R, ResultsCollateral, Refunded],
      ['jc', a.P - a.pay, PaymentCollateral, Refunded],
      ['jc', a.J, TimeoutCollateral, Refunded],
    ],
  },
  {
    name: 'mediationAcceptResult',
    prepare: (d, n) => driveTo(f, d, 'checked', n),
    closer: 'mediator',
    close: (d, w) => mined(as(f.controller, w).mediationAcceptResult(d.dealId)),
    state: State.MediationAccepted,
    net: (a) => [-a.pay - a.F, a.pay, a.F, 0n],
    events: (a) => [
      ['rp', a.pay, JobPayment, PaidOut],
      ['rp', a.R, ResultsCollateral, Refunded],
      ['mediator', a.F, MediationFee, PaidOut],
      ['jc', a.P - a.pay, PaymentCollateral, Refunded],
    ],
  },
  {
    name: 'mediationRejectResult',
    prepare: (d, n) => driveTo(f, d, 'checked', n),
    closer: 'mediator',
    close: (d, w) => mined(as(f.controller, w).mediationRejectResult(d.dealId)),
    state: State.MediationRejected,
    net: (a) => [-a.F, -a.R, a.F, a.R],
    events: (a) => [
      ['jc', a.P, PaymentCollateral, Refunded],
      ['mediator', a.F, MediationFee, PaidOut],
      ['rp', a.R, ResultsCollateral, Slashed],
      ['treasury', a.R, ResultsCollateral, PaidOut],
    ],
  },
  {
    name: 'timeoutAgree (job creator agreed alone)',
    prepare: async (d) => {
      await agreeAs(f, f.jc, d)
      await afterDeadline(f)
    },
    closer: 'jc',
    close: (d, w) => mined(as(f.controller, w).timeoutAgree(d.dealId)),
    state: State.TimeoutAgree,
    net: () => [0n, 0n, 0n, 0n],
    // Everything the job creator locked comes back in one leg: P and J are split only once both agreed.
    events: (a) => [['jc', a.P + a.J, PaymentCollateral, Refunded]],
  },
  {
    name: 'timeoutAgree (provider agreed alone)',
    prepare: async (d) => {
      await agreeAs(f, f.rp, d)
      await afterDeadline(f)
    },
    closer: 'rp',
    close: (d, w) => mined(as(f.controller, w).timeoutAgree(d.dealId)),
    state: State.TimeoutAgree,
    net: () => [0n, 0n, 0n, 0n],
    events: (a) => [['rp', a.S, TimeoutCollateral, Refunded]],
  },
  {
    name: 'timeoutSubmitResult',
    prepare: async (d) => {
      await driveTo(f, d, 'agreed')
      await afterDeadline(f)
    },
    closer: 'jc',
    close: (d, w) => mined(as(f.controller, w).timeoutSubmitResult(d.dealId)),
    state: State.TimeoutSubmitResults,
    net: (a) => [a.S, -a.S, 0n, 0n],
    events: (a) => [
      ['jc', a.P, PaymentCollateral, Refunded],
      ['jc', a.J, TimeoutCollateral, Refunded],
      ['rp', a.S, TimeoutCollateral, Slashed],
      ['jc', a.S, TimeoutCollateral, PaidOut],
    ],
  },
  {
    name: 'timeoutJudgeResult',
    prepare: async (d, n) => {
      await driveTo(f, d, 'submitted', n)
      await afterDeadline(f)
    },
    closer: 'rp',
    close: (d, w) => mined(as(f.controller, w).timeoutJudgeResult(d.dealId)),
    state: State.TimeoutJudgeResults,
    net: (a) => [-a.pay - a.J, a.pay + a.J, 0n, 0n],
    events: (a) => [
      ['rp', a.pay, JobPayment, PaidOut],
      ['rp', a.R, ResultsCollateral, Refunded],
      ['jc', a.J, TimeoutCollateral, Slashed],
      ['rp', a.J, TimeoutCollateral, PaidOut],
      ['jc', a.P - a.pay, PaymentCollateral, Refunded],
    ],
  },
  ...(['jc', 'rp'] as const).map((closer): Path => ({
    name: `timeoutMediateResult (called by ${closer})`,
    prepare: async (d, n) => {
      await driveTo(f, d, 'checked', n)
      await afterDeadline(f)
    },
    closer,
    close: (d, w) => mined(as(f.controller, w).timeoutMediateResult(d.dealId)),
    state: State.TimeoutMediateResults,
    net: () => [0n, 0n, 0n, 0n],
    events: (a) => [
      ['jc', a.P, PaymentCollateral, Refunded],
      ['jc', a.F, MediationFee, Refunded],
      ['rp', a.R, ResultsCollateral, Refunded],
    ],
  })),
]

/** Distinct amounts so a swapped field cannot go unnoticed. */
const distinct = {
  timeouts: {
    submitResults: {timeout: 3600n, collateral: LP(5)},
    judgeResults: {timeout: 3600n, collateral: LP(7)},
  },
  pricing: {
    instructionPrice: LP(3),
    paymentCollateral: LP(10),
    resultsCollateralMultiple: 2n,
    mediationFee: LP(4),
  },
}

const termSets: {name: string; make: () => Deal; count: bigint}[] = [
  {name: 'standard terms', make: () => newDeal(f), count: 1n},
  {name: 'distinct amounts, cost within collateral', make: () => newDeal(f, distinct), count: 2n},
  {name: 'distinct amounts, cost above collateral', make: () => newDeal(f, distinct), count: 5n},
]

describe.each(termSets)('terminal paths with $name', ({make, count}) => {
  it.each(paths)('$name pays out exactly', async (path) => {
    const deal = make()
    const a = amountsOf(deal, count)
    const who = {jc: f.jc, rp: f.rp, mediator: f.mediator, treasury: f.treasury}
    const tracked = [
      f.jc.address,
      f.rp.address,
      f.mediator.address,
      f.treasury.address,
      f.protocol.addresses.controller,
    ]
    const start = await balances(f, tracked)

    await path.prepare(deal, count)
    const beforeClose = await balances(f, tracked)
    const receipt = await path.close(deal, who[path.closer])
    const end = await balances(f, tracked)

    // Whole-deal net changes; the escrow gives back everything it took.
    const net = end.map((b, i) => b - (start[i] ?? 0n))
    expect(net).toEqual([...path.net(a), 0n])
    // The closing call empties the deal's escrow: its outflow equals what the deal still held.
    const expectedEvents = path
      .events(a)
      .filter(([, amount]) => amount !== 0n)
      .map(([actor, amount, reason, direction]): PaymentLog => ({
        payee: who[actor].address,
        amount,
        reason,
        direction,
      }))
    expect(paymentsOf(f.controller, receipt, deal.dealId)).toEqual(expectedEvents)
    const paidOut = expectedEvents
      .filter((e) => e.direction !== Slashed)
      .reduce((sum, e) => sum + e.amount, 0n)
    expect((beforeClose[4] ?? 0n) - (end[4] ?? 0n)).toBe(paidOut)
    expect(statesOf(f.controller, receipt, deal.dealId)).toEqual([path.state])
    expect(await f.controller.isState(deal.dealId, path.state)).toBe(true)
    const agreement = await f.controller.getAgreement(deal.dealId)
    expect(agreement.deadline).toBe(0n)
    expect(agreement.closedAt).toBe(
      BigInt((await f.chain.provider.getBlock(receipt.blockNumber))?.timestamp ?? -1),
    )
  })
})

describe('the standard deal, in whole LP', () => {
  it('the accept path moves exactly 1 LP from job creator to provider and nothing else', async () => {
    const deal = newDeal(f)
    const tracked = [f.jc.address, f.rp.address, f.mediator.address, f.protocol.addresses.controller]
    const steps: [string, () => Promise<TransactionReceipt>, bigint[]][] = [
      ['jc agree', () => agreeAs(f, f.jc, deal), [LP(-3), 0n, 0n, LP(3)]],
      ['rp agree', () => agreeAs(f, f.rp, deal), [0n, LP(-1), 0n, LP(1)]],
      [
        'addResult',
        () => mined(as(f.controller, f.rp).addResult(deal.dealId, '', 'QmStandard', 1n)),
        [0n, LP(-1), 0n, LP(1)],
      ],
      [
        'acceptResult',
        () => mined(as(f.controller, f.jc).acceptResult(deal.dealId)),
        [LP(2), LP(3), 0n, LP(-5)],
      ],
    ]
    for (const [name, step, expected] of steps) {
      const before = await balances(f, tracked)
      await step()
      const after = await balances(f, tracked)
      expect({name, delta: after.map((b, i) => b - (before[i] ?? 0n))}).toEqual({name, delta: expected})
    }
  })

  it('every Payment event of a deal accounts for the balance changes exactly', async () => {
    const deal = newDeal(f, distinct)
    const tracked = [f.jc.address, f.rp.address, f.mediator.address, f.protocol.addresses.controller]
    const start = await balances(f, tracked)
    const receipts = [
      await agreeAs(f, f.rp, deal),
      await agreeAs(f, f.jc, deal),
      await mined(as(f.controller, f.rp).addResult(deal.dealId, 'r', 'QmX', 2n)),
      await mined(as(f.controller, f.jc).checkResult(deal.dealId, CHECK_RESULT_OVERRIDES)),
      await mined(as(f.controller, f.mediator).mediationAcceptResult(deal.dealId)),
    ]
    const end = await balances(f, tracked)
    const events = receipts.flatMap((r) => paymentsOf(f.controller, r, deal.dealId))
    const flow = (address: string): bigint =>
      events
        .filter((e) => e.payee === address)
        .reduce((sum, e) => {
          if (e.direction === PaidIn) return sum - e.amount
          if (e.direction === Slashed) return sum
          return sum + e.amount
        }, 0n)
    for (const [i, address] of tracked.slice(0, 3).entries()) {
      expect((end[i] ?? 0n) - (start[i] ?? 0n)).toBe(flow(address))
    }
    const paidIn = events.filter((e) => e.direction === PaidIn).reduce((s, e) => s + e.amount, 0n)
    const paidBack = events
      .filter((e) => e.direction !== PaidIn && e.direction !== Slashed)
      .reduce((s, e) => s + e.amount, 0n)
    expect(paidIn).toBe(paidBack)
    expect(end[3]).toBe(start[3])
  })
})
