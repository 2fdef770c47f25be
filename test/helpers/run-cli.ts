/**
 * Runs the CLI in-process (built commands from dist/, as users get them) and captures its output.
 * @oclif/test's runCommand re-splits arguments on spaces and strips quotes, which would corrupt the
 * inputs these tests care about, so arguments are passed through untouched here.
 */
import {spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {run} from '@oclif/core'
import {captureOutput} from '@oclif/test'

/** The package root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** What one CLI invocation produced. */
export interface CliResult {
  stdout: string
  stderr: string
  exitCode: number
  error: Error | undefined
}

/** The exit code oclif would use for an error thrown out of a command. */
function exitCodeOf(error: unknown): number {
  if (error === undefined) return 0
  const exit = (error as {oclif?: {exit?: number}}).oclif?.exit
  return typeof exit === 'number' ? exit : 1
}

function setEnv(key: string, value: string | undefined): void {
  if (value === undefined) Reflect.deleteProperty(process.env, key)
  else process.env[key] = value
}

/**
 * Runs `lilypad <args>` in this process with `env` merged over the process environment.
 */
export async function runCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  const saved = new Map<string, string | undefined>()
  for (const [key, value] of Object.entries(env)) {
    saved.set(key, process.env[key])
    setEnv(key, value)
  }
  try {
    const out = await captureOutput(async () => run([...args], {root: ROOT}))
    return {stdout: out.stdout, stderr: out.stderr, exitCode: exitCodeOf(out.error), error: out.error}
  } finally {
    process.exitCode = undefined
    for (const [key, value] of saved) setEnv(key, value)
  }
}

/** Parses the single JSON envelope a `--json` run prints on stdout. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
export function envelope<T>(result: CliResult): T {
  return JSON.parse(result.stdout) as T
}

/**
 * Spawns the built `bin/run.js` as a user would, with a clean environment plus `env`.
 */
export async function spawnCli(
  args: readonly string[],
  env: Record<string, string> = {},
  options: {timeoutMs?: number} = {},
): Promise<{stdout: string; stderr: string; status: number | null}> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'run.js'), ...args], {
    env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => {
    child.kill('SIGKILL')
  }, options.timeoutMs ?? 30_000)
  const status = await new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      resolve(code)
    })
  })
  clearTimeout(timer)
  return {stdout, stderr, status}
}
