/**
 * Deal queries that read the chain's logs instead of storage: the controller keeps no per-party list
 * of deals (it would cost every party over 22,000 gas per deal), so a party's deals are found through
 * the `DealCreated` (job creator, provider) and `MediationRequested` (mediator) events, then checked
 * against the contract's state, since anyone creating a deal may name any counterparty.
 */
import type {Provider} from 'ethers'

import {isLilypadError, lilypadError} from '../errors/index.js'
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
  /** First block to search: the controller's deployment block (`Deployment.blockNumber`) on long chains. */
  fromBlock?: number
  /** Last block to search (default: the current block). */
  toBlock?: number
  /** Blocks per `eth_getLogs` request (default 10,000; public endpoints refuse large ranges). */
  blockRange?: number
  signal?: AbortSignal | undefined
}

/**
 * Lists the deals `party` has agreed to as job creator or resource provider, or was drawn to
 * mediate, oldest first. Deals that merely name the party (it never agreed) are left out.
 *
 * @param provider - a provider of the chain
 * @param controller - the LilypadController address
 * @param party - the account to look for
 * @returns one entry per deal and role
 * @throws RPC_UNREACHABLE, RPC_ERROR, CHAIN_ERROR, INTERRUPTED
 * @example
 * const deals = await getDealsForParty(client.provider, addresses.LilypadController, client.address, {fromBlock})
 */
export async function getDealsForParty(
  provider: Provider,
  controller: string,
  party: string,
  options: DealsForPartyOptions = {},
): Promise<PartyDeal[]> {
  const contract = LilypadController__factory.connect(controller, provider)
  const range = Math.max(1, options.blockRange ?? 10_000)
  try {
    const last = options.toBlock ?? (await provider.getBlockNumber())
    const found: PartyDeal[] = []
    for (let from = options.fromBlock ?? 0; from <= last; from += range) {
      if (options.signal?.aborted === true) throw lilypadError('INTERRUPTED', {message: 'Interrupted.'})
      const to = Math.min(last, from + range - 1)
      const [asJobCreator, asProvider, asMediator] = await Promise.all([
        contract.queryFilter(contract.filters.DealCreated(undefined, party, undefined), from, to),
        contract.queryFilter(contract.filters.DealCreated(undefined, undefined, party), from, to),
        contract.queryFilter(contract.filters.MediationRequested(undefined, party), from, to),
      ])
      for (const [logs, role] of [
        [asJobCreator, 'jobCreator'],
        [asProvider, 'resourceProvider'],
        [asMediator, 'mediator'],
      ] as const) {
        for (const log of logs) found.push({dealId: log.args.dealId, role, blockNumber: log.blockNumber})
      }
    }
    const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase()
    const unique = found.filter(
      (deal, i) => found.findIndex((other) => other.dealId === deal.dealId && other.role === deal.role) === i,
    )
    const checked = await Promise.all(
      unique.map(async (deal) => {
        if (deal.role === 'mediator') return same(await contract.getMediator(deal.dealId), party)
        const [view, agreement] = await Promise.all([
          contract.getDeal(deal.dealId),
          contract.getAgreement(deal.dealId),
        ])
        return deal.role === 'jobCreator'
          ? same(view.jobCreator, party) && agreement.jobCreatorAgreed
          : same(view.resourceProvider, party) && agreement.resourceProviderAgreed
      }),
    )
    return unique.filter((_, i) => checked[i] === true).sort((a, b) => a.blockNumber - b.blockNumber)
  } catch (error) {
    if (isLilypadError(error)) throw error
    throw toChainError(error, {action: `list the deals of ${party}`})
  }
}
