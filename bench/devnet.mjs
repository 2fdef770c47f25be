// Devnet start-up: cold `devnet up` (fresh data directory: chain, contracts, funding, repositories)
// and warm `devnet up` (the same directory after `down`), each beside `lilypad --version` measured in
// the same run. Every devnet is stopped again; nothing is asserted.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {CLI, fmt, median, timeNode} from './lib.mjs'

export function benchDevnet(runs = 5) {
  const cold = []
  const warm = []
  const down = []
  const version = []
  for (let i = 0; i < runs; i += 1) {
    const dataDir = mkdtempSync(join(tmpdir(), 'lilypad-bench-devnet-'))
    try {
      version.push(timeNode([CLI, '--version']))
      cold.push(timeNode([CLI, 'devnet', 'up', '--data-dir', dataDir]))
      down.push(timeNode([CLI, 'devnet', 'down', '--data-dir', dataDir]))
      warm.push(timeNode([CLI, 'devnet', 'up', '--data-dir', dataDir]))
      timeNode([CLI, 'devnet', 'down', '--data-dir', dataDir])
    } finally {
      timeNode([CLI, 'devnet', 'down', '--data-dir', dataDir])
      rmSync(dataDir, {recursive: true, force: true})
    }
  }
  const base = median(version)
  console.log(`devnet (median of ${runs} runs, each with a fresh data directory)`)
  for (const [name, values] of [
    ['lilypad --version', version],
    ['devnet up (cold)', cold],
    ['devnet down', down],
    ['devnet up (warm)', warm],
  ]) {
    const ms = median(values)
    console.log(
      `  ${name.padEnd(20)} ${fmt(ms).padStart(10)}  ×${(ms / base).toFixed(2)} of lilypad --version`,
    )
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) benchDevnet()
