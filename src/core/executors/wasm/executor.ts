/**
 * The Wasm executor: runs a job's WASI module (Bacalhau V1beta1 `Wasm` engine) in a child process
 * with a virtual clock, seeded randomness, no network and only `/outputs` (and `/inputs`)
 * preopened, so the same job gives the same bytes on any machine (DESIGN §10).
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {realpath, stat} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {basename, isAbsolute, normalize, relative, resolve, sep} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {LilypadError, lilypadError} from '../../errors/index.js'
import {errnoCode} from '../../util/errno.js'
import {environmentOf, wasmSpecOf} from '../job-spec.js'
import {resolveLimits} from '../limits.js'
import {directorySize, startResult} from '../result-dir.js'
import type {CannotRunReason} from '../faults.js'
import type {ExecuteOptions, ExecutionResult, Executor} from '../types.js'
import type {RunnerReport, RunnerRequest} from './protocol.js'

/** Heap of the runner process; the guest's memory is outside it and capped separately. */
const RUNNER_HEAP_MB = 128
/** How much of the runner's own stdout (the report) and stderr (diagnostics) is kept. */
const RUNNER_OUTPUT_BYTES = 64 * 1024

function cannotRun(
  message: string,
  reason: CannotRunReason,
  hints: string[] = [],
  details: Record<string, string> = {},
): LilypadError {
  return lilypadError('JOB_CANNOT_RUN', {message, hints, details: {engine: 'wasm', reason, ...details}})
}

/**
 * The runner's command line: `runner.js` beside this file when built, or `runner.ts` through
 * tsx when running from the sources (tests).
 */
function runnerCommand(): string[] {
  const built = fileURLToPath(new URL('./runner.js', import.meta.url))
  if (existsSync(built)) return [built]
  const source = fileURLToPath(new URL('./runner.ts', import.meta.url))
  const tsx = createRequire(import.meta.url).resolve('tsx')
  return ['--import', pathToFileURL(tsx).href, source]
}

/**
 * Finds the entry module inside the module checkout, refusing anything that leaves it.
 *
 * @throws JOB_CANNOT_RUN
 */
async function entryModulePath(options: ExecuteOptions): Promise<string> {
  const spec = wasmSpecOf(options.module)
  const entry = spec.EntryModule
  if (entry === undefined || entry === null) {
    throw cannotRun(
      'The job names no Wasm module to run (Spec.Wasm.EntryModule is missing)',
      'entry-module-missing',
      ['Add "EntryModule": {"StorageSource": "repoClone", "Path": "build/module.wasm"} to Spec.Wasm.'],
    )
  }
  const source = entry.StorageSource ?? ''
  if (source.toLowerCase() !== 'repoclone') {
    throw cannotRun(
      `The Wasm entry module comes from StorageSource "${source}"; only "repoClone" (a file in the module's repository) can run here`,
      'storage-source',
      [
        'Commit the .wasm file to the module repository and use "StorageSource": "repoClone" with its "Path".',
      ],
      {storageSource: source},
    )
  }
  if ((spec.ImportModules ?? []).length > 0) {
    throw cannotRun('The job lists Wasm ImportModules, which this executor does not link', 'import-modules', [
      'Build the module as one self-contained WASI binary.',
    ])
  }
  const path = entry.Path ?? ''
  const normalized = normalize(path)
  if (path === '' || isAbsolute(path) || normalized === '..' || normalized.startsWith(`..${sep}`)) {
    throw cannotRun(
      `The Wasm entry module path "${path}" is not a path inside the module repository`,
      'path-escape',
      ['Use a relative path such as build/module.wasm.'],
      {path},
    )
  }
  let root: string
  let file: string
  try {
    root = await realpath(options.moduleDir)
    file = await realpath(resolve(root, normalized))
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error
    throw cannotRun(
      `The module has no file ${path} at this commit`,
      'entry-module-missing',
      ['Build the module and commit the .wasm file before tagging the version.'],
      {path},
    )
  }
  const inside = relative(root, file)
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
    throw cannotRun(
      `The Wasm entry module ${path} resolves to a file outside the module repository`,
      'path-escape',
      ['Do not point EntryModule.Path at a symbolic link that leaves the repository.'],
      {path},
    )
  }
  if (!(await stat(file)).isFile()) {
    throw cannotRun(`The Wasm entry module ${path} is not a file`, 'entry-module-invalid', [], {path})
  }
  return file
}

interface RunnerOutcome {
  readonly report: RunnerReport | undefined
  readonly diagnostics: string
  readonly exit: {code: number | null; signal: NodeJS.Signals | null}
  readonly timedOut: boolean
  readonly aborted: boolean
}

/** Runs the runner process to its end, killing it at the deadline or on abort. */
function runRunner(
  request: RunnerRequest,
  options: ExecuteOptions,
  timeoutMs: number,
): Promise<RunnerOutcome> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', `--max-old-space-size=${RUNNER_HEAP_MB}`, ...runnerCommand()],
      // An empty environment: the guest sees only the job's variables, and no secret of ours
      // (a private key, a token) reaches the runner process at all.
      // fd 3 is never written: the runner watches it to notice that this process has died.
      {stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: {}},
    )
    child.stdio[3]?.on('error', () => {
      // The runner closed its end as it exited; its exit says how it ended.
    })
    let stdout = ''
    let diagnostics = ''
    let timedOut = false
    let aborted = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < RUNNER_OUTPUT_BYTES) stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (diagnostics.length < RUNNER_OUTPUT_BYTES) diagnostics += chunk
    })
    child.stdin.on('error', () => {
      // The runner died before reading its request; its exit says why.
    })
    const timer = setTimeout(() => {
      timedOut = true
      options.onEvent?.({type: 'executor.timed-out', engine: 'wasm', timeoutMs})
      child.kill('SIGKILL')
    }, timeoutMs)
    const onAbort = (): void => {
      aborted = true
      child.kill('SIGKILL')
    }
    options.signal?.addEventListener('abort', onAbort, {once: true})
    child.on('error', (error) => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      const line = stdout.trim().split('\n').pop() ?? ''
      let report: RunnerReport | undefined
      try {
        report = line === '' ? undefined : (JSON.parse(line) as RunnerReport)
      } catch {
        report = undefined
      }
      resolvePromise({report, diagnostics, exit: {code, signal}, timedOut, aborted})
    })
    if (child.pid !== undefined) options.onEvent?.({type: 'executor.started', engine: 'wasm', pid: child.pid})
    child.stdin.end(JSON.stringify(request))
  })
}

/**
 * Runs one Wasm job and writes its result directory.
 *
 * @param options - the job, its module checkout, the result directory, seed, limits, signal, events
 * @returns the exit code and where the result is
 * @throws JOB_CANNOT_RUN (module missing, outside the checkout, not loadable; `details.reason`
 *   as listed in faults.ts, e.g. `entry-module-missing`, `path-escape`, `runner-crashed`), JOB_TIMEOUT,
 *   JOB_OUTPUTS_TOO_LARGE, RESULT_DIR_EXISTS, INTERRUPTED (signal), MODULE_INVALID (bad Resources)
 * @example
 * const result = await executeWasm({module, moduleDir, resultDir, seed: dealId})
 */
export async function executeWasm(options: ExecuteOptions): Promise<ExecutionResult> {
  const started = performance.now()
  if (options.signal?.aborted === true) throw interrupted()
  const limits = resolveLimits(options.module, options.limits)
  const spec = wasmSpecOf(options.module)
  const wasmPath = await entryModulePath(options)
  const env = environmentOf(spec.EnvironmentVariables, 'Spec.Wasm.EnvironmentVariables')
  const inputsDir = options.inputsDir === undefined ? undefined : await realpath(options.inputsDir)
  const pending = await startResult(options.resultDir)
  try {
    const outcome = await runRunner(
      {
        wasmPath,
        entryPoint: spec.EntryPoint === undefined || spec.EntryPoint === '' ? '_start' : spec.EntryPoint,
        args: [basename(wasmPath), ...(spec.Parameters ?? [])],
        env,
        seed: options.seed,
        outputsDir: pending.outputsDir,
        inputsDir,
        stdoutPath: pending.stdoutPath,
        stderrPath: pending.stderrPath,
        stdoutBytes: limits.stdoutBytes,
        stderrBytes: limits.stderrBytes,
        outputsBytes: limits.outputsBytes,
        memoryBytes: limits.memoryBytes,
      },
      options,
      limits.timeoutMs,
    )
    if (outcome.aborted) throw interrupted()
    if (outcome.timedOut) {
      throw lilypadError('JOB_TIMEOUT', {
        message: `The Wasm job did not finish within its time limit of ${formatSeconds(limits.timeoutMs)} and was stopped`,
        hints: ['Raise Spec.Timeout in the module if the job needs longer, or check it for an endless loop.'],
        details: {engine: 'wasm', timeoutMs: limits.timeoutMs},
      })
    }
    const report = outcome.report
    if (report === undefined) {
      const how = outcome.exit.signal ?? `exit code ${outcome.exit.code ?? 'unknown'}`
      throw cannotRun(
        `The Wasm runner process stopped (${how}) before the job finished${outcome.diagnostics === '' ? '' : `: ${outcome.diagnostics.trim().split('\n').slice(-3).join(' | ')}`}`,
        'runner-crashed',
        ['A module that needs more memory than this machine gives it can cause this; lower its memory use.'],
      )
    }
    if (report.kind === 'cannot-run') {
      if (report.reason === 'initial-memory-over-limit' && limits.memoryBytes < ownMemoryBytes(options)) {
        throw cannotRun(
          `The Wasm module cannot run here: ${report.message}, which this machine lowered from the module's own`,
          'memory-cap',
          ['Run the job with a larger memory limit, or on a machine that gives it what it declares.'],
        )
      }
      throw cannotRun(`The Wasm module cannot run: ${report.message}`, report.reason, [
        report.reason === 'initial-memory-over-limit'
          ? 'Declare the memory the module needs in Spec.Resources.Memory, or make it start with less.'
          : 'Build the module for WASI preview 1 (wasm32-wasi), exporting "memory" and the entry point.',
      ])
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      if (report.truncated[stream])
        options.onEvent?.({type: 'executor.output-truncated', engine: 'wasm', stream})
    }
    const outputsSize = await directorySize(pending.outputsDir)
    if (outputsSize > limits.outputsBytes) {
      throw lilypadError('JOB_OUTPUTS_TOO_LARGE', {
        message: `The job wrote ${outputsSize} bytes to /outputs, more than the limit of ${limits.outputsBytes}`,
        hints: ['Write less to /outputs, or compress what the job writes there.'],
        details: {engine: 'wasm', outputsBytes: outputsSize, limit: limits.outputsBytes},
      })
    }
    await pending.commit(report.exitCode)
    const durationMs = performance.now() - started
    options.onEvent?.({
      type: 'executor.finished',
      engine: 'wasm',
      exitCode: report.exitCode,
      durationMs,
      resultDir: options.resultDir,
    })
    return {
      engine: 'wasm',
      exitCode: report.exitCode,
      resultDir: options.resultDir,
      durationMs,
      truncated: report.truncated,
    }
  } catch (error) {
    await pending.discard()
    throw error
  }
}

/** The memory limit the module asks for itself, before any cap from the caller. */
function ownMemoryBytes(options: ExecuteOptions): number {
  return resolveLimits(options.module).memoryBytes
}

function interrupted(): LilypadError {
  return lilypadError('INTERRUPTED', {
    message: 'The Wasm job was stopped before it finished',
    details: {engine: 'wasm'},
  })
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}

/**
 * Creates the Wasm executor. It is always available: it needs only Node.
 *
 * @returns the executor
 * @example
 * const result = await createWasmExecutor().execute({module, moduleDir, resultDir, seed})
 */
export function createWasmExecutor(): Executor {
  return {
    engine: 'wasm',
    available: () => Promise.resolve(true),
    execute: executeWasm,
  }
}
