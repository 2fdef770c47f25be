/**
 * What a deal costs the job creator, in LP wei, and the checks made before any token moves: the
 * spending cap (`--max-price`), the balance and the allowance. Pure functions over the deal's
 * terms (whole LP, as the solver's JSON carries them).
 */
import {formatUnits, parseUnits} from 'ethers'

import {lilypadError} from '../errors/index.js'
import type {DealPricing, DealTimeouts} from '../solver/types.js'

/** The spending cap of one run when neither the flag nor the profile sets one, in whole LP. */
export const DEFAULT_MAX_PRICE_LP = 10

/** LP has 18 decimals. */
const LP_DECIMALS = 18

/** What one deal costs its job creator, in LP wei. */
export interface DealCost {
  /** What `agree` locks: payment collateral + judge-results collateral (the most the run can hold). */
  lock: bigint
  paymentCollateral: bigint
  judgeCollateral: bigint
  /** What the provider is paid on acceptance: min(instruction price × count, payment collateral). */
  pay: bigint
  /** Paid to the mediator if the result is disputed. */
  mediationFee: bigint
  /** What comes back on acceptance: lock − pay. */
  refundOnAccept: bigint
}

/**
 * Converts an amount of whole LP (a number from the solver's JSON, or text like "2.5") to wei.
 *
 * @throws USAGE when the amount is negative or not a decimal number
 * @example
 * lpToWei(2) // 2000000000000000000n
 */
export function lpToWei(amount: number | string): bigint {
  const text = typeof amount === 'number' ? numberText(amount) : amount.trim()
  if (!/^\d+(\.\d{1,18})?$/.test(text)) {
    throw lilypadError('USAGE', {
      message: `"${String(amount)}" is not an amount of LP: expected a non-negative decimal number such as 10 or 2.5.`,
      hints: ['Amounts are in whole LP, e.g. --max-price 10.'],
    })
  }
  return parseUnits(text, LP_DECIMALS)
}

/** A JS number as plain decimal text (no exponent), for parseUnits. */
function numberText(value: number): string {
  if (!Number.isFinite(value) || value < 0) return String(value)
  if (Number.isInteger(value)) return BigInt(value).toString()
  return value.toFixed(18).replace(/0+$/, '')
}

/**
 * Formats wei as LP for people: "3 LP", "0.5 LP".
 *
 * @example
 * formatLp(3000000000000000000n) // "3 LP"
 */
export function formatLp(wei: bigint): string {
  return `${formatUnits(wei, LP_DECIMALS).replace(/\.0$/, '')} LP`
}

/**
 * The cost of a deal (or of a job offer's own pricing, for a preview) to its job creator.
 *
 * @param pricing - the deal's pricing (whole LP, multiple as a factor)
 * @param timeouts - the deal's timeouts (`onchain` protocol); without them the judge collateral is 0
 * @param instructionCount - the instructions a provider reports (always 1 today)
 * @returns the amounts in LP wei
 * @example
 * dealCost({instruction_price: 1, payment_collateral: 2, results_collateral_multiple: 2, mediation_fee: 1},
 *   timeouts).lock // 3 LP in wei, with a 1 LP judge collateral
 */
export function dealCost(
  pricing: DealPricing,
  timeouts?: Pick<DealTimeouts, 'judge_results'>,
  instructionCount = 1,
): DealCost {
  const paymentCollateral = lpToWei(pricing.payment_collateral)
  const judgeCollateral = timeouts === undefined ? 0n : lpToWei(timeouts.judge_results.collateral)
  const jobCost = lpToWei(pricing.instruction_price) * BigInt(instructionCount)
  const pay = jobCost < paymentCollateral ? jobCost : paymentCollateral
  const lock = paymentCollateral + judgeCollateral
  return {
    lock,
    paymentCollateral,
    judgeCollateral,
    pay,
    mediationFee: lpToWei(pricing.mediation_fee),
    refundOnAccept: lock - pay,
  }
}

/**
 * Refuses a deal whose lock exceeds the spending cap, before any transaction.
 *
 * @param cost - the deal's cost
 * @param maxPriceWei - the cap in wei (see {@link lpToWei})
 * @throws MAX_PRICE_EXCEEDED saying what the deal would lock and pay
 */
export function checkMaxPrice(cost: DealCost, maxPriceWei: bigint, dealId?: string): void {
  if (cost.lock <= maxPriceWei) return
  throw lilypadError('MAX_PRICE_EXCEEDED', {
    message: `The deal would lock ${formatLp(cost.lock)} (payment collateral ${formatLp(cost.paymentCollateral)} + judge collateral ${formatLp(cost.judgeCollateral)}; the job pays ${formatLp(cost.pay)}), above your cap of ${formatLp(maxPriceWei)}. Nothing was sent.`,
    hints: [
      `Raise the cap: --max-price ${formatUnits(cost.lock, LP_DECIMALS).replace(/\.0$/, '')}.`,
      'Or set maxPrice on the network profile in your config file.',
    ],
    details: {
      lock: cost.lock.toString(),
      pay: cost.pay.toString(),
      maxPrice: maxPriceWei.toString(),
      ...(dealId === undefined ? {} : {dealId}),
    },
  })
}

/**
 * The most a deal can take from the job creator: the lock, plus what a dispute pulls on top of
 * the judge collateral it returns (`checkResult` pulls F − J when the mediation fee is larger).
 *
 * @param cost - the deal's cost
 * @returns the same cost with `lock` raised by max(0, mediationFee − judgeCollateral)
 * @example
 * checkMaxPrice(withDisputeCost(cost), maxPrice)
 */
export function withDisputeCost(cost: DealCost): DealCost {
  const dispute = cost.mediationFee > cost.judgeCollateral ? cost.mediationFee - cost.judgeCollateral : 0n
  return {...cost, lock: cost.lock + dispute}
}

/** How the job creator can fund the lock. */
export interface FundingPlan {
  /** True when the allowance is short: sign a permit and use `agreeWithPermit` (one transaction). */
  permit: boolean
  /** Balance after the lock. */
  balanceAfter: bigint
}

/**
 * Checks the balance against the lock and decides between `agree` and `agreeWithPermit`.
 *
 * @param cost - the deal's cost
 * @param funds - the job creator's LP balance and its allowance for the controller, in wei
 * @returns the funding plan
 * @throws LP_BALANCE_TOO_LOW when the balance cannot cover the lock (nothing was sent)
 */
export function planFunding(
  cost: Pick<DealCost, 'lock'>,
  funds: {balance: bigint; allowance: bigint; account: string},
): FundingPlan {
  if (funds.balance < cost.lock) {
    throw lilypadError('LP_BALANCE_TOO_LOW', {
      message: `${funds.account} holds ${formatLp(funds.balance)}, but the deal locks ${formatLp(cost.lock)}. Nothing was sent.`,
      hints: [
        `Get at least ${formatLp(cost.lock - funds.balance)} more into ${funds.account}.`,
        'On the local network: lilypad devnet fund <address>.',
      ],
      details: {account: funds.account, balance: funds.balance.toString(), needed: cost.lock.toString()},
    })
  }
  return {permit: funds.allowance < cost.lock, balanceAfter: funds.balance - cost.lock}
}
