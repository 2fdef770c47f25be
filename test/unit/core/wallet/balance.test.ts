/**
 * `accountBalance` on anvil with the real controller: the LP it reports locked in each open deal is
 * what the escrow holds for that party at each stage (contracts/README.md's escrow table), with terms
 * where every collateral differs so no stage can pass by coincidence.
 */
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {type ChainClient, createChainClient} from '../../../../src/core/chain/client.js'
import {accountBalance} from '../../../../src/core/wallet/index.js'
import {LP} from '../../../helpers/contracts.js'
import {type Fixture, type Stage, driveTo, newDeal, setupFixture} from '../../../contracts/fixture.js'

// P 10, J 7, S 5, F 4, price 3 × 1 instruction × multiple 2: R 6.
const terms = {
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

let f: Fixture
let client: ChainClient
const dealAt: Partial<Record<Stage, string>> = {}

beforeAll(async () => {
  f = await setupFixture()
  client = createChainClient({
    rpcUrl: f.chain.url,
    chainId: Number((await f.chain.provider.getNetwork()).chainId),
  })
  for (const stage of ['negotiating', 'agreed', 'submitted', 'checked'] as const) {
    const deal = newDeal(f, terms)
    await driveTo(f, deal, stage)
    dealAt[stage] = deal.dealId
  }
}, 120_000)

afterAll(async () => {
  client.destroy()
  await f.chain.stop()
})

async function lockedBy(address: string): Promise<{byStage: Record<string, bigint>; total: bigint}> {
  const balance = await accountBalance(
    client,
    {
      name: 'anvil',
      contracts: {token: f.protocol.addresses.token, controller: f.protocol.addresses.controller},
    },
    address,
  )
  const byStage: Record<string, bigint> = {}
  for (const [stage, dealId] of Object.entries(dealAt)) {
    const found = balance.deals.find((d) => d.dealId === dealId)
    if (found !== undefined) byStage[stage] = found.amount
  }
  return {byStage, total: balance.locked}
}

describe('locked LP by stage', () => {
  it('the job creator holds P + J until it asks for mediation, then P + F', async () => {
    const {byStage, total} = await lockedBy(f.jc.address)
    expect(byStage).toEqual({negotiating: LP(17), agreed: LP(17), submitted: LP(17), checked: LP(14)})
    expect(total).toBe(LP(17 + 17 + 17 + 14))
  })

  it('the provider holds S until its result, then the results collateral R', async () => {
    const {byStage, total} = await lockedBy(f.rp.address)
    expect(byStage).toEqual({agreed: LP(5), submitted: LP(6), checked: LP(6)})
    expect(total).toBe(LP(5 + 6 + 6))
  })

  it('the sum over both parties is what the controller holds', async () => {
    const [jc, rp] = await Promise.all([lockedBy(f.jc.address), lockedBy(f.rp.address)])
    expect(jc.total + rp.total).toBe(await f.token.balanceOf(f.protocol.addresses.controller))
  })
})
