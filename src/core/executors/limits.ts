/**
 * The caps of one job: what the caller allows, what the module declares, and the defaults.
 */
import {lilypadError} from '../errors/index.js'
import type {ModuleSpec} from '../module/schema.js'
import type {ExecutionLimits} from './types.js'

/** The caps used when neither the caller nor the module sets one. */
export const DEFAULT_LIMITS: ExecutionLimits = Object.freeze({
  timeoutMs: 600_000,
  memoryBytes: 512 * 1024 * 1024,
  stdoutBytes: 10 * 1024 * 1024,
  stderrBytes: 10 * 1024 * 1024,
  outputsBytes: 1024 * 1024 * 1024,
})

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
}

/**
 * Reads a Bacalhau memory or disk size such as `"100Mb"`, `"16Gb"`, `"512MiB"` or `"1000000"`.
 * `Mb`/`MB` are decimal megabytes and `MiB` binary ones, as go-humanize reads them.
 *
 * @param text - the size as the module writes it
 * @returns bytes, or `undefined` for an empty string
 * @throws MODULE_INVALID when the text is not a size
 * @example
 * parseByteSize('100Mb') // 100_000_000
 */
export function parseByteSize(text: string): number | undefined {
  const trimmed = text.trim()
  if (trimmed === '') return undefined
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(trimmed)
  const unit = match?.[2] === undefined ? undefined : UNITS[match[2].toLowerCase()]
  if (match?.[1] === undefined || unit === undefined) {
    throw lilypadError('MODULE_INVALID', {
      message: `"${text}" is not a size: use a number with an optional unit such as 100Mb, 2Gb or 512MiB`,
      details: {value: text},
    })
  }
  return Math.floor(Number(match[1]) * unit)
}

/**
 * Reads a Bacalhau CPU amount: cores as a decimal (`"1"`, `"0.5"`) or milli-cores (`"500m"`).
 *
 * @param text - the amount as the module writes it
 * @returns nano-CPUs (1e9 = one core), or `undefined` for an empty string
 * @throws MODULE_INVALID when the text is not a CPU amount
 * @example
 * parseCpu('500m') // 500_000_000
 */
export function parseCpu(text: string): number | undefined {
  const trimmed = text.trim()
  if (trimmed === '') return undefined
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(trimmed)
  if (match?.[1] === undefined) {
    throw lilypadError('MODULE_INVALID', {
      message: `"${text}" is not a CPU amount: use cores such as 1 or 0.5, or milli-cores such as 500m`,
      details: {value: text},
    })
  }
  return Math.round(Number(match[1]) * (match[2] === 'm' ? 1e6 : 1e9))
}

const positive = (value: number | undefined): number | undefined =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined

/**
 * The caps a job runs with. The module's own timeout and memory apply unless the caller gives
 * smaller ones: a provider may run a job with less than it asks for, never with more.
 *
 * @param module - the rendered module
 * @param given - the caller's caps
 * @returns every cap, filled in
 * @throws MODULE_INVALID when `Spec.Resources.Memory` is not a size
 * @example
 * resolveLimits(module, {timeoutMs: 1000}).timeoutMs // 1000
 */
export function resolveLimits(module: ModuleSpec, given: Partial<ExecutionLimits> = {}): ExecutionLimits {
  const spec = module.job.Spec
  const moduleTimeoutSeconds = positive(spec.Timeout) ?? positive(module.executionTimeoutSeconds)
  const moduleTimeoutMs =
    moduleTimeoutSeconds === undefined ? DEFAULT_LIMITS.timeoutMs : moduleTimeoutSeconds * 1000
  const moduleMemory = positive(parseByteSize(spec.Resources?.Memory ?? '')) ?? DEFAULT_LIMITS.memoryBytes
  const lower = (declared: number, cap: number | undefined): number =>
    positive(cap) === undefined ? declared : Math.min(declared, cap as number)
  return {
    timeoutMs: lower(moduleTimeoutMs, given.timeoutMs),
    memoryBytes: lower(moduleMemory, given.memoryBytes),
    stdoutBytes: given.stdoutBytes ?? DEFAULT_LIMITS.stdoutBytes,
    stderrBytes: given.stderrBytes ?? DEFAULT_LIMITS.stderrBytes,
    outputsBytes: given.outputsBytes ?? DEFAULT_LIMITS.outputsBytes,
  }
}
