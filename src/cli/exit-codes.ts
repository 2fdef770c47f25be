/**
 * The one table from error category to process exit code. The README prints the same table.
 */
import type {ErrorCategory} from '../core/errors/index.js'

/** Exit code of each error category; success is 0. */
export const EXIT_CODES = {
  internal: 1,
  usage: 2,
  config: 3,
  module: 3,
  network: 4,
  chain: 5,
  job: 6,
  interrupted: 130,
} as const satisfies Record<ErrorCategory, number>

/** The exit code for an error category. */
export function exitCodeFor(category: ErrorCategory): number {
  return EXIT_CODES[category]
}
