/**
 * Progress on stderr: a spinner on a terminal, nothing otherwise (pipes, CI, `--json`).
 */
import ora, {type Ora} from 'ora'

/** Receives progress lines from a command. */
export interface Reporter {
  /** Shows what is happening now. */
  step(text: string): void
  /** Marks the current step done with a final line. */
  succeed(text?: string): void
  /** Stops the spinner, e.g. before printing an error. */
  stop(): void
}

const silent: Reporter = {step() {}, succeed() {}, stop() {}}

/** Creates a reporter: a spinner on stderr when it is a terminal and output is not JSON. */
export function createReporter(options: {
  json: boolean
  env?: Readonly<Record<string, string | undefined>>
}): Reporter {
  const env = options.env ?? process.env
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false'
  if (options.json || ci || !process.stderr.isTTY) return silent
  let spinner: Ora | undefined
  return {
    step(text) {
      spinner ??= ora({stream: process.stderr, discardStdin: false})
      spinner.start(text)
    },
    succeed(text) {
      spinner?.succeed(text)
    },
    stop() {
      spinner?.stop()
    },
  }
}
