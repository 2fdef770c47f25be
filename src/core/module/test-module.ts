/**
 * `lilypad module test`: runs a module on this machine through the executors a resource provider
 * uses, so a module author sees the result directory and the data ID the network will produce.
 *
 * Two kinds of target:
 * - A local directory runs as it would be at its next tag: when the directory is the root of a git
 *   repository, the files git would commit (`git ls-files --cached --others --exclude-standard`:
 *   tracked files as they are in the working tree, plus untracked files that are not ignored); any
 *   other directory is taken whole. Those files are copied into a temporary checkout, so ignored
 *   build leftovers never reach the job, and the job cannot write into the author's directory.
 * - A module ref (`cowsay:v0.0.3`, `file:///src/mod:main`, …) goes through `runModuleJob`, the very
 *   code the provider and the mediator run: module cache, re-resolve, render, execute, data ID.
 *
 * The job's randomness is seeded with {@link DEFAULT_TEST_SEED} unless another seed is given, so two
 * runs of the same module and inputs give the same bytes and the same data ID.
 */
import {
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, dirname, join, resolve} from 'node:path'

import {isLilypadError, lilypadError} from '../errors/index.js'
import {type EngineName, type ExecutionLimits, type Executors, executeJob} from '../executors/index.js'
import {type ModuleJobEvent, runModuleJob} from '../executors/module-job.js'
import {computeDataId} from '../results/data-id.js'
import {RESULT_FILES} from '../results/layout.js'
import {throwIfAborted} from '../results/walk.js'
import {errnoCode} from '../util/errno.js'
import {type GitEnvironment, runGit} from './git.js'
import {type ModuleInputs} from './inputs.js'
import {MODULE_TEMPLATE_FILE, parseModuleRef, toModuleConfig} from './module-ref.js'
import {compileModuleTemplate} from './template/index.js'
import {type ModuleProblem, validateModuleSpec} from './validate.js'

/** The seed of a test run's randomness when none is given (a provider uses the deal ID). */
export const DEFAULT_TEST_SEED = 'lilypad-module-test'

/** Where default result directories go, under the data directory. */
export const MODULE_TESTS_DIR = 'module-tests'

/** Bytes of stdout kept in {@link ModuleTestResult.stdoutHead}. */
const STDOUT_HEAD_BYTES = 4096

/** Progress of {@link testModule}: the module job's events, plus the copy of a local directory. */
export type ModuleTestEvent =
  | ModuleJobEvent
  | {
      readonly type: 'module-test.copied'
      readonly dir: string
      /** `git` when the file list came from git, `directory` when the directory was taken whole. */
      readonly source: 'git' | 'directory'
      readonly files: number
    }

/** Options of {@link testModule}. */
export interface TestModuleOptions {
  /** A module directory, or a module ref; an existing directory wins. Relative to `cwd`. */
  readonly target: string
  readonly inputs: ModuleInputs
  /** Data directory: module cache (`repos/`) and default result directories (`module-tests/`). */
  readonly dataDir: string
  /** Base URL that ref shortcuts expand under (the network profile's `moduleBase`). */
  readonly moduleBase: string
  /** Where the result goes; must not exist. Default `<dataDir>/module-tests/<name>-<UTC time>`. */
  readonly resultDir?: string | undefined
  /** Seed of the job's randomness; default {@link DEFAULT_TEST_SEED}. */
  readonly seed?: string | undefined
  /** The executors to pick from; default: `createExecutors()`. */
  readonly executors?: Executors | undefined
  readonly limits?: Partial<ExecutionLimits> | undefined
  /** The caller's environment for git. */
  readonly env?: GitEnvironment | undefined
  /** Directory a relative `target` is read from; default the process's working directory. */
  readonly cwd?: string | undefined
  /** Clock for default result directory names. */
  readonly now?: (() => Date) | undefined
  readonly signal?: AbortSignal | undefined
  readonly onEvent?: ((event: ModuleTestEvent) => void) | undefined
}

/** Which module ran. */
export type TestedModule =
  | {
      readonly kind: 'local'
      /** Absolute path of the module directory. */
      readonly path: string
      /** HEAD of the directory's repository; absent outside git or before the first commit. */
      readonly commit?: string
      /** How many files were copied into the checkout the job ran from. */
      readonly files: number
    }
  | {readonly kind: 'ref'; readonly repo: string; readonly ref: string; readonly commit: string}

/** What {@link testModule} produced. */
export interface ModuleTestResult {
  readonly module: TestedModule
  readonly inputs: ModuleInputs
  readonly seed: string
  readonly engine: EngineName
  /** The job's exit status; non-zero is a normal result, as on the network. */
  readonly exitCode: number
  /** The result directory (`stdout`, `stderr`, `exitCode`, `outputs/`). */
  readonly resultDir: string
  /** Its UnixFS CID, as `ipfs add -Qrn` prints it and as a provider reports it. */
  readonly dataId: string
  readonly durationMs: number
  /** Streams cut at their cap. */
  readonly truncated: {readonly stdout: boolean; readonly stderr: boolean}
  /** The first bytes of stdout (up to 4 KiB), for a preview. */
  readonly stdoutHead: string
  /** True when stdout is longer than {@link ModuleTestResult.stdoutHead}. */
  readonly stdoutMore: boolean
  /** Non-fatal findings of the module schema (keys Lilypad ignores, …). */
  readonly warnings: readonly ModuleProblem[]
}

/**
 * Runs a local module directory or a module ref through the provider's executors and computes the
 * result's data ID.
 *
 * @param options - the target and inputs, the data directory, the result directory and seed
 * @returns the result directory, its data ID, the exit status and which module ran
 * @throws USAGE when the result directory exists; MODULE_TEMPLATE_MISSING when a local directory
 *   has no template; MODULE_REF_INVALID, MODULE_REF_UNSAFE, MODULE_NOT_FOUND, MODULE_REF_NOT_FOUND,
 *   NETWORK_UNREACHABLE for a ref; TEMPLATE_* and MODULE_INVALID when the module does not render;
 *   ENGINE_UNAVAILABLE when this machine cannot run its engine (Docker without an engine);
 *   JOB_CANNOT_RUN, JOB_TIMEOUT, JOB_OUTPUTS_TOO_LARGE from the executor; INTERRUPTED
 * @example
 * const {resultDir, dataId} = await testModule({target: '.', inputs: {Message: 'hi'},
 *   dataDir: config.dataDir, moduleBase: config.network.moduleBase})
 */
export async function testModule(options: TestModuleOptions): Promise<ModuleTestResult> {
  const seed = options.seed ?? DEFAULT_TEST_SEED
  const dir = resolve(options.cwd ?? process.cwd(), options.target)
  // stat, not lstat: a symbolic link to a module directory is a directory to the user.
  const local = await stat(dir).then(
    (stats) => stats.isDirectory(),
    () => false,
  )
  const ref = local ? undefined : parseTarget(options.target, dir, options.moduleBase)
  const name = local ? basename(dir) : (ref?.cacheKey.segments.at(-1) ?? 'module')
  const resultDir =
    options.resultDir === undefined
      ? await freeResultDir(
          join(options.dataDir, MODULE_TESTS_DIR),
          name,
          (options.now ?? (() => new Date()))(),
        )
      : resolve(options.cwd ?? process.cwd(), options.resultDir)
  if ((await kindOf(resultDir)) !== 'missing') {
    throw lilypadError('USAGE', {
      message: `The result directory ${resultDir} already exists.`,
      hints: ['Remove it, or pick another with --output.'],
      details: {resultDir},
    })
  }

  const run =
    ref === undefined
      ? await runLocal(dir, seed, resultDir, options)
      : await runRef(toModuleConfig(ref), seed, resultDir, options)
  const head = await readHead(join(resultDir, RESULT_FILES.stdout), STDOUT_HEAD_BYTES)
  return {
    ...run,
    inputs: {...options.inputs},
    seed,
    resultDir,
    stdoutHead: head.text,
    stdoutMore: head.more,
  }
}

type RunOutcome = Pick<
  ModuleTestResult,
  'module' | 'engine' | 'exitCode' | 'dataId' | 'durationMs' | 'truncated' | 'warnings'
>

async function runRef(
  module: ReturnType<typeof toModuleConfig>,
  seed: string,
  resultDir: string,
  options: TestModuleOptions,
): Promise<RunOutcome> {
  let durationMs = 0
  const truncated = {stdout: false, stderr: false}
  const job = await runModuleJob({
    module,
    inputs: options.inputs,
    dataDir: options.dataDir,
    resultDir,
    seed,
    executors: options.executors,
    limits: options.limits,
    env: options.env,
    signal: options.signal,
    onEvent: (event) => {
      if (event.type === 'executor.finished') durationMs = Math.round(event.durationMs)
      if (event.type === 'executor.output-truncated') truncated[event.stream] = true
      options.onEvent?.(event)
    },
  })
  // runModuleJob validated the module already; run the schema once more only for its warnings.
  const {warnings} = validateModuleSpec(job.rendered, {source: MODULE_TEMPLATE_FILE})
  return {
    module: {kind: 'ref', repo: module.repo, ref: module.hash, commit: job.commit},
    engine: job.engine,
    exitCode: job.exitCode,
    dataId: job.dataId,
    durationMs,
    truncated,
    warnings,
  }
}

async function runLocal(
  dir: string,
  seed: string,
  resultDir: string,
  options: TestModuleOptions,
): Promise<RunOutcome> {
  const env = options.env ?? {}
  const checkout = await mkdtemp(join(tmpdir(), 'lilypad-module-test-'))
  try {
    const git = (await kindOf(join(dir, '.git'))) !== 'missing'
    const files = git ? await gitFiles(dir, env, options.signal) : await walkFiles(dir)
    let copied = 0
    for (const file of files) {
      throwIfAborted(options.signal, 'Copying the module')
      if (await copyEntry(join(dir, file), join(checkout, file))) copied += 1
    }
    options.onEvent?.({type: 'module-test.copied', dir, source: git ? 'git' : 'directory', files: copied})

    let source: string
    try {
      source = await readFile(join(checkout, MODULE_TEMPLATE_FILE), 'utf8')
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error
      throw lilypadError('MODULE_TEMPLATE_MISSING', {
        message: git
          ? `${dir} has no ${MODULE_TEMPLATE_FILE} that git would commit.`
          : `${dir} has no ${MODULE_TEMPLATE_FILE}.`,
        hints: [
          'A module keeps its template at the root of its repository: lilypad module init creates one.',
          ...(git ? [`Check that ${MODULE_TEMPLATE_FILE} is not listed in .gitignore.`] : []),
        ],
        details: {dir},
      })
    }
    const templateName = `${dir}:${MODULE_TEMPLATE_FILE}`
    const {value} = compileModuleTemplate(source, {templateName}).render(options.inputs)
    const {module: spec, warnings} = validateModuleSpec(value, {source: templateName})
    const commit = git ? await headCommit(dir, env) : undefined
    const executed = await executeJob({
      module: spec,
      moduleDir: checkout,
      resultDir,
      seed,
      executors: options.executors,
      limits: options.limits,
      signal: options.signal,
      onEvent: options.onEvent,
    })
    const dataId = await computeDataId(resultDir, {signal: options.signal})
    options.onEvent?.({type: 'job.data-id', dataId})
    return {
      module: {kind: 'local', path: dir, ...(commit === undefined ? {} : {commit}), files: copied},
      engine: executed.engine,
      exitCode: executed.exitCode,
      dataId,
      durationMs: Math.round(executed.durationMs),
      truncated: executed.truncated,
      warnings,
    }
  } finally {
    await rm(checkout, {recursive: true, force: true})
  }
}

/** A target that is not a directory is a ref; one that looks like a path is reported as a missing directory. */
function parseTarget(target: string, dir: string, moduleBase: string): ReturnType<typeof parseModuleRef> {
  try {
    return parseModuleRef(target, {shortcutBase: moduleBase})
  } catch (error) {
    const pathLike = !target.includes(':') || /^[./~]/.test(target)
    if (!pathLike || !isLilypadError(error) || !error.code.startsWith('MODULE_REF_')) throw error
    throw lilypadError('USAGE', {
      message: `${dir} is not a module directory, and "${target}" is not a module ref either.`,
      hints: [
        'Pass a module directory (default: the current one), or a ref such as cowsay:v0.0.3 or file:///path/to/repo:v0.1.0.',
      ],
      details: {target, dir},
      cause: error,
    })
  }
}

/** The paths git would commit: tracked (as in the working tree) and untracked, not ignored. */
async function gitFiles(
  dir: string,
  env: GitEnvironment,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const out = await runGit(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: dir,
    env,
    signal,
  })
  return [...new Set(out.split('\0').filter((path) => path !== ''))].sort()
}

/** Every file and symbolic link under `dir`, relative to it. */
async function walkFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  const entries = await readdir(join(dir, prefix), {withFileTypes: true})
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const relative = prefix === '' ? entry.name : join(prefix, entry.name)
    if (entry.isDirectory()) out.push(...(await walkFiles(dir, relative)))
    else if (entry.isFile() || entry.isSymbolicLink()) out.push(relative)
  }
  return out
}

/**
 * Copies one regular file (with its mode) or symbolic link (as a link, as a git checkout has it).
 * Paths git lists that are gone from the working tree (deleted, not yet committed) or are not files
 * (submodules) are skipped, as the next commit would not carry them as files either.
 */
async function copyEntry(from: string, to: string): Promise<boolean> {
  let stats
  try {
    stats = await lstat(from)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false
    throw error
  }
  if (!stats.isFile() && !stats.isSymbolicLink()) return false
  await mkdir(dirname(to), {recursive: true})
  if (stats.isSymbolicLink()) await symlink(await readlink(from), to)
  else await copyFile(from, to)
  return true
}

async function headCommit(dir: string, env: GitEnvironment): Promise<string | undefined> {
  try {
    const head = (await runGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], {cwd: dir, env})).trim()
    return head === '' ? undefined : head
  } catch {
    return undefined
  }
}

/** `<base>/<name>-<UTC time>`, with `-2`, `-3`, … appended when that is taken. */
async function freeResultDir(base: string, name: string, now: Date): Promise<string> {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '') || 'module'
  for (let n = 1; ; n++) {
    const candidate = join(base, n === 1 ? `${safe}-${stamp}` : `${safe}-${stamp}-${n}`)
    if ((await kindOf(candidate)) === 'missing') return candidate
  }
}

async function readHead(path: string, bytes: number): Promise<{text: string; more: boolean}> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(bytes + 1)
    const {bytesRead} = await handle.read(buffer, 0, bytes + 1, 0)
    return {text: buffer.subarray(0, Math.min(bytesRead, bytes)).toString('utf8'), more: bytesRead > bytes}
  } finally {
    await handle.close()
  }
}

async function kindOf(path: string): Promise<'missing' | 'directory' | 'other'> {
  try {
    return (await lstat(path)).isDirectory() ? 'directory' : 'other'
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return 'missing'
    throw error
  }
}
