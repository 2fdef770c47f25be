/**
 * Translates the parsed Go template into Handlebars source and runs it on a private Handlebars
 * instance. Text is copied verbatim; each Go action becomes `{{lp_out N}}` and each condition
 * `(lp_test N)`, where N indexes a table of parsed expressions the helpers evaluate. Helper results
 * are never parsed again, so input values cannot inject template syntax.
 */
import Handlebars from 'handlebars'

import type {Expr, TemplateNode} from './ast.js'

/** Handlebars source plus the tables its helpers index into. */
export interface Translation {
  readonly source: string
  readonly exprs: readonly Expr[]
  readonly texts: readonly string[]
}

/** The Handlebars context of one render; helpers call back into it. */
export interface RenderScope {
  out(index: number): string
  test(index: number): boolean
  text(index: number): string
}

/** Options that make Handlebars a plain text engine: no HTML escaping, no whitespace stripping. */
const COMPILE_OPTIONS = {
  noEscape: true,
  strict: true,
  // Without this Handlebars removes the whitespace and newline around a block tag alone on its line.
  ignoreStandalone: true,
  knownHelpers: {lp_out: true, lp_test: true, lp_text: true},
  knownHelpersOnly: true,
  data: false,
} as const

let instance: typeof Handlebars | undefined

/** The private Handlebars instance with the three lilypad helpers (never the global one). */
function handlebars(): typeof Handlebars {
  if (instance !== undefined) return instance
  const hb = Handlebars.create()
  hb.registerHelper('lp_out', function (this: RenderScope, index: number) {
    return this.out(index)
  })
  hb.registerHelper('lp_test', function (this: RenderScope, index: number) {
    return this.test(index)
  })
  hb.registerHelper('lp_text', function (this: RenderScope, index: number) {
    return this.text(index)
  })
  instance = hb
  return hb
}

/**
 * Whether Handlebars would copy `text`, placed between two mustaches, unchanged. It would not when
 * the text holds NUL or `{{`, ends with `\` (escapes the next mustache) or `{` (makes `{{{`), or
 * starts with `}` (makes `}}}`).
 */
function isVerbatimSafe(text: string): boolean {
  return !(
    text.includes('\0') ||
    text.includes('{{') ||
    text.endsWith('\\') ||
    text.endsWith('{') ||
    text.startsWith('}')
  )
}

/** Builds the Handlebars source for a parsed template. */
export function translate(nodes: readonly TemplateNode[]): Translation {
  const exprs: Expr[] = []
  const texts: string[] = []
  const expr = (e: Expr): number => exprs.push(e) - 1

  const emit = (list: readonly TemplateNode[]): string => {
    let source = ''
    for (const node of list) {
      switch (node.kind) {
        case 'text':
          source += isVerbatimSafe(node.text) ? node.text : `{{lp_text ${texts.push(node.text) - 1}}}`
          break
        case 'action':
          source += `{{lp_out ${expr(node.expr)}}}`
          break
        case 'if':
          node.branches.forEach((branch, i) => {
            source += `{{${i === 0 ? '#if' : 'else if'} (lp_test ${expr(branch.cond)})}}${emit(branch.body)}`
          })
          if (node.elseBody !== undefined) source += `{{else}}${emit(node.elseBody)}`
          source += '{{/if}}'
          break
      }
    }
    return source
  }

  return {source: emit(nodes), exprs, texts}
}

/** A compiled Handlebars template that renders with a {@link RenderScope} as its context. */
export type HandlebarsRenderer = (scope: RenderScope) => string

/** Compiles translated source on the private instance; parses it eagerly so a bad translation fails now. */
export function compileHandlebars(source: string): HandlebarsRenderer {
  const hb = handlebars()
  hb.parse(source, {ignoreStandalone: true})
  const template = hb.compile<RenderScope>(source, COMPILE_OPTIONS)
  return (scope) => template(scope)
}
