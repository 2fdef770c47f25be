/** Builders for the errors a module template can raise, so messages and details stay uniform. */
import {type ErrorDetails, type LilypadError, lilypadError} from '../../errors/index.js'

/** What the template supports, shown when it uses something else. */
export const SUPPORTED_SUMMARY =
  'Supported: {{.Input}}, {{if}}/{{else if}}/{{else}}/{{end}}, {{/* comments */}}, trim markers {{- -}}, ' +
  'string literals, true/false, pipelines and the functions subst, js, or, and, not, eq, ne.'

/** The template's name in messages, e.g. `lilypad_module.json.tmpl`. */
export interface TemplateLocation {
  readonly templateName: string
}

/** Malformed template text (what Go would reject when parsing, or could never execute). */
export function templateSyntaxError(
  where: TemplateLocation,
  line: number,
  problem: string,
  hint: string,
  details: ErrorDetails = {},
): LilypadError {
  return lilypadError('TEMPLATE_SYNTAX', {
    message: `Template ${where.templateName} has a syntax error on line ${line}: ${problem}.`,
    hints: [hint],
    details: {template: where.templateName, line, problem, ...details},
  })
}

/** Valid Go `text/template` that lilypad does not implement. */
export function templateUnsupportedError(
  where: TemplateLocation,
  line: number,
  construct: string,
): LilypadError {
  return lilypadError('TEMPLATE_UNSUPPORTED', {
    message: `Template ${where.templateName} uses ${construct} on line ${line}, which lilypad does not support.`,
    hints: [SUPPORTED_SUMMARY, 'Rewrite that part of the template with the supported constructs.'],
    details: {template: where.templateName, line, construct},
  })
}

/** An input the template needs at this point was not given. */
export function templateInputMissingError(
  where: TemplateLocation,
  input: string,
  line: number,
  use: string,
): LilypadError {
  return lilypadError('TEMPLATE_INPUT_MISSING', {
    message: `Input "${input}" is required by the template (line ${line}) but was not given.`,
    hints: [
      `Pass it: -i ${input}=<value>`,
      `Module authors: guard the use with {{if .${input}}}…{{else}}…{{end}} to make it optional.`,
    ],
    details: {template: where.templateName, line, input, use},
  })
}

/** Execution failed for a reason other than a missing input (Go would fail here too). */
export function templateRenderError(
  where: TemplateLocation,
  line: number,
  problem: string,
  hint: string,
  details: ErrorDetails = {},
): LilypadError {
  return lilypadError('TEMPLATE_RENDER_FAILED', {
    message: `Template ${where.templateName} failed on line ${line}: ${problem}.`,
    hints: [hint],
    details: {template: where.templateName, line, problem, ...details},
  })
}
