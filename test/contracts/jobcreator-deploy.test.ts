/**
 * `deployContracts` deploys LilypadOnChainJobCreator after the controller, wired to the token, with the
 * service, deposit and timeout it was given (defaults: the deployer, 2 LP, 1 hour), and refuses bad values
 * before sending anything.
 */
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import type {Wallet} from 'ethers'

import {DEFAULT_JOB_DEPOSIT, deployContracts} from '../../src/core/chain/deploy.js'
import {LilypadOnChainJobCreator__factory} from '../../src/core/chain/generated/factories/LilypadOnChainJobCreator__factory.js'
import {isLilypadError} from '../../src/core/errors/index.js'
import {startAnvil} from '../helpers/anvil.js'
import type {Anvil} from '../helpers/anvil.js'
import {LP} from '../helpers/contracts.js'

let chain: Anvil
let deployer: Wallet
let service: Wallet

beforeAll(async () => {
  chain = await startAnvil()
  ;[deployer, service] = chain.accounts as [Wallet, Wallet]
}, 60_000)

afterAll(async () => {
  await chain.stop()
})

describe('deployContracts: the on-chain job creator', () => {
  it('deploys it last with the deployer as service, a 2 LP deposit and a one-hour timeout by default', async () => {
    const deployment = await deployContracts(deployer, {timeoutMs: 30_000})
    const {addresses} = deployment
    const creator = LilypadOnChainJobCreator__factory.connect(
      addresses.LilypadOnChainJobCreator,
      chain.provider,
    )
    expect(DEFAULT_JOB_DEPOSIT).toBe(LP(2))
    expect([
      await creator.getTokenAddress(),
      await creator.service(),
      await creator.getRequiredDeposit(),
      await creator.timeoutSeconds(),
    ]).toEqual([addresses.LilypadToken, deployer.address, LP(2), 3600n])
    expect(deployment.jobCreator).toEqual({service: deployer.address, deposit: LP(2), timeoutSeconds: 3600})
    // Log searches start at the controller's block, before the job creator's.
    const controllerCode = await chain.provider.getCode(addresses.LilypadController, deployment.blockNumber)
    expect(controllerCode).not.toBe('0x')
    expect(await chain.provider.getCode(addresses.LilypadOnChainJobCreator, deployment.blockNumber)).toBe(
      '0x',
    )
  })

  it('takes the service, deposit and timeout it is given', async () => {
    const {addresses} = await deployContracts(deployer, {
      jobCreatorService: service.address.toLowerCase(),
      jobDeposit: LP('0.5'),
      jobTimeoutSeconds: 60,
    })
    const creator = LilypadOnChainJobCreator__factory.connect(
      addresses.LilypadOnChainJobCreator,
      chain.provider,
    )
    expect([
      await creator.service(),
      await creator.getRequiredDeposit(),
      await creator.timeoutSeconds(),
    ]).toEqual([service.address, LP('0.5'), 60n])
  })

  it('refuses a bad service, deposit or timeout before sending anything', async () => {
    const nonce = await chain.provider.getTransactionCount(deployer.address)
    const attempts = [
      {jobCreatorService: '0xnotanaddress'},
      {jobCreatorService: '0x0000000000000000000000000000000000000000'},
      {jobDeposit: -1n},
      {jobTimeoutSeconds: 0},
      {jobTimeoutSeconds: 1.5},
      {jobTimeoutSeconds: 30 * 86_400 + 1},
    ]
    for (const options of attempts) {
      const error = await deployContracts(deployer, options).catch((e: unknown) => e)
      expect([options, isLilypadError(error, 'USAGE')]).toEqual([options, true])
    }
    expect(await chain.provider.getTransactionCount(deployer.address)).toBe(nonce)
  })
})
