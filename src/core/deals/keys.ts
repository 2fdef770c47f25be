/**
 * The devnet's keys are public (anvil's default mnemonic): a transaction or a signed job offer
 * made with one of them anywhere but on the devnet could be front-run or drained by anyone.
 */
import {DEVNET_CHAIN_ID, type NetworkProfile, isWellKnownKey} from '../config/index.js'
import {lilypadError} from '../errors/index.js'

/**
 * Refuses a well-known key on any chain but the devnet's.
 *
 * @param privateKey - the signing key (never printed)
 * @param network - the network profile in use (its `devnet` flag and name)
 * @param chainId - the chain the run talks to
 * @throws WELL_KNOWN_KEY when the key is a devnet key and the chain is not the devnet's
 * @example
 * assertKeyAllowed(config.privateKey, config.network, 421614) // throws for anvil's key #5
 */
export function assertKeyAllowed(
  privateKey: string,
  network: Pick<NetworkProfile, 'name' | 'devnet'>,
  chainId: number,
): void {
  if (network.devnet && chainId === DEVNET_CHAIN_ID) return
  if (!isWellKnownKey(privateKey)) return
  throw lilypadError('WELL_KNOWN_KEY', {
    message: `WEB3_PRIVATE_KEY is one of the devnet's public development keys; it is refused on "${network.name}" (chain ${chainId}), where anyone could spend from it.`,
    hints: [
      'Use a key of your own: export WEB3_PRIVATE_KEY=<64 hex digits>.',
      'The development keys work only on the local network (--network local).',
    ],
    details: {network: network.name, chainId},
  })
}
