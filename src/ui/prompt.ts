/**
 * Minimal interactive prompts on stderr; only called when stdin and stderr are terminals.
 */
import {createInterface} from 'node:readline/promises'
import {Writable} from 'node:stream'

/** Asks for one of `choices`; an empty answer takes `fallback`. */
export async function promptChoice<T extends string>(
  question: string,
  choices: readonly T[],
  fallback: T,
): Promise<T> {
  const rl = createInterface({input: process.stdin, output: process.stderr})
  try {
    for (;;) {
      const answer = (await rl.question(`${question} (${choices.join('/')}) [${fallback}]: `)).trim()
      if (answer === '') return fallback
      const match = choices.find((choice) => choice === answer)
      if (match !== undefined) return match
    }
  } finally {
    rl.close()
  }
}

/**
 * Asks for a secret without echoing it (a password, a private key). The answer is never written
 * anywhere; only a line break follows the question.
 */
export async function promptSecret(question: string): Promise<string> {
  let muted = false
  const output = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      if (!muted) process.stderr.write(chunk)
      callback()
    },
  })
  const rl = createInterface({input: process.stdin, output, terminal: true})
  try {
    process.stderr.write(question)
    muted = true
    return await rl.question('')
  } finally {
    muted = false
    rl.close()
    process.stderr.write('\n')
  }
}

/** True when prompts can be shown: stdin and stderr are terminals. */
export function canPrompt(): boolean {
  return process.stdin.isTTY && process.stderr.isTTY
}
