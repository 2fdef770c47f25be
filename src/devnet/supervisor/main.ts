/**
 * The supervisor's process entry: `node main.js '<options JSON>'`. `lilypad devnet up` spawns it
 * detached. SIGTERM or SIGINT, even in the middle of the start, stops every service started so far
 * and exits; so does a crash.
 */
import {runSupervisor, type RunningDevnet, type SupervisorOptions} from './supervisor.js'

const options = JSON.parse(process.argv[2] ?? '{}') as SupervisorOptions
const starting = new AbortController()
let running: RunningDevnet | undefined
let stopping = false

function fail(error: unknown): never {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}

function stop(): void {
  if (stopping) return
  stopping = true
  // While starting, the abort makes runSupervisor stop what it started and throw.
  if (running === undefined) {
    starting.abort()
    return
  }
  running.stop().then(() => process.exit(0), fail)
}

process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.on('uncaughtException', (error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`)
  const stopped = running?.stop() ?? Promise.resolve()
  stopped.then(
    () => process.exit(1),
    () => process.exit(1),
  )
})

try {
  running = await runSupervisor({...options, signal: starting.signal})
} catch (error) {
  fail(error)
}
// A stop asked for after the last phase check still ends the devnet.
if (starting.signal.aborted) running.stop().then(() => process.exit(0), fail)
