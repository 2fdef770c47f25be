/**
 * The solver in the classic `onchain` protocol on a real anvil chain: it registers its URL, deals
 * start in DealNegotiating with timeouts, and from the parties' `agree` transactions on, the
 * controller's events decide every state (agree, result, acceptance, mediation both ways, a timeout).
 * The parties' transactions are sent from the test with ethers, with terms derived here from the
 * deal JSON.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {MaxUint256, type Wallet, parseEther} from 'ethers'

import type {DealContainer, DealTimeouts, Result} from '../../../../src/core/solver/types.js'
import {startSolver} from '../../../../src/devnet/solver/index.js'
import {type Anvil, increaseTime, startAnvil} from '../../../helpers/anvil.js'
import {CHECK_RESULT_OVERRIDES, type Protocol, as, deployProtocol, mined} from '../../../helpers/contracts.js'
import {EventStream, api, jobOfferBody, resourceOfferBody} from '../../../helpers/solver-raw.js'

const DEAL_TIMEOUTS: DealTimeouts = {
  agree: {timeout: 60, collateral: 0},
  submit_results: {timeout: 600, collateral: 1},
  judge_results: {timeout: 600, collateral: 1},
  mediate_results: {timeout: 600, collateral: 0},
}

let anvil: Anvil
let protocol: Protocol
let deployer: Wallet, solverWallet: Wallet, mediator: Wallet, rp: Wallet, jc: Wallet
let dataDir: string
let base: string
let stop: () => Promise<void>
let events: EventStream

beforeAll(async () => {
  anvil = await startAnvil()
  ;[deployer, , solverWallet, mediator, rp, jc] = anvil.accounts as [
    Wallet,
    Wallet,
    Wallet,
    Wallet,
    Wallet,
    Wallet,
  ]
  protocol = await deployProtocol(deployer, anvil.accounts[9]!.address)
  for (const party of [jc, rp]) {
    await mined(protocol.token.transfer(party.address, parseEther('1000')))
    await mined(as(protocol.token, party).approve(protocol.addresses.controller, MaxUint256))
  }
  dataDir = await mkdtemp(join(tmpdir(), 'solver-onchain-'))
  await start()
})

async function start(): Promise<void> {
  const solver = await startSolver({
    dataDir,
    protocol: 'onchain',
    solverAddress: solverWallet.address,
    chain: {
      rpcUrl: anvil.url,
      chainId: 31337,
      controller: protocol.addresses.controller,
      users: protocol.addresses.users,
      privateKey: solverWallet.privateKey,
      pollIntervalMs: 20,
    },
    dealTimeouts: DEAL_TIMEOUTS,
    timeouts: {matchSeconds: 2},
  })
  base = solver.url
  stop = () => solver.stop()
  events = await EventStream.open(base)
}

afterAll(async () => {
  events.close()
  await stop()
  await anvil.stop()
  await rm(dataDir, {recursive: true, force: true})
})

const services = (): {solver: string; mediators: string[]} => ({
  solver: solverWallet.address,
  mediators: [mediator.address],
})

/** `agree`'s arguments from the deal JSON: whole LP × 1e18 except the multiple. */
function termsOf(container: DealContainer) {
  const deal = container.deal
  const wei = (lp: number): bigint => BigInt(lp) * 10n ** 18n
  const step = (t: {timeout: number; collateral: number}) => ({
    timeout: BigInt(t.timeout),
    collateral: wei(t.collateral),
  })
  const timeouts = deal.timeouts!
  return [
    deal.id,
    {
      solver: deal.members.solver,
      jobCreator: deal.members.job_creator,
      resourceProvider: deal.members.resource_provider,
      mediators: deal.members.mediators ?? [],
    },
    {
      agree: step(timeouts.agree),
      submitResults: step(timeouts.submit_results),
      judgeResults: step(timeouts.judge_results),
      mediateResults: step(timeouts.mediate_results),
    },
    {
      instructionPrice: wei(deal.pricing.instruction_price),
      paymentCollateral: wei(deal.pricing.payment_collateral),
      resultsCollateralMultiple: BigInt(deal.pricing.results_collateral_multiple),
      mediationFee: wei(deal.pricing.mediation_fee),
    },
  ] as const
}

async function newDeal(): Promise<DealContainer> {
  await api(base, 'POST', '/resource_offers', {party: rp, body: resourceOfferBody(rp.address, services())})
  const job = (
    await api(base, 'POST', '/job_offers', {party: jc, body: jobOfferBody(jc.address, services())})
  ).json() as {
    deal_id: string
  }
  return (await api(base, 'GET', `/deals/${job.deal_id}`)).json() as DealContainer
}

async function dealState(dealId: string, state: number, from = 0): Promise<DealContainer> {
  await events.waitFor(
    (e) => e.event_type === 'DealStateUpdated' && e.deal?.id === dealId && e.deal.state === state,
    from,
  )
  return (await api(base, 'GET', `/deals/${dealId}`)).json() as DealContainer
}

async function agreeBoth(deal: DealContainer): Promise<void> {
  await mined(as(protocol.controller, jc).agree(...termsOf(deal)))
  await mined(as(protocol.controller, rp).agree(...termsOf(deal)))
  await dealState(deal.id, 1)
}

describe('the onchain protocol', () => {
  it('registers the solver URL in LilypadUsers', async () => {
    const user = await protocol.users.getUser(solverWallet.address)
    expect(user.url).toBe(base)
    expect(await protocol.users.showUsersInList(0)).toContain(solverWallet.address)
  })

  it('creates deals in DealNegotiating with timeouts, agreed only once both agree transactions are mined', async () => {
    const deal = await newDeal()
    expect(deal.state).toBe(0)
    expect(deal.deal.timeouts).toEqual(DEAL_TIMEOUTS)

    const from = events.events.length
    const jcAgree = await mined(as(protocol.controller, jc).agree(...termsOf(deal)))
    const negotiating = await dealState(deal.id, 0, from)
    expect(negotiating.state).toBe(0)
    const reported = await api(base, 'POST', `/deals/${deal.id}/txs/job_creator`, {
      party: jc,
      body: {agree: jcAgree.hash},
    })
    expect((reported.json() as DealContainer).transactions.job_creator.agree).toBe(jcAgree.hash)

    await mined(as(protocol.controller, rp).agree(...termsOf(deal)))
    const agreed = await dealState(deal.id, 1, from)
    expect(agreed.state).toBe(1)
    const job = (await api(base, 'GET', `/job_offers/${deal.job_offer}`)).json() as {state: number}
    expect(job.state).toBe(1)

    await mined(as(protocol.controller, rp).addResult(deal.id, '', 'QmResultOnChain', 1n))
    await dealState(deal.id, 2, from)
    const result = (await api(base, 'GET', `/deals/${deal.id}/result`)).json() as Result
    expect(result.data_id).toBe('QmResultOnChain')

    // Acceptance is the chain's: an HTTP accept_result is recorded but does not move the deal.
    const posted = await api(base, 'POST', `/deals/${deal.id}/txs/job_creator`, {
      party: jc,
      body: {accept_result: '0x01'},
    })
    expect((posted.json() as DealContainer).state).toBe(2)
    await mined(as(protocol.controller, jc).acceptResult(deal.id))
    const accepted = await dealState(deal.id, 3, from)
    expect(accepted.transactions.job_creator.accept_result).toBe('0x01')
  })

  it.each([
    ['accepts', 5],
    ['rejects', 6],
  ] as const)('follows a dispute the mediator %s', async (ruling, state) => {
    const deal = await newDeal()
    await agreeBoth(deal)
    await mined(as(protocol.controller, rp).addResult(deal.id, '', 'QmDisputed', 1n))
    await dealState(deal.id, 2)
    const from = events.events.length
    await mined(as(protocol.controller, jc).checkResult(deal.id, CHECK_RESULT_OVERRIDES))
    await dealState(deal.id, 4, from)
    const drawn = await events.waitFor(
      (e) => e.event_type === 'DealMediatorUpdated' && e.deal?.id === deal.id,
      from,
    )
    expect(drawn.deal?.mediator).toBe(mediator.address)
    const reported = await api(base, 'POST', `/deals/${deal.id}/txs/mediator`, {
      party: mediator,
      body: {[ruling === 'accepts' ? 'mediation_accept_result' : 'mediation_reject_result']: '0x02'},
    })
    expect(reported.status).toBe(200)
    if (ruling === 'accepts') await mined(as(protocol.controller, mediator).mediationAcceptResult(deal.id))
    else await mined(as(protocol.controller, mediator).mediationRejectResult(deal.id))
    const ended = await dealState(deal.id, state, from)
    expect(ended.mediator).toBe(mediator.address)
    const offer = (await api(base, 'GET', `/resource_offers?resource_provider=${rp.address}`)).json() as {
      id: string
      state: number
    }[]
    expect(offer.find((o) => o.id === deal.resource_offer)?.state).toBe(state)
  })

  it('maps the chain TimeoutAgree to state 17 on the deal and both offers', async () => {
    const deal = await newDeal()
    await mined(as(protocol.controller, jc).agree(...termsOf(deal)))
    await dealState(deal.id, 0)
    await increaseTime(anvil.provider, DEAL_TIMEOUTS.agree.timeout + 1)
    await mined(as(protocol.controller, jc).timeoutAgree(deal.id))
    const timedOut = await dealState(deal.id, 17)
    expect(timedOut.state).toBe(17)
    const job = (await api(base, 'GET', `/job_offers/${deal.job_offer}`)).json() as {state: number}
    expect(job.state).toBe(17)
    const upload = await api(base, 'POST', `/deals/${deal.id}/result`, {party: rp, body: {data_id: 'QmLate'}})
    expect(upload.text).toBe(`job with deal ID ${deal.id} timed out with a TimeoutAgree state\n`)
  })

  it('ends a deal nobody agreed to as TimeoutMatch, but not one already on chain', async () => {
    const ignored = await newDeal()
    const agreed = await newDeal()
    await mined(as(protocol.controller, jc).agree(...termsOf(agreed)))
    const timedOut = await dealState(ignored.id, 14)
    expect(timedOut.state).toBe(14)
    expect(
      ((await api(base, 'GET', `/job_offers/${ignored.job_offer}`)).json() as {state: number}).state,
    ).toBe(14)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(((await api(base, 'GET', `/deals/${agreed.id}`)).json() as DealContainer).state).toBe(0)
  })

  it('resumes from its chain cursor after a restart and applies the events it missed', async () => {
    const deal = await newDeal()
    await agreeBoth(deal)
    await mined(as(protocol.controller, rp).addResult(deal.id, '', 'QmWhileDown', 1n))
    await dealState(deal.id, 2)
    events.close()
    await stop()
    await mined(as(protocol.controller, jc).acceptResult(deal.id))
    await start()
    const deadline = Date.now() + 10_000
    let state = -1
    while (state !== 3 && Date.now() < deadline) {
      state = ((await api(base, 'GET', `/deals/${deal.id}`)).json() as DealContainer).state
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(state).toBe(3)
    expect((await protocol.users.getUser(solverWallet.address)).url).toBe(base)
  })
})
