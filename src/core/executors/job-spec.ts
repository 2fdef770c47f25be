/**
 * Which engine a rendered job needs, and its engine section, from either spelling Bacalhau's
 * legacy model allows: `Spec.Engine` + `Spec.Wasm`/`Spec.Docker`, or `Spec.EngineSpec {Type, Params}`.
 */
import {lilypadError} from '../errors/index.js'
import type {CannotRunReason} from './faults.js'
import type {DockerSpec, JobSpec, ModuleSpec, StorageSpec, WasmSpec} from '../module/schema.js'
import {engineOf as moduleEngineOf} from '../module/validate.js'
import type {EngineName} from './types.js'

const lower = (value: unknown): string | undefined =>
  typeof value === 'string' ? value.toLowerCase() : undefined

/**
 * The engine a job runs on: `Spec.Engine`, else `EngineSpec.Type`, else Docker (what Lilypad
 * resource providers run whatever the job says), as module validation reads it.
 *
 * @param module - the rendered module
 * @returns `'wasm'`, `'docker'`, or `undefined` for a `Noop` job
 * @example
 * engineOf(module) // 'wasm'
 */
export function engineOf(module: ModuleSpec): EngineName | undefined {
  const engine = moduleEngineOf(module)
  return engine === 'noop' ? undefined : engine
}

function engineParams(spec: JobSpec, engine: EngineName): Record<string, unknown> | undefined {
  if (lower(spec.EngineSpec?.Type) !== engine) return undefined
  return spec.EngineSpec?.Params ?? {}
}

function stringList(value: unknown, where: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value
  throw lilypadError('JOB_CANNOT_RUN', {
    message: `${where} must be a list of strings`,
    details: {field: where, reason: 'job-spec' satisfies CannotRunReason},
  })
}

/**
 * The job's `Wasm` section, from `Spec.Wasm` or a `wasm` `EngineSpec`.
 *
 * @param module - the rendered module
 * @returns the Wasm spec (possibly empty)
 * @throws JOB_CANNOT_RUN when an `EngineSpec` parameter has the wrong type
 * @example
 * wasmSpecOf(module).EntryPoint // '_start'
 */
export function wasmSpecOf(module: ModuleSpec): WasmSpec {
  const params = engineParams(module.job.Spec, 'wasm')
  if (params === undefined) return module.job.Spec.Wasm ?? {}
  const entryPoint = params.EntryPoint
  const environment = params.EnvironmentVariables
  return {
    ...(typeof params.EntryModule === 'object' && params.EntryModule !== null
      ? {EntryModule: params.EntryModule}
      : {}),
    ...(typeof entryPoint === 'string' ? {EntryPoint: entryPoint} : {}),
    Parameters: stringList(params.Parameters, 'EngineSpec.Params.Parameters') ?? null,
    EnvironmentVariables:
      typeof environment === 'object' && environment !== null
        ? (environment as Record<string, string>)
        : null,
    ImportModules: Array.isArray(params.ImportModules)
      ? (params.ImportModules as (StorageSpec | null)[])
      : null,
  }
}

/**
 * The job's `Docker` section, from `Spec.Docker` or a `docker` `EngineSpec`.
 *
 * @param module - the rendered module
 * @returns the Docker spec (possibly empty)
 * @throws JOB_CANNOT_RUN when an `EngineSpec` parameter has the wrong type
 * @example
 * dockerSpecOf(module).Image // 'ghcr.io/org/image@sha256:…'
 */
export function dockerSpecOf(module: ModuleSpec): DockerSpec {
  const params = engineParams(module.job.Spec, 'docker')
  if (params === undefined) return module.job.Spec.Docker ?? {}
  return {
    ...(typeof params.Image === 'string' ? {Image: params.Image} : {}),
    Entrypoint: stringList(params.Entrypoint, 'EngineSpec.Params.Entrypoint') ?? null,
    Parameters: stringList(params.Parameters, 'EngineSpec.Params.Parameters') ?? null,
    EnvironmentVariables:
      stringList(params.EnvironmentVariables, 'EngineSpec.Params.EnvironmentVariables') ?? null,
    ...(typeof params.WorkingDirectory === 'string' ? {WorkingDirectory: params.WorkingDirectory} : {}),
  }
}

/**
 * Environment variables as a map, from Bacalhau's object form or its list of `KEY=VALUE` strings.
 *
 * @param value - `EnvironmentVariables` as the job gives it
 * @param where - the field, for the error message
 * @returns the variables
 * @throws JOB_CANNOT_RUN when a list entry has no `=` or an empty name
 * @example
 * environmentOf(['A=1', 'B=x=y'], 'Spec.Docker.EnvironmentVariables') // {A: '1', B: 'x=y'}
 */
export function environmentOf(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {}
  const entries: [string, string][] = []
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = typeof item === 'string' ? item : ''
      const equals = text.indexOf('=')
      if (equals <= 0) {
        throw lilypadError('JOB_CANNOT_RUN', {
          message: `${where} has the entry ${JSON.stringify(item)}, which is not KEY=VALUE`,
          details: {field: where, reason: 'job-spec' satisfies CannotRunReason},
        })
      }
      entries.push([text.slice(0, equals), text.slice(equals + 1)])
    }
  } else if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value))
      entries.push([key, typeof item === 'string' ? item : String(item)])
  }
  for (const [key] of entries) {
    if (key === '' || key.includes('=') || key.includes('\0')) {
      throw lilypadError('JOB_CANNOT_RUN', {
        message: `${where} has the variable name ${JSON.stringify(key)}, which is not allowed`,
        details: {field: where, reason: 'job-spec' satisfies CannotRunReason},
      })
    }
  }
  return Object.fromEntries(entries)
}
