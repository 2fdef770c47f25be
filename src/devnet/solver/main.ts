/**
 * Runs the solver as its own process: `node main.js '<options JSON>'` (or `node main.js @file.json`).
 * Prints one JSON line `{"url", "port", "pid"}` on stdout once listening, and stops cleanly on
 * SIGTERM or SIGINT. Used by the devnet supervisor and by tests that kill and restart the solver.
 */
import {readFileSync} from 'node:fs'
import {pathToFileURL} from 'node:url'

import {startSolver, type SolverOptions} from './index.js'

/** Parses the options argument; `resourceOfferAdmission.minEthWei` may be a decimal string. */
export function parseSolverArgs(argument: string | undefined): SolverOptions {
  if (argument === undefined || argument === '')
    throw new Error('usage: main.js <options JSON> | @<options file>')
  const text = argument.startsWith('@') ? readFileSync(argument.slice(1), 'utf8') : argument
  const parsed = JSON.parse(text) as Omit<SolverOptions, 'resourceOfferAdmission'> & {
    resourceOfferAdmission?: {minEthWei: string | number}
  }
  const {resourceOfferAdmission, ...rest} = parsed
  return resourceOfferAdmission === undefined
    ? rest
    : {...rest, resourceOfferAdmission: {minEthWei: BigInt(resourceOfferAdmission.minEthWei)}}
}

async function main(): Promise<void> {
  const solver = await startSolver(parseSolverArgs(process.argv[2]))
  process.stdout.write(`${JSON.stringify({url: solver.url, port: solver.port, pid: process.pid})}\n`)
  const shutdown = (): void => {
    void solver.stop().then(() => process.exit(0))
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  })
}
