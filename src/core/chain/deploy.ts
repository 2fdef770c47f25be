/**
 * Deploys the protocol to any EVM chain, in a fixed order, and wires it: LilypadToken (the whole
 * initial supply goes to the deployer), LilypadUsers, then LilypadController (escrow, deal storage,
 * payments and mediation in one contract) pointing at both.
 */
import {type ContractTransactionResponse, type Signer, getAddress} from 'ethers'

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
  onEvent?: (event: DeployEvent) => void
}

/** The result of {@link deployContracts}. */
export interface Deployment {
  addresses: ProtocolAddresses
  deployer: string
  treasury: string
  /** Total gas of the three deployments. */
  gasUsed: bigint
}

/**
 * Deploys and wires the protocol contracts.
 *
 * @param signer - the deploying account; it receives the whole LP supply
 * @param options - treasury, confirmations, progress
 * @returns the addresses, keyed by contract name
 * @throws INSUFFICIENT_FUNDS, RPC_UNREACHABLE, TX_REVERTED, CHAIN_ERROR
 * @example
 * const {addresses} = await deployContracts(client.signer)
 */
export async function deployContracts(signer: Signer, options: DeployOptions = {}): Promise<Deployment> {
  const deployer = await signer.getAddress()
  const treasury = getAddress(options.treasury ?? deployer)
  const confirmations = options.confirmations ?? 1
  let gasUsed = 0n

  async function deploy<
    T extends {getAddress(): Promise<string>; deploymentTransaction(): ContractTransactionResponse | null},
  >(name: keyof ProtocolAddresses, start: () => Promise<T>): Promise<string> {
    try {
      const contract = await start()
      const tx = contract.deploymentTransaction()
      if (tx === null) throw new Error(`no deployment transaction for ${name}`)
      options.onEvent?.({type: 'deploy.sent', contract: name, txHash: tx.hash})
      const receipt = await tx.wait(confirmations)
      const address = await contract.getAddress()
      gasUsed += receipt?.gasUsed ?? 0n
      options.onEvent?.({type: 'deploy.mined', contract: name, address, gasUsed: receipt?.gasUsed ?? 0n})
      return address
    } catch (error) {
      throw toChainError(error, {action: `deploy ${name}`, account: deployer})
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
    treasury,
    gasUsed,
  }
}
