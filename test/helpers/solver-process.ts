/**
 * Runs the solver service in its own Node process (src/devnet/solver/main.ts transpiled without a
 * build), so tests can kill it with SIGKILL and start it again on the same data directory.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {join} from 'node:path'

import {transpileSources} from './transpile-src.js'

export interface SolverProcess {
  url: string
  pid: number
  /** Sends `signal` and waits until the process has exited. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

/** Transpiles the solver entry into `outDir` (once per test file); returns the script path. */
export async function prepareSolverEntry(outDir: string): Promise<string> {
  await transpileSources(['src/devnet/solver/main.ts'], outDir)
  return join(outDir, 'src', 'devnet', 'solver', 'main.js')
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else
      child.once('exit', () => {
        resolve()
      })
  })
}

/** Starts `script` with `options` as its JSON argument and resolves once it printed its URL. */
export async function startSolverProcess(script: string, options: object): Promise<SolverProcess> {
  const child = spawn(process.execPath, [script, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid
  if (pid === undefined) throw new Error('the solver process did not start')
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const done = exited(child)
  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, signal)
    await done
  }
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = ''
      const timer = setTimeout(() => {
        reject(new Error(`the solver did not start within 20 s: ${stderr}`))
      }, 20_000)
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        const line = stdout.split('\n')[0]
        if (stdout.includes('\n') && line !== undefined) {
          clearTimeout(timer)
          resolve((JSON.parse(line) as {url: string}).url)
        }
      })
      void done.then(() => {
        clearTimeout(timer)
        reject(new Error(`the solver exited: ${stderr}`))
      })
    })
    return {url, pid, kill}
  } catch (error) {
    await kill('SIGKILL')
    throw error
  }
}
