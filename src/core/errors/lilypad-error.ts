/**
 * The one error type core throws. Everything a user sees when something goes wrong comes from
 * these fields: a stable `code` (part of the `--json` contract), a `category` that decides the
 * exit code, a message a user can act on, hints ("Try this:") and structured `details`.
 */

/** What kind of failure this is; the CLI maps each category to one exit code. */
export type ErrorCategory =
  'usage' | 'config' | 'module' | 'network' | 'chain' | 'job' | 'interrupted' | 'internal'

/** A JSON-safe value for `details`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | {[key: string]: JsonValue}

/** Structured context attached to an error (module ref, input name, JSON pointer, …). */
export type ErrorDetails = {[key: string]: JsonValue}

/** Options accepted by {@link LilypadError}. */
export interface LilypadErrorOptions {
  code: string
  category: ErrorCategory
  message: string
  hints?: readonly string[] | undefined
  details?: ErrorDetails | undefined
  cause?: unknown
}

/**
 * Base class of every error thrown by the core library.
 *
 * @example
 * throw new LilypadError({code: 'MODULE_NOT_FOUND', category: 'module', message: 'No repository at …'})
 */
export class LilypadError extends Error {
  readonly code: string
  readonly category: ErrorCategory
  readonly hints: readonly string[]
  readonly details: ErrorDetails

  constructor(options: LilypadErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'LilypadError'
    this.code = options.code
    this.category = options.category
    this.hints = Object.freeze([...(options.hints ?? [])])
    this.details = options.details ?? {}
  }
}

/** True when `error` is a {@link LilypadError}, optionally with the given code. */
export function isLilypadError(error: unknown, code?: string): error is LilypadError {
  return error instanceof LilypadError && (code === undefined || error.code === code)
}
