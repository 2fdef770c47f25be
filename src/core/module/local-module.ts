/**
 * `lilypad module validate [PATH]`: checks a module directory the way Lilypad will use it, and
 * lists every problem instead of stopping at the first one. The template is rendered twice: with
 * its defaults (required inputs get a placeholder value, with a warning), and with every input
 * given, so a mistake inside an `{{if .X}}` branch is found too. Both renders are validated
 * against the module schema.
 */
import {lstat, readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {isLilypadError} from '../errors/index.js'
import {type GitEnvironment, runGit} from './git.js'
import {MODULE_TEMPLATE_FILE} from './module-ref.js'
import {type CompiledTemplate, type TemplateInput, compileModuleTemplate} from './template/index.js'
import {type ModuleProblem, type ModuleSpec, validateModuleSpec} from './validate.js'
import {errnoCode} from '../util/errno.js'

/** The template file every module keeps at the root of its repository. */

/** The value given to inputs that have no default, so the rest of the module can be checked. */
export const PLACEHOLDER_INPUT = 'example'

/** Options of {@link checkLocalModule}. */
export interface LocalModuleOptions {
  /** Inputs to render with (as `-i`); others keep their defaults. */
  inputs?: Readonly<Record<string, string>>
  /** The caller's environment for git (PATH, HOME); git details are skipped when git fails. */
  env?: GitEnvironment
}

/** Git facts about the module directory, when it is a repository. */
export interface LocalModuleGit {
  /** HEAD commit, or null before the first commit. */
  commit: string | null
  /** Tags pointing at HEAD: the versions users can run this commit as. */
  tags: string[]
  /** True when the template differs from HEAD (Lilypad runs the committed version). */
  templateChanged: boolean
}

/** The outcome of {@link checkLocalModule}. */
export interface LocalModuleCheck {
  /** Absolute path of the module directory. */
  dir: string
  templatePath: string
  /** True when there are no problems. */
  ok: boolean
  /** The template's inputs, in order of first use; `required` ones have no default. */
  inputs: TemplateInput[]
  /** The rendered JSON (defaults), when the template rendered to JSON. */
  rendered?: unknown
  /** The validated module, when it is valid. */
  module?: ModuleSpec
  warnings: ModuleProblem[]
  /** Every problem found; the pointer is `''` for problems of the file or template as a whole. */
  problems: ModuleProblem[]
  git?: LocalModuleGit
}

/**
 * Checks a local module directory: the template exists, parses, renders to JSON with its defaults
 * and with every input given, and passes the module schema. Never throws for a module problem.
 *
 * @param dir - the module directory
 * @param options - inputs to render with, and the environment for git
 * @returns every problem and warning found, the inputs, the rendered module and git facts
 * @example
 * const check = await checkLocalModule('./my-module')
 * if (!check.ok) for (const p of check.problems) console.error(p.pointer, p.message)
 */
export async function checkLocalModule(
  dir: string,
  options: LocalModuleOptions = {},
): Promise<LocalModuleCheck> {
  const root = resolve(dir)
  const templatePath = join(root, MODULE_TEMPLATE_FILE)
  const check: LocalModuleCheck = {dir: root, templatePath, ok: false, inputs: [], warnings: [], problems: []}
  const problems = new Findings(check.problems)
  const warnings = new Findings(check.warnings)

  const kind = await pathKind(root)
  if (kind !== 'directory') {
    problems.add({
      pointer: '',
      message: kind === 'missing' ? `${root} does not exist` : `${root} is not a directory`,
    })
    return check
  }
  const git = await gitFacts(root, options.env ?? {})
  if (git !== undefined) check.git = git

  let source: string
  try {
    source = await readFile(templatePath, 'utf8')
  } catch (error) {
    problems.add({
      pointer: '',
      message:
        errnoCode(error) === 'ENOENT'
          ? `${MODULE_TEMPLATE_FILE} not found in ${root}: a module keeps its template at the root of its repository`
          : `${MODULE_TEMPLATE_FILE} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
    })
    return finish(check)
  }
  if (git?.templateChanged === true) {
    warnings.add({
      pointer: '',
      message: `${MODULE_TEMPLATE_FILE} has uncommitted changes; Lilypad runs the committed version`,
    })
  }

  let template: CompiledTemplate
  try {
    template = compileModuleTemplate(source, {templateName: MODULE_TEMPLATE_FILE})
  } catch (error) {
    problems.add(templateProblem(error))
    return finish(check)
  }
  check.inputs = [...template.inputs]

  // 1. Defaults: only the inputs given, plus a placeholder for each required input.
  const given = options.inputs ?? {}
  const defaults: Record<string, string> = {...given}
  for (const input of template.inputs) {
    if (input.required && !Object.hasOwn(given, input.name)) {
      defaults[input.name] = PLACEHOLDER_INPUT
      warnings.add({
        pointer: '',
        message: `input "${input.name}" has no default, so users must pass -i ${input.name}=…; checked with ${input.name}="${PLACEHOLDER_INPUT}"`,
      })
    }
  }
  const first = renderAndValidate(template, defaults)
  for (const problem of first.problems) problems.add(problem)
  for (const warning of first.warnings) warnings.add(warning)
  if (first.rendered !== undefined) check.rendered = first.rendered
  if (first.module !== undefined) check.module = first.module

  // 2. Every input given: finds mistakes inside {{if .X}} branches.
  const optional = template.inputs.filter((input) => !Object.hasOwn(defaults, input.name))
  if (optional.length > 0) {
    const all: Record<string, string> = {...defaults}
    for (const input of optional) all[input.name] = PLACEHOLDER_INPUT
    const second = renderAndValidate(template, all)
    const names = optional.map((input) => input.name).join(', ')
    for (const problem of second.problems) {
      if (!first.problems.some((p) => p.pointer === problem.pointer && p.message === problem.message)) {
        problems.add({
          pointer: problem.pointer,
          message: `${problem.message} (when ${names} ${optional.length === 1 ? 'is' : 'are'} given)`,
        })
      }
    }
  }
  return finish(check)
}

function finish(check: LocalModuleCheck): LocalModuleCheck {
  check.ok = check.problems.length === 0
  return check
}

interface RenderOutcome {
  rendered?: unknown
  module?: ModuleSpec
  problems: ModuleProblem[]
  warnings: ModuleProblem[]
}

function renderAndValidate(
  template: CompiledTemplate,
  inputs: Readonly<Record<string, string>>,
): RenderOutcome {
  let value: unknown
  try {
    value = template.render(inputs).value
  } catch (error) {
    return {problems: [templateProblem(error)], warnings: []}
  }
  try {
    const {module, warnings} = validateModuleSpec(value, {source: MODULE_TEMPLATE_FILE})
    return {rendered: value, module, problems: [], warnings}
  } catch (error) {
    if (!isLilypadError(error, 'MODULE_INVALID')) throw error
    return {
      rendered: value,
      problems: problemList(error.details.problems),
      warnings: problemList(error.details.warnings),
    }
  }
}

function problemList(value: unknown): ModuleProblem[] {
  if (!Array.isArray(value)) return []
  const out: ModuleProblem[] = []
  for (const item of value as unknown[]) {
    if (typeof item === 'object' && item !== null && 'pointer' in item && 'message' in item) {
      const {pointer, message} = item
      if (typeof pointer === 'string' && typeof message === 'string') out.push({pointer, message})
    }
  }
  return out
}

/** A template error (syntax, unsupported, render, not JSON) as a problem; anything else is a bug. */
function templateProblem(error: unknown): ModuleProblem {
  if (isLilypadError(error) && error.code.startsWith('TEMPLATE_'))
    return {pointer: '', message: error.message}
  throw error
}

class Findings {
  constructor(readonly items: ModuleProblem[]) {}

  add(problem: ModuleProblem): void {
    if (!this.items.some((p) => p.pointer === problem.pointer && p.message === problem.message))
      this.items.push(problem)
  }
}

async function pathKind(path: string): Promise<'missing' | 'directory' | 'other'> {
  try {
    return (await lstat(path)).isDirectory() ? 'directory' : 'other'
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 'missing'
    throw error
  }
}

/** HEAD, its tags and whether the template is committed; undefined when not a repository. */
async function gitFacts(dir: string, env: GitEnvironment): Promise<LocalModuleGit | undefined> {
  if ((await pathKind(join(dir, '.git'))) === 'missing') return undefined
  const run = async (args: readonly string[]): Promise<string | undefined> => {
    try {
      return await runGit(args, {cwd: dir, env})
    } catch {
      return undefined
    }
  }
  const head = (await run(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']))?.trim()
  const commit = head === undefined || head === '' ? null : head
  const tags = commit === null ? '' : ((await run(['tag', '--points-at', 'HEAD'])) ?? '')
  // Compare the committed blob with the file ourselves: `git status` would refresh the index, which
  // runs the clean filters and fsmonitor a downloaded repository's own .git/config may name.
  const committed =
    commit === null ? undefined : await run(['cat-file', 'blob', `${commit}:${MODULE_TEMPLATE_FILE}`])
  const current = await readFile(join(dir, MODULE_TEMPLATE_FILE), 'utf8').catch(() => undefined)
  return {
    commit,
    tags: tags
      .split('\n')
      .map((tag) => tag.trim())
      .filter((tag) => tag !== '')
      .sort(),
    templateChanged: committed !== current,
  }
}
