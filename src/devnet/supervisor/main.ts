/**
 * The supervisor's process entry: `node main.js '<options JSON>'`. `lilypad devnet up` spawns it
 * detached; SIGTERM or SIGINT stops every service and exits.
 */
import {runSupervisor, type SupervisorOptions} from './supervisor.js'

const options = JSON.parse(process.argv[2] ?? '{}') as SupervisorOptions
const running = await runSupervisor(options).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  running.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
      process.exit(1)
    },
  )
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
