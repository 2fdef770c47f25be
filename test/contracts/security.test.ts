/**
 * Security properties of agreeing: each party's locked amounts come only from its own calldata (even if the
 * two term sets collided in the 200-bit digest, simulated here by writing the digest into storage), the
 * second caller's amounts are range-checked, the digest is the full `abi.encode` hash, and a deal ID that
 * ended (or is stuck) in negotiation can be used again.
 */
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {ZeroAddress, dataSlice, keccak256, toBeHex} from 'ethers'
import type {TransactionReceipt, Wallet} from 'ethers'

import {increaseTime} from '../helpers/anvil.js'
import {
  CHECK_RESULT_OVERRIDES,
  Direction,
  LP,
  Reason,
  State,
  as,
  controllerLogs,
  dealSlot,
  forceNegotiationDigest,
  mined,
  moreMediatorsSlot,
  paymentsOf,
  readSlot,
  revertOf,
  statesOf,
  termsHash,
  writeSlot,
} from '../helpers/contracts.js'
import type {DecodedRevert} from '../helpers/contracts.js'
import {afterDeadline, agreeAs, balances, driveTo, freshDealId, newDeal, setupFixture} from './fixture.js'
import type {Deal, Fixture} from './fixture.js'

let f: Fixture
let controller: string

beforeAll(async () => {
  f = await setupFixture()
  controller = f.protocol.addresses.controller
})

afterAll(async () => {
  await f.chain.stop()
})

const reverts = (action: Promise<unknown>): Promise<DecodedRevert> => revertOf(action, f.errors)
const agreeCall = (who: Wallet, deal: Deal) =>
  as(f.controller, who).agree(deal.dealId, deal.members, deal.timeouts, deal.pricing)
const invalid = (reason: number) => ({name: 'InvalidTerms', args: [BigInt(reason)]})
const escrow = () => f.token.balanceOf(controller)
const DAY = 24n * 3600n

/** `deal` with other amounts (same ID and parties). */
function variant(
  deal: Deal,
  change: {timeouts?: Partial<Deal['timeouts']>; pricing?: Partial<Deal['pricing']>},
): Deal {
  return {
    ...deal,
    timeouts: {...deal.timeouts, ...change.timeouts},
    pricing: {...deal.pricing, ...change.pricing},
  }
}

const withJudge = (deal: Deal, collateral: bigint): Deal =>
  variant(deal, {timeouts: {judgeResults: {timeout: deal.timeouts.judgeResults.timeout, collateral}}})

/** A background deal between jc2 and rp2 holding P + J + S = 4 LP in escrow while a test runs. */
async function backgroundDeal(): Promise<Deal> {
  const deal = newDeal(f, {members: {jobCreator: f.jc2.address, resourceProvider: f.rp2.address}})
  await driveTo(f, deal, 'agreed')
  return deal
}

describe('judge collateral: only what the job creator locked itself', () => {
  // The reviewer's attack: the provider agrees first with a large J, the colluding job creator agrees
  // second with J = 0 under a colliding digest. J must be the job creator's own, so nothing is paid out
  // of other deals' escrow.
  const closings: [string, (deal: Deal) => Promise<unknown>][] = [
    [
      'acceptResult',
      async (d) => {
        await mined(as(f.controller, f.rp).addResult(d.dealId, '', 'QmAttack', 1n))
        await mined(as(f.controller, f.jc).acceptResult(d.dealId))
      },
    ],
    [
      'timeoutJudgeResult',
      async (d) => {
        await mined(as(f.controller, f.rp).addResult(d.dealId, '', 'QmAttack', 1n))
        await afterDeadline(f)
        await mined(as(f.controller, f.rp).timeoutJudgeResult(d.dealId))
      },
    ],
    [
      'checkResult, then timeoutMediateResult',
      async (d) => {
        await mined(as(f.controller, f.rp).addResult(d.dealId, '', 'QmAttack', 1n))
        await mined(as(f.controller, f.jc).checkResult(d.dealId, CHECK_RESULT_OVERRIDES))
        await afterDeadline(f)
        await mined(as(f.controller, f.rp).timeoutMediateResult(d.dealId))
      },
    ],
    [
      'timeoutSubmitResult',
      async (d) => {
        await afterDeadline(f)
        await mined(as(f.controller, f.jc).timeoutSubmitResult(d.dealId))
      },
    ],
  ]

  it.each(closings)(
    'provider first with J = 50 LP, job creator second with J = 0 (digest forced equal), closed by %s',
    async (_name, close) => {
      const background = await backgroundDeal()
      const providerTerms = withJudge(newDeal(f), LP(50))
      const jobCreatorTerms = withJudge(providerTerms, 0n)
      const tracked = [f.jc.address, f.rp.address, f.mediator.address, f.treasury.address, controller]
      const start = await balances(f, tracked)
      const heldBefore = await escrow()

      await agreeAs(f, f.rp, providerTerms)
      await forceNegotiationDigest(f.chain.provider, controller, jobCreatorTerms)
      expect((await f.controller.getDeal(providerTerms.dealId)).termsDigest).toBe(
        dataSlice(termsHash(jobCreatorTerms), 0, 25),
      )
      const receipt = await agreeAs(f, f.jc, jobCreatorTerms)
      expect(statesOf(f.controller, receipt, providerTerms.dealId)).toEqual([State.DealAgreed])
      // The job creator paid in P only, and the deal's J is exactly that: 0.
      expect(paymentsOf(f.controller, receipt, providerTerms.dealId)).toEqual([
        {payee: f.jc.address, amount: LP(2), reason: Reason.PaymentCollateral, direction: Direction.PaidIn},
      ])
      const view = await f.controller.getDeal(providerTerms.dealId)
      expect([view.paymentCollateral, view.judgeResultsCollateral]).toEqual([LP(2), 0n])
      expect(await escrow()).toBe(heldBefore + LP(2) + LP(1))

      await close(providerTerms)
      const end = await balances(f, tracked)
      // No LP left the escrow that this deal did not pay in: the background deal's 4 LP are all still there.
      expect(end[4]).toBe(heldBefore)
      expect(end.slice(0, 4).reduce((sum, b) => sum + b, 0n)).toBe(
        start.slice(0, 4).reduce((sum, b) => sum + b, 0n),
      )
      // And the background deal still settles in full.
      await afterDeadline(f)
      await mined(as(f.controller, f.jc2).timeoutSubmitResult(background.dealId))
      expect(await escrow()).toBe(heldBefore - LP(4))
    },
  )

  it('job creator first, provider second with another J (digest forced equal): J never exceeds what the job creator locked', async () => {
    const jobCreatorTerms = newDeal(f) // P 2 + J 1 = 3 LP locked
    await agreeAs(f, f.jc, jobCreatorTerms)
    const greedy = withJudge(jobCreatorTerms, LP(4))
    await forceNegotiationDigest(f.chain.provider, controller, greedy)
    expect(await reverts(agreeCall(f.rp, greedy))).toEqual(invalid(8))

    // Within what was locked, the split moves but the job creator's total does not.
    const reshuffled = withJudge(jobCreatorTerms, LP(3))
    await forceNegotiationDigest(f.chain.provider, controller, reshuffled)
    const heldBefore = await escrow()
    const [jcBefore] = await balances(f, [f.jc.address])
    await agreeAs(f, f.rp, reshuffled)
    const view = await f.controller.getDeal(jobCreatorTerms.dealId)
    expect([view.paymentCollateral, view.judgeResultsCollateral]).toEqual([0n, LP(3)])
    await afterDeadline(f)
    await mined(as(f.controller, f.jc).timeoutSubmitResult(jobCreatorTerms.dealId))
    const [jcAfter] = await balances(f, [f.jc.address])
    // The job creator gets back its own 3 LP plus the provider's slashed 1 LP, nothing more.
    expect((jcAfter ?? 0n) - (jcBefore ?? 0n)).toBe(LP(4))
    expect(await escrow()).toBe(heldBefore - LP(3))
  })

  it('getDeal reports no J the job creator did not lock while one party agreed alone', async () => {
    const deal = withJudge(newDeal(f), LP(50))
    await agreeAs(f, f.rp, deal)
    const providerAlone = await f.controller.getDeal(deal.dealId)
    expect([
      providerAlone.jobCreator,
      providerAlone.paymentCollateral,
      providerAlone.judgeResultsCollateral,
      providerAlone.submitResultsCollateral,
    ]).toEqual([ZeroAddress, 0n, 0n, LP(1)])

    const other = withJudge(newDeal(f), LP(5))
    await agreeAs(f, f.jc, other)
    const jobCreatorAlone = await f.controller.getDeal(other.dealId)
    // Everything the job creator locked, P + J, with no separate J until both agreed.
    expect([jobCreatorAlone.paymentCollateral, jobCreatorAlone.judgeResultsCollateral]).toEqual([LP(7), 0n])
    await agreeAs(f, f.rp, other)
    const agreed = await f.controller.getDeal(other.dealId)
    expect([agreed.paymentCollateral, agreed.judgeResultsCollateral]).toEqual([LP(2), LP(5)])
  })
})

describe('the second caller is range-checked too', () => {
  const big = 2n ** 96n
  const cases: [string, number, 'jc' | 'rp', (d: Deal) => Deal][] = [
    ['mediation fee above 96 bits', 8, 'rp', (d) => variant(d, {pricing: {mediationFee: big}})],
    ['instruction price above 96 bits', 8, 'rp', (d) => variant(d, {pricing: {instructionPrice: big}})],
    ['multiple above 32 bits', 8, 'rp', (d) => variant(d, {pricing: {resultsCollateralMultiple: 2n ** 32n}})],
    [
      'its own submit collateral above 96 bits',
      8,
      'rp',
      (d) => variant(d, {timeouts: {submitResults: {timeout: 3600n, collateral: big}}}),
    ],
    ['judge collateral above 96 bits', 8, 'rp', (d) => withJudge(d, big)],
    [
      'its own payment + judge collateral above 96 bits',
      8,
      'jc',
      (d) => variant(withJudge(d, big / 2n), {pricing: {paymentCollateral: big / 2n}}),
    ],
    [
      'judge timeout above 32 bits',
      7,
      'jc',
      (d) => variant(d, {timeouts: {judgeResults: {timeout: 2n ** 32n, collateral: LP(1)}}}),
    ],
    [
      'submit timeout above 32 bits',
      7,
      'rp',
      (d) => variant(d, {timeouts: {submitResults: {timeout: 2n ** 40n, collateral: LP(1)}}}),
    ],
    [
      'zero mediate timeout',
      7,
      'jc',
      (d) => variant(d, {timeouts: {mediateResults: {timeout: 0n, collateral: 0n}}}),
    ],
    [
      'agree timeout above 7 days',
      9,
      'rp',
      (d) => variant(d, {timeouts: {agree: {timeout: 7n * DAY + 1n, collateral: 0n}}}),
    ],
    [
      'non-zero mediate collateral',
      6,
      'jc',
      (d) => variant(d, {timeouts: {mediateResults: {timeout: 3600n, collateral: 1n}}}),
    ],
  ]

  it.each(cases)(
    '%s → InvalidTerms(%d), even under a matching digest',
    async (_name, reason, second, make) => {
      const deal = newDeal(f)
      const [firstParty, secondParty] = second === 'rp' ? [f.jc, f.rp] : [f.rp, f.jc]
      await agreeAs(f, firstParty, deal)
      const bad = make(deal)
      await forceNegotiationDigest(f.chain.provider, controller, bad)
      expect((await f.controller.getDeal(deal.dealId)).termsDigest).toBe(dataSlice(termsHash(bad), 0, 25))
      expect(await reverts(agreeCall(secondParty, bad))).toEqual(invalid(reason))
      expect(await f.controller.isState(deal.dealId, State.DealNegotiating)).toBe(true)
    },
  )
})

describe('the terms digest', () => {
  it('hashTerms is keccak256(abi.encode(dealId, members, timeouts, pricing)) for every ID length and mediator count', async () => {
    const mediators = [f.mediator.address, f.mediator2.address, f.stranger.address, f.solver.address]
    for (const length of [0, 1, 31, 32, 33, 46, 63, 64, 65, 100]) {
      for (const count of [1, 2, 3, 16]) {
        const deal = newDeal(f, {
          members: {mediators: Array.from({length: count}, (_, i) => mediators[i % 4] as string)},
          timeouts: {agree: {timeout: BigInt(length + 1), collateral: 7n}},
          pricing: {instructionPrice: 2n ** 255n + BigInt(count), mediationFee: BigInt(length)},
        })
        deal.dealId = 'x'.repeat(length).replace(/x/g, (_, i: number) => String.fromCharCode(33 + (i % 90)))
        const onChain = await f.controller.hashTerms(deal.dealId, deal.members, deal.timeouts, deal.pricing)
        expect([length, count, onChain]).toEqual([length, count, termsHash(deal)])
      }
    }
  })

  it('keeps 25 bytes (200 bits) of it while negotiating, in the lifecycle word, and drops them afterwards', async () => {
    const deal = newDeal(f)
    await agreeAs(f, f.jc, deal)
    const word = await readSlot(f.chain.provider, controller, dealSlot(deal.dealId, 4))
    expect(word >> 56n).not.toBe(0n)
    expect((await f.controller.getDeal(deal.dealId)).termsDigest).toBe(dataSlice(termsHash(deal), 0, 25))
    await agreeAs(f, f.rp, deal)
    expect((await f.controller.getDeal(deal.dealId)).termsDigest).toBe('0x' + '00'.repeat(25))
  })
})

describe('deal IDs are not held forever', () => {
  it('a new first agree starts a fresh deal under an ID that ended in TimeoutAgree', async () => {
    const dealId = freshDealId()
    const old: Deal = {
      ...newDeal(f, {members: {mediators: [f.mediator.address, f.mediator2.address, f.stranger.address]}}),
      dealId,
    }
    await agreeAs(f, f.jc, old)
    await afterDeadline(f)
    await mined(as(f.controller, f.jc).timeoutAgree(dealId))
    // The ended deal shows no digest, no result, no mediators.
    const ended = await f.controller.getDeal(dealId)
    expect([ended.state, ended.termsDigest, ended.mediators, ended.judgeResultsCollateral]).toEqual([
      BigInt(State.TimeoutAgree),
      '0x' + '00'.repeat(25),
      [],
      0n,
    ])
    expect((await f.controller.getResult(dealId)).resultsBlock).toBe(0n)
    // Even leftover mediators (which no deal ending in TimeoutAgree can have) would not leak into the new deal.
    const lengthSlot = moreMediatorsSlot(dealId)
    await writeSlot(f.chain.provider, controller, lengthSlot, 2n)
    const elements = BigInt(keccak256(toBeHex(lengthSlot, 32)))
    await writeSlot(f.chain.provider, controller, elements, BigInt(f.stranger.address))
    await writeSlot(f.chain.provider, controller, elements + 1n, BigInt(f.mediator.address))

    const fresh: Deal = {
      ...newDeal(f, {
        members: {
          jobCreator: f.jc2.address,
          resourceProvider: f.rp2.address,
          mediators: [f.mediator2.address],
        },
        pricing: {paymentCollateral: LP(4)},
      }),
      dealId,
    }
    const tracked = [f.jc.address, f.jc2.address, f.rp2.address]
    const start = await balances(f, tracked)
    const created = await agreeAs(f, f.rp2, fresh)
    expect(statesOf(f.controller, created, dealId)).toEqual([State.DealNegotiating])
    const event = controllerLogs(f.controller, created).find((l) => l.name === 'DealCreated')
    expect(event?.args.toArray()).toEqual([dealId, f.jc2.address, f.rp2.address])
    const negotiating = await f.controller.getDeal(dealId)
    // Nothing of the old job creator is left.
    expect([negotiating.jobCreator, negotiating.resourceProvider, negotiating.paymentCollateral]).toEqual([
      ZeroAddress,
      f.rp2.address,
      0n,
    ])
    const agreement = await f.controller.getAgreement(dealId)
    expect([agreement.state, agreement.jobCreatorAgreed, agreement.resourceProviderAgreed]).toEqual([
      BigInt(State.DealNegotiating),
      false,
      true,
    ])
    expect(await readSlot(f.chain.provider, controller, lengthSlot)).toBe(0n)

    await agreeAs(f, f.jc2, fresh)
    const agreed = await f.controller.getDeal(dealId)
    expect([
      agreed.jobCreator,
      agreed.mediators,
      agreed.paymentCollateral,
      agreed.judgeResultsCollateral,
    ]).toEqual([f.jc2.address, [f.mediator2.address], LP(4), LP(1)])
    await mined(as(f.controller, f.rp2).addResult(dealId, '', 'QmFresh', 1n))
    await mined(as(f.controller, f.jc2).acceptResult(dealId))
    const end = await balances(f, tracked)
    // The old job creator is untouched; the new deal moves exactly the job cost.
    expect(end.map((b, i) => b - (start[i] ?? 0n))).toEqual([0n, -LP(1), LP(1)])
  })

  it('the same party may re-create the ID with other terms after its own timeout', async () => {
    const deal = newDeal(f)
    await agreeAs(f, f.rp, deal)
    await afterDeadline(f)
    await mined(as(f.controller, f.rp).timeoutAgree(deal.dealId))
    const again = withJudge(deal, LP(2))
    await agreeAs(f, f.rp, again)
    await agreeAs(f, f.jc, again)
    expect((await f.controller.getDeal(deal.dealId)).judgeResultsCollateral).toBe(LP(2))
  })

  it('a squatter holds an ID at most until its agree deadline (≤ 7 days); then a first agree takes it over', async () => {
    const real = newDeal(f)
    // The squatter (here jc2 with a colluding rp2) creates the ID first, with the longest agree timeout.
    const squat: Deal = {
      ...real,
      members: {...real.members, jobCreator: f.jc2.address, resourceProvider: f.rp2.address},
      timeouts: {...real.timeouts, agree: {timeout: 7n * DAY, collateral: 0n}},
    }
    const [squatterStart] = await balances(f, [f.jc2.address])
    await agreeAs(f, f.jc2, squat)
    expect(await reverts(agreeCall(f.jc, real))).toMatchObject({name: 'TermsMismatch'})
    await increaseTime(f.chain.provider, Number(7n * DAY) - 10)
    expect(await reverts(agreeCall(f.jc, real))).toMatchObject({name: 'TermsMismatch'})
    await increaseTime(f.chain.provider, 11)

    const heldBefore = await escrow()
    const receipt: TransactionReceipt = await agreeAs(f, f.jc, real)
    // The stale negotiation ends as TimeoutAgree (squatter refunded), the new deal starts.
    expect(statesOf(f.controller, receipt, real.dealId)).toEqual([State.TimeoutAgree, State.DealNegotiating])
    expect(paymentsOf(f.controller, receipt, real.dealId)).toEqual([
      {payee: f.jc2.address, amount: LP(3), reason: Reason.PaymentCollateral, direction: Direction.Refunded},
      {payee: f.jc.address, amount: LP(2), reason: Reason.PaymentCollateral, direction: Direction.PaidIn},
      {payee: f.jc.address, amount: LP(1), reason: Reason.TimeoutCollateral, direction: Direction.PaidIn},
    ])
    const [squatterEnd] = await balances(f, [f.jc2.address])
    expect(squatterEnd).toBe(squatterStart)
    expect(await escrow()).toBe(heldBefore)
    await agreeAs(f, f.rp, real)
    expect(await f.controller.isState(real.dealId, State.DealAgreed)).toBe(true)
    expect((await f.controller.getDeal(real.dealId)).jobCreator).toBe(f.jc.address)
  })

  it('after the agree deadline the other party may still agree late to the same terms', async () => {
    const deal = newDeal(f)
    await agreeAs(f, f.jc, deal)
    await afterDeadline(f)
    // The lone party itself cannot restart with the same terms ...
    expect(await reverts(agreeCall(f.jc, deal))).toEqual({name: 'AlreadyAgreed', args: []})
    // ... while the other party's late agreement completes the deal.
    await agreeAs(f, f.rp, deal)
    expect(await f.controller.isState(deal.dealId, State.DealAgreed)).toBe(true)
  })

  it('no other terminal state frees the ID', async () => {
    const deal = newDeal(f)
    await driveTo(f, deal, 'agreed')
    await afterDeadline(f)
    await mined(as(f.controller, f.jc).timeoutSubmitResult(deal.dealId))
    expect(await reverts(agreeCall(f.jc, withJudge(deal, LP(2))))).toEqual({
      name: 'WrongState',
      args: [BigInt(State.TimeoutSubmitResults), BigInt(State.DealNegotiating)],
    })
  })
})
