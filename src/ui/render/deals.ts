/**
 * Human text for `lilypad deals …`.
 */
import {formatLp} from '../../core/deals/cost.js'
import type {DealActionResult, DealDetails, DealDownloadResult, DealSummary} from '../../core/deals/deals.js'

function age(createdAt: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - createdAt) / 1000))
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`
  return `${Math.floor(seconds / 86_400)}d`
}

function short(text: string | undefined, keep = 10): string {
  if (text === undefined || text === '') return '-'
  return text.length <= keep + 2 ? text : `${text.slice(0, keep)}…`
}

/** The `deals list` table: deal, module, state, provider, cost, age. */
export function formatDealsTable(deals: readonly DealSummary[], now = Date.now()): string {
  if (deals.length === 0) return 'No deals yet. Run a job: lilypad run cowsay:v0.0.3 -i Message=hi'
  const rows = deals.map((deal) => [
    deal.id,
    deal.module,
    deal.state,
    short(deal.provider),
    deal.cost === undefined ? '-' : formatLp(BigInt(deal.cost)),
    age(deal.createdAt, now),
  ])
  const header = ['DEAL', 'MODULE', 'STATE', 'PROVIDER', 'COST', 'AGE']
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** `deals show`: terms, transactions, result, verification, deadlines, who acts next. */
export function formatDealDetails(details: DealDetails): string {
  const {record, deal, chain} = details
  const lines = [
    `Deal       ${record.dealId ?? '-'}`,
    `Job offer  ${record.jobOfferId ?? '-'}`,
    `Module     ${record.module.repo}:${record.module.ref}${record.module.commit === '' ? '' : ` (${record.module.commit.slice(0, 12)})`}`,
    `State      ${record.state}${chain === undefined ? '' : ` (chain: ${chain.state})`}`,
    `Provider   ${record.provider ?? '-'}`,
  ]
  if (record.cost !== undefined) {
    lines.push(
      `Cost       locks ${formatLp(BigInt(record.cost.lock))}, pays ${formatLp(BigInt(record.cost.pay))}, mediation fee ${formatLp(BigInt(record.cost.mediationFee))}`,
    )
  }
  if (deal !== undefined) {
    const p = deal.deal.pricing
    lines.push(
      `Terms      instruction price ${p.instruction_price} LP, payment collateral ${p.payment_collateral} LP, results collateral ×${p.results_collateral_multiple}, mediation fee ${p.mediation_fee} LP`,
    )
  }
  const txs = Object.entries(record.txs)
  lines.push(`Txs        ${txs.length === 0 ? '-' : txs.map(([name, hash]) => `${name} ${hash}`).join(', ')}`)
  if (record.dataId !== undefined) lines.push(`Data ID    ${record.dataId}`)
  if (record.verification !== undefined) lines.push(`Verified   ${record.verification}`)
  if (record.outputDir !== undefined) lines.push(`Result     ${record.outputDir}`)
  if (record.error !== undefined) lines.push(`Error      ${record.error}`)
  if (chain !== undefined && chain.deadline > 0) {
    lines.push(
      `Deadline   ${new Date(chain.deadline * 1000).toISOString()} (chain time now ${new Date(chain.now * 1000).toISOString()})`,
    )
  }
  lines.push(`Next       ${details.next}`)
  return lines.join('\n')
}

/** `deals accept/dispute/refund`. */
export function formatDealAction(result: DealActionResult): string {
  if (result.tx === undefined) return result.note ?? `Nothing to do for deal ${result.dealId}.`
  return `${result.action ?? 'sent'} for deal ${result.dealId}: ${result.tx} (now ${result.state})`
}

/** `deals download`. */
export function formatDealDownload(result: DealDownloadResult): string {
  return result.verified
    ? `Downloaded deal ${result.dealId} into ${result.outputDir}; data ID ${result.dataId} matches.`
    : `Downloaded deal ${result.dealId} into ${result.outputDir}, but its data ID ${result.dataId} is not the committed ${result.expected}.`
}
