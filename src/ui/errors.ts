/**
 * Human rendering of errors and warnings (stderr).
 */
import type {LilypadError} from '../core/errors/index.js'
import {themeFor} from './theme.js'

/** Formats an error as `Error [CODE]: message` plus `Try this:` hints; the cause chain only when `debug`. */
export function formatError(
  error: LilypadError,
  options: {debug: boolean; stream: {isTTY?: boolean}},
): string {
  const c = themeFor(options.stream)
  const lines = [`${c.red.bold('Error')} ${c.dim(`[${error.code}]`)}: ${error.message}`]
  if (error.hints.length > 0) {
    lines.push(c.bold('Try this:'))
    for (const hint of error.hints) lines.push(`  • ${hint}`)
  }
  if (options.debug) {
    const detailKeys = Object.keys(error.details)
    if (detailKeys.length > 0) lines.push(c.dim(`Details: ${JSON.stringify(error.details)}`))
    if (error.stack !== undefined) lines.push(c.dim(error.stack))
    let cause: unknown = error.cause
    while (cause !== undefined) {
      lines.push(
        c.dim(
          `Caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : JSON.stringify(cause)}`,
        ),
      )
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
