/**
 * Human rendering of errors and warnings (stderr).
 */
import type {LilypadError} from '../core/errors/index.js'
import {themeFor} from './theme.js'

/**
 * Formats an error as `Error [CODE]: message` plus `Try this:` hints; details, the stack and the
 * cause chain only when `debug`. Every piece of text passes through `clean` (secret redaction).
 */
export function formatError(
  error: LilypadError,
  options: {debug: boolean; stream: {isTTY?: boolean}; clean: (text: string) => string},
): string {
  const {clean} = options
  const c = themeFor(options.stream)
  const lines = [`${c.red.bold('Error')} ${c.dim(`[${error.code}]`)}: ${clean(error.message)}`]
  if (error.hints.length > 0) {
    lines.push(c.bold('Try this:'))
    for (const hint of error.hints) lines.push(`  • ${clean(hint)}`)
  }
  if (options.debug) {
    if (Object.keys(error.details).length > 0)
      lines.push(c.dim(clean(`Details: ${JSON.stringify(error.details)}`)))
    if (error.stack !== undefined) lines.push(c.dim(clean(error.stack)))
    let cause: unknown = error.cause
    while (cause !== undefined) {
      const text = cause instanceof Error ? (cause.stack ?? cause.message) : JSON.stringify(cause)
      lines.push(c.dim(clean(`Caused by: ${text}`)))
      cause = cause instanceof Error ? cause.cause : undefined
    }
  }
  return lines.join('\n')
}

/** Formats one warning line. */
export function formatWarning(message: string, stream: {isTTY?: boolean}): string {
  return `${themeFor(stream).yellow('Warning')}: ${message}`
}

/** Writes text plus a newline to stderr. */
export function writeStderr(text: string): void {
  process.stderr.write(`${text}\n`)
}

/** Writes text plus a newline to stdout. */
export function writeStdout(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}
