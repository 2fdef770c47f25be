/**
 * Transactions as the devnet's provider and mediator send them: wait for the receipt by polling it
 * (automining chains produce no further block to wake a waiter), approve the controller only when
 * the allowance is short, and turn every failure into a LilypadError naming the action.
 */
import {setTimeout as delay} from 'node:timers/promises'

import {type ContractTransactionResponse, MaxUint256, type TransactionReceipt} from 'ethers'

import {toChainError} from '../../core/chain/errors.js'
import type {LilypadToken} from '../../core/chain/generated/LilypadToken.js'
import {isLilypadError, lilypadError} from '../../core/errors/index.js'

const RECEIPT_POLL_MS = 50
const RECEIPT_TIMEOUT_MS = 120_000

/**
 * Sends a transaction and waits until it is mined and succeeded.
 *
 * @param send - starts the transaction
 * @param context - the action (for the error message) and the sending account
 * @returns the receipt
 * @throws the codes of toChainError; TX_REVERTED when mined but reverted; TIMEOUT; INTERRUPTED
 */
export async function sendAndWait(
  send: () => Promise<ContractTransactionResponse>,
  context: {action: string; account: string; signal?: AbortSignal | undefined},
): Promise<TransactionReceipt> {
  try {
    const tx = await send()
    const deadline = Date.now() + RECEIPT_TIMEOUT_MS
    for (;;) {
      const receipt = await tx.provider.getTransactionReceipt(tx.hash)
      if (receipt !== null) {
        if (receipt.status !== 1) {
          throw lilypadError('TX_REVERTED', {
            message: `Cannot ${context.action}: transaction ${tx.hash} reverted.`,
            details: {action: context.action, txHash: tx.hash},
          })
        }
        return receipt
      }
      if (Date.now() > deadline) {
        throw lilypadError('TIMEOUT', {
          message: `Cannot ${context.action}: transaction ${tx.hash} was not mined within ${RECEIPT_TIMEOUT_MS / 1000} s.`,
          details: {action: context.action, txHash: tx.hash},
        })
      }
      if (context.signal?.aborted === true) throw lilypadError('INTERRUPTED', {message: 'Interrupted.'})
      await delay(RECEIPT_POLL_MS)
    }
  } catch (error) {
    if (isLilypadError(error)) throw error
    throw toChainError(error, {action: context.action, account: context.account})
  }
}

/**
 * Makes sure `spender` may take at least `amount` of the owner's LP, approving it for good (the
 * maximum allowance) when the allowance is short.
 *
 * @returns the approve transaction's hash, or undefined when none was needed
 * @throws the codes of {@link sendAndWait}
 */
export async function ensureAllowance(
  token: LilypadToken,
  owner: string,
  spender: string,
  amount: bigint,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (amount === 0n) return undefined
  let allowance: bigint
  try {
    allowance = await token.allowance(owner, spender)
  } catch (error) {
    throw toChainError(error, {action: 'read the LP allowance', account: owner})
  }
  if (allowance >= amount) return undefined
  // A standing approval of the protocol's own contract, which pulls only what each of our own calls
  // names: approving exact amounts per deal lets concurrent deals spend each other's allowance.
  const receipt = await sendAndWait(() => token.approve(spender, MaxUint256), {
    action: 'approve the controller to take LP',
    account: owner,
    signal,
  })
  return receipt.hash
}
