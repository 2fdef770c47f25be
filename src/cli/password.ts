/**
 * Where a keystore password comes from: `--password-file`, then LILYPAD_PASSWORD_FILE, then a hidden
 * prompt on a terminal (asked twice for a new password, retried three times for a wrong one).
 */
import {readEnv} from '../core/config/index.js'
import {isLilypadError, lilypadError} from '../core/errors/index.js'
import {readPasswordFile} from '../core/wallet/index.js'
import {canPrompt, promptSecret} from '../ui/prompt.js'

/** How many times a wrong password may be typed on a terminal. */
const ATTEMPTS = 3

/** The password file named by the flag or the environment, if any. */
export function passwordFileOf(flag: string | undefined): string | undefined {
  return flag ?? readEnv().LILYPAD_PASSWORD_FILE
}

/**
 * A new password: from the file, or typed twice.
 *
 * @throws WALLET_PASSWORD_REQUIRED (no file, no terminal), WALLET_PASSWORD_MISMATCH
 */
export async function newPassword(flag: string | undefined): Promise<string> {
  const file = passwordFileOf(flag)
  if (file !== undefined) return readPasswordFile(file)
  if (!canPrompt()) throw noTerminal()
  const first = await promptSecret('New keystore password: ')
  if (first === '') {
    throw lilypadError('WALLET_PASSWORD_REQUIRED', {
      message: 'The keystore password is empty.',
      hints: ['Choose one.'],
    })
  }
  const second = await promptSecret('Repeat the password: ')
  if (first !== second) {
    throw lilypadError('WALLET_PASSWORD_MISMATCH', {
      message: 'The two passwords differ.',
      hints: ['Run the command again and type the same password twice.'],
    })
  }
  return first
}

/**
 * Runs `attempt` with an existing password: the file's (once), or typed on a terminal (retried
 * while it is wrong, up to three times).
 *
 * @throws WALLET_PASSWORD_REQUIRED (no file, no terminal), WALLET_PASSWORD_WRONG
 */
export async function withPassword<T>(
  flag: string | undefined,
  question: string,
  attempt: (password: string) => Promise<T>,
): Promise<T> {
  const file = passwordFileOf(flag)
  if (file !== undefined) return attempt(await readPasswordFile(file))
  if (!canPrompt()) throw noTerminal()
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt(await promptSecret(question))
    } catch (error) {
      if (!isLilypadError(error) || error.code !== 'WALLET_PASSWORD_WRONG' || tries >= ATTEMPTS) throw error
      process.stderr.write('Wrong password, try again.\n')
    }
  }
}

function noTerminal(): Error {
  return lilypadError('WALLET_PASSWORD_REQUIRED', {
    message: 'A keystore password is needed and there is no terminal to ask for it.',
    hints: ['Pass --password-file FILE (the password on its first line), or set LILYPAD_PASSWORD_FILE.'],
  })
}
