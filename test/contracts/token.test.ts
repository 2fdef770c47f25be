/**
 * The LP token (ERC-20 + EIP-2612) and `agreeWithPermit`: one transaction for a first deal, and the
 * failure modes of a permit (expired, wrong signer, wrong value, replayed, front-run, too small).
 */
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet} from 'ethers'

import {LP, State, as, mined, revertOf, signPermit} from '../helpers/contracts.js'
import type {DecodedRevert, Permit} from '../helpers/contracts.js'
import {FUNDING, newDeal, setupFixture} from './fixture.js'
import type {Deal, Fixture} from './fixture.js'

let f: Fixture
let spender: string

beforeAll(async () => {
  f = await setupFixture()
  spender = f.protocol.addresses.controller
})

afterAll(async () => {
  await f.chain.stop()
})

const reverts = (action: Promise<unknown>): Promise<DecodedRevert> => revertOf(action, f.errors)

/** A job creator with LP but no allowance at all (fresh key, funded here). */
async function freshJobCreator(): Promise<Wallet> {
  const wallet = new Wallet(Wallet.createRandom().privateKey, f.chain.provider)
  await f.chain.provider.send('anvil_setBalance', [wallet.address, '0xde0b6b3a7640000'])
  await mined(f.token.transfer(wallet.address, LP(10)))
  return wallet
}

async function latest(): Promise<bigint> {
  return BigInt((await f.chain.provider.getBlock('latest'))?.timestamp ?? 0)
}

const agreeWithPermit = (who: Wallet, deal: Deal, permit: Permit) =>
  as(f.controller, who).agreeWithPermit(deal.dealId, deal.members, deal.timeouts, deal.pricing, permit)

describe('LilypadToken', () => {
  it('is "Lilypad Token" (LP), 18 decimals, 1,000,000,000 LP minted to the deployer', async () => {
    expect(await f.token.name()).toBe('Lilypad Token')
    expect(await f.token.symbol()).toBe('LP')
    expect(await f.token.decimals()).toBe(18n)
    expect(await f.token.totalSupply()).toBe(LP(1_000_000_000))
    // The fixture handed 8 actors FUNDING each out of the deployer's supply.
    expect(await f.token.balanceOf(f.deployer.address)).toBe(LP(1_000_000_000) - 8n * FUNDING)
  })

  it('a plain permit sets the allowance and bumps the nonce', async () => {
    const owner = await freshJobCreator()
    const permit = await signPermit(f.token, owner, spender, LP(4), (await latest()) + 600n)
    await mined(
      f.token.permit(owner.address, spender, permit.value, permit.deadline, permit.v, permit.r, permit.s),
    )
    expect(await f.token.allowance(owner.address, spender)).toBe(LP(4))
    expect(await f.token.nonces(owner.address)).toBe(1n)
  })
})

describe('agreeWithPermit', () => {
  it('lets a job creator that never approved agree in one transaction', async () => {
    const jc = await freshJobCreator()
    const deal = newDeal(f, {members: {jobCreator: jc.address}})
    const permit = await signPermit(f.token, jc, spender, LP(3), (await latest()) + 600n)
    await mined(agreeWithPermit(jc, deal, permit))
    expect(await f.controller.isState(deal.dealId, State.DealNegotiating)).toBe(true)
    expect(await f.token.balanceOf(jc.address)).toBe(LP(7))
    expect(await f.token.allowance(jc.address, spender)).toBe(0n)
    expect(await f.token.nonces(jc.address)).toBe(1n)
  })

  it('a permit larger than the deal leaves the rest of the allowance for later calls', async () => {
    const jc = await freshJobCreator()
    const deal = newDeal(f, {members: {jobCreator: jc.address}})
    const permit = await signPermit(f.token, jc, spender, LP(5), (await latest()) + 600n)
    await mined(agreeWithPermit(jc, deal, permit))
    expect(await f.token.allowance(jc.address, spender)).toBe(LP(2))
  })

  it('the provider can use it too', async () => {
    const rp = await freshJobCreator()
    const deal = newDeal(f, {members: {resourceProvider: rp.address}})
    await mined(as(f.controller, f.jc).agree(deal.dealId, deal.members, deal.timeouts, deal.pricing))
    const permit = await signPermit(f.token, rp, spender, LP(2), (await latest()) + 600n)
    await mined(agreeWithPermit(rp, deal, permit))
    expect(await f.controller.isState(deal.dealId, State.DealAgreed)).toBe(true)
    await mined(as(f.controller, rp).addResult(deal.dealId, '', 'QmPermit', 1n))
    expect(await f.token.allowance(rp.address, spender)).toBe(0n)
  })

  it('an expired permit reverts with the token error and moves nothing', async () => {
    const jc = await freshJobCreator()
    const deal = newDeal(f, {members: {jobCreator: jc.address}})
    const deadline = (await latest()) - 1n
    const permit = await signPermit(f.token, jc, spender, LP(3), deadline)
    expect(await reverts(agreeWithPermit(jc, deal, permit))).toEqual({
      name: 'ERC2612ExpiredSignature',
      args: [deadline],
    })
    expect(await f.controller.hasDeal(deal.dealId)).toBe(false)
    expect(await f.token.balanceOf(jc.address)).toBe(LP(10))
  })

  it('a permit signed by another key reverts with ERC2612InvalidSigner', async () => {
    const jc = await freshJobCreator()
    const deal = newDeal(f, {members: {jobCreator: jc.address}})
    const permit = await signPermit(f.token, jc, spender, LP(3), (await latest()) + 600n, f.stranger)
    const decoded = await reverts(agreeWithPermit(jc, deal, permit))
    expect(decoded).toEqual({name: 'ERC2612InvalidSigner', args: [f.stranger.address, jc.address]})
  })

  it('a permit whose value was changed after signing does not verify', async () => {
    const jc = await freshJobCreator()
    const deal = newDeal(f, {members: {jobCreator: jc.address}})
    const permit = await signPermit(f.token, jc, spender, LP(3), (await latest()) + 600n)
    const decoded = await reverts(agreeWithPermit(jc, deal, {...permit, value: LP(9)}))
    expect(decoded.name).toBe('ERC2612InvalidSigner')
    expect(decoded.args[1]).toBe(jc.address)
    expect(decoded.args[0]).not.toBe(jc.address)
  })

  it('a permit too small for the deal fails on the transfer', async () => {
    const jc = await freshJobCreator()
    const deal = newDeal(f, {members: {jobCreator: jc.address}})
    const permit = await signPermit(f.token, jc, spender, LP(1), (await latest()) + 600n)
    expect(await reverts(agreeWithPermit(jc, deal, permit))).toEqual({
      name: 'ERC20InsufficientAllowance',
      args: [spender, LP(1), LP(3)],
    })
  })

  it('a permit someone submitted first (front-running) does not block the agreement', async () => {
    const jc = await freshJobCreator()
    const deal = newDeal(f, {members: {jobCreator: jc.address}})
    const permit = await signPermit(f.token, jc, spender, LP(3), (await latest()) + 600n)
    await mined(
      as(f.token, f.stranger).permit(
        jc.address,
        spender,
        permit.value,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      ),
    )
    await mined(agreeWithPermit(jc, deal, permit))
    expect(await f.controller.isState(deal.dealId, State.DealNegotiating)).toBe(true)
  })

  it('a used permit cannot be replayed once its allowance is spent', async () => {
    const jc = await freshJobCreator()
    const first = newDeal(f, {members: {jobCreator: jc.address}})
    const permit = await signPermit(f.token, jc, spender, LP(3), (await latest()) + 600n)
    await mined(agreeWithPermit(jc, first, permit))
    const second = newDeal(f, {members: {jobCreator: jc.address}})
    const decoded = await reverts(agreeWithPermit(jc, second, permit))
    expect(decoded.name).toBe('ERC2612InvalidSigner')
    expect(await f.controller.hasDeal(second.dealId)).toBe(false)
  })
})
