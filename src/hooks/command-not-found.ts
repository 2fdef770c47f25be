/**
 * An unknown command is a usage error in the same shape as every other error: the `--json` envelope
 * on stdout, or `Error [USAGE]` with a hint on stderr; exit 2.
 */
import {Errors, type Hook} from '@oclif/core'

import {EXIT_CODES} from '../cli/exit-codes.js'
import {lilypadError} from '../core/errors/index.js'
import {formatError, writeStderr, writeStdout} from '../ui/errors.js'

const hook: Hook.CommandNotFound = function (options) {
  const command = options.id.replaceAll(':', ' ')
  const error = lilypadError('USAGE', {
    message: `"${command}" is not a lilypad command.`,
    hints: ['Run lilypad --help to see the commands.'],
    details: {command},
  })
  const json =
    (options.argv ?? []).includes('--json') || process.env.LILYPAD_CONTENT_TYPE?.toLowerCase() === 'json'
  if (json) {
    const envelope = {
      ok: false,
      error: {code: error.code, message: error.message, hints: error.hints, details: error.details},
      warnings: [],
    }
    writeStdout(JSON.stringify(envelope, null, 2))
  } else {
    writeStderr(formatError(error, {debug: false, stream: process.stderr, clean: (text) => text}))
  }
  throw new Errors.ExitError(EXIT_CODES.usage)
}

export default hook
