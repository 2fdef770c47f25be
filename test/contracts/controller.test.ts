/**
 * Every transition of a deal (state, events, views) and every revert: wrong party, wrong state, too early,
 * not enough LP or allowance, invalid terms, double agree, mismatched terms.
 */
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {ContractFactory, MaxUint256, ZeroAddress, ZeroHash, dataSlice} from 'ethers'
import type {ContractTransactionResponse, Result, Wallet} from 'ethers'

import {
  Direction,
  LP,
  Reason,
  State,
  as,
  controllerLogs,
  dealKey,
  loadArtifact,
  mined,
  paymentsOf,
  revertOf,
  statesOf,
  CHECK_RESULT_OVERRIDES,
  plain,
} from '../helpers/contracts.js'
import type {DecodedRevert} from '../helpers/contracts.js'
import {afterDeadline, agreeAs, balances, driveTo, freshDealId, newDeal, setupFixture} from './fixture.js'
import type {Deal, Fixture} from './fixture.js'

let f: Fixture

beforeAll(async () => {
  f = await setupFixture()
})

afterAll(async () => {
  await f.chain.stop()
})

const reverts = (action: Promise<unknown>): Promise<DecodedRevert> => revertOf(action, f.errors)
const agreeCall = (who: Wallet, deal: Deal) =>
  as(f.controller, who).agree(deal.dealId, deal.members, deal.timeouts, deal.pricing)
const c = (who: Wallet) => as(f.controller, who)

describe('wiring', () => {
  it('the controller is storage, payments and mediation; it knows the token, registry and treasury', async () => {
    const {controller, token, users} = f.protocol.addresses
    expect(await f.controller.getStorageAddress()).toBe(controller)
    expect(await f.controller.getPaymentsAddress()).toBe(controller)
    expect(await f.controller.getMediationAddress()).toBe(controller)
    expect(await f.controller.getUsersAddress()).toBe(users)
    expect(await f.controller.getTokenAddress()).toBe(token)
    expect(await f.controller.treasury()).toBe(f.treasury.address)
  })

  it('refuses a zero token, registry or treasury at deployment', async () => {
    const artifact = loadArtifact('LilypadController')
    const factory = new ContractFactory(artifact.abi, artifact.bytecode, f.deployer)
    const {token, users} = f.protocol.addresses
    for (const args of [
      [ZeroAddress, users, f.treasury.address],
      [token, ZeroAddress, f.treasury.address],
      [token, users, ZeroAddress],
    ]) {
      expect(await reverts(factory.deploy(...args))).toEqual({name: 'ZeroAddress', args: []})
    }
  })
})

describe('transitions', () => {
  it('first agree: DealNegotiating, DealCreated with the ID in clear, the caller locked, a digest kept', async () => {
    const deal = newDeal(f)
    const receipt = await agreeAs(f, f.jc, deal)
    expect(statesOf(f.controller, receipt, deal.dealId)).toEqual([State.DealNegotiating])
    const created = controllerLogs(f.controller, receipt).find((l) => l.name === 'DealCreated')
    expect(created?.args.toArray()).toEqual([deal.dealId, f.jc.address, f.rp.address])
    expect(paymentsOf(f.controller, receipt, deal.dealId)).toEqual([
      {payee: f.jc.address, amount: LP(2), reason: Reason.PaymentCollateral, direction: Direction.PaidIn},
      {payee: f.jc.address, amount: LP(1), reason: Reason.TimeoutCollateral, direction: Direction.PaidIn},
    ])
    expect(await f.controller.hasDeal(deal.dealId)).toBe(true)
    expect(await f.controller.isState(deal.dealId, State.DealNegotiating)).toBe(true)
    const view = await f.controller.getDeal(deal.dealId)
    const hash = await f.controller.hashTerms(deal.dealId, deal.members, deal.timeouts, deal.pricing)
    expect(view.termsDigest).toBe(dataSlice(hash, 0, 25))
    // While negotiating, the job creator's word holds everything it locked (P + J); the split comes later.
    expect([
      view.jobCreator,
      view.resourceProvider,
      view.paymentCollateral,
      view.judgeResultsCollateral,
      view.mediators,
    ]).toEqual([f.jc.address, ZeroAddress, LP(3), 0n, []])
    const agreement = await f.controller.getAgreement(deal.dealId)
    const block = await f.chain.provider.getBlock(receipt.blockNumber)
    expect(plain(agreement)).toEqual({
      state: BigInt(State.DealNegotiating),
      jobCreatorAgreed: true,
      resourceProviderAgreed: false,
      deadline: BigInt((block?.timestamp ?? 0) + 3600),
      closedAt: 0n,
    })
    const result = await f.controller.getResult(deal.dealId)
    expect([result.instructionCount, result.resultsBlock]).toEqual([0n, 0n])
  })

  it('second agree (provider): DealAgreed, submit deadline, all stored terms visible', async () => {
    const deal = newDeal(f, {members: {mediators: [f.mediator.address, f.mediator2.address]}})
    await agreeAs(f, f.jc, deal)
    const receipt = await agreeAs(f, f.rp, deal)
    expect(statesOf(f.controller, receipt, deal.dealId)).toEqual([State.DealAgreed])
    expect(paymentsOf(f.controller, receipt, deal.dealId)).toEqual([
      {payee: f.rp.address, amount: LP(1), reason: Reason.TimeoutCollateral, direction: Direction.PaidIn},
    ])
    const view = await f.controller.getDeal(deal.dealId)
    expect((view as unknown as Result).toObject(true)).toEqual({
      dealId: deal.dealId,
      state: BigInt(State.DealAgreed),
      jobCreator: f.jc.address,
      resourceProvider: f.rp.address,
      mediators: [f.mediator.address, f.mediator2.address],
      instructionPrice: LP(1),
      paymentCollateral: LP(2),
      resultsCollateralMultiple: 2n,
      mediationFee: LP(1),
      submitResultsCollateral: LP(1),
      judgeResultsCollateral: LP(1),
      judgeResultsTimeout: 3600n,
      mediateResultsTimeout: 3600n,
      termsDigest: '0x' + '00'.repeat(25),
    })
    const block = await f.chain.provider.getBlock(receipt.blockNumber)
    const agreement = await f.controller.getAgreement(deal.dealId)
    expect([agreement.jobCreatorAgreed, agreement.resourceProviderAgreed]).toEqual([true, true])
    expect(agreement.deadline).toBe(BigInt((block?.timestamp ?? 0) + 3600))
    expect(await f.controller.getMediator(deal.dealId)).toBe(ZeroAddress)
  })

  it('the provider may agree first; the job creator then completes the deal', async () => {
    const deal = newDeal(f)
    const first = await agreeAs(f, f.rp, deal)
    expect(statesOf(f.controller, first, deal.dealId)).toEqual([State.DealNegotiating])
    const agreement = await f.controller.getAgreement(deal.dealId)
    expect([agreement.jobCreatorAgreed, agreement.resourceProviderAgreed]).toEqual([false, true])
    const second = await agreeAs(f, f.jc, deal)
    expect(statesOf(f.controller, second, deal.dealId)).toEqual([State.DealAgreed])
    expect((await f.controller.getDeal(deal.dealId)).jobCreator).toBe(f.jc.address)
  })

  it('addResult: ResultsSubmitted, the strings only in ResultAdded, which getResult points to', async () => {
    const deal = newDeal(f)
    await driveTo(f, deal, 'agreed')
    const dataId = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
    const receipt = await mined(as(f.controller, f.rp).addResult(deal.dealId, 'results-1', dataId, 1n))
    expect(statesOf(f.controller, receipt, deal.dealId)).toEqual([State.ResultsSubmitted])
    expect(paymentsOf(f.controller, receipt, deal.dealId)).toEqual([
      {payee: f.rp.address, amount: LP(2), reason: Reason.ResultsCollateral, direction: Direction.PaidIn},
      {payee: f.rp.address, amount: LP(1), reason: Reason.TimeoutCollateral, direction: Direction.Refunded},
    ])
    const result = await f.controller.getResult(deal.dealId)
    expect(plain(result)).toEqual({
      dealId: deal.dealId,
      instructionCount: 1n,
      jobCost: LP(1),
      resultsCollateral: LP(2),
      resultsBlock: BigInt(receipt.blockNumber),
    })
    // A client finds the strings with one log query: the ResultAdded events of that block.
    const logs = await f.controller.queryFilter(
      f.controller.getEvent('ResultAdded'),
      Number(result.resultsBlock),
      Number(result.resultsBlock),
    )
    const found = logs
      .map((log) => (log as unknown as {args: [string, string, string, bigint]}).args)
      .filter(([logDeal]) => logDeal === deal.dealId)
    expect(found).toEqual([[deal.dealId, 'results-1', dataId, 1n]])
  })

  it('an instruction count of 0 submits a free result (no results collateral, submit collateral back)', async () => {
    const deal = newDeal(f)
    await driveTo(f, deal, 'agreed')
    const [before] = await balances(f, [f.rp.address])
    await mined(as(f.controller, f.rp).addResult(deal.dealId, '', 'QmZero', 0n))
    const [after] = await balances(f, [f.rp.address])
    expect((after ?? 0n) - (before ?? 0n)).toBe(LP(1))
    expect((await f.controller.getResult(deal.dealId)).jobCost).toBe(0n)
  })

  it('checkResult: ResultsChecked, a mediator drawn from the deal, judge collateral back, fee locked', async () => {
    const mediators = [f.mediator.address, f.mediator2.address, f.stranger.address]
    const deal = newDeal(f, {members: {mediators}})
    await driveTo(f, deal, 'submitted')
    const receipt = await mined(as(f.controller, f.jc).checkResult(deal.dealId, CHECK_RESULT_OVERRIDES))
    expect(statesOf(f.controller, receipt, deal.dealId)).toEqual([State.ResultsChecked])
    const requested = controllerLogs(f.controller, receipt).find((l) => l.name === 'MediationRequested')
    const [dealId, drawn] = requested?.args.toArray() as [string, string]
    expect(dealId).toBe(deal.dealId)
    expect(mediators).toContain(drawn)
    expect(await f.controller.getMediator(deal.dealId)).toBe(drawn)
    expect(paymentsOf(f.controller, receipt, deal.dealId)).toEqual([
      {payee: f.jc.address, amount: LP(1), reason: Reason.TimeoutCollateral, direction: Direction.Refunded},
      {payee: f.jc.address, amount: LP(1), reason: Reason.MediationFee, direction: Direction.PaidIn},
    ])
    // Only the drawn mediator may rule.
    for (const other of mediators.filter((m) => m !== drawn)) {
      const wallet = [f.mediator, f.mediator2, f.stranger].find((w) => w.address === other)
      if (wallet === undefined) throw new Error('unknown mediator')
      expect(await reverts(as(f.controller, wallet).mediationAcceptResult(deal.dealId))).toEqual({
        name: 'NotMediator',
        args: [],
      })
    }
    const wallet = [f.mediator, f.mediator2, f.stranger].find((w) => w.address === drawn)
    if (wallet === undefined) throw new Error('unknown mediator')
    await mined(as(f.controller, wallet).mediationAcceptResult(deal.dealId))
    expect(await f.controller.isState(deal.dealId, State.MediationAccepted)).toBe(true)
    expect(await f.controller.getMediator(deal.dealId)).toBe(drawn)
  })

  it('the draw reaches every listed mediator; its gas differs by less than 10,000 between draws', async () => {
    const mediators = [f.mediator.address, f.mediator2.address]
    const gasByMediator = new Map<string, bigint>()
    for (let i = 0; i < 16 && gasByMediator.size < 2; i += 1) {
      const deal = newDeal(f, {members: {mediators}})
      await driveTo(f, deal, 'submitted')
      const receipt = await mined(c(f.jc).checkResult(deal.dealId, CHECK_RESULT_OVERRIDES))
      gasByMediator.set(await f.controller.getMediator(deal.dealId), receipt.gasUsed)
    }
    expect([...gasByMediator.keys()].sort()).toEqual([...mediators].sort())
    const [first, second] = [...gasByMediator.values()]
    const spread =
      (first ?? 0n) > (second ?? 0n) ? (first ?? 0n) - (second ?? 0n) : (second ?? 0n) - (first ?? 0n)
    expect(spread).toBeLessThan(10_000n)
  })

  it('a fee smaller than the judge collateral is netted: the job creator receives the difference', async () => {
    const deal = newDeal(f, {pricing: {mediationFee: LP('0.25')}})
    await driveTo(f, deal, 'submitted')
    const [before] = await balances(f, [f.jc.address])
    await mined(as(f.controller, f.jc).checkResult(deal.dealId, CHECK_RESULT_OVERRIDES))
    const [after] = await balances(f, [f.jc.address])
    expect((after ?? 0n) - (before ?? 0n)).toBe(LP('0.75'))
  })

  it('views answer for unknown deals without reverting where they return booleans', async () => {
    const unknown = freshDealId()
    expect(await f.controller.hasDeal(unknown)).toBe(false)
    expect(await f.controller.isState(unknown, State.DealNegotiating)).toBe(false)
    expect(await f.controller.getMediator(unknown)).toBe(ZeroAddress)
    const views = [
      () => f.controller.getDeal(unknown),
      () => f.controller.getAgreement(unknown),
      () => f.controller.getResult(unknown),
    ]
    for (const view of views) {
      expect(await reverts(view())).toEqual({name: 'UnknownDeal', args: []})
    }
  })
})

describe('reverts: parties', () => {
  it('agree by someone who is not in the deal', async () => {
    expect(await reverts(agreeCall(f.stranger, newDeal(f)))).toEqual({name: 'NotAParty', args: []})
    // The mediator and the solver are members, but not parties.
    expect(await reverts(agreeCall(f.mediator, newDeal(f)))).toEqual({name: 'NotAParty', args: []})
    expect(await reverts(agreeCall(f.solver, newDeal(f)))).toEqual({name: 'NotAParty', args: []})
  })

  it('each call checks its caller', async () => {
    const deal = newDeal(f)
    await driveTo(f, deal, 'agreed')
    expect(await reverts(c(f.jc).addResult(deal.dealId, '', 'Qm', 1n))).toEqual({
      name: 'NotResourceProvider',
      args: [],
    })
    expect(await reverts(c(f.stranger).addResult(deal.dealId, '', 'Qm', 1n))).toEqual({
      name: 'NotResourceProvider',
      args: [],
    })
    await mined(c(f.rp).addResult(deal.dealId, '', 'Qm', 1n))
    for (const w of [f.rp, f.mediator, f.stranger]) {
      expect(await reverts(c(w).acceptResult(deal.dealId))).toEqual({name: 'NotJobCreator', args: []})
      expect(await reverts(c(w).checkResult(deal.dealId))).toEqual({name: 'NotJobCreator', args: []})
    }
    await mined(c(f.jc).checkResult(deal.dealId, CHECK_RESULT_OVERRIDES))
    for (const w of [f.jc, f.rp, f.stranger]) {
      expect(await reverts(c(w).mediationAcceptResult(deal.dealId))).toEqual({name: 'NotMediator', args: []})
      expect(await reverts(c(w).mediationRejectResult(deal.dealId))).toEqual({name: 'NotMediator', args: []})
    }
  })

  it('each timeout belongs to the wronged party', async () => {
    const negotiating = newDeal(f)
    await agreeAs(f, f.jc, negotiating)
    const agreed = newDeal(f)
    await driveTo(f, agreed, 'agreed')
    const submitted = newDeal(f)
    await driveTo(f, submitted, 'submitted')
    const checked = newDeal(f)
    await driveTo(f, checked, 'checked')
    await afterDeadline(f)
    // timeoutAgree: only the party that agreed (the provider never did).
    for (const w of [f.rp, f.stranger, f.mediator]) {
      expect(await reverts(c(w).timeoutAgree(negotiating.dealId))).toEqual({name: 'NotAParty', args: []})
    }
    for (const w of [f.rp, f.stranger]) {
      expect(await reverts(c(w).timeoutSubmitResult(agreed.dealId))).toEqual({
        name: 'NotJobCreator',
        args: [],
      })
    }
    for (const w of [f.jc, f.stranger]) {
      expect(await reverts(c(w).timeoutJudgeResult(submitted.dealId))).toEqual({
        name: 'NotResourceProvider',
        args: [],
      })
    }
    for (const w of [f.mediator, f.stranger]) {
      expect(await reverts(c(w).timeoutMediateResult(checked.dealId))).toEqual({name: 'NotAParty', args: []})
    }
  })

  it('a provider that agreed alone is the one who may time the deal out', async () => {
    const deal = newDeal(f)
    await agreeAs(f, f.rp, deal)
    await afterDeadline(f)
    expect(await reverts(as(f.controller, f.jc).timeoutAgree(deal.dealId))).toEqual({
      name: 'NotAParty',
      args: [],
    })
    await mined(as(f.controller, f.rp).timeoutAgree(deal.dealId))
  })
})

describe('reverts: states', () => {
  it('every call names the state it found and the one it needs', async () => {
    const deal = newDeal(f)
    await agreeAs(f, f.jc, deal)
    const wrong = (current: number, expected: number) => ({
      name: 'WrongState',
      args: [BigInt(current), BigInt(expected)],
    })
    expect(await reverts(c(f.rp).addResult(deal.dealId, '', 'Qm', 1n))).toEqual(wrong(0, 1))
    expect(await reverts(c(f.jc).acceptResult(deal.dealId))).toEqual(wrong(0, 2))
    expect(await reverts(c(f.jc).timeoutSubmitResult(deal.dealId))).toEqual(wrong(0, 1))
    await agreeAs(f, f.rp, deal)
    expect(await reverts(agreeCall(f.jc, deal))).toEqual(wrong(1, 0))
    expect(await reverts(c(f.jc).acceptResult(deal.dealId))).toEqual(wrong(1, 2))
    expect(await reverts(c(f.jc).checkResult(deal.dealId))).toEqual(wrong(1, 2))
    expect(await reverts(c(f.mediator).mediationAcceptResult(deal.dealId))).toEqual(wrong(1, 4))
    expect(await reverts(c(f.jc).timeoutAgree(deal.dealId))).toEqual(wrong(1, 0))
    expect(await reverts(c(f.rp).timeoutJudgeResult(deal.dealId))).toEqual(wrong(1, 2))
    expect(await reverts(c(f.jc).timeoutMediateResult(deal.dealId))).toEqual(wrong(1, 4))
    await mined(c(f.rp).addResult(deal.dealId, '', 'Qm', 1n))
    expect(await reverts(c(f.rp).addResult(deal.dealId, '', 'Qm', 1n))).toEqual(wrong(2, 1))
    await mined(c(f.jc).acceptResult(deal.dealId))
    expect(await reverts(c(f.jc).acceptResult(deal.dealId))).toEqual(wrong(3, 2))
    expect(await reverts(c(f.jc).checkResult(deal.dealId))).toEqual(wrong(3, 2))
    expect(await reverts(agreeCall(f.rp, deal))).toEqual(wrong(3, 0))
  })

  it('a terminal deal stays terminal: no timeout or ruling reopens it', async () => {
    const deal = newDeal(f)
    await driveTo(f, deal, 'checked')
    await mined(c(f.mediator).mediationRejectResult(deal.dealId))
    await afterDeadline(f)
    const wrong = {name: 'WrongState', args: [BigInt(State.MediationRejected), BigInt(State.ResultsChecked)]}
    expect(await reverts(c(f.mediator).mediationAcceptResult(deal.dealId))).toEqual(wrong)
    expect(await reverts(c(f.jc).timeoutMediateResult(deal.dealId))).toEqual(wrong)
  })

  it('calls on a deal nobody agreed to', async () => {
    const unknown = freshDealId()
    const calls = [
      () => c(f.rp).addResult(unknown, '', 'Qm', 1n),
      () => c(f.jc).acceptResult(unknown),
      () => c(f.jc).checkResult(unknown),
      () => c(f.mediator).mediationAcceptResult(unknown),
      () => c(f.mediator).mediationRejectResult(unknown),
      () => c(f.jc).timeoutAgree(unknown),
      () => c(f.jc).timeoutSubmitResult(unknown),
      () => c(f.rp).timeoutJudgeResult(unknown),
      () => c(f.jc).timeoutMediateResult(unknown),
    ]
    for (const call of calls) {
      expect(await reverts(call())).toEqual({name: 'UnknownDeal', args: []})
    }
  })
})

describe('reverts: deadlines', () => {
  it('no timeout before its deadline; one second after it works', async () => {
    const provider = f.chain.provider
    const cases: [
      Deal,
      'negotiating' | 'agreed' | 'submitted' | 'checked',
      () => Promise<ContractTransactionResponse>,
    ][] = []
    const negotiating = newDeal(f)
    cases.push([negotiating, 'negotiating', () => c(f.jc).timeoutAgree(negotiating.dealId)])
    const agreed = newDeal(f)
    cases.push([agreed, 'agreed', () => c(f.jc).timeoutSubmitResult(agreed.dealId)])
    const submitted = newDeal(f)
    cases.push([submitted, 'submitted', () => c(f.rp).timeoutJudgeResult(submitted.dealId)])
    const checked = newDeal(f)
    cases.push([checked, 'checked', () => c(f.jc).timeoutMediateResult(checked.dealId)])
    for (const [deal, stage, claim] of cases) {
      await driveTo(f, deal, stage)
      const {deadline} = await f.controller.getAgreement(deal.dealId)
      expect(await reverts(claim())).toEqual({name: 'TooEarly', args: [deadline]})
      // At exactly the deadline it is still too early.
      await provider.send('evm_setNextBlockTimestamp', [Number(deadline)])
      await provider.send('evm_mine', [])
      expect(await reverts(claim())).toEqual({name: 'TooEarly', args: [deadline]})
      await provider.send('evm_setNextBlockTimestamp', [Number(deadline) + 1])
      const receipt = await mined(claim())
      expect(statesOf(f.controller, receipt, deal.dealId)).toHaveLength(1)
    }
  })

  it('each waiting step gets its own timeout from the terms', async () => {
    const deal = newDeal(f, {
      timeouts: {
        agree: {timeout: 100n, collateral: 0n},
        submitResults: {timeout: 200n, collateral: LP(1)},
        judgeResults: {timeout: 300n, collateral: LP(1)},
        mediateResults: {timeout: 400n, collateral: 0n},
      },
    })
    const stamps: bigint[] = []
    const deadlines: bigint[] = []
    const step = async (receipt: Promise<{blockNumber: number}>) => {
      const {blockNumber} = await receipt
      stamps.push(BigInt((await f.chain.provider.getBlock(blockNumber))?.timestamp ?? 0))
      deadlines.push((await f.controller.getAgreement(deal.dealId)).deadline)
    }
    await step(agreeAs(f, f.jc, deal))
    await step(agreeAs(f, f.rp, deal))
    await step(mined(as(f.controller, f.rp).addResult(deal.dealId, '', 'Qm', 1n)))
    await step(mined(as(f.controller, f.jc).checkResult(deal.dealId, CHECK_RESULT_OVERRIDES)))
    expect(deadlines.map((d, i) => d - (stamps[i] ?? 0n))).toEqual([100n, 200n, 300n, 400n])
  })

  it('acting late is allowed until the other party claims the timeout', async () => {
    const deal = newDeal(f)
    await driveTo(f, deal, 'agreed')
    await afterDeadline(f)
    await mined(as(f.controller, f.rp).addResult(deal.dealId, '', 'QmLate', 1n))
    expect(await f.controller.isState(deal.dealId, State.ResultsSubmitted)).toBe(true)
  })
})

describe('reverts: money', () => {
  it('agree without enough allowance or balance bubbles the token error', async () => {
    const deal = newDeal(f, {members: {jobCreator: f.stranger.address}})
    const spender = f.protocol.addresses.controller
    await mined(as(f.token, f.stranger).approve(spender, LP(2)))
    expect(await reverts(agreeCall(f.stranger, deal))).toEqual({
      name: 'ERC20InsufficientAllowance',
      args: [spender, LP(2), LP(3)],
    })
    const rich = newDeal(f, {
      members: {jobCreator: f.stranger.address},
      pricing: {paymentCollateral: LP(5000)},
    })
    await mined(as(f.token, f.stranger).approve(spender, MaxUint256))
    expect(await reverts(agreeCall(f.stranger, rich))).toEqual({
      name: 'ERC20InsufficientBalance',
      args: [f.stranger.address, await f.token.balanceOf(f.stranger.address), LP(5001)],
    })
    await mined(as(f.token, f.stranger).approve(spender, 0n))
    expect(await f.controller.hasDeal(deal.dealId)).toBe(false)
  })

  it('addResult without allowance for the results collateral', async () => {
    const deal = newDeal(f, {members: {resourceProvider: f.stranger.address}})
    const spender = f.protocol.addresses.controller
    await mined(as(f.token, f.stranger).approve(spender, LP(1)))
    await agreeAs(f, f.jc, deal)
    await agreeAs(f, f.stranger, deal)
    expect(await reverts(as(f.controller, f.stranger).addResult(deal.dealId, '', 'Qm', 1n))).toEqual({
      name: 'ERC20InsufficientAllowance',
      args: [spender, 0n, LP(1)],
    })
  })

  it('an instruction count above 56 bits', async () => {
    const deal = newDeal(f)
    await driveTo(f, deal, 'agreed')
    expect(await reverts(as(f.controller, f.rp).addResult(deal.dealId, '', 'Qm', 2n ** 56n))).toEqual({
      name: 'InstructionCountTooLarge',
      args: [],
    })
  })
})

describe('reverts: terms', () => {
  const invalid = (reason: number) => ({name: 'InvalidTerms', args: [BigInt(reason)]})
  const cases: [string, number, (f: Fixture) => Deal][] = [
    ['empty deal ID', 1, (f) => ({...newDeal(f), dealId: ''})],
    ['zero provider', 2, (f) => newDeal(f, {members: {resourceProvider: ZeroAddress}})],
    ['job creator = provider', 3, (f) => newDeal(f, {members: {resourceProvider: f.jc.address}})],
    ['no mediator', 4, (f) => newDeal(f, {members: {mediators: []}})],
    [
      '17 mediators',
      4,
      (f) => newDeal(f, {members: {mediators: Array<string>(17).fill(f.mediator.address)}}),
    ],
    ['zero mediator', 5, (f) => newDeal(f, {members: {mediators: [f.mediator.address, ZeroAddress]}})],
    ['mediator = job creator', 5, (f) => newDeal(f, {members: {mediators: [f.jc.address]}})],
    ['mediator = provider', 5, (f) => newDeal(f, {members: {mediators: [f.rp.address]}})],
    ['agree collateral', 6, (f) => newDeal(f, {timeouts: {agree: {timeout: 3600n, collateral: 1n}}})],
    [
      'mediate collateral',
      6,
      (f) => newDeal(f, {timeouts: {mediateResults: {timeout: 3600n, collateral: 1n}}}),
    ],
    ['zero timeout', 7, (f) => newDeal(f, {timeouts: {submitResults: {timeout: 0n, collateral: 1n}}})],
    [
      'timeout above 32 bits',
      7,
      (f) => newDeal(f, {timeouts: {judgeResults: {timeout: 2n ** 32n, collateral: 1n}}}),
    ],
    ['price above 96 bits', 8, (f) => newDeal(f, {pricing: {instructionPrice: 2n ** 96n}})],
    ['payment collateral above 96 bits', 8, (f) => newDeal(f, {pricing: {paymentCollateral: 2n ** 96n}})],
    ['fee above 96 bits', 8, (f) => newDeal(f, {pricing: {mediationFee: 2n ** 96n}})],
    ['multiple above 32 bits', 8, (f) => newDeal(f, {pricing: {resultsCollateralMultiple: 2n ** 32n}})],
    [
      'judge collateral above 96 bits',
      8,
      (f) => newDeal(f, {timeouts: {judgeResults: {timeout: 1n, collateral: 2n ** 96n}}}),
    ],
    [
      'payment + judge collateral above 96 bits',
      8,
      (f) =>
        newDeal(f, {
          pricing: {paymentCollateral: 2n ** 95n},
          timeouts: {judgeResults: {timeout: 1n, collateral: 2n ** 95n}},
        }),
    ],
    [
      'a huge judge collateral that would wrap the sum',
      8,
      (f) =>
        newDeal(f, {
          pricing: {paymentCollateral: 1n},
          timeouts: {judgeResults: {timeout: 1n, collateral: 2n ** 256n - 1n}},
        }),
    ],
    [
      'agree timeout above 7 days',
      9,
      (f) => newDeal(f, {timeouts: {agree: {timeout: 7n * 24n * 3600n + 1n, collateral: 0n}}}),
    ],
  ]

  it.each(cases)('%s → InvalidTerms(%d)', async (_name, reason, make) => {
    expect(await reverts(agreeCall(f.jc, make(f)))).toEqual(invalid(reason))
  })

  it('the largest accepted values pass validation (and then fail only for lack of LP)', async () => {
    const deal = newDeal(f, {
      pricing: {
        instructionPrice: 2n ** 96n - 1n,
        resultsCollateralMultiple: 2n ** 32n - 1n,
        mediationFee: 2n ** 96n - 1n,
        paymentCollateral: 2n ** 96n - 1n - LP(1),
      },
      timeouts: {
        agree: {timeout: 7n * 24n * 3600n, collateral: 0n},
        submitResults: {timeout: 2n ** 32n - 1n, collateral: LP(1)},
        judgeResults: {timeout: 2n ** 32n - 1n, collateral: LP(1)},
        mediateResults: {timeout: 2n ** 32n - 1n, collateral: 0n},
      },
      members: {mediators: Array<string>(16).fill(f.mediator.address)},
    })
    expect(await f.controller.MAX_AGREE_TIMEOUT()).toBe(7n * 24n * 3600n)
    await agreeAs(f, f.rp, deal)
    expect(await f.controller.isState(deal.dealId, State.DealNegotiating)).toBe(true)
    // The job creator's payment + judge collateral (exactly 2^96 - 1) passes validation too.
    expect(await reverts(agreeCall(f.jc, deal))).toEqual({
      name: 'ERC20InsufficientBalance',
      args: [f.jc.address, await f.token.balanceOf(f.jc.address), 2n ** 96n - 1n],
    })
  })

  it('agreeing twice as the same party', async () => {
    const deal = newDeal(f)
    await agreeAs(f, f.jc, deal)
    expect(await reverts(agreeCall(f.jc, deal))).toEqual({name: 'AlreadyAgreed', args: []})
  })

  it('the second agreement must carry the same terms (each field matters)', async () => {
    const base = newDeal(f)
    await agreeAs(f, f.jc, base)
    const agreedHash = await f.controller.hashTerms(base.dealId, base.members, base.timeouts, base.pricing)
    const variants: Deal[] = [
      {...base, members: {...base.members, solver: f.stranger.address}},
      {...base, members: {...base.members, mediators: [f.mediator2.address]}},
      {...base, members: {...base.members, mediators: [f.mediator.address, f.mediator2.address]}},
      {...base, timeouts: {...base.timeouts, agree: {timeout: 3601n, collateral: 0n}}},
      {...base, timeouts: {...base.timeouts, submitResults: {timeout: 3600n, collateral: LP(2)}}},
      {...base, pricing: {...base.pricing, instructionPrice: LP(2)}},
      {...base, pricing: {...base.pricing, resultsCollateralMultiple: 3n}},
      {...base, pricing: {...base.pricing, mediationFee: 0n}},
    ]
    for (const variant of variants) {
      const offered = await f.controller.hashTerms(
        variant.dealId,
        variant.members,
        variant.timeouts,
        variant.pricing,
      )
      expect(offered).not.toBe(agreedHash)
      expect(await reverts(agreeCall(f.rp, variant))).toEqual({
        name: 'TermsMismatch',
        args: [dataSlice(agreedHash, 0, 25), dataSlice(offered, 0, 25)],
      })
    }
    // The same terms still complete the deal afterwards.
    await agreeAs(f, f.rp, base)
    expect(await f.controller.isState(base.dealId, State.DealAgreed)).toBe(true)
  })

  it('deals are keyed by ID: the same terms under another ID are another deal', async () => {
    const a = newDeal(f)
    const b = {...a, dealId: freshDealId()}
    await agreeAs(f, f.jc, a)
    await agreeAs(f, f.rp, b)
    expect(await f.controller.isState(a.dealId, State.DealNegotiating)).toBe(true)
    expect(await f.controller.isState(b.dealId, State.DealNegotiating)).toBe(true)
    expect(dealKey(a.dealId)).not.toBe(dealKey(b.dealId))
    expect(dealKey(a.dealId)).not.toBe(ZeroHash)
  })
})
