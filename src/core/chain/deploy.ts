/**
 * Deploys the protocol to any EVM chain, in a fixed order, and wires it: LilypadToken (the whole
 * initial supply goes to the deployer), LilypadUsers, then LilypadController (escrow, deal storage,
 * payments and mediation in one contract) pointing at both.
 */
import {type ContractTransactionResponse, type Signer, ZeroAddress, getAddress, isAddress} from 'ethers'

import {LilypadError, isLilypadError, lilypadError} from '../errors/index.js'

import {toChainError} from './errors.js'
import {LilypadController__factory} from './generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from './generated/factories/LilypadToken__factory.js'
import {LilypadUsers__factory} from './generated/factories/LilypadUsers__factory.js'

/** Addresses of a deployment, keyed by contract name. */
export type ProtocolAddresses = {
  LilypadToken: string
  LilypadUsers: string
  LilypadController: string
}

/** Progress of {@link deployContracts}. */
export type DeployEvent =
  | {type: 'deploy.sent'; contract: keyof ProtocolAddresses; txHash: string}
  | {type: 'deploy.mined'; contract: keyof ProtocolAddresses; address: string; gasUsed: bigint}

/** Options of {@link deployContracts}. */
export interface DeployOptions {
  /** Receives results collateral slashed by a mediator's rejection; default: the deployer. */
  treasury?: string | undefined
  /** Blocks to wait for each deployment (default 1). */
  confirmations?: number
  /** How long to wait for each deployment to be mined (default 120 s). */
  timeoutMs?: number
  signal?: AbortSignal | undefined
  onEvent?: (event: DeployEvent) => void
}

/** The result of {@link deployContracts}. */
export interface Deployment {
  addresses: ProtocolAddresses
  deployer: string
  treasury: string
  /** The block of the controller's deployment: where log searches (getDealsForParty) can start. */
  blockNumber: number
  /** Total gas of the three deployments. */
  gasUsed: bigint
}

/**
 * Deploys and wires the protocol contracts.
 *
 * @param signer - the deploying account; it receives the whole LP supply
 * @param options - treasury, confirmations, time-out, abort signal, progress
 * @returns the addresses, keyed by contract name
 * @throws USAGE (bad treasury), INSUFFICIENT_FUNDS, RPC_UNREACHABLE, TIMEOUT, TX_REVERTED, CHAIN_ERROR,
 *   INTERRUPTED; a failure after some contracts were deployed lists them in `details.deployed`
 * @example
 * const {addresses} = await deployContracts(client.signer)
 */
export async function deployContracts(signer: Signer, options: DeployOptions = {}): Promise<Deployment> {
  const deployer = await signer.getAddress()
  const treasury = options.treasury ?? deployer
  if (!isAddress(treasury) || treasury === ZeroAddress) {
    throw lilypadError('USAGE', {
      message: `The treasury ${treasury} is not an address that can receive tokens.`,
      hints: [
        'Pass --treasury 0x… (40 hex digits, not the zero address), or leave it out to use the deployer.',
      ],
    })
  }
  const confirmations = options.confirmations ?? 1
  const timeoutMs = options.timeoutMs ?? 120_000
  const deployed: Partial<ProtocolAddresses> = {}
  let gasUsed = 0n
  let blockNumber = 0

  async function deploy<
    T extends {getAddress(): Promise<string>; deploymentTransaction(): ContractTransactionResponse | null},
  >(name: keyof ProtocolAddresses, start: () => Promise<T>): Promise<string> {
    try {
      if (options.signal?.aborted === true) throw lilypadError('INTERRUPTED', {message: 'Interrupted.'})
      const contract = await start()
      const tx = contract.deploymentTransaction()
      if (tx === null) throw new Error(`no deployment transaction for ${name}`)
      options.onEvent?.({type: 'deploy.sent', contract: name, txHash: tx.hash})
      const receipt = await tx.wait(confirmations, timeoutMs)
      const address = await contract.getAddress()
      gasUsed += receipt?.gasUsed ?? 0n
      blockNumber = receipt?.blockNumber ?? blockNumber
      options.onEvent?.({type: 'deploy.mined', contract: name, address, gasUsed: receipt?.gasUsed ?? 0n})
      deployed[name] = address
      return address
    } catch (error) {
      const chainError = isLilypadError(error)
        ? error
        : toChainError(error, {action: `deploy ${name}`, account: deployer})
      if (Object.keys(deployed).length === 0) throw chainError
      throw new LilypadError({
        code: chainError.code,
        category: chainError.category,
        message: `${chainError.message} Already deployed: ${Object.entries(deployed)
          .map(([contract, address]) => `${contract} at ${address}`)
          .join(', ')}.`,
        hints: [
          ...chainError.hints,
          'Those contracts are unusable without the rest: deploy again from the start.',
        ],
        details: {...chainError.details, deployed},
        cause: error,
      })
    }
  }

  const token = await deploy('LilypadToken', () => new LilypadToken__factory(signer).deploy())
  const users = await deploy('LilypadUsers', () => new LilypadUsers__factory(signer).deploy())
  const controller = await deploy('LilypadController', () =>
    new LilypadController__factory(signer).deploy(token, users, treasury),
  )
  return {
    addresses: {LilypadToken: token, LilypadUsers: users, LilypadController: controller},
    deployer,
    treasury: getAddress(treasury),
    blockNumber,
    gasUsed,
  }
}
