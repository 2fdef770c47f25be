/**
 * Deal queries that read the chain's logs instead of storage: the controller keeps no per-party list
 * of deals (it would cost every party over 22,000 gas per deal), so a party's deals are found through
 * the `DealCreated` (job creator, provider) and `MediationRequested` (mediator) events.
 */
import type {Provider} from 'ethers'

import {toChainError} from './errors.js'
import {LilypadController__factory} from './generated/factories/LilypadController__factory.js'

/** A party's role in a deal. */
export type DealRole = 'jobCreator' | 'resourceProvider' | 'mediator'

/** One deal a party takes part in. */
export interface PartyDeal {
  dealId: string
  role: DealRole
  /** The block of the event that made the party a member. */
  blockNumber: number
}

/** Options of {@link getDealsForParty}. */
export interface DealsForPartyOptions {
  /** First block to search (default 0); pass the deployment block on long chains. */
  fromBlock?: number
  toBlock?: number | 'latest'
}

/**
 * Lists the deals `party` is job creator, resource provider or drawn mediator of, oldest first.
 *
 * @param provider - a provider of the chain
 * @param controller - the LilypadController address
 * @param party - the account to look for
 * @returns one entry per deal and role
 * @throws RPC_UNREACHABLE, CHAIN_ERROR
 * @example
 * const deals = await getDealsForParty(client.provider, addresses.LilypadController, client.address)
 */
export async function getDealsForParty(
  provider: Provider,
  controller: string,
  party: string,
  options: DealsForPartyOptions = {},
): Promise<PartyDeal[]> {
  const contract = LilypadController__factory.connect(controller, provider)
  const from = options.fromBlock ?? 0
  const to = options.toBlock ?? 'latest'
  try {
    const [asJobCreator, asProvider, asMediator] = await Promise.all([
      contract.queryFilter(contract.filters.DealCreated(undefined, party, undefined), from, to),
      contract.queryFilter(contract.filters.DealCreated(undefined, undefined, party), from, to),
      contract.queryFilter(contract.filters.MediationRequested(undefined, party), from, to),
    ])
    const deals: PartyDeal[] = [
      ...asJobCreator.map((log) => ({
        dealId: log.args.dealId,
        role: 'jobCreator' as const,
        blockNumber: log.blockNumber,
      })),
      ...asProvider.map((log) => ({
        dealId: log.args.dealId,
        role: 'resourceProvider' as const,
        blockNumber: log.blockNumber,
      })),
      ...asMediator.map((log) => ({
        dealId: log.args.dealId,
        role: 'mediator' as const,
        blockNumber: log.blockNumber,
      })),
    ]
    return deals.sort((a, b) => a.blockNumber - b.blockNumber)
  } catch (error) {
    throw toChainError(error, {action: `list the deals of ${party}`})
  }
}
