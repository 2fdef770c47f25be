/**
 * Progress of `lilypad run` and `lilypad deals wait` on stderr: the Go CLI's status lines (on a
 * terminal with a spinner under them, otherwise plain lines, so logs read like Go's), and a
 * download bar on a terminal. Silent under `--json`.
 */
import ora, {type Ora} from 'ora'

import type {RunEvent} from '../core/deals/events.js'
import {describeModuleEvent} from './render/module.js'
import {SUBMITTING_LINE, goStatusLine} from './render/run.js'

/** Receives a run's events and draws them. */
export interface RunProgress {
  onEvent(event: RunEvent): void
  /** A line of its own (e.g. the devnet starting), kept above the spinner. */
  line(text: string): void
  stop(): void
}

function bar(received: number, total: number | undefined): string {
  const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`
  if (total === undefined || total <= 0) return `Downloading result… ${kib(received)}`
  const width = 24
  const done = Math.min(width, Math.round((received / total) * width))
  return `Downloading result [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${kib(received)} / ${kib(total)}`
}

/**
 * Creates the progress display of a run.
 *
 * @param options - `json` silences it; `warn` receives warnings (the command records them)
 */
export function createRunProgress(options: {
  json: boolean
  warn: (message: string) => void
  stream?: NodeJS.WriteStream
}): RunProgress {
  const stream = options.stream ?? process.stderr
  const tty = stream.isTTY && process.env.CI === undefined
  let last: string | undefined
  let spinner: Ora | undefined
  const persist = (text: string): void => {
    if (options.json) return
    if (text === last) return
    last = text
    if (tty) {
      spinner ??= ora({stream, discardStdin: false})
      spinner.stopAndPersist({symbol: '', text})
      spinner.start('')
    } else {
      stream.write(`${text}\n`)
    }
  }
  return {
    onEvent(event) {
      switch (event.type) {
        case 'module':
          if (event.event.type === 'module.ref-moved' || event.event.type === 'module.offline')
            options.warn(describeModuleEvent(event.event))
          else if (tty && !options.json) {
            spinner ??= ora({stream, discardStdin: false})
            spinner.start(describeModuleEvent(event.event))
          }
          return
        case 'run.submitting':
          persist(SUBMITTING_LINE)
          return
        case 'run.state':
          persist(goStatusLine(event.state))
          return
        case 'run.download':
          if (tty && !options.json) {
            spinner ??= ora({stream, discardStdin: false})
            spinner.start(bar(event.received, event.total))
          }
          return
        case 'run.warning':
          options.warn(event.message)
          return
        case 'run.mismatch':
          options.warn(
            `The downloaded result's data ID is ${event.actual}, but the provider committed to ${event.expected}. Disputing the result.`,
          )
          return
        case 'run.posted':
        case 'run.deal':
        case 'run.tx':
        case 'run.verified':
        case 'run.ruling':
          return
      }
    },
    line(text) {
      if (options.json) return
      spinner?.stop()
      stream.write(`${text}\n`)
    },
    stop() {
      spinner?.stop()
    },
  }
}
