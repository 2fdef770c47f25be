/**
 * Loads the compiled protocol from dist/contracts and deploys it in a fixed order:
 * LilypadToken → LilypadUsers → LilypadController(token, users, treasury).
 * Also the typed views of the contracts the tests use, and the standard deal terms.
 */
import type {LilypadController} from '../../src/core/chain/generated/LilypadController.js'
import type {LilypadToken} from '../../src/core/chain/generated/LilypadToken.js'
import type {LilypadUsers} from '../../src/core/chain/generated/LilypadUsers.js'
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {
  AbiCoder,
  ContractFactory,
  ErrorFragment,
  Interface,
  Signature,
  keccak256,
  parseEther,
  toBeHex,
  toUtf8Bytes,
} from 'ethers'
import type {
  BaseContract,
  InterfaceAbi,
  JsonRpcProvider,
  LogDescription,
  Result,
  Signer,
  TransactionReceipt,
  TransactionResponse,
} from 'ethers'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const ARTIFACTS_DIR = join(ROOT, 'dist', 'contracts')

export interface Artifact {
  contractName: string
  abi: InterfaceAbi
  bytecode: string
  deployedBytecode: string
}

/** Reads `dist/contracts/<name>.json`, compiling the contracts first if the build has not run. */
export function loadArtifact(name: string): Artifact {
  const file = join(ARTIFACTS_DIR, `${name}.json`)
  if (!existsSync(file)) {
    const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'compile-contracts.mjs')], {
      encoding: 'utf8',
    })
    if (result.status !== 0) throw new Error(`compiling contracts failed: ${result.stderr}`)
  }
  return JSON.parse(readFileSync(file, 'utf8')) as Artifact
}

// ---- ABI-shaped values -------------------------------------------------------------------------------

export interface Members {
  solver: string
  jobCreator: string
  resourceProvider: string
  mediators: string[]
}
export interface Timeout {
  timeout: bigint
  collateral: bigint
}
export interface Timeouts {
  agree: Timeout
  submitResults: Timeout
  judgeResults: Timeout
  mediateResults: Timeout
}
export interface Pricing {
  instructionPrice: bigint
  paymentCollateral: bigint
  resultsCollateralMultiple: bigint
  mediationFee: bigint
}
export interface Permit {
  value: bigint
  deadline: bigint
  v: number
  r: string
  s: string
}

/** Numeric values of the Solidity enums. */
export const State = {
  DealNegotiating: 0,
  DealAgreed: 1,
  ResultsSubmitted: 2,
  ResultsAccepted: 3,
  ResultsChecked: 4,
  MediationAccepted: 5,
  MediationRejected: 6,
  TimeoutAgree: 7,
  TimeoutSubmitResults: 8,
  TimeoutJudgeResults: 9,
  TimeoutMediateResults: 10,
} as const
export const Reason = {
  PaymentCollateral: 0,
  ResultsCollateral: 1,
  TimeoutCollateral: 2,
  JobPayment: 3,
  MediationFee: 4,
} as const
export const Direction = {PaidIn: 0, PaidOut: 1, Refunded: 2, Slashed: 3} as const
export const ServiceType = {Solver: 0, Mediator: 1, ResourceProvider: 2, JobCreator: 3} as const

export const LP = (amount: string | number): bigint => parseEther(String(amount))

/** Deal ID → the storage key the controller uses. */
export const dealKey = (dealId: string): string => keccak256(toUtf8Bytes(dealId))

/** The ABI types `hashTerms` encodes: (dealId, members, timeouts, pricing). */
const TERMS_TYPES = [
  'string',
  'tuple(address solver, address jobCreator, address resourceProvider, address[] mediators)',
  'tuple(tuple(uint256 timeout, uint256 collateral) agree, tuple(uint256 timeout, uint256 collateral) submitResults, tuple(uint256 timeout, uint256 collateral) judgeResults, tuple(uint256 timeout, uint256 collateral) mediateResults)',
  'tuple(uint256 instructionPrice, uint256 paymentCollateral, uint256 resultsCollateralMultiple, uint256 mediationFee)',
]

/** keccak256(abi.encode(dealId, members, timeouts, pricing)), computed off-chain: what `hashTerms` must return. */
export function termsHash(terms: {
  dealId: string
  members: Members
  timeouts: Timeouts
  pricing: Pricing
}): string {
  const {dealId, members, timeouts, pricing} = terms
  return keccak256(AbiCoder.defaultAbiCoder().encode(TERMS_TYPES, [dealId, members, timeouts, pricing]))
}

// ---- controller storage (tests that simulate what only a hash collision could produce) --------------------

/** Storage slot of word `word` (0 job creator, 1 provider, 2 mediation, 3 terms, 4 lifecycle) of a deal:
 * `_deals` is the controller's first storage variable (slot 0). */
export function dealSlot(dealId: string, word: number): bigint {
  const base = keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint256'], [dealKey(dealId), 0n]))
  return BigInt(base) + BigInt(word)
}

/** Storage slot of the length of `_moreMediators[dealKey]` (the second storage variable, slot 1); element
 * `i` lives at keccak256(slot) + i. */
export function moreMediatorsSlot(dealId: string): bigint {
  return BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(['bytes32', 'uint256'], [dealKey(dealId), 1n])))
}

export async function readSlot(provider: JsonRpcProvider, address: string, slot: bigint): Promise<bigint> {
  return BigInt(await provider.getStorage(address, slot))
}

export async function writeSlot(
  provider: JsonRpcProvider,
  address: string,
  slot: bigint,
  value: bigint,
): Promise<void> {
  await provider.send('anvil_setStorageAt', [address, toBeHex(slot, 32), toBeHex(value, 32)])
}

/** The lifecycle word with its negotiation digest (the first 25 bytes of a terms hash) replaced: state,
 * agreed bits and deadline (the low 56 bits) stay. Layout, low to high: state 8, agreed 8, deadline 40,
 * then digest bits 199..104 (96), 103..40 (64), 39..0 (40). */
export function withNegotiationDigest(word: bigint, hash: string): bigint {
  const digest = BigInt(hash) >> 56n
  const high = digest >> 104n
  const middle = (digest >> 40n) & ((1n << 64n) - 1n)
  const low = digest & ((1n << 40n) - 1n)
  return (word & ((1n << 56n) - 1n)) | (high << 56n) | (middle << 152n) | (low << 216n)
}

/** Makes a negotiating deal's stored digest that of `terms`, as if `terms` collided with the first party's. */
export async function forceNegotiationDigest(
  provider: JsonRpcProvider,
  controller: string,
  terms: {dealId: string; members: Members; timeouts: Timeouts; pricing: Pricing},
): Promise<void> {
  const slot = dealSlot(terms.dealId, 4)
  const word = await readSlot(provider, controller, slot)
  await writeSlot(provider, controller, slot, withNegotiationDigest(word, termsHash(terms)))
}

/** The terms the gas targets are stated in: 1 LP per instruction, 2 LP payment collateral, ×2 results
 * collateral, 1 LP mediation fee, 3600 s timeouts, 1 LP submit and judge collateral. */
export function standardTerms(
  parties: {solver: string; jobCreator: string; resourceProvider: string; mediators: string[]},
  overrides: {timeouts?: Partial<Timeouts>; pricing?: Partial<Pricing>} = {},
): {members: Members; timeouts: Timeouts; pricing: Pricing} {
  const hour = 3600n
  return {
    members: {...parties},
    timeouts: {
      agree: {timeout: hour, collateral: 0n},
      submitResults: {timeout: hour, collateral: LP(1)},
      judgeResults: {timeout: hour, collateral: LP(1)},
      mediateResults: {timeout: hour, collateral: 0n},
      ...overrides.timeouts,
    },
    pricing: {
      instructionPrice: LP(1),
      paymentCollateral: LP(2),
      resultsCollateralMultiple: 2n,
      mediationFee: LP(1),
      ...overrides.pricing,
    },
  }
}

// ---- typed contract views ------------------------------------------------------------------------------

/** A struct a view returned, as a plain object (ethers returns it as a `Result`). */
export function plain(view: object): Record<string, unknown> {
  return (view as Result).toObject()
}

// The typed bindings the build generates from the ABIs (typechain), never written by hand.
export type TokenContract = LilypadToken
export type UsersContract = LilypadUsers
export type ControllerContract = LilypadController

/** Overrides for `checkResult`: its gas depends on which mediator is drawn (a later mediator costs about
 * 5,000 more than the first), and the draw can differ between the estimate and the mined block, so callers
 * must not send it with the bare estimate. */
export const CHECK_RESULT_OVERRIDES = {gasLimit: 250_000n}

/** `contract` with `signer` as the sender, keeping its typed view. */
export function as<T extends BaseContract>(contract: T, signer: Signer): T {
  return contract.connect(signer) as T
}

export interface Protocol {
  token: TokenContract
  users: UsersContract
  controller: ControllerContract
  addresses: {token: string; users: string; controller: string; treasury: string}
}

/** Deploys `abi`/`bytecode` and waits for the receipt (see `mined`). */
export async function deployFrom(
  abi: InterfaceAbi,
  bytecode: string,
  deployer: Signer,
  args: unknown[] = [],
): Promise<BaseContract> {
  const contract = await new ContractFactory(abi, bytecode, deployer).deploy(...args)
  const tx = contract.deploymentTransaction()
  if (tx === null) throw new Error('no deployment transaction')
  await mined(Promise.resolve(tx))
  return contract
}

function deploy(name: string, deployer: Signer, args: unknown[]): Promise<BaseContract> {
  const artifact = loadArtifact(name)
  return deployFrom(artifact.abi, artifact.bytecode, deployer, args)
}

/** Deploys token, registry and controller from `deployer`; slashed collateral goes to `treasury`. */
export async function deployProtocol(deployer: Signer, treasury: string): Promise<Protocol> {
  const token = await deploy('LilypadToken', deployer, [])
  const users = await deploy('LilypadUsers', deployer, [])
  const tokenAddress = await token.getAddress()
  const usersAddress = await users.getAddress()
  const controller = await deploy('LilypadController', deployer, [tokenAddress, usersAddress, treasury])
  return {
    token: token as TokenContract,
    users: users as UsersContract,
    controller: controller as ControllerContract,
    addresses: {
      token: tokenAddress,
      users: usersAddress,
      controller: await controller.getAddress(),
      treasury,
    },
  }
}

/** A transaction that was mined but reverted; `receipt` is the failed receipt. */
export class RevertedTransaction extends Error {
  constructor(readonly receipt: TransactionReceipt) {
    super(`transaction ${receipt.hash} reverted in block ${receipt.blockNumber}`)
    this.name = 'RevertedTransaction'
  }
}

/**
 * Sends the transaction and polls for its receipt, failing when it reverted. ethers' own `wait()` can
 * hang against an automining anvil: when the receipt is not visible on its first look it waits for the
 * next block, and no further block comes.
 */
export async function mined(tx: Promise<TransactionResponse>): Promise<TransactionReceipt> {
  const sent = await tx
  const deadline = Date.now() + 30_000
  for (;;) {
    const receipt = await sent.provider.getTransactionReceipt(sent.hash)
    if (receipt !== null) {
      if (receipt.status !== 1) throw new RevertedTransaction(receipt)
      return receipt
    }
    if (Date.now() > deadline) throw new Error(`transaction ${sent.hash} was not mined within 30 s`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

// ---- errors and events ---------------------------------------------------------------------------------

/** Every custom error of the three contracts (the controller bubbles the token's errors unchanged). */
export function errorInterface(): Interface {
  const fragments = new Map<string, ErrorFragment>()
  for (const name of ['LilypadController', 'LilypadToken', 'LilypadUsers']) {
    for (const fragment of new Interface(loadArtifact(name).abi).fragments) {
      if (fragment instanceof ErrorFragment) fragments.set(fragment.format('sighash'), fragment)
    }
  }
  return new Interface([...fragments.values()])
}

/** Revert data carried by an ethers error (estimateGas, call or send), if any. */
export function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>()
  let current: unknown = error
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current)
    const record = current as {data?: unknown; info?: {error?: unknown}; error?: unknown}
    if (typeof record.data === 'string' && record.data.startsWith('0x')) return record.data
    current = record.info?.error ?? record.error
  }
  return undefined
}

export interface DecodedRevert {
  name: string
  args: unknown[]
}

/** Awaits `action`, expecting it to revert with a custom error; returns the decoded error. */
export async function revertOf(
  action: Promise<unknown>,
  errors: Interface = errorInterface(),
): Promise<DecodedRevert> {
  try {
    await action
  } catch (error) {
    const data = revertData(error)
    if (data === undefined) throw error
    const parsed = errors.parseError(data)
    if (parsed === null) throw new Error(`unknown revert data ${data}`)
    return {name: parsed.name, args: [...parsed.args]}
  }
  throw new Error('expected a revert, but the call succeeded')
}

export interface PaymentLog {
  payee: string
  amount: bigint
  reason: number
  direction: number
}

/** The controller's logs in `receipt`, decoded. */
export function controllerLogs(
  controller: ControllerContract,
  receipt: TransactionReceipt,
): LogDescription[] {
  const address = receipt.logs.length > 0 ? controller.target : undefined
  return receipt.logs
    .filter((log) => typeof address === 'string' && log.address.toLowerCase() === address.toLowerCase())
    .map((log) => controller.interface.parseLog(log))
    .filter((parsed): parsed is LogDescription => parsed !== null)
}

/** The `Payment` events of `receipt` for `dealId`, in emission order. */
export function paymentsOf(
  controller: ControllerContract,
  receipt: TransactionReceipt,
  dealId: string,
): PaymentLog[] {
  return controllerLogs(controller, receipt)
    .filter((log) => log.name === 'Payment')
    .map((log) => {
      const [deal, payee, amount, reason, direction] = log.args as unknown as [
        string,
        string,
        bigint,
        bigint,
        bigint,
      ]
      if (deal !== dealId) throw new Error(`Payment for another deal: ${deal}`)
      return {payee, amount, reason: Number(reason), direction: Number(direction)}
    })
}

/** The states announced by `DealStateChange` in `receipt` for `dealId`. */
export function statesOf(
  controller: ControllerContract,
  receipt: TransactionReceipt,
  dealId: string,
): number[] {
  return controllerLogs(controller, receipt)
    .filter((log) => log.name === 'DealStateChange')
    .map((log) => {
      const [deal, state] = log.args as unknown as [string, bigint]
      if (deal !== dealId) throw new Error(`DealStateChange for another deal: ${deal}`)
      return Number(state)
    })
}

/** Signs an EIP-2612 permit of `owner` for `spender` on the LP token (domain name "Lilypad Token", version 1). */
export async function signPermit(
  token: TokenContract,
  owner: Signer,
  spender: string,
  value: bigint,
  deadline: bigint,
  signer: Signer = owner,
): Promise<Permit> {
  const provider = owner.provider
  if (provider === null) throw new Error('owner has no provider')
  const ownerAddress = await owner.getAddress()
  const {chainId} = await provider.getNetwork()
  const signature = await signer.signTypedData(
    {name: 'Lilypad Token', version: '1', chainId, verifyingContract: await token.getAddress()},
    {
      Permit: [
        {name: 'owner', type: 'address'},
        {name: 'spender', type: 'address'},
        {name: 'value', type: 'uint256'},
        {name: 'nonce', type: 'uint256'},
        {name: 'deadline', type: 'uint256'},
      ],
    },
    {owner: ownerAddress, spender, value, nonce: await token.nonces(ownerAddress), deadline},
  )
  const {v, r, s} = Signature.from(signature)
  return {value, deadline, v, r, s}
}
