/**
 * Why a job cannot run, and whose fault that is. Every JOB_CANNOT_RUN the executors throw has
 * `details.reason`, one of the reasons below. A module-side reason means the module cannot run
 * on any machine as it is; a machine-side one means this machine (its engine, its images, its
 * policy) could not run it, and another machine may. The mediator reads this to tell a broken
 * module from a re-run that says nothing about the module.
 */
import {isLilypadError} from '../errors/index.js'

/**
 * Reasons that put the fault on the module:
 *
 * - `entry-module-missing`: the job names no Wasm entry module, or the file is not in the
 *   module's repository at that commit.
 * - `entry-module-invalid`: the entry module is not a regular file, or is a WebAssembly module
 *   that a WASI job cannot use (no exported `memory`, it cannot be instantiated).
 * - `entry-point-missing`: the module exports no function under `Spec.Wasm.EntryPoint`.
 * - `bad-binary`: the entry module is not a WebAssembly binary, or one V8 cannot compile or that
 *   uses what this executor cannot give (imported, shared or 64-bit memory, several memories).
 * - `foreign-imports`: the module imports something besides `wasi_snapshot_preview1` functions.
 * - `import-modules`: the job lists `Spec.Wasm.ImportModules`, which are not linked.
 * - `initial-memory-over-limit`: the module needs more memory at start than it declares
 *   (`Spec.Resources.Memory`, else the 512 MiB default).
 * - `path-escape`: `EntryModule.Path` leaves the module repository (`..`, absolute, a symlink out).
 * - `storage-source`: the entry module comes from a storage source other than `repoClone`.
 * - `image-not-pinned`: the Docker image is named by tag, not by digest.
 * - `no-image`: the Docker job names no image.
 * - `engine-unsupported`: the job's engine is neither Wasm nor Docker (a `Noop` job).
 * - `job-spec`: a field of the job has the wrong shape (an `EngineSpec` parameter, an
 *   environment variable that is not `KEY=VALUE`).
 */
export const MODULE_FAULT_REASONS = [
  'entry-module-missing',
  'entry-module-invalid',
  'entry-point-missing',
  'bad-binary',
  'foreign-imports',
  'import-modules',
  'initial-memory-over-limit',
  'path-escape',
  'storage-source',
  'image-not-pinned',
  'no-image',
  'engine-unsupported',
  'job-spec',
] as const

/**
 * Reasons that put the fault on this machine:
 *
 * - `engine`: the Docker engine refused or failed a request.
 * - `image-missing`: the image is not on this machine's engine (jobs never pull).
 * - `network`: the job asks for a network and this executor runs jobs without one.
 * - `memory-cap`: the caller capped memory below what the module needs at start.
 * - `module-unreadable`: the entry module exists but could not be read here.
 * - `runner-crashed`: the Wasm runner process died before reporting.
 */
export const MACHINE_FAULT_REASONS = [
  'engine',
  'image-missing',
  'network',
  'memory-cap',
  'module-unreadable',
  'runner-crashed',
] as const

/** A `details.reason` of JOB_CANNOT_RUN that blames the module. */
export type ModuleFaultReason = (typeof MODULE_FAULT_REASONS)[number]
/** A `details.reason` of JOB_CANNOT_RUN that blames this machine. */
export type MachineFaultReason = (typeof MACHINE_FAULT_REASONS)[number]
/** Every `details.reason` the executors give JOB_CANNOT_RUN. */
export type CannotRunReason = ModuleFaultReason | MachineFaultReason

const MODULE_REASONS: ReadonlySet<string> = new Set(MODULE_FAULT_REASONS)

/**
 * Whether an error from running a job says the module itself is broken, so that running it
 * again elsewhere would fail the same way: JOB_CANNOT_RUN with a module-side `details.reason`
 * (see {@link MODULE_FAULT_REASONS}), or MODULE_INVALID (a `Spec.Resources` value that is not a
 * size). Machine-side reasons, a JOB_CANNOT_RUN without a known reason, JOB_TIMEOUT (a slower
 * machine may be why), ENGINE_UNAVAILABLE and anything else give false: the module is not
 * blamed on doubt.
 *
 * @param error - what the executor threw
 * @returns true when the module is at fault
 * @example
 * try { await executeJob(job) } catch (error) { if (isModuleFault(error)) reject() else abstain() }
 */
export function isModuleFault(error: unknown): boolean {
  if (isLilypadError(error, 'MODULE_INVALID')) return true
  if (!isLilypadError(error, 'JOB_CANNOT_RUN')) return false
  const reason = error.details.reason
  return typeof reason === 'string' && MODULE_REASONS.has(reason)
}
