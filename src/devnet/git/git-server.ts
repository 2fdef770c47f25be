/**
 * The devnet's git server: `git daemon` on 127.0.0.1 serving the bare repositories under one
 * directory, so `cowsay:v0.0.3` on the `local` network resolves to
 * `git://127.0.0.1:<port>/lilypad-module-cowsay` (daemon finds `lilypad-module-cowsay.git`).
 *
 * The daemon runs in its own process group: it forks a child for every connection, and stopping
 * the group stops those children too, so nothing is left behind.
 */
import {type ChildProcess, execFile, spawn} from 'node:child_process'
import {readFile, readdir} from 'node:fs/promises'
import {createConnection, createServer} from 'node:net'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {type LilypadError, isLilypadError, lilypadError} from '../../core/errors/index.js'
import {gitEnvironment, lsRemote} from '../../core/module/git.js'

/** Options of {@link startGitServer}. */
export interface GitServerOptions {
  /** Directory holding the bare repositories (`<name>.git`). */
  readonly baseDir: string
  /** Port to listen on; 0 or absent picks a free one. A given port that is taken is an error. */
  readonly port?: number | undefined
  /** Only loopback: the devnet never serves beyond this machine. */
  readonly host?: '127.0.0.1' | undefined
  /** How long to wait for the daemon to serve. Default 10 s. */
  readonly startTimeoutMs?: number | undefined
  /** How long `stop()` waits after SIGTERM before SIGKILL. Default 3 s. */
  readonly stopGraceMs?: number | undefined
  /** Each line the daemon writes to stderr (its log). */
  readonly onLog?: ((line: string) => void) | undefined
  /** Stops waiting for the daemon to start (it is stopped). */
  readonly signal?: AbortSignal | undefined
  /** The caller's environment; only PATH (and a few safe variables) reach git. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/** A running git server. */
export interface GitServer {
  /** `git://127.0.0.1:<port>`: the module base of the `local` network. */
  readonly url: string
  readonly port: number
  /** PID of the git-daemon process (also the id of its process group). */
  readonly pid: number
  /** Settles when the daemon exits, with its exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
  /** Stops the daemon and its connection children (SIGTERM, then SIGKILL after the grace period). */
  stop(): Promise<void>
}

const execFileAsync = promisify(execFile)
const HOST = '127.0.0.1'
const PORT_ATTEMPTS = 5
const POLL_MS = 25

/**
 * Starts `git daemon` for `baseDir` on 127.0.0.1 and waits until it serves a repository.
 *
 * @param options - base directory, port, timeouts, log callback and cancellation
 * @returns the server's URL, port and PID, and `stop()`
 * @throws DEVNET_START_FAILED when the daemon cannot start (port taken, git missing, not serving in time)
 * @throws INTERRUPTED when `signal` aborts while starting
 * @example
 * const server = await startGitServer({baseDir: '/data/devnet/git'})
 * // git ls-remote git://127.0.0.1:<port>/lilypad-module-cowsay
 * await server.stop()
 */
export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const fixed = options.port !== undefined && options.port !== 0
  for (let attempt = 1; ; attempt++) {
    const port = fixed ? (options.port ?? 0) : await freePort()
    // Another server on the port would answer the readiness checks for us: find out first.
    if (fixed && !(await portIsFree(port))) {
      throw failed(`Port ${port} on ${HOST} is already in use; the git server cannot listen there.`, {
        port,
        reason: 'port-in-use',
      })
    }
    try {
      return await startOnPort(port, options)
    } catch (error) {
      const portTaken = isLilypadError(error) && error.details.reason === 'port-in-use'
      if (fixed || !portTaken || attempt >= PORT_ATTEMPTS) throw error
    }
  }
}

async function startOnPort(port: number, options: GitServerOptions): Promise<GitServer> {
  if (options.signal?.aborted === true) throw interrupted()
  const env = {
    ...gitEnvironment({PATH: options.env?.PATH ?? process.env.PATH}),
    HOME: options.baseDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  }
  const child = spawn(
    await daemonProgram(env, options.baseDir),
    [
      '--reuseaddr',
      `--base-path=${options.baseDir}`,
      '--export-all',
      `--listen=${HOST}`,
      `--port=${port}`,
      '--informative-errors',
      options.baseDir,
    ],
    {cwd: options.baseDir, env, stdio: ['ignore', 'ignore', 'pipe'], detached: true},
  )
  const log: string[] = []
  let partial = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      if (log.length < 50) log.push(line)
      options.onLog?.(line)
    }
  })
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      resolve(code)
    })
  })
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))

  const pid = child.pid
  if (pid === undefined) {
    const error = await spawnError
    throw failed(`Could not run git daemon: ${error.message}`, {port}, error)
  }
  const stop = makeStop(child, pid, exited, options.stopGraceMs ?? 3000)
  try {
    await waitUntilServing(port, options, child, log)
  } catch (error) {
    await stop()
    throw error
  }
  return {url: `git://${HOST}:${port}`, port, pid, exited, stop}
}

async function waitUntilServing(
  port: number,
  options: GitServerOptions,
  child: ChildProcess,
  log: readonly string[],
): Promise<void> {
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000)
  const notRunning = (): LilypadError | undefined => {
    if (child.exitCode === null && child.signalCode === null) return undefined
    const output = log.join('\n')
    const inUse = /address already in use|unable to allocate any listen sockets/i.test(output)
    return failed(
      inUse
        ? `Port ${port} on ${HOST} is already in use; the git server cannot listen there.`
        : `git daemon exited at once: ${log.at(-1) ?? `exit code ${child.exitCode ?? child.signalCode}`}`,
      {port, ...(inUse ? {reason: 'port-in-use'} : {}), log: output},
    )
  }
  while (!(await canConnect(port))) {
    if (options.signal?.aborted === true) throw interrupted()
    const error = notRunning()
    if (error !== undefined) throw error
    if (Date.now() > deadline) throw failed(`git daemon did not listen on port ${port} in time.`, {port})
    await delay(POLL_MS)
  }
  const error = notRunning()
  if (error !== undefined) throw error
  // The port may accept connections before the daemon serves; one real request proves it does.
  const repo = await firstRepository(options.baseDir)
  if (repo === undefined) return
  await lsRemote(`git://${HOST}:${port}/${repo}`, {
    cwd: options.baseDir,
    env: {PATH: options.env?.PATH ?? process.env.PATH},
    timeoutMs: Math.max(1000, deadline - Date.now()),
    ...(options.signal === undefined ? {} : {signal: options.signal}),
  }).catch((cause: unknown) => {
    throw failed(`git daemon on port ${port} does not serve ${repo}.`, {port}, cause)
  })
  const exitedMeanwhile = notRunning()
  if (exitedMeanwhile !== undefined) throw exitedMeanwhile
}

function makeStop(
  child: ChildProcess,
  pid: number,
  exited: Promise<number | null>,
  graceMs: number,
): () => Promise<void> {
  let stopping: Promise<void> | undefined
  return async () => {
    stopping ??= (async () => {
      signalGroup(pid, 'SIGTERM')
      const timer = setTimeout(() => {
        signalGroup(pid, 'SIGKILL')
      }, graceMs)
      await exited
      // Children serving connections got the signal too. Dead ones the daemon had no time to collect
      // stay as zombies until init does; they no longer run, so only live ones are waited for.
      const deadline = Date.now() + graceMs
      while ((await groupRunning(pid)) && Date.now() < deadline) await delay(POLL_MS)
      if (await groupRunning(pid)) signalGroup(pid, 'SIGKILL')
      clearTimeout(timer)
      child.stderr?.destroy()
    })()
    return stopping
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // The group is gone already.
  }
}

/** Whether a process of the group still runs (zombies excepted, where /proc tells them apart). */
async function groupRunning(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0)
  } catch {
    return false
  }
  if (process.platform !== 'linux') return true
  const names = await readdir('/proc').catch(() => undefined)
  if (names === undefined) return true
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')
    // Fields after the command name (which may contain spaces): state, ppid, pgrp, …
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(group) === pgid && state !== 'Z' && state !== 'X') return true
  }
  return false
}

let daemonPath: Promise<string> | undefined

/**
 * The git-daemon program itself. `git daemon` would run it as a child of a `git` process, which
 * does not always collect it when stopped; started directly, it is our child and nothing lingers.
 */
async function daemonProgram(env: Record<string, string>, cwd: string): Promise<string> {
  daemonPath ??= execFileAsync('git', ['--exec-path'], {env, cwd, timeout: 10_000}).then(({stdout}) =>
    join(stdout.trim(), 'git-daemon'),
  )
  return daemonPath.catch((error: unknown) => {
    daemonPath = undefined
    throw failed(`Could not find git daemon (is git installed?): ${(error as Error).message}`, {}, error)
  })
}

/** A bare repository under `baseDir`, as a path the daemon serves (`name`, for `name.git`). */
async function firstRepository(baseDir: string): Promise<string | undefined> {
  const names = await readdir(baseDir).catch(() => [])
  const repo = names.sort().find((name) => name.endsWith('.git'))
  return repo?.slice(0, -'.git'.length)
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => {
        resolve(port)
      })
    })
  })
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => {
      resolve(false)
    })
    server.listen(port, HOST, () => {
      server.close(() => {
        resolve(true)
      })
    })
  })
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({host: HOST, port})
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => {
      resolve(false)
    })
  })
}

async function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function interrupted(): LilypadError {
  return lilypadError('INTERRUPTED', {message: 'Starting the git server was cancelled.'})
}

function failed(message: string, details: Record<string, string | number>, cause?: unknown): LilypadError {
  return lilypadError('DEVNET_START_FAILED', {
    message,
    hints: ['Check that git (with git daemon) is installed, or pick another port.'],
    details,
    cause,
  })
}
