/**
 * The text of `lilypad run`, in the Go CLI's words (lilypad-protocol.md §1.11): the status lines
 * on stderr and the closing block on stdout, byte for byte, because other tools scrape the
 * `open <dir>` line.
 */
import type {DealCost} from '../../core/deals/cost.js'
import {formatLp} from '../../core/deals/cost.js'

/** The first status line of every run. */
export const SUBMITTING_LINE = '🌟  Lilypad submitting job'

/** The Go CLI's emoji and message per state (`cmd/lilypad/run.go`). */
const GO_STATUS: Readonly<Record<string, readonly [string, string]>> = {
  DealNegotiating: ['🤝', 'Job submitted. Negotiating deal...'],
  DealAgreed: ['💌', 'Deal agreed. Running job...'],
  ResultsSubmitted: ['🤔', 'Results submitted. Awaiting verification...'],
  ResultsAccepted: ['✅', 'Results accepted. Downloading result...'],
  ResultsRejected: ['🙀', 'Results rejected! Getting refund...'],
  JobOfferCancelled: ['😭', 'Job cancelled...'],
  TimeoutMatch: ['⏱️', 'Job timed out before a match could be made...'],
  TimeoutExecution: ['⏱️', 'Job timed out during execution...'],
  TimeoutDownload: ['⏱️', 'Job output download window expired...'],
  JobTimedOut: ['⏱️', 'Job timed out...'],
}

/**
 * The status line the Go CLI prints when a job reaches `state`: `<emoji>  <message>`, or the
 * raw state name after 🌟 for states it has no words for.
 */
export function goStatusLine(state: string): string {
  const known = GO_STATUS[state]
  return known === undefined ? `🌟  ${state}` : `${known[0]}  ${known[1]}`
}

/** The success tail on stdout, exactly as Go prints it. */
export function formatRunCompleted(result: {dataId: string; outputDir: string}): string {
  const dir = result.outputDir
  return [
    `🆔  Data ID: ${result.dataId}`,
    '',
    '🍂 Lilypad job completed, try 👇',
    `    open ${dir}`,
    `    cat ${dir}/stdout`,
    `    cat ${dir}/stderr`,
  ].join('\n')
}

/** What `--detach` prints on stdout: the deal ID and how to follow it. */
export function formatDetached(result: {dealId: string | undefined; jobOfferId: string}): string {
  if (result.dealId === undefined) return `Job offer ${result.jobOfferId} posted.`
  return [`Deal ${result.dealId}`, `Follow it with: lilypad deals wait ${result.dealId}`].join('\n')
}

/** The cost lines of `--dry-run`, and of a deal before it is agreed. */
export function formatCostPreview(preview: {
  cost: DealCost
  balance?: bigint | undefined
  maxPrice: bigint
  account?: string | undefined
}): string {
  const {cost} = preview
  const lines = [
    `Locks up to ${formatLp(cost.lock)} (payment collateral ${formatLp(cost.paymentCollateral)} + judge collateral ${formatLp(cost.judgeCollateral)})`,
    `Pays the provider ${formatLp(cost.pay)} when the result is accepted; ${formatLp(cost.refundOnAccept)} comes back`,
    `Your cap (--max-price): ${formatLp(preview.maxPrice)}${cost.lock > preview.maxPrice ? ' (this job is above it and would be refused)' : ''}`,
  ]
  if (preview.balance !== undefined) {
    const after = preview.balance - cost.pay
    lines.push(
      `Balance${preview.account === undefined ? '' : ` of ${preview.account}`}: ${formatLp(preview.balance)}, ${formatLp(preview.balance - cost.lock)} while the job runs, ${formatLp(after)} after it`,
    )
  }
  lines.push('Nothing was sent (--dry-run).')
  return lines.join('\n')
}
