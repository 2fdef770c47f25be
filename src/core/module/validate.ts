/**
 * Validation of a rendered module: the JSON Schema of `schema.ts` (ajv, every error at once), a
 * walk that reads keys the way Go's JSON decoder does (case-insensitive keys and enum values,
 * unknown keys ignored with a warning), and checks no schema can express: the job must have
 * something to run, outputs need a name and a path, Docker environment entries are `KEY=VALUE`.
 * Warnings also name fields that current Lilypad resource providers ignore (§2.2).
 */
import {Ajv, type ErrorObject, type ValidateFunction} from 'ajv'

import {lilypadError} from '../errors/index.js'
import {MODULE_SCHEMA, type ModuleSpec, type SchemaNode} from './schema.js'

/**
 * The warning for a Wasm module: which networks run it. `lilypad run` leaves it out, since it checks
 * the network's own resource offers instead (NO_PROVIDER when none takes the engine).
 */
export const WASM_PROVIDERS_NOTE =
  'Wasm runs on the lilypad devnet and Bacalhau Wasm providers; current Lilypad resource providers run Docker only'

export type {DockerSpec, JobSpec, MachineSpec, ModuleSpec, StorageSpec, WasmSpec} from './schema.js'

/** One finding about a module. */
export interface ModuleProblem {
  /** RFC 6901 JSON pointer into the rendered module; `''` is the whole module. */
  pointer: string
  message: string
}

/** A module that passed validation, with the non-fatal findings. */
export interface ModuleValidation {
  /**
   * The module as Lilypad reads it: keys and enum values in their canonical spelling (`"docker"`
   * → `"Docker"`, `"ipfs"` → `"Ipfs"`), unknown keys removed. A copy; the input is not changed.
   */
  module: ModuleSpec
  warnings: ModuleProblem[]
}

/** The engine that runs a module's job. */
export type ModuleEngine = 'docker' | 'wasm' | 'noop'

/** What current Lilypad resource providers do with the fields they skip (§2.2). */
const RP_IGNORES = 'ignored by current Lilypad resource providers'

let compiled: ValidateFunction | undefined

function schemaValidator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv({allErrors: true, strict: true, allowUnionTypes: true, verbose: true, logger: false})
    compiled = ajv.compile(MODULE_SCHEMA)
  }
  return compiled
}

/**
 * Validates a rendered module (the parsed JSON of a rendered `lilypad_module.json.tmpl`).
 *
 * Keys Lilypad does not read (`Verifier`, a top-level `gpus`, `machine.vram`, …) are accepted with
 * a warning `{pointer, message: 'ignored by Lilypad'}`, as Go ignores them; keys and enum values
 * in another letter case are read as Go reads them, with a warning for keys; `null` where the
 * schema has no null is read as an absent key, as Go leaves such a field unchanged.
 *
 * @param value - the parsed module JSON
 * @param options - `source` names where the module came from, for the error message
 * @returns the normalised module and its warnings
 * @throws MODULE_INVALID listing every problem (`details.problems`, each `{pointer, message}`)
 * @example
 * const {module, warnings} = validateModuleSpec(JSON.parse(text), {source: 'cowsay:v0.0.3'})
 */
export function validateModuleSpec(value: unknown, options: {source?: string} = {}): ModuleValidation {
  const warnings = new ProblemList()
  const problems = new ProblemList()
  const normalised = normalise(value, MODULE_SCHEMA, '', warnings)

  const validate = schemaValidator()
  if (!validate(normalised)) {
    for (const error of validate.errors ?? []) problems.add(fromAjvError(error))
  }
  checkRunnable(normalised, problems, warnings)
  checkStrings(normalised, '', warnings)

  if (problems.items.length > 0) {
    const count = problems.items.length
    const what = options.source === undefined ? 'The module' : `The module ${options.source}`
    throw lilypadError('MODULE_INVALID', {
      message:
        `${what} is not valid: ${count} ${count === 1 ? 'problem' : 'problems'}\n` +
        problems.items.map((problem) => `  ${formatModuleProblem(problem)}`).join('\n'),
      hints: [
        'Each problem names a JSON pointer into the rendered module; fix that field in lilypad_module.json.tmpl.',
      ],
      details: {
        problems: problems.items.map((p) => ({pointer: p.pointer, message: p.message})),
        warnings: warnings.items.map((p) => ({pointer: p.pointer, message: p.message})),
        source: options.source ?? null,
      },
    })
  }
  return {module: normalised as ModuleSpec, warnings: warnings.items}
}

/**
 * One problem as a line of text: `/job/Spec/Timeout must be integer` (the root is `(module)`).
 *
 * @example
 * formatModuleProblem({pointer: '/job', message: 'is required'}) // '/job is required'
 */
export function formatModuleProblem(problem: ModuleProblem): string {
  return `${problem.pointer === '' ? '(module)' : problem.pointer} ${problem.message}`
}

/**
 * The engine a module runs on: `Spec.Engine` when set, else `Spec.EngineSpec.Type`, else Docker
 * (what Lilypad resource providers run regardless).
 *
 * @param spec - a module returned by {@link validateModuleSpec}
 * @example
 * engineOf(module) // 'docker'
 */
export function engineOf(spec: ModuleSpec): ModuleEngine {
  return engineFrom(spec.job.Spec) ?? 'docker'
}

// ---- the key walk ------------------------------------------------------------------------------

class ProblemList {
  readonly items: ModuleProblem[] = []
  readonly #seen = new Set<string>()

  add(problem: ModuleProblem): void {
    const key = `${problem.pointer}\u0000${problem.message}`
    if (this.#seen.has(key)) return
    this.#seen.add(key)
    this.items.push(problem)
  }
}

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
function pointerTo(parent: string, key: string | number): string {
  return `${parent}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Sets a property even when the key is `__proto__`. */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {value, enumerable: true, writable: true, configurable: true})
}

function deepCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepCopy)
  if (isRecord(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) put(out, key, deepCopy(item))
    return out
  }
  return value
}

/** Go's `strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))`, near enough. */
function sameFold(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase()
}

/**
 * Copies `value`, following `node`: keys in another case are renamed to the schema's spelling,
 * unknown keys are dropped with a warning, string enum values get their canonical spelling.
 */
function normalise(value: unknown, node: SchemaNode, pointer: string, warnings: ProblemList): unknown {
  if (Array.isArray(value)) {
    const items = node.items
    return value.map((item, index) =>
      items === undefined ? deepCopy(item) : normalise(item, items, pointerTo(pointer, index), warnings),
    )
  }
  if (isRecord(value)) {
    const properties = node.properties
    const extra = node.additionalProperties
    const out: Record<string, unknown> = {}
    if (properties === undefined) {
      for (const [key, item] of Object.entries(value)) {
        const child =
          typeof extra === 'object'
            ? normalise(item, extra, pointerTo(pointer, key), warnings)
            : deepCopy(item)
        put(out, key, child)
      }
      return out
    }
    const known = Object.keys(properties)
    for (const [key, item] of Object.entries(value)) {
      const canonical = Object.hasOwn(properties, key)
        ? key
        : known.find((name) => name.toLowerCase() === key.toLowerCase())
      const child = canonical === undefined ? undefined : properties[canonical]
      if (canonical === undefined || child === undefined) {
        warnings.add({pointer: pointerTo(pointer, key), message: 'ignored by Lilypad'})
        continue
      }
      if (canonical !== key) {
        warnings.add({
          pointer: pointerTo(pointer, key),
          message: `read as "${canonical}" (Go matches keys in any case)`,
        })
      }
      // Go leaves a field unchanged when the JSON says null: the same as leaving the key out.
      if (item === null && !allowsNull(child)) continue
      put(out, canonical, normalise(item, child, pointerTo(pointer, canonical), warnings))
    }
    return out
  }
  if (typeof value === 'string' && node.enum !== undefined) {
    return node.enum.find((name) => sameFold(name, value)) ?? value
  }
  return value
}

function allowsNull(node: SchemaNode): boolean {
  return node.type === 'null' || (Array.isArray(node.type) && node.type.includes('null'))
}

// ---- ajv errors → problems ----------------------------------------------------------------------

function fromAjvError(error: ErrorObject): ModuleProblem {
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return {pointer: pointerTo(error.instancePath, String(params.missingProperty)), message: 'is required'}
    case 'type': {
      const types = Array.isArray(params.type) ? params.type.map(String) : String(params.type).split(',')
      return {pointer: error.instancePath, message: `must be ${types.join(' or ')}`}
    }
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.map(String) : []
      return {pointer: error.instancePath, message: `must be one of ${allowed.join(', ')}`}
    }
    case 'pattern': {
      const parent = error.parentSchema as SchemaNode | undefined
      const description = parent?.description
      return {
        pointer: error.instancePath,
        message: description === undefined ? (error.message ?? 'is not valid') : `must be ${description}`,
      }
    }
    default:
      return {pointer: error.instancePath, message: error.message ?? 'is not valid'}
  }
}

// ---- checks beyond the schema -------------------------------------------------------------------

function record(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== ''
}

/** Absent, null or blank: the cases the schema lets through but a runner cannot use. */
function missingText(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
}

function engineFrom(spec: unknown): ModuleEngine | undefined {
  const s = record(spec)
  const named = s?.Engine
  if (typeof named === 'string' && named.trim() !== '') {
    const lower = named.trim().toLowerCase()
    if (lower === 'docker' || lower === 'wasm' || lower === 'noop') return lower
  }
  const type = record(s?.EngineSpec)?.Type
  if (typeof type === 'string') {
    const lower = type.trim().toLowerCase()
    if (lower === 'docker' || lower === 'wasm' || lower === 'noop') return lower
  }
  return undefined
}

/** A Docker `KEY=VALUE` entry; the key is not empty. */
const ENV_ENTRY = /^[^=]+=/

function checkEnvList(list: unknown, pointer: string, problems: ProblemList): void {
  if (!Array.isArray(list)) return
  list.forEach((entry, index) => {
    if (typeof entry === 'string' && !ENV_ENTRY.test(entry)) {
      problems.add({pointer: pointerTo(pointer, index), message: 'must look like KEY=VALUE'})
    }
  })
}

function checkImageReference(image: string, pointer: string, warnings: ProblemList): void {
  if (/[<>\s{}]/.test(image)) {
    warnings.add({pointer, message: 'looks like a placeholder, not a pullable image reference'})
    return
  }
  if (image.includes('@sha256:')) return
  const lastSegment = image.slice(image.lastIndexOf('/') + 1)
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : ''
  if (tag === '' || tag === 'latest') {
    warnings.add({
      pointer,
      message: 'is a moving tag; pin a version or a digest (@sha256:…) for repeatable results',
    })
  }
}

function checkRunnable(module: unknown, problems: ProblemList, warnings: ProblemList): void {
  const spec = record(record(record(module)?.job)?.Spec)
  if (spec === undefined) return
  const base = '/job/Spec'
  const docker = record(spec.Docker)
  const engineSpec = record(spec.EngineSpec)
  const engineSpecType = typeof engineSpec?.Type === 'string' ? engineSpec.Type.trim().toLowerCase() : ''
  const params = record(engineSpec?.Params)
  const named = typeof spec.Engine === 'string' ? spec.Engine.trim().toLowerCase() : ''
  const engine = engineFrom(spec) ?? 'docker'

  if (named === '' && engineSpecType !== '' && engineFrom(spec) === undefined) {
    problems.add({pointer: `${base}/EngineSpec/Type`, message: 'must be docker, wasm or noop'})
  }
  if (named !== '' && engineSpecType !== '' && named !== engineSpecType) {
    warnings.add({
      pointer: `${base}/EngineSpec/Type`,
      message: `differs from Spec.Engine; "${named}" is used`,
    })
  }

  // Docker fields that current resource providers skip (§2.2).
  if (Array.isArray(docker?.Parameters) && docker.Parameters.length > 0) {
    warnings.add({
      pointer: `${base}/Docker/Parameters`,
      message: `${RP_IGNORES}; put arguments in Entrypoint`,
    })
  }
  if (nonEmptyString(docker?.WorkingDirectory)) {
    warnings.add({pointer: `${base}/Docker/WorkingDirectory`, message: `${RP_IGNORES}; use absolute paths`})
  }
  checkEnvList(docker?.EnvironmentVariables, `${base}/Docker/EnvironmentVariables`, problems)

  const dockerImage = docker?.Image
  const engineSpecImage = engineSpecType === 'docker' ? params?.Image : undefined
  if (engineSpecType === 'docker' && params !== undefined) {
    checkEnvList(params.EnvironmentVariables, `${base}/EngineSpec/Params/EnvironmentVariables`, problems)
  }
  if (engineSpec !== undefined && (engineSpecType !== '' || params !== undefined)) {
    warnings.add({
      pointer: `${base}/EngineSpec`,
      message: nonEmptyString(dockerImage)
        ? `${RP_IGNORES}, which run Spec.Docker`
        : `${RP_IGNORES}, which run Spec.Docker: move Image, Entrypoint and EnvironmentVariables there`,
    })
  }

  switch (engine) {
    case 'docker': {
      if (nonEmptyString(dockerImage)) {
        checkImageReference(dockerImage, `${base}/Docker/Image`, warnings)
      } else if (nonEmptyString(engineSpecImage)) {
        checkImageReference(engineSpecImage, `${base}/EngineSpec/Params/Image`, warnings)
      } else if (missingText(dockerImage)) {
        problems.add({pointer: `${base}/Docker/Image`, message: 'must name the Docker image to run'})
      }
      break
    }
    case 'wasm': {
      const pointer = named === 'wasm' ? `${base}/Engine` : `${base}/EngineSpec/Type`
      warnings.add({
        pointer,
        message: WASM_PROVIDERS_NOTE,
      })
      const wasm = record(spec.Wasm)
      const entry = wasm?.EntryModule
      const source = record(entry) ?? record(params?.EntryModule)
      const hasSource = ['StorageSource', 'CID', 'URL', 'Repo', 'Path', 'SourcePath'].some((key) =>
        nonEmptyString(source?.[key]),
      )
      if (!hasSource) {
        if (spec.Wasm === undefined || spec.Wasm === null) {
          problems.add({
            pointer: `${base}/Wasm`,
            message: 'is required by the Wasm engine (EntryModule, EntryPoint)',
          })
        } else if (wasm !== undefined && (entry === undefined || entry === null || isRecord(entry))) {
          problems.add({
            pointer: `${base}/Wasm/EntryModule`,
            message: 'must say where the Wasm module comes from (StorageSource with Path, CID, URL or Repo)',
          })
        }
      }
      break
    }
    case 'noop':
      warnings.add({
        pointer: named === 'noop' ? `${base}/Engine` : `${base}/EngineSpec/Type`,
        message: 'the Noop engine runs nothing; current Lilypad resource providers still run Spec.Docker',
      })
      break
  }

  if (Array.isArray(spec.Outputs)) {
    spec.Outputs.forEach((output, index) => {
      const item = record(output)
      if (item === undefined) return
      const pointer = pointerTo(`${base}/Outputs`, index)
      if (missingText(item.Name))
        problems.add({pointer: `${pointer}/Name`, message: 'must name the output folder'})
      if (missingText(item.Path)) {
        problems.add({
          pointer: `${pointer}/Path`,
          message: 'must be the path the job writes to, such as /outputs',
        })
      } else if (typeof item.Path === 'string' && !item.Path.startsWith('/')) {
        warnings.add({pointer: `${pointer}/Path`, message: 'should be an absolute path'})
      }
    })
  }
  if (Array.isArray(spec.Inputs) && spec.Inputs.length > 0) {
    warnings.add({pointer: `${base}/Inputs`, message: RP_IGNORES})
  }
}

/** Go prints `<no value>` for a missing input; inside a JSON string it survives parsing. */
function checkStrings(value: unknown, pointer: string, warnings: ProblemList): void {
  if (typeof value === 'string') {
    if (value.includes('<no value>')) {
      warnings.add({
        pointer,
        message: 'contains "<no value>": the template printed an input that was not given',
      })
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => {
      checkStrings(item, pointerTo(pointer, index), warnings)
    })
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) checkStrings(item, pointerTo(pointer, key), warnings)
  }
}
