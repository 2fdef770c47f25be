/**
 * The chain client against a real anvil chain: deployment and wiring, probing, nonce-safe
 * concurrent sends, and reverts decoded into LilypadErrors.
 */
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet, parseEther} from 'ethers'

import {
  type ChainClient,
  connectChain,
  createChainClient,
  probeChain,
} from '../../../src/core/chain/client.js'
import {getDealsForParty} from '../../../src/core/chain/deals.js'
import {type Deployment, deployContracts} from '../../../src/core/chain/deploy.js'
import {toChainError} from '../../../src/core/chain/errors.js'
import {LilypadController__factory} from '../../../src/core/chain/generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from '../../../src/core/chain/generated/factories/LilypadToken__factory.js'
import {type LilypadError, isLilypadError} from '../../../src/core/errors/index.js'
import {type Anvil, freePort, increaseTime, startAnvil} from '../../helpers/anvil.js'
import {standardTerms} from '../../helpers/contracts.js'

let anvil: Anvil
let client: ChainClient
let deployment: Deployment

const keyOf = (wallet: Wallet): string => wallet.privateKey

beforeAll(async () => {
  anvil = await startAnvil()
  client = await connectChain({
    rpcUrl: anvil.url,
    privateKey: keyOf(anvil.accounts[0]!),
    pollingIntervalMs: 50,
  })
  deployment = await deployContracts(client.signer!)
})

afterAll(async () => {
  client.destroy()
  await anvil.stop()
})

/** Dev accounts 1–4 as job creator, provider, mediator and a stranger, the standard terms, and the controller as each. */
function dealParties() {
  const [jc, rp, mediator, stranger] = anvil.accounts.slice(1, 5) as [Wallet, Wallet, Wallet, Wallet]
  const terms = standardTerms({
    solver: client.address!,
    jobCreator: jc.address,
    resourceProvider: rp.address,
    mediators: [mediator.address],
  })
  const controllerAs = (wallet: Wallet) =>
    LilypadController__factory.connect(deployment.addresses.LilypadController, wallet)
  return {
    jc,
    rp,
    mediator,
    stranger,
    terms,
    asJc: controllerAs(jc),
    asRp: controllerAs(rp),
    asStranger: controllerAs(stranger),
  }
}

/** Runs `fn` and returns the LilypadError that toChainError makes of its failure. */
async function chainErrorOf(fn: () => Promise<unknown>, action = 'test'): Promise<LilypadError> {
  try {
    await fn()
  } catch (error) {
    return toChainError(error, {action})
  }
  throw new Error('expected a failure')
}

describe('deployContracts', () => {
  it('deploys and wires the protocol, the whole supply to the deployer', async () => {
    const {addresses} = deployment
    expect(Object.keys(addresses)).toEqual([
      'LilypadToken',
      'LilypadUsers',
      'LilypadController',
      'LilypadOnChainJobCreator',
    ])
    const token = LilypadToken__factory.connect(addresses.LilypadToken, client.provider)
    const controller = LilypadController__factory.connect(addresses.LilypadController, client.provider)
    expect(await token.symbol()).toBe('LP')
    expect(await token.decimals()).toBe(18n)
    expect(await token.balanceOf(client.address!)).toBe(parseEther('1000000000'))
    expect(await controller.getUsersAddress()).toBe(addresses.LilypadUsers)
    expect(await controller.getPaymentsAddress()).toBe(addresses.LilypadController)
    expect(await controller.getTokenAddress()).toBe(addresses.LilypadToken)
    expect(deployment.treasury).toBe(client.address)
    expect(deployment.gasUsed).toBeGreaterThan(0n)
  })
})

describe('deployContracts input', () => {
  it('refuses a treasury that cannot receive tokens before sending anything', async () => {
    const nonce = await client.provider.getTransactionCount(client.address!)
    for (const treasury of ['0xnotanaddress', '0x0000000000000000000000000000000000000000']) {
      const error = await deployContracts(client.signer!, {treasury}).catch((e: unknown) => e)
      expect([treasury, isLilypadError(error, 'USAGE')]).toEqual([treasury, true])
    }
    expect(await client.provider.getTransactionCount(client.address!)).toBe(nonce)
  })
})

describe('probing', () => {
  it('detects the chain id when none is given, and refuses a wrong one', async () => {
    expect(client.chainId).toBe(31337)
    const wrong = createChainClient({rpcUrl: anvil.url, chainId: 421614})
    const error = await probeChain(wrong).catch((e: unknown) => e)
    wrong.destroy()
    expect(isLilypadError(error, 'WRONG_CHAIN')).toBe(true)
  })

  it('fails with RPC_UNREACHABLE, not an endless retry, when nothing listens', async () => {
    const port = await freePort()
    const error = await connectChain({rpcUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000}).catch(
      (e: unknown) => e,
    )
    expect(isLilypadError(error, 'RPC_UNREACHABLE')).toBe(true)
    expect((error as LilypadError).category).toBe('network')
  })

  it('refuses a malformed private key without echoing it', () => {
    let thrown: unknown
    try {
      createChainClient({rpcUrl: anvil.url, chainId: 31337, privateKey: 'not-a-key-but-a-secret'})
    } catch (error) {
      thrown = error
    }
    expect(isLilypadError(thrown, 'PRIVATE_KEY_INVALID')).toBe(true)
    expect((thrown as Error).message).not.toContain('not-a-key-but-a-secret')
  })
})

describe('SerialSigner', () => {
  it('gives concurrent sends consecutive nonces, and a failed send leaves no gap', async () => {
    const token = LilypadToken__factory.connect(deployment.addresses.LilypadToken, client.signer)
    const recipient = Wallet.createRandom().address
    const start = await client.provider.getTransactionCount(client.address!, 'pending')
    const sends = Array.from({length: 10}, (_, i) =>
      i === 4
        ? token.transfer(recipient, parseEther('10000000000')) // more than the supply: reverts in estimateGas
        : token.transfer(recipient, 1n),
    )
    const settled = await Promise.allSettled(sends)
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(1)
    const responses = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
    await Promise.all(responses.map((tx) => tx.wait()))
    expect(responses.map((tx) => tx.nonce).sort((a, b) => a - b)).toEqual(
      Array.from({length: 9}, (_, i) => start + i),
    )
    expect(await token.balanceOf(recipient)).toBe(9n)
  })
})

describe('toChainError', () => {
  const dealId = 'QmTestDeal0000000000000000000000000000000000000'

  it('decodes LP balance and allowance shortfalls', async () => {
    const [, , rp, mediator, poor] = anvil.accounts
    const terms = standardTerms({
      solver: client.address!,
      jobCreator: poor!.address,
      resourceProvider: rp!.address,
      mediators: [mediator!.address],
    })
    const controller = LilypadController__factory.connect(deployment.addresses.LilypadController, poor)
    const noLp = await chainErrorOf(() =>
      controller.agree(dealId, terms.members, terms.timeouts, terms.pricing),
    )
    expect([noLp.code, noLp.category]).toEqual(['LP_ALLOWANCE_TOO_LOW', 'chain'])

    const token = LilypadToken__factory.connect(deployment.addresses.LilypadToken, poor)
    await (await token.approve(deployment.addresses.LilypadController, parseEther('100'))).wait()
    const noBalance = await chainErrorOf(() =>
      controller.agree(dealId, terms.members, terms.timeouts, terms.pricing),
    )
    expect(noBalance.code).toBe('LP_BALANCE_TOO_LOW')
    expect(noBalance.details.holder).toBe(poor!.address)
    expect(noBalance.message).toContain('3.0 LP')
  })

  it('decodes party, state, deadline and terms errors with hints', async () => {
    const {jc, rp, mediator, terms, asJc, asRp, asStranger} = dealParties()
    const owner = LilypadToken__factory.connect(deployment.addresses.LilypadToken, client.signer)
    for (const account of [jc, rp]) {
      await (await owner.transfer(account.address, parseEther('100'))).wait()
      await (
        await LilypadToken__factory.connect(deployment.addresses.LilypadToken, account).approve(
          deployment.addresses.LilypadController,
          parseEther('100'),
        )
      ).wait()
    }

    const unknown = await chainErrorOf(() => asJc.acceptResult('QmNoSuchDeal'))
    expect(unknown.code).toBe('DEAL_NOT_FOUND')

    await (await asJc.agree(dealId, terms.members, terms.timeouts, terms.pricing)).wait()
    const twice = await chainErrorOf(() => asJc.agree(dealId, terms.members, terms.timeouts, terms.pricing))
    expect(twice.code).toBe('DEAL_ALREADY_AGREED')

    const other = standardTerms(
      {
        solver: client.address!,
        jobCreator: jc.address,
        resourceProvider: rp.address,
        mediators: [mediator.address],
      },
      {pricing: {instructionPrice: 5n}},
    )
    const mismatch = await chainErrorOf(() =>
      asRp.agree(dealId, other.members, other.timeouts, other.pricing),
    )
    expect(mismatch.code).toBe('DEAL_TERMS_MISMATCH')

    const invalid = await chainErrorOf(() =>
      asJc.agree('QmOther', {...terms.members, resourceProvider: jc.address}, terms.timeouts, terms.pricing),
    )
    expect(invalid.code).toBe('DEAL_TERMS_INVALID')
    expect(invalid.message).toContain('the same account')

    const early = await chainErrorOf(() => asJc.timeoutAgree(dealId))
    expect(early.code).toBe('DEAL_TOO_EARLY')
    expect(early.hints.join(' ')).toMatch(/Try again after \d{4}-\d\d-\d\dT/)

    await (await asRp.agree(dealId, terms.members, terms.timeouts, terms.pricing)).wait()
    const wrongState = await chainErrorOf(() => asJc.acceptResult(dealId), 'accept the result')
    expect(wrongState.code).toBe('DEAL_WRONG_STATE')
    expect(wrongState.message).toBe(
      'Cannot accept the result: the deal is DealAgreed, but this needs ResultsSubmitted.',
    )

    const notParty = await chainErrorOf(() => asStranger.addResult(dealId, '', 'QmData', 1))
    expect(notParty.code).toBe('DEAL_NOT_A_PARTY')

    await increaseTime(anvil.provider, 3601)
    await (await asJc.timeoutSubmitResult(dealId)).wait()
    expect(await asJc.isState(dealId, 8)).toBe(true)
  })

  it('maps a missing gas balance to INSUFFICIENT_FUNDS', async () => {
    const broke = Wallet.createRandom().connect(client.provider)
    const error = await chainErrorOf(() => broke.sendTransaction({to: client.address!, value: 1n}))
    expect(error.code).toBe('INSUFFICIENT_FUNDS')
  })
})

describe('getDealsForParty', () => {
  it('lists the deals of each party and role from the logs', async () => {
    const {jc, rp, mediator, stranger, terms, asJc, asRp, asStranger} = dealParties()
    const dealId = 'QmListedDeal000000000000000000000000000000000000'
    await (await asJc.agree(dealId, terms.members, terms.timeouts, terms.pricing)).wait()
    await (await asRp.agree(dealId, terms.members, terms.timeouts, terms.pricing)).wait()
    await (await asRp.addResult(dealId, '', 'QmData', 1)).wait()
    await (await asJc.checkResult(dealId, {gasLimit: 250_000})).wait()

    // A stranger creates a deal naming the job creator as its counterparty: spam the list must not show.
    const spam = standardTerms({
      solver: client.address!,
      jobCreator: jc.address,
      resourceProvider: stranger.address,
      mediators: [mediator.address],
    })
    const owner = LilypadToken__factory.connect(deployment.addresses.LilypadToken, client.signer)
    await (await owner.transfer(stranger.address, parseEther('10'))).wait()
    await (
      await LilypadToken__factory.connect(deployment.addresses.LilypadToken, stranger).approve(
        deployment.addresses.LilypadController,
        parseEther('10'),
      )
    ).wait()
    await (await asStranger.agree('QmSpamDeal', spam.members, spam.timeouts, spam.pricing)).wait()

    const controller = deployment.addresses.LilypadController
    // Small chunks from the deployment block: several eth_getLogs requests.
    const ofJcChunked = await getDealsForParty(client.provider, controller, jc.address, {
      fromBlock: deployment.blockNumber,
      blockRange: 2,
    })
    expect(ofJcChunked.map((d) => d.dealId)).not.toContain('QmSpamDeal')
    expect(ofJcChunked.map((d) => [d.dealId, d.role])).toContainEqual([dealId, 'jobCreator'])
    expect(deployment.blockNumber).toBeGreaterThan(0)
    const ofJc = await getDealsForParty(client.provider, controller, jc.address)
    const ofRp = await getDealsForParty(client.provider, controller, rp.address)
    const ofMediator = await getDealsForParty(client.provider, controller, mediator.address)
    expect(ofJc.map((d) => [d.dealId, d.role])).toContainEqual([dealId, 'jobCreator'])
    expect(ofRp.map((d) => [d.dealId, d.role])).toContainEqual([dealId, 'resourceProvider'])
    expect(ofMediator.map((d) => [d.dealId, d.role])).toEqual([[dealId, 'mediator']])
    expect(
      (await getDealsForParty(client.provider, controller, stranger.address)).map((d) => [d.dealId, d.role]),
    ).toEqual([['QmSpamDeal', 'resourceProvider']])
  })
})
