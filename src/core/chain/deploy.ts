/**
 * Deploys the protocol to any EVM chain, in a fixed order, and wires it: LilypadToken (the whole
 * initial supply goes to the deployer), LilypadUsers, LilypadController (escrow, deal storage,
 * payments and mediation in one contract) pointing at both, then LilypadOnChainJobCreator (through
 * which a smart contract runs a module) pointing at the token and its service account.
 */
import {
  type ContractTransactionResponse,
  type Signer,
  ZeroAddress,
  getAddress,
  isAddress,
  parseUnits,
} from 'ethers'

import {LilypadError, isLilypadError, lilypadError} from '../errors/index.js'

import {toChainError} from './errors.js'
import {LilypadController__factory} from './generated/factories/LilypadController__factory.js'
import {LilypadOnChainJobCreator__factory} from './generated/factories/LilypadOnChainJobCreator__factory.js'
import {LilypadToken__factory} from './generated/factories/LilypadToken__factory.js'
import {LilypadUsers__factory} from './generated/factories/LilypadUsers__factory.js'

/** Addresses of a deployment, keyed by contract name. */
export type ProtocolAddresses = {
  LilypadToken: string
  LilypadUsers: string
  LilypadController: string
  LilypadOnChainJobCreator: string
}

/** The on-chain job creator's deposit unless told otherwise: 2 LP, Lilypad's `JOB_PRICE`. */
export const DEFAULT_JOB_DEPOSIT = parseUnits('2', 18)

/** How long the job-creator service has to answer a job before anyone may refund it (1 hour). */
export const DEFAULT_JOB_TIMEOUT_SECONDS = 3600

/** Longest job timeout the contract accepts (30 days). */
const MAX_JOB_TIMEOUT_SECONDS = 30 * 86_400

/** Progress of {@link deployContracts}. */
export type DeployEvent =
  | {type: 'deploy.sent'; contract: keyof ProtocolAddresses; txHash: string}
  | {type: 'deploy.mined'; contract: keyof ProtocolAddresses; address: string; gasUsed: bigint}

/** Options of {@link deployContracts}. */
export interface DeployOptions {
  /** Receives results collateral slashed by a mediator's rejection; default: the deployer. */
  treasury?: string | undefined
  /** The on-chain job creator's service account (settles jobs, earns deposits); default: the deployer. */
  jobCreatorService?: string | undefined
  /** LP wei escrowed per on-chain job; default {@link DEFAULT_JOB_DEPOSIT}. */
  jobDeposit?: bigint | undefined
  /** Seconds after which anyone may refund an unanswered on-chain job; default 3600. */
  jobTimeoutSeconds?: number | undefined
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
  /** The on-chain job creator's service account, deposit (LP wei) and timeout (s). */
  jobCreator: {service: string; deposit: bigint; timeoutSeconds: number}
  /** The block of the controller's deployment: where log searches (getDealsForParty, JobAdded) can start. */
  blockNumber: number
  /** Total gas of the four deployments. */
  gasUsed: bigint
}

/**
 * Deploys and wires the protocol contracts.
 *
 * @param signer - the deploying account; it receives the whole LP supply
 * @param options - treasury, job creator service/deposit/timeout, confirmations, time-out, abort signal, progress
 * @returns the addresses, keyed by contract name
 * @throws USAGE (bad treasury, service, deposit or job timeout), INSUFFICIENT_FUNDS, RPC_UNREACHABLE, TIMEOUT, TX_REVERTED, CHAIN_ERROR,
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
  const service = options.jobCreatorService ?? deployer
  if (!isAddress(service) || service === ZeroAddress) {
    throw lilypadError('USAGE', {
      message: `The job creator service ${service} is not an address that can send transactions.`,
      hints: [
        'Pass --job-creator-service 0x… (40 hex digits, not the zero address), or leave it out to use the deployer.',
      ],
    })
  }
  const jobDeposit = options.jobDeposit ?? DEFAULT_JOB_DEPOSIT
  const jobTimeoutSeconds = options.jobTimeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS
  if (jobDeposit < 0n || !Number.isInteger(jobTimeoutSeconds) || jobTimeoutSeconds < 1) {
    throw lilypadError('USAGE', {
      message:
        'The on-chain job deposit must be 0 or more and the job timeout a whole number of seconds ≥ 1.',
    })
  }
  if (jobTimeoutSeconds > MAX_JOB_TIMEOUT_SECONDS) {
    throw lilypadError('USAGE', {
      message: `The on-chain job timeout of ${jobTimeoutSeconds} s is longer than the contract allows (30 days).`,
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
      // The earliest block any protocol log can be in (the job creator comes later still).
      if (name === 'LilypadController') blockNumber = receipt?.blockNumber ?? blockNumber
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
  const jobCreator = await deploy('LilypadOnChainJobCreator', () =>
    new LilypadOnChainJobCreator__factory(signer).deploy(token, service, jobDeposit, jobTimeoutSeconds),
  )
  return {
    addresses: {
      LilypadToken: token,
      LilypadUsers: users,
      LilypadController: controller,
      LilypadOnChainJobCreator: jobCreator,
    },
    deployer,
    treasury: getAddress(treasury),
    jobCreator: {service: getAddress(service), deposit: jobDeposit, timeoutSeconds: jobTimeoutSeconds},
    blockNumber,
    gasUsed,
  }
}
