/**
 * Human text for `doctor`: one line per check with its status, and the fix under each that failed.
 */
import type {DoctorCheck} from '../../core/doctor/index.js'
import {themeFor} from '../theme.js'

const MARK = {pass: 'ok', warn: 'warn', fail: 'FAIL', skip: 'skip'} as const

/** The report as a list, fixes indented under their check. */
export function formatDoctor(
  result: {network: string | null; account: string | null; checks: readonly DoctorCheck[]},
  stream: {isTTY?: boolean} = process.stdout,
): string {
  const theme = themeFor(stream)
  const paint = {pass: theme.green, warn: theme.yellow, fail: theme.red, skip: theme.dim} as const
  const width = Math.max(...result.checks.map((check) => check.title.length))
  const lines = [
    `network ${result.network ?? '(unknown)'}${result.account === null ? '' : `, account ${result.account}`}`,
  ]
  for (const check of result.checks) {
    lines.push(
      `${paint[check.status](MARK[check.status].padEnd(4))}  ${check.title.padEnd(width)}  ${check.detail}`,
    )
    if (check.status === 'fail' || check.status === 'warn') {
      for (const fix of check.fix) lines.push(`      ${' '.repeat(width)}  → ${fix}`)
    }
  }
  const failed = result.checks.filter((check) => check.status === 'fail').length
  lines.push('', failed === 0 ? 'All checks passed.' : `${failed} check${failed === 1 ? '' : 's'} failed.`)
  return lines.join('\n')
}
