/**
 * Shared scaffolding of the contract tests: one anvil + one deployed protocol per test file, funded
 * actors, unique deals, and drivers that bring a deal to a given stage.
 */
import {MaxUint256} from 'ethers'
import type {Interface, TransactionReceipt, Wallet} from 'ethers'

import {increaseTime, startAnvil} from '../helpers/anvil.js'
import type {Anvil} from '../helpers/anvil.js'
import {
  LP,
  as,
  deployProtocol,
  errorInterface,
  mined,
  standardTerms,
  CHECK_RESULT_OVERRIDES,
} from '../helpers/contracts.js'
import type {
  ControllerContract,
  Members,
  Pricing,
  Protocol,
  Timeouts,
  TokenContract,
} from '../helpers/contracts.js'

export interface Fixture {
  chain: Anvil
  protocol: Protocol
  token: TokenContract
  controller: ControllerContract
  deployer: Wallet
  solver: Wallet
  jc: Wallet
  rp: Wallet
  mediator: Wallet
  mediator2: Wallet
  stranger: Wallet
  jc2: Wallet
  rp2: Wallet
  treasury: Wallet
  errors: Interface
}

/** Every actor's starting LP. */
export const FUNDING = LP(1000)

/** Starts anvil, deploys the protocol, gives each actor `FUNDING` LP; job creators and providers approve
 * the controller for an unlimited amount (tests about allowances lower it themselves). */
export async function setupFixture(): Promise<Fixture> {
  const chain = await startAnvil()
  try {
    const [deployer, solver, jc, rp, mediator, mediator2, stranger, jc2, rp2, treasury] = chain.accounts
    if (treasury === undefined || deployer === undefined) throw new Error('anvil gave fewer than 10 accounts')
    const protocol = await deployProtocol(deployer, treasury.address)
    const actors = [solver, jc, rp, mediator, mediator2, stranger, jc2, rp2] as Wallet[]
    for (const actor of actors) await mined(protocol.token.transfer(actor.address, FUNDING))
    for (const party of [jc, rp, jc2, rp2] as Wallet[]) {
      await mined(as(protocol.token, party).approve(protocol.addresses.controller, MaxUint256))
    }
    return {
      chain,
      protocol,
      token: protocol.token,
      controller: protocol.controller,
      deployer,
      treasury,
      ...(Object.fromEntries(
        ['solver', 'jc', 'rp', 'mediator', 'mediator2', 'stranger', 'jc2', 'rp2'].map((name, i) => [
          name,
          actors[i],
        ]),
      ) as Pick<Fixture, 'solver' | 'jc' | 'rp' | 'mediator' | 'mediator2' | 'stranger' | 'jc2' | 'rp2'>),
      errors: errorInterface(),
    }
  } catch (error) {
    await chain.stop()
    throw error
  }
}

export interface Deal {
  dealId: string
  members: Members
  timeouts: Timeouts
  pricing: Pricing
}

let counter = 0

/** A 46-character deal ID never used before in this process. */
export function freshDealId(): string {
  counter += 1
  return `QmTestDeal${String(counter).padStart(36, '0')}`
}

/** A deal between `f.jc` and `f.rp` with `f.mediator`, on the standard terms unless overridden. */
export function newDeal(
  f: Fixture,
  overrides: {members?: Partial<Members>; timeouts?: Partial<Timeouts>; pricing?: Partial<Pricing>} = {},
): Deal {
  const terms = standardTerms(
    {
      solver: f.solver.address,
      jobCreator: f.jc.address,
      resourceProvider: f.rp.address,
      mediators: [f.mediator.address],
      ...overrides.members,
    },
    overrides,
  )
  return {dealId: freshDealId(), ...terms}
}

export const agreeAs = (f: Fixture, who: Wallet, deal: Deal): Promise<TransactionReceipt> =>
  mined(as(f.controller, who).agree(deal.dealId, deal.members, deal.timeouts, deal.pricing))

/** The wallet of `address` among the fixture's actors. */
export function walletOf(f: Fixture, address: string): Wallet {
  const all = [f.solver, f.jc, f.rp, f.mediator, f.mediator2, f.stranger, f.jc2, f.rp2, f.treasury]
  const wallet = all.find((w) => w.address === address)
  if (wallet === undefined) throw new Error(`no fixture wallet for ${address}`)
  return wallet
}

export type Stage = 'negotiating' | 'agreed' | 'submitted' | 'checked'

/** Drives `deal` to `stage` (the job creator agrees first unless `providerFirst`); the result reports
 * `instructionCount` instructions. */
export async function driveTo(
  f: Fixture,
  deal: Deal,
  stage: Stage,
  instructionCount = 1n,
  {providerFirst = false}: {providerFirst?: boolean} = {},
): Promise<void> {
  const jc = walletOf(f, deal.members.jobCreator)
  const rp = walletOf(f, deal.members.resourceProvider)
  const [first, second] = providerFirst ? [rp, jc] : [jc, rp]
  await agreeAs(f, first, deal)
  if (stage === 'negotiating') return
  await agreeAs(f, second, deal)
  if (stage === 'agreed') return
  await mined(
    as(f.controller, rp).addResult(deal.dealId, '', `QmData${deal.dealId.slice(6)}`, instructionCount),
  )
  if (stage === 'submitted') return
  await mined(as(f.controller, jc).checkResult(deal.dealId, CHECK_RESULT_OVERRIDES))
}

/** Moves past the deadline of the current waiting step (all test timeouts are at most one hour). */
export const afterDeadline = (f: Fixture, seconds = 3601): Promise<void> =>
  increaseTime(f.chain.provider, seconds)

/** LP balances of `addresses` (same order). */
export async function balances(f: Fixture, addresses: string[]): Promise<bigint[]> {
  return Promise.all(addresses.map((a) => f.token.balanceOf(a)))
}
