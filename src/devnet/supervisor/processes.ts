/**
 * Child processes of the devnet: started directly (never through a shell or npx, so the PID we hold
 * is the program itself), stopped by that PID, and waited for until they are gone.
 */
import type {ChildProcess} from 'node:child_process'
import {createServer} from 'node:net'

import {processAlive} from '../../core/config/index.js'

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else
      child.once('exit', () => {
        resolve()
      })
  })
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Stops a process by PID: SIGTERM, then SIGKILL after `graceMs`, and waits until it is gone.
 *
 * @returns true when the process had to be killed
 */
export async function stopPid(pid: number, graceMs = 5_000): Promise<boolean> {
  if (!processAlive(pid)) return false
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return false
  }
  const deadline = Date.now() + graceMs
  while (processAlive(pid) && Date.now() < deadline) await sleep(25)
  if (!processAlive(pid)) return false
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone in between
  }
  while (processAlive(pid)) await sleep(25)
  return true
}

/** True when nothing listens on 127.0.0.1:`port` (it can be bound now). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => {
      resolve(false)
    })
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true)
      })
    })
  })
}

/** A free port on 127.0.0.1, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => {
        resolve(port)
      })
    })
  })
}

/** `preferred` when it is free, else a free port. */
export async function pickPort(preferred: number | undefined): Promise<number> {
  if (preferred !== undefined && preferred > 0 && (await portFree(preferred))) return preferred
  return freePort()
}
