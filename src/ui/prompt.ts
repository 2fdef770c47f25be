/**
 * Minimal interactive prompts on stderr; only called when stdin and stderr are terminals.
 */
import {createInterface} from 'node:readline/promises'

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
