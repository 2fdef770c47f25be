// Start-up cost of the CLI against a bare `node -e 0` measured in the same run.
import {pathToFileURL} from 'node:url'

import {CLI, fmt, measure, timeNode} from './lib.mjs'

export function benchStartup(runs = 15) {
  const m = measure(
    {
      'node -e 0': () => timeNode(['-e', '0']),
      'lilypad --version': () => timeNode([CLI, '--version']),
      'lilypad --help': () => timeNode([CLI, '--help']),
    },
    runs,
  )
  const base = m['node -e 0']
  console.log(`start-up (median of ${runs} runs, interleaved)`)
  for (const [name, ms] of Object.entries(m))
    console.log(`  ${name.padEnd(20)} ${fmt(ms).padStart(10)}  ×${(ms / base).toFixed(2)} of node -e 0`)
  return m
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) benchStartup()
