/**
 * The error taxonomy. Every code core can throw is listed here with its category, so the set of
 * codes (part of the `--json` contract) is reviewable in one place.
 */
import {type ErrorCategory, type ErrorDetails, LilypadError} from './lilypad-error.js'

export {
  type ErrorCategory,
  type ErrorDetails,
  type JsonValue,
  LilypadError,
  isLilypadError,
} from './lilypad-error.js'

/** Every error code, with the category that sets its exit code. */
export const ERROR_CODES = {
  // usage (exit 2)
  USAGE: 'usage',
  INPUT_MALFORMED: 'usage',
  INPUT_DUPLICATE: 'usage',
  MODULE_REF_INVALID: 'usage',
  MODULE_REF_UNSAFE: 'usage',
  UNKNOWN_NETWORK: 'usage',
  DIRECTORY_NOT_EMPTY: 'usage',
  ADDRESS_INVALID: 'usage',
  RESULT_DIR_EXISTS: 'usage',
  DEAL_UNKNOWN: 'usage',
  WALLET_PASSWORD_MISMATCH: 'usage',
  // config and module (exit 3)
  CONFIG_INVALID: 'config',
  PRIVATE_KEY_MISSING: 'config',
  PRIVATE_KEY_INVALID: 'config',
  SOLVER_VERSION_REJECTED: 'config',
  SOLVER_CLOCK_SKEW: 'config',
  SOLVER_NOT_A_PARTY: 'config',
  SOLVER_NOT_REGISTERED: 'config',
  WELL_KNOWN_KEY: 'config',
  JOURNAL_FAILED: 'config',
  WALLET_PASSWORD_WRONG: 'config',
  WALLET_PASSWORD_REQUIRED: 'config',
  WALLET_NOT_FOUND: 'config',
  WALLET_EXISTS: 'config',
  WALLET_KEYSTORE_INVALID: 'config',
  NODE_UNSUPPORTED: 'config',
  GIT_UNAVAILABLE: 'config',
  DATA_DIR_NOT_WRITABLE: 'config',
  MODULE_NOT_FOUND: 'module',
  MODULE_REF_NOT_FOUND: 'module',
  MODULE_TEMPLATE_MISSING: 'module',
  MODULE_CACHE_LOCKED: 'module',
  MODULE_CACHE_FAILED: 'module',
  MODULE_GIT_FAILED: 'module',
  TEMPLATE_SYNTAX: 'module',
  TEMPLATE_UNSUPPORTED: 'module',
  TEMPLATE_INPUT_MISSING: 'module',
  TEMPLATE_RENDER_FAILED: 'module',
  TEMPLATE_NOT_JSON: 'module',
  MODULE_INVALID: 'module',
  SCAFFOLD_FAILED: 'module',
  // network (exit 4)
  DEVNET_NOT_RUNNING: 'network',
  DEVNET_START_FAILED: 'network',
  NETWORK_UNREACHABLE: 'network',
  RPC_UNREACHABLE: 'network',
  RPC_ERROR: 'network',
  TIMEOUT: 'network',
  SOLVER_UNREACHABLE: 'network',
  SOLVER_BUSY: 'network',
  SOLVER_TIMEOUT: 'network',
  SOLVER_ERROR: 'network',
  // chain (exit 5)
  WRONG_CHAIN: 'chain',
  INSUFFICIENT_FUNDS: 'chain',
  NONCE_CONFLICT: 'chain',
  TX_REVERTED: 'chain',
  CHAIN_ERROR: 'chain',
  LP_BALANCE_TOO_LOW: 'chain',
  LP_ALLOWANCE_TOO_LOW: 'chain',
  PERMIT_INVALID: 'chain',
  DEAL_NOT_FOUND: 'chain',
  DEAL_NOT_A_PARTY: 'chain',
  DEAL_WRONG_STATE: 'chain',
  DEAL_TOO_EARLY: 'chain',
  DEAL_ALREADY_AGREED: 'chain',
  DEAL_TERMS_MISMATCH: 'chain',
  DEAL_TERMS_INVALID: 'chain',
  MAX_PRICE_EXCEEDED: 'chain',
  // job failed (exit 6)
  RESULT_NOT_FOUND: 'job',
  SOLVER_NOT_FOUND: 'job',
  RESULT_PATH_UNSUPPORTED: 'job',
  RESULT_READ_FAILED: 'job',
  RESULT_ARCHIVE_INVALID: 'job',
  RESULT_ARCHIVE_UNSAFE: 'job',
  RESULT_ARCHIVE_TOO_LARGE: 'job',
  // the job did not complete (exit 6)
  NO_PROVIDER: 'job',
  JOB_FAILED: 'job',
  JOB_TIMED_OUT: 'job',
  JOB_CANCELLED: 'job',
  JOB_DISPUTED: 'job',
  RESULT_MISMATCH: 'job',
  // the job could not run here, or was stopped (exit 6)
  ENGINE_UNAVAILABLE: 'job',
  JOB_CANNOT_RUN: 'job',
  JOB_TIMEOUT: 'job',
  JOB_OUTPUTS_TOO_LARGE: 'job',
  // interrupted (exit 130)
  INTERRUPTED: 'interrupted',
  // a bug (exit 1)
  INTERNAL: 'internal',
} as const satisfies Record<string, ErrorCategory>

/** A known error code. */
export type ErrorCode = keyof typeof ERROR_CODES

/** Fields of an error besides its code; the category comes from {@link ERROR_CODES}. */
export interface ErrorFields {
  message: string
  hints?: readonly string[] | undefined
  details?: ErrorDetails | undefined
  cause?: unknown
}

/**
 * Builds a {@link LilypadError} for a known code, taking the category from the taxonomy.
 *
 * @example
 * throw lilypadError('INPUT_MALFORMED', {message: '"foo" is not KEY=VALUE', hints: ['-i Message=hi']})
 */
export function lilypadError(code: ErrorCode, fields: ErrorFields): LilypadError {
  return new LilypadError({code, category: ERROR_CODES[code], ...fields})
}
