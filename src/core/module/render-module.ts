/**
 * The module pipeline: module ref → git checkout at a commit → rendered template → validated job
 * spec. This is what `lilypad module render` shows and what `lilypad run` submits.
 */
import type {NetworkProfile, ResolvedConfig} from '../config/index.js'
import {LilypadError, isLilypadError} from '../errors/index.js'
import {type ModuleInputs} from './inputs.js'
import {type ModuleRef, parseModuleRef} from './module-ref.js'
import {type ModuleEvent, resolveModule} from './repo-cache.js'
import {type TemplateInput, compileModuleTemplate} from './template/index.js'
import {type ModuleProblem, type ModuleSpec, validateModuleSpec} from './validate.js'

/** A shortcut that cannot be reached says where it pointed and how to point it elsewhere. */
function explainShortcut(error: unknown, ref: ModuleRef, network: NetworkProfile): unknown {
  if (
    ref.kind !== 'shortcut' ||
    !isLilypadError(error) ||
    !['NETWORK_UNREACHABLE', 'MODULE_NOT_FOUND'].includes(error.code)
  ) {
    return error
  }
  return new LilypadError({
    code: error.code,
    category: error.category,
    message: error.message,
    hints: [
      ...error.hints,
      `On the "${network.name}" network, ${ref.input.split(':')[0] ?? ''} means ${ref.repoUrl}.`,
      network.name === 'local'
        ? 'Start the local network, or pick another: --network testnet, or LILYPAD_MODULE_BASE=<git base URL>.'
        : 'Set LILYPAD_MODULE_BASE=<git base URL> or pick another --network.',
    ],
    details: {...error.details, moduleBase: network.moduleBase},
    cause: error,
  })
}

/** Options of {@link renderModule}. */
export interface RenderModuleOptions {
  config: Pick<ResolvedConfig, 'dataDir' | 'network'>
  /** Environment for git (secrets removed); see childProcessEnv. */
  env?: Readonly<Record<string, string>>
  signal?: AbortSignal
  onEvent?: (event: ModuleEvent) => void
}

/** A module rendered and validated. */
export interface RenderedModule {
  ref: ModuleRef
  commit: string
  inputs: ModuleInputs
  /** The template's inputs and whether each is required. */
  templateInputs: readonly TemplateInput[]
  /** The rendered text, exactly as the template produced it. */
  text: string
  /** The rendered module JSON. */
  rendered: unknown
  module: ModuleSpec
  /** Keys Lilypad ignores, and similar non-fatal findings. */
  warnings: ModuleProblem[]
  /** Set when the ref now points at another commit than last time. */
  movedFrom: string | undefined
  /** True when the module came from the cache because the repository could not be reached. */
  offline: boolean
}

/**
 * Resolves, renders and validates a module.
 *
 * @param moduleText - a module ref such as `cowsay:v0.0.3` or `github.com/owner/repo:v1.0.0`
 * @param inputs - the module inputs (see parseInputs)
 * @param options - config, environment, signal and progress callback
 * @returns the rendered module with its commit
 * @throws MODULE_REF_INVALID, MODULE_REF_UNSAFE, MODULE_NOT_FOUND, MODULE_REF_NOT_FOUND, NETWORK_UNREACHABLE,
 *   TEMPLATE_* and MODULE_INVALID
 * @example
 * const {rendered, commit} = await renderModule('cowsay:v0.0.3', {Message: 'hi'}, {config})
 */
export async function renderModule(
  moduleText: string,
  inputs: ModuleInputs,
  options: RenderModuleOptions,
): Promise<RenderedModule> {
  const ref = parseModuleRef(moduleText, {shortcutBase: options.config.network.moduleBase})
  const resolved = await resolveModule(ref, {
    dataDir: options.config.dataDir,
    ...(options.env === undefined ? {} : {env: options.env}),
    ...(options.signal === undefined ? {} : {signal: options.signal}),
    ...(options.onEvent === undefined ? {} : {onEvent: options.onEvent}),
  }).catch((error: unknown) => {
    throw explainShortcut(error, ref, options.config.network)
  })
  const templateName = `${ref.repoUrl}@${resolved.commit.slice(0, 12)}:lilypad_module.json.tmpl`
  const template = compileModuleTemplate(resolved.templateText, {templateName})
  const {text, value} = template.render(inputs)
  const {module, warnings} = validateModuleSpec(value, {source: templateName})
  return {
    ref,
    commit: resolved.commit,
    inputs,
    templateInputs: template.inputs,
    text,
    rendered: value,
    module,
    warnings,
    movedFrom: resolved.movedFrom,
    offline: resolved.offline,
  }
}
