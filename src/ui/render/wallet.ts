/**
 * Human text for wallet results. Addresses and amounts only: a key never reaches this module.
 */
import {formatEther} from 'ethers'

import {formatLp} from '../../core/deals/cost.js'

/** One account as `wallet show` lists it. */
export interface WalletShowRow {
  address: string
  path: string
  default: boolean
}

/** `wallet show`: which account signs and why, then the keystore's accounts. */
export function formatWalletShow(result: {
  signer: {address: string | null; source: string; detail: string}
  keystore: string
  accounts: readonly WalletShowRow[]
}): string {
  const lines = [
    result.signer.address === null
      ? `No account signs on this network: ${result.signer.detail}`
      : `Signing account: ${result.signer.address} (${result.signer.detail})`,
    '',
  ]
  if (result.accounts.length === 0) lines.push(`The keystore ${result.keystore} is empty.`)
  else {
    lines.push(`Keystore ${result.keystore}:`)
    for (const account of result.accounts) lines.push(`${account.default ? '*' : ' '} ${account.address}`)
  }
  return lines.join('\n')
}

/** `wallet balance`: amounts as ETH and LP, with the open deals holding LP. */
export function formatWalletBalance(result: {
  address: string
  network: string
  eth: string
  lp: string
  allowance: string
  locked: string
  deals: readonly {dealId: string; role: string; state: string; amount: string}[]
}): string {
  const rows: [string, string][] = [
    ['account', `${result.address} on ${result.network}`],
    ['ETH', `${formatEther(BigInt(result.eth))} ETH`],
    ['LP', formatLp(BigInt(result.lp))],
    ['allowance', `${formatLp(BigInt(result.allowance))} (controller)`],
    [
      'locked',
      `${formatLp(BigInt(result.locked))} in ${result.deals.length} open deal${result.deals.length === 1 ? '' : 's'}`,
    ],
  ]
  const width = Math.max(...rows.map(([key]) => key.length))
  const lines = rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`)
  for (const deal of result.deals) {
    lines.push(`  ${deal.dealId}  ${deal.role}  ${deal.state}  ${formatLp(BigInt(deal.amount))}`)
  }
  return lines.join('\n')
}
