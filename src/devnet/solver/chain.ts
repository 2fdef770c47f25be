/**
 * The solver's side of the chain: registering its URL in LilypadUsers, following the controller's
 * events from a persisted cursor (the `onchain` protocol, where the chain decides a deal's state),
 * and the balance check for resource offers.
 */
import type {Logger} from 'pino'

import {createChainClient, type ChainClient} from '../../core/chain/client.js'
import {lilypadError} from '../../core/errors/index.js'
import {type ControllerEvent, type Follower, followControllerEvents} from '../../core/chain/events.js'
import {LilypadController__factory} from '../../core/chain/generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from '../../core/chain/generated/factories/LilypadToken__factory.js'
import {LilypadUsers__factory} from '../../core/chain/generated/factories/LilypadUsers__factory.js'
import {chainToGoState} from '../../core/solver/states.js'
import type {ResourceOffer} from '../../core/solver/types.js'
import type {SolverController} from './controller.js'
import type {SolverChainOptions} from './options.js'
import type {SolverStore} from './store.js'

/** The solver role in LilypadUsers (`ServiceType.Solver`). */
const SOLVER_ROLE = 0
const CURSOR_KEY = 'chain.cursor'
const WEI_PER_LP = 10n ** 18n

/**
 * Polls for a transaction's receipt: `wait()` can miss the receipt on an automining chain and then
 * wait for a block that never comes.
 */
async function minedReceipt(client: ChainClient, hash: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const receipt = await client.provider.getTransactionReceipt(hash)
    if (receipt !== null) {
      if (receipt.status !== 1) {
        throw lilypadError('TX_REVERTED', {
          message: `The solver's registration transaction ${hash} reverted.`,
          hints: ['Check that chain.users is the LilypadUsers address of this chain.'],
          details: {txHash: hash},
        })
      }
      return
    }
    if (Date.now() > deadline) {
      throw lilypadError('TIMEOUT', {
        message: `The solver's registration transaction ${hash} was not mined within ${timeoutMs / 1000} s.`,
        hints: ['Check that the chain is producing blocks.'],
        details: {txHash: hash},
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Connects to the chain of `options` (with the solver's key, when given). */
export function connectSolverChain(options: SolverChainOptions): ChainClient {
  return createChainClient({
    rpcUrl: options.rpcUrl,
    chainId: options.chainId,
    privateKey: options.privateKey,
    pollingIntervalMs: options.pollIntervalMs ?? 250,
  })
}

/**
 * Registers the solver as the Go solver does: `updateUser("", url, [Solver])` unless its
 * registration already has that URL, then `addUserToList(Solver)` unless it is listed.
 *
 * @returns which transactions were sent
 */
export async function registerSolver(
  client: ChainClient,
  users: string,
  url: string,
  log: Logger,
): Promise<{updated: boolean; listed: boolean}> {
  const signer = client.signer
  if (signer === undefined || client.address === undefined) {
    throw lilypadError('PRIVATE_KEY_MISSING', {
      message: 'Registering the solver needs its private key.',
      hints: ['Pass chain.privateKey, or leave chain.users out to skip registration.'],
    })
  }
  const registry = LilypadUsers__factory.connect(users, signer)
  const self = client.address
  const user = await registry.getUser(self)
  let updated = false
  if (user.url !== url || !user.roles.map(Number).includes(SOLVER_ROLE)) {
    await minedReceipt(client, (await registry.updateUser('', url, [SOLVER_ROLE])).hash)
    updated = true
    log.info({address: self, url}, 'solver registered its URL')
  }
  const listed = (await registry.showUsersInList(SOLVER_ROLE)).includes(self)
  if (!listed) {
    await minedReceipt(client, (await registry.addUserToList(SOLVER_ROLE)).hash)
    log.info({address: self}, 'solver listed')
  }
  return {updated, listed: !listed}
}

/** Whether the controller has a deal with this ID (someone agreed to it). */
export function dealOnChainCheck(
  client: ChainClient,
  controller: string,
): (dealId: string) => Promise<boolean> {
  const contract = LilypadController__factory.connect(controller, client.provider)
  return async (dealId) => contract.hasDeal(dealId)
}

/** Admission of resource offers by balance (Go: ≥ 0.0006 ETH and LP ≥ the instruction price). */
export function balanceAdmission(
  client: ChainClient,
  controller: string,
  minEthWei: bigint,
  log: Logger,
): (offer: ResourceOffer) => Promise<boolean> {
  const contract = LilypadController__factory.connect(controller, client.provider)
  let token: Promise<string> | undefined
  return async (offer) => {
    token ??= contract.getTokenAddress()
    const lp = LilypadToken__factory.connect(await token, client.provider)
    const [eth, balance] = await Promise.all([
      client.provider.getBalance(offer.resource_provider),
      lp.balanceOf(offer.resource_provider),
    ])
    const needLp = BigInt(offer.default_pricing.instruction_price) * WEI_PER_LP
    const ok = eth >= minEthWei && balance >= needLp
    if (!ok) {
      log.warn(
        {resource_provider: offer.resource_provider, eth: eth.toString(), lp: balance.toString()},
        'resource provider does not hold enough ETH or LP to post an offer',
      )
    }
    return ok
  }
}

/**
 * Applies one controller event to the deals the solver knows; events of other deals are ignored.
 * Chain states are converted to Go's numbering (`TimeoutAgree` is our state 17).
 */
export function applyChainEvent(
  event: ControllerEvent,
  store: SolverStore,
  controller: SolverController,
  log: Logger,
): void {
  const deal = store.getDeal(event.dealId)
  if (deal === undefined) return
  switch (event.type) {
    case 'DealCreated':
      controller.markOnChain(deal.id)
      return
    case 'DealStateChange': {
      const state = chainToGoState(event.state)
      controller.markOnChain(deal.id)
      log.info({deal_id: deal.id, chain_state: event.state, tx: event.txHash}, 'chain state change')
      controller.setDealState(deal.id, state)
      return
    }
    case 'ResultAdded':
      if (store.getResult(deal.id) === undefined) {
        store.putResult({
          id: '',
          deal_id: deal.id,
          data_id: event.dataId,
          error: '',
          instruction_count: Number(event.instructionCount),
        })
      }
      return
    case 'MediationRequested':
      controller.setMediator(deal.id, event.mediator)
      return
    case 'Payment':
      return
  }
}

/** Follows the controller from the stored cursor (or `fromBlock`, or the current block). */
export async function followChain(
  client: ChainClient,
  options: SolverChainOptions,
  store: SolverStore,
  controller: SolverController,
  log: Logger,
): Promise<Follower> {
  const stored = store.getMeta(CURSOR_KEY)
  const fromBlock =
    stored !== undefined
      ? Number(stored) + 1
      : (options.fromBlock ?? (await client.provider.getBlockNumber()))
  log.info({from_block: fromBlock}, 'following the controller')
  return followControllerEvents({
    provider: client.provider,
    controller: options.controller,
    fromBlock,
    pollIntervalMs: options.pollIntervalMs ?? 250,
    onEvent: (event) => {
      applyChainEvent(event, store, controller, log)
    },
    onCursor: (block) => {
      store.setMeta(CURSOR_KEY, String(block))
    },
    onError: (error, info) => {
      log.warn({err: error, attempt: info.attempt, retry_in_ms: info.retryInMs}, 'following the chain failed')
    },
  })
}
