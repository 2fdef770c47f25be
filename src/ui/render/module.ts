/**
 * Human text for module results and progress.
 */
import type {ModuleEvent} from '../../core/module/repo-cache.js'

/** One line describing a module event, for the spinner or a warning. */
export function describeModuleEvent(event: ModuleEvent): string {
  switch (event.type) {
    case 'module.ref-moved':
      return `${event.ref} now points at ${event.to.slice(0, 12)} (was ${event.from.slice(0, 12)}); using the new commit.`
    case 'module.offline':
      return `Could not reach the module repository; using the cached commit ${event.commit.slice(0, 12)} for ${event.ref}.`
    case 'module.resolving':
      return `Resolving ${event.ref}…`
    case 'module.resolved':
      return `Resolved ${event.ref} to ${event.commit.slice(0, 12)}`
    case 'module.cache-hit':
      return `Using the cached checkout of ${event.commit.slice(0, 12)}`
    case 'module.lock-wait':
      return 'Waiting for another lilypad process to finish fetching this module…'
    case 'module.cloning':
      return `Fetching ${event.commit.slice(0, 12)}…`
    case 'module.cloned':
      return `Fetched ${event.commit.slice(0, 12)}`
  }
}

/** Lists a template's inputs, e.g. for a render without any `-i`. */
export function formatTemplateInputs(inputs: readonly {name: string; required: boolean}[]): string {
  const parts = inputs.map((input) => `${input.name} (${input.required ? 'required' : 'optional'})`)
  const example = inputs[0]?.name ?? 'Name'
  return `This module takes inputs: ${parts.join(', ')}. Pass them with -i ${example}=<value>.`
}

/** Human summary of `module validate`. */
export function formatModuleCheck(result: {
  dir: string
  templatePath: string
  inputs: readonly {name: string; required: boolean}[]
}): string {
  const lines = [`✔ ${result.dir} is a valid Lilypad module (${result.templatePath}).`]
  if (result.inputs.length > 0) lines.push(formatTemplateInputs(result.inputs))
  return lines.join('\n')
}

/** Human summary of `module init`, with next steps. */
export function formatModuleInit(result: {
  dir: string
  template: string
  files: readonly string[]
  commit: string
  tag: string
  nextSteps: readonly string[]
}): string {
  return [
    `✔ Created a ${result.template} module in ${result.dir}`,
    `  ${result.files.length} files, first commit ${result.commit.slice(0, 12)}, tagged ${result.tag}`,
    '',
    'Next steps:',
    ...result.nextSteps.map((step) => `  ${step}`),
  ].join('\n')
}

/** Lines of stdout shown by {@link formatModuleTest}. */
const STDOUT_PREVIEW_LINES = 12

/** Human summary of `module test`: where the result is, its data ID, and the start of stdout. */
export function formatModuleTest(result: {
  module: {path: string; commit?: string} | {repo: string; ref: string; commit: string}
  seed: string
  engine: string
  exitCode: number
  resultDir: string
  dataId: string
  durationMs: number
  stdoutHead: string
  stdoutMore: boolean
}): string {
  const {module} = result
  const what =
    'path' in module
      ? `${module.path}${module.commit === undefined ? '' : ` (working tree on ${module.commit.slice(0, 12)})`}`
      : `${module.repo}:${module.ref} (${module.commit.slice(0, 12)})`
  const mark = result.exitCode === 0 ? '✔' : '✖'
  const lines = [
    `${mark} Ran ${what} on ${result.engine} in ${result.durationMs} ms`,
    `  Result:    ${result.resultDir}`,
    `  Data ID:   ${result.dataId}`,
    `  Exit code: ${result.exitCode}`,
  ]
  const stdoutPath = `${result.resultDir}/stdout`
  const all = result.stdoutHead.replace(/\n$/, '').split('\n')
  if (result.stdoutHead === '') {
    lines.push('  stdout:    (empty)')
  } else {
    const shown = all.slice(0, STDOUT_PREVIEW_LINES)
    lines.push('  stdout:', ...shown.map((line) => `    ${line}`))
    if (result.stdoutMore || all.length > shown.length) lines.push(`    … (cat ${stdoutPath} for the rest)`)
  }
  lines.push(
    '',
    'A provider running this job computes the same data ID: the same module, inputs and files give the same bytes.',
    `(It seeds randomness with the deal ID instead of "${result.seed}": a module that reads random bytes gets others there.)`,
  )
  return lines.join('\n')
}
