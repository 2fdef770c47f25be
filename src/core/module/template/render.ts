/**
 * The compiled module template: parse once, render many times through Handlebars, and turn the
 * rendered text into JSON with errors that point at the offending line.
 */
import {parse as parseJsonc, type ParseError, printParseErrorCode} from 'jsonc-parser'

import {lilypadError} from '../../errors/index.js'
import {analyzeInputs, type TemplateInput} from './analyze.js'
import type {TemplateLocation} from './errors.js'
import {evaluate, printValue, type Scope, truthy} from './evaluate.js'
import {goJsonString} from './go-json.js'
import {parseTemplate} from './parse.js'
import {
  compileHandlebars,
  type HandlebarsRenderer,
  type RenderScope,
  type Translation,
  translate,
} from './translate.js'
import {MODULE_TEMPLATE_FILE} from '../module-ref.js'

/** The file name Lilypad modules keep their template in; used in messages when none is given. */
export const DEFAULT_TEMPLATE_NAME = MODULE_TEMPLATE_FILE

/** A rendered template: the exact text, and that text parsed as JSON. */
export interface RenderedTemplate {
  readonly text: string
  readonly value: unknown
}

/** Options of {@link compileModuleTemplate}. */
export interface CompileTemplateOptions {
  /** Name shown in messages and error details (default `lilypad_module.json.tmpl`). */
  readonly templateName?: string
}

/** A parsed module template, ready to render with different inputs. */
export interface CompiledTemplate {
  /**
   * Inputs the template uses, in order of first use. `required` means the template cannot render
   * without it: a use that refuses a missing value (printing it, `subst`, `js`, `eq`, `ne`) is
   * reached whatever the other inputs are, i.e. not guarded by `{{if .X}}`, `{{if and .X …}}` or
   * the else branch of `{{if not .X}}`; a bare use inside `or` never is.
   */
  readonly inputs: readonly TemplateInput[]
  /**
   * Renders to text, byte-identical to the Go CLI wherever Go's output is valid JSON. Values are
   * JSON-encoded first as Go does (`.Message` is `"hi"` with the quotes); an input value that is
   * not a string counts as missing. Throws TEMPLATE_INPUT_MISSING or TEMPLATE_RENDER_FAILED.
   */
  renderText(inputs: Readonly<Record<string, string>>): string
  /** {@link CompiledTemplate.renderText} then `JSON.parse`; text that is not JSON throws TEMPLATE_NOT_JSON. */
  render(inputs: Readonly<Record<string, string>>): RenderedTemplate
}

function words(code: string): string {
  return code.replace(/(?<=[a-z])(?=[A-Z])/g, ' ').toLowerCase()
}

/** Parses rendered text as JSON; on failure names the line and shows its text. */
function parseRenderedJson(text: string, where: TemplateLocation): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    const errors: ParseError[] = []
    parseJsonc(text, errors, {disallowComments: true, allowTrailingComma: false, allowEmptyContent: false})
    const [first] = errors
    const reason = cause instanceof Error ? cause.message : String(cause)
    if (first === undefined) {
      throw lilypadError('TEMPLATE_NOT_JSON', {
        message: `The rendered template ${where.templateName} is not valid JSON: ${reason}.`,
        hints: ['Check the template: every {{…}} action must leave valid JSON behind.'],
        details: {template: where.templateName, problem: reason},
        cause,
      })
    }
    const before = text.slice(0, first.offset)
    const line = before.split('\n').length
    const lineStart = before.lastIndexOf('\n') + 1
    const lineEnd = text.indexOf('\n', first.offset)
    const lineText = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).replace(/\r$/, '')
    const column = first.offset - lineStart + 1
    const problem = words(printParseErrorCode(first.error))
    const shown = lineText.length > 200 ? `${lineText.slice(0, 200)}…` : lineText
    throw lilypadError('TEMPLATE_NOT_JSON', {
      message:
        `The rendered template ${where.templateName} is not valid JSON: ${problem} at line ${line}, ` +
        `column ${column} of the rendered output: ${shown.trim()}`,
      hints: [
        `Find the template line that produces "${shown.trim().slice(0, 60)}": an action there may print a ` +
          'value outside quotes, or an {{if}} may leave a trailing comma.',
      ],
      details: {template: where.templateName, line, column, offset: first.offset, lineText: shown, problem},
      cause,
    })
  }
}

class ModuleTemplate implements CompiledTemplate {
  constructor(
    readonly inputs: readonly TemplateInput[],
    private readonly translation: Translation,
    private readonly renderer: HandlebarsRenderer,
    private readonly where: TemplateLocation,
  ) {}

  renderText(inputs: Readonly<Record<string, string>>): string {
    const encoded = new Map<string, string>()
    for (const {name} of this.inputs) {
      const value: unknown = Object.hasOwn(inputs, name) ? inputs[name] : undefined
      if (typeof value === 'string') encoded.set(name, goJsonString(value))
    }
    const scope: Scope = {inputs: encoded, where: this.where}
    const {exprs, texts} = this.translation
    const at = <T>(table: readonly T[], index: number): T => {
      const item = table[index]
      if (item === undefined) throw new Error(`template table index ${index} out of range`)
      return item
    }
    const renderScope: RenderScope = {
      out: (index) => printValue(evaluate(at(exprs, index), scope), scope),
      test: (index) => truthy(evaluate(at(exprs, index), scope)),
      text: (index) => at(texts, index),
    }
    return this.renderer(renderScope)
  }

  render(inputs: Readonly<Record<string, string>>): RenderedTemplate {
    const text = this.renderText(inputs)
    return {text, value: parseRenderedJson(text, this.where)}
  }
}

/**
 * Parses a module template written in the Go `text/template` dialect of Lilypad modules and
 * compiles it (through Handlebars) for rendering. Parse once, render many times.
 *
 * @param source - the template text (`lilypad_module.json.tmpl`)
 * @param options - `templateName` for messages
 * @returns the compiled template with its input analysis
 * @throws TEMPLATE_SYNTAX for malformed templates, TEMPLATE_UNSUPPORTED for Go constructs lilypad lacks
 * @example
 * const template = compileModuleTemplate('["cowsay", {{.Message}}]')
 * template.render({Message: 'hi'}).value // ['cowsay', 'hi']
 */
export function compileModuleTemplate(
  source: string,
  options: CompileTemplateOptions = {},
): CompiledTemplate {
  const where: TemplateLocation = {templateName: options.templateName ?? DEFAULT_TEMPLATE_NAME}
  const {nodes, fields} = parseTemplate(source, where)
  const translation = translate(nodes)
  const renderer = compileHandlebars(translation.source)
  const inputs = Object.freeze(analyzeInputs(nodes, fields).map((input) => Object.freeze(input)))
  return new ModuleTemplate(inputs, translation, renderer, where)
}
