/**
 * An account's funds on a network: ETH for gas, LP, the LP the controller may pull (its allowance)
 * and the LP the account has locked in deals that are still open. Locked LP is not in the balance:
 * the controller holds it until the deal ends.
 */
import {getAddress, isAddress} from 'ethers'

import type {ChainClient} from '../chain/client.js'
import {getDealsForParty} from '../chain/deals.js'
import {toChainError} from '../chain/errors.js'
import {LilypadController__factory} from '../chain/generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from '../chain/generated/factories/LilypadToken__factory.js'
import {stateName} from '../chain/states.js'
import type {NetworkProfile} from '../config/index.js'
import {isLilypadError, lilypadError} from '../errors/index.js'

/** States after which nothing stays locked (ResultsAccepted, the mediation outcomes, the timeouts). */
const TERMINAL_STATES = new Set([3, 5, 6, 7, 8, 9, 10])

/** One open deal holding some of the account's LP. */
export interface LockedDeal {
  dealId: string
  role: 'jobCreator' | 'resourceProvider'
  state: string
  /** LP wei the account has in the deal. */
  amount: bigint
}

/** What {@link accountBalance} reports. Amounts in wei. */
export interface AccountBalance {
  address: string
  network: string
  chainId: number
  eth: bigint
  lp: bigint
  /** The token's allowance for the controller (which holds the escrow). */
  allowance: bigint
  /** LP locked in open deals, summed. */
  locked: bigint
  deals: LockedDeal[]
  token: string
  controller: string
}

/** Options of {@link accountBalance}. */
export interface BalanceOptions {
  /** First block searched for the account's deals (the controller's deployment block). */
  fromBlock?: number | undefined
  signal?: AbortSignal | undefined
}

function contractsOf(network: Pick<NetworkProfile, 'name' | 'contracts'>): {
  token: string
  controller: string
} {
  const {token, controller} = network.contracts
  if (token === undefined || controller === undefined) {
    throw lilypadError('CONFIG_INVALID', {
      message: `The network "${network.name}" names no LP token or controller contract.`,
      hints: ['Add contracts.token and contracts.controller to the network in your config file.'],
      details: {network: network.name},
    })
  }
  return {token, controller}
}

const RESULTS_SUBMITTED = 2
const RESULTS_CHECKED = 4

/**
 * What a party of an open deal has in the escrow (contracts/README.md): the job creator P + J until it
 * asks for mediation, then P + F (checkResult returns J, takes F); the provider S until its result,
 * then R (addResult returns S, takes R).
 */
async function lockedIn(
  role: 'jobCreator' | 'resourceProvider',
  state: number,
  view: {
    paymentCollateral: bigint
    judgeResultsCollateral: bigint
    mediationFee: bigint
    submitResultsCollateral: bigint
  },
  resultsCollateral: () => Promise<bigint>,
): Promise<bigint> {
  if (role === 'jobCreator') {
    return state === RESULTS_CHECKED
      ? view.paymentCollateral + view.mediationFee
      : view.paymentCollateral + view.judgeResultsCollateral
  }
  return state === RESULTS_SUBMITTED || state === RESULTS_CHECKED
    ? resultsCollateral()
    : view.submitResultsCollateral
}

/**
 * Reads an account's ETH, LP, allowance and locked LP.
 *
 * @param client - a connected chain client of the network
 * @param network - the profile (its token and controller addresses)
 * @param address - the account
 * @returns the balances in wei
 * @throws ADDRESS_INVALID, CONFIG_INVALID (no token or controller), RPC_UNREACHABLE, CHAIN_ERROR
 * @example
 * const funds = await accountBalance(client, config.network, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
 */
export async function accountBalance(
  client: ChainClient,
  network: Pick<NetworkProfile, 'name' | 'contracts'>,
  address: string,
  options: BalanceOptions = {},
): Promise<AccountBalance> {
  const given: string = address
  if (!isAddress(given)) {
    throw lilypadError('ADDRESS_INVALID', {
      message: `${address} is not an address.`,
      hints: ['Pass a 0x-prefixed address of 40 hex digits.'],
      details: {address},
    })
  }
  const account = getAddress(address)
  const {token, controller} = contractsOf(network)
  const erc20 = LilypadToken__factory.connect(token, client.provider)
  const deals = LilypadController__factory.connect(controller, client.provider)
  try {
    const [eth, lp, allowance, parties] = await Promise.all([
      client.provider.getBalance(account),
      erc20.balanceOf(account),
      erc20.allowance(account, controller),
      getDealsForParty(client.provider, controller, account, {
        ...(options.fromBlock === undefined ? {} : {fromBlock: options.fromBlock}),
        signal: options.signal,
      }),
    ])
    const open: LockedDeal[] = []
    for (const party of parties) {
      if (party.role === 'mediator') continue
      const view = await deals.getDeal(party.dealId)
      const state = Number(view.state)
      if (TERMINAL_STATES.has(state)) continue
      const amount = await lockedIn(
        party.role,
        state,
        view,
        async () => (await deals.getResult(party.dealId)).resultsCollateral,
      )
      open.push({dealId: party.dealId, role: party.role, state: stateName(state), amount})
    }
    return {
      address: account,
      network: network.name,
      chainId: client.chainId,
      eth,
      lp,
      allowance,
      locked: open.reduce((sum, deal) => sum + deal.amount, 0n),
      deals: open,
      token,
      controller,
    }
  } catch (error) {
    if (isLilypadError(error)) throw error
    throw toChainError(error, {action: `read the balances of ${account}`})
  }
}
