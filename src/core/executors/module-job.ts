/**
 * One job run exactly as a resource provider runs it: re-resolve the module the job offer names
 * (its `repo` at its `hash`, never the job creator's rendering, §1.6), render it with the offer's
 * inputs, run it on the executor for its engine, and compute the result's data ID. The provider,
 * the mediator, `lilypad module test` and `--verify reexecute` all go through here, so a
 * deterministic module gives all of them the same bytes and the same CID.
 */
import {randomBytes} from 'node:crypto'
import {mkdir, rename, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

import {lilypadError} from '../errors/index.js'
import {type GitEnvironment} from '../module/git.js'
import {type ModuleConfig, MODULE_TEMPLATE_PATH, parseModuleRef} from '../module/module-ref.js'
import {type ModuleEvent, resolveModule} from '../module/repo-cache.js'
import {compileModuleTemplate} from '../module/template/index.js'
import {type ModuleSpec, validateModuleSpec} from '../module/validate.js'
import {engineOf} from './job-spec.js'
import type {EngineName} from './types.js'
import {computeDataId} from '../results/data-id.js'
import {pathExists} from '../util/fs.js'
import {type Executors, executeJob} from './index.js'
import type {ExecutionLimits, ExecutorEvent} from './types.js'

/** Progress of {@link runModuleJob}: the module cache's events, then the run's. */
export type ModuleJobEvent =
  | ModuleEvent
  | ExecutorEvent
  | {readonly type: 'job.rendered'; readonly commit: string; readonly engine: EngineName | undefined}
  | {readonly type: 'job.executed'; readonly exitCode: number; readonly resultDir: string}
  | {readonly type: 'job.data-id'; readonly dataId: string}

/** Options of {@link runModuleJob}. */
export interface ModuleJobOptions {
  /** The module as the job offer names it (`repo`, `hash` as typed, template `path`). */
  readonly module: ModuleConfig
  /** The job offer's raw inputs. */
  readonly inputs: Readonly<Record<string, string>> | null
  /** Data directory of the module cache (checkouts under `<dataDir>/repos`). */
  readonly dataDir: string
  /** Where the result goes; must not exist. It appears complete or not at all. */
  readonly resultDir: string
  /** Seeds the job's randomness: the deal ID, so every re-run sees the same bytes. */
  readonly seed: string
  /** The executors to pick from; default: `createExecutors()`. */
  readonly executors?: Executors | undefined
  /** Input files, preopened read-only as `/inputs`. */
  readonly inputsDir?: string | undefined
  /** Resource caps of the run. */
  readonly limits?: Partial<ExecutionLimits> | undefined
  /**
   * Which repositories this caller fetches modules from (a job offer may name any); called with the
   * normalised repository URL before anything is fetched. Default: any the module ref parser accepts.
   */
  readonly allowedRepo?: ((repoUrl: string) => boolean) | undefined
  /** The caller's environment for git (see resolveModule). */
  readonly env?: GitEnvironment | undefined
  readonly signal?: AbortSignal | undefined
  readonly onEvent?: ((event: ModuleJobEvent) => void) | undefined
}

/** What {@link runModuleJob} produced. */
export interface ModuleJobResult {
  /** The result directory (`stdout`, `stderr`, `exitCode`, `outputs/`). */
  readonly resultDir: string
  /** The UnixFS CID of the result directory, as `ipfs add -Qrn` prints it. */
  readonly dataId: string
  /** The job's exit status; non-zero is a normal result. */
  readonly exitCode: number
  /** The commit the module's ref resolved to. */
  readonly commit: string
  /** The rendered module JSON, as the template produced it. */
  readonly rendered: unknown
  /** The validated module. */
  readonly spec: ModuleSpec
  readonly engine: EngineName
}

/**
 * Resolves, renders and runs a job offer's module, and computes the result's data ID.
 *
 * @param options - the module and inputs, the module cache, the result directory, the seed
 * @returns the result directory, its data ID, the exit status and the module commit
 * @throws MODULE_REF_INVALID, MODULE_REF_UNSAFE (also when `allowedRepo` refuses it), MODULE_NOT_FOUND, MODULE_REF_NOT_FOUND,
 *   MODULE_TEMPLATE_MISSING, NETWORK_UNREACHABLE, TEMPLATE_*, MODULE_INVALID when the module does not
 *   resolve or render (category `module` or `usage`: the module itself is at fault);
 *   ENGINE_UNAVAILABLE when this machine cannot run the engine; JOB_TIMEOUT, JOB_CANNOT_RUN from the
 *   executor; USAGE when `resultDir` exists; INTERRUPTED
 * @example
 * const {dataId} = await runModuleJob({module: deal.deal.job_offer.module, inputs: deal.deal.job_offer.inputs,
 *   dataDir, resultDir: join(dataDir, 'results', deal.id), seed: deal.id})
 */
export async function runModuleJob(options: ModuleJobOptions): Promise<ModuleJobResult> {
  const {module} = options
  if (await pathExists(options.resultDir)) {
    throw lilypadError('USAGE', {
      message: `The result directory ${options.resultDir} already exists.`,
      hints: ['Remove it, or pick another result directory.'],
      details: {resultDir: options.resultDir},
    })
  }
  const ref = parseModuleRef(`${module.repo}:${module.hash}`, {shortcutBase: module.repo})
  if (options.allowedRepo !== undefined && !options.allowedRepo(ref.repoUrl)) {
    throw lilypadError('MODULE_REF_UNSAFE', {
      message: `This machine does not fetch modules from ${ref.repoUrl}.`,
      hints: ['Publish the module at an https:// or git:// remote (or under the network’s module base).'],
      details: {repoUrl: ref.repoUrl, reason: 'repo-not-allowed'},
    })
  }
  const templatePath = module.path === '' ? MODULE_TEMPLATE_PATH : module.path
  const resolved = await resolveModule(ref, {
    dataDir: options.dataDir,
    templatePath,
    env: options.env,
    signal: options.signal,
    onEvent: options.onEvent,
  })
  const templateName = `${ref.repoUrl}@${resolved.commit.slice(0, 12)}:${templatePath.replace(/^\//, '')}`
  const {value} = compileModuleTemplate(resolved.templateText, {templateName}).render(options.inputs ?? {})
  const {module: spec} = validateModuleSpec(value, {source: templateName})
  const engine = engineOf(spec)
  options.onEvent?.({type: 'job.rendered', commit: resolved.commit, engine})

  // The executor writes into a private sibling; the rename makes the result appear whole.
  await mkdir(dirname(options.resultDir), {recursive: true})
  const temp = join(
    dirname(options.resultDir),
    `.${basename(options.resultDir)}.${randomBytes(4).toString('hex')}.partial`,
  )
  try {
    const executed = await executeJob({
      module: spec,
      moduleDir: resolved.dir,
      resultDir: temp,
      seed: options.seed,
      executors: options.executors,
      inputsDir: options.inputsDir,
      limits: options.limits,
      signal: options.signal,
      onEvent: options.onEvent,
    })
    options.onEvent?.({type: 'job.executed', exitCode: executed.exitCode, resultDir: options.resultDir})
    const dataId = await computeDataId(temp, {signal: options.signal})
    try {
      await rename(temp, options.resultDir)
    } catch (error) {
      throw lilypadError('USAGE', {
        message: `Cannot store the result in ${options.resultDir}: ${error instanceof Error ? error.message : String(error)}.`,
        hints: ['Remove the directory, or pick another result directory.'],
        details: {resultDir: options.resultDir},
        cause: error,
      })
    }
    options.onEvent?.({type: 'job.data-id', dataId})
    return {
      resultDir: options.resultDir,
      dataId,
      exitCode: executed.exitCode,
      commit: resolved.commit,
      rendered: value,
      spec,
      engine: executed.engine,
    }
  } finally {
    await rm(temp, {recursive: true, force: true})
  }
}
