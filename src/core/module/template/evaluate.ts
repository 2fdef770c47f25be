/**
 * Evaluates template expressions against the inputs with Go `text/template` semantics
 * (`exec.go`, `funcs.go`), except that a missing input is refused where Go would print
 * `<no value>` (or pass a nil/zero value on).
 */
import type {Expr, FunctionName} from './ast.js'
import {
  type TemplateLocation,
  templateInputMissingError,
  templateRenderError,
  templateUnsupportedError,
} from './errors.js'
import {goJsEscape, goSprintf, UnsupportedFormatError} from './functions.js'
import {goJsonDecodeString, jsonStringBody} from './go-json.js'

/**
 * A runtime value. `string.fromSubst` marks `subst` results: Go prints them unescaped inside a JSON
 * string (breaking the JSON on `"` or `\`), we print them JSON-escaped.
 */
export type Value =
  | {readonly kind: 'string'; readonly text: string; readonly fromSubst: boolean}
  | {readonly kind: 'bool'; readonly value: boolean}
  | {readonly kind: 'missing'; readonly name: string; readonly line: number}

/** What an evaluation needs: the inputs, already JSON-encoded as Go does, and where we are. */
export interface Scope {
  readonly inputs: ReadonlyMap<string, string>
  readonly where: TemplateLocation
}

type Call = Extract<Expr, {kind: 'call'}>
type Present = Exclude<Value, {kind: 'missing'}>

const TRUE: Value = {kind: 'bool', value: true}
const FALSE: Value = {kind: 'bool', value: false}

function bool(value: boolean): Value {
  return value ? TRUE : FALSE
}

/** Go truthiness (`isTrue`): a missing value is false, a string is true when non-empty. */
export function truthy(value: Value): boolean {
  switch (value.kind) {
    case 'string':
      return value.text !== ''
    case 'bool':
      return value.value
    case 'missing':
      return false
  }
}

function present(value: Value, scope: Scope, use: string): Present {
  if (value.kind === 'missing') throw templateInputMissingError(scope.where, value.name, value.line, use)
  return value
}

function describe(value: Present): string {
  return value.kind === 'string' ? 'string' : 'bool'
}

/** `fmt.Sprint` of the arguments, as `js` builds its operand. */
function goSprint(values: readonly Present[]): string {
  let out = ''
  values.forEach((value, i) => {
    const previous = values[i - 1]
    if (previous !== undefined && previous.kind !== 'string' && value.kind !== 'string') out += ' '
    out += value.kind === 'string' ? value.text : String(value.value)
  })
  return out
}

function compare(call: Call, values: readonly Present[], scope: Scope): boolean {
  const [first, ...rest] = values
  if (first === undefined) return false
  return rest.some((other) => {
    if (other.kind !== first.kind) {
      throw templateRenderError(
        scope.where,
        call.line,
        `${call.fn}: incompatible types for comparison: ${describe(first)} and ${describe(other)}`,
        'Compare strings with strings; inputs are JSON-encoded, so write {{if eq .Mode "\\"fast\\""}}.',
      )
    }
    if (other.kind === 'string' && first.kind === 'string') return other.text === first.text
    return other.kind === 'bool' && first.kind === 'bool' && other.value === first.value
  })
}

function subst(call: Call, scope: Scope): Value {
  const values = call.args.map((arg) => present(evaluate(arg, scope), scope, 'subst'))
  const strings = values.map((value, i) => {
    if (value.kind === 'string') return value.text
    throw templateRenderError(
      scope.where,
      call.line,
      `subst: argument ${i + 1} is a bool, expected a string`,
      'Pass subst a format string followed by inputs, e.g. {{ subst "PROMPT=%s" .Prompt }}.',
    )
  })
  const [format = '', ...encoded] = strings
  const decoded = encoded.map((text, i) => {
    const value = goJsonDecodeString(text)
    if (value !== undefined) return value
    throw templateRenderError(
      scope.where,
      call.line,
      `subst: invalid input: argument ${i + 2} (${JSON.stringify(text)}) is not a JSON-encoded string`,
      'subst decodes its arguments as JSON strings: pass inputs (.Name), or literals like "\\"text\\"".',
      {argument: i + 2},
    )
  })
  try {
    return {kind: 'string', text: goSprintf(format, decoded), fromSubst: true}
  } catch (error) {
    if (error instanceof UnsupportedFormatError) {
      throw templateUnsupportedError(scope.where, call.line, `the subst format directive ${error.directive}`)
    }
    throw error
  }
}

function callFunction(call: Call, scope: Scope): Value {
  const fn: FunctionName = call.fn
  switch (fn) {
    case 'and':
    case 'or': {
      // Short-circuits like Go ≥ 1.18: the first falsy (and) / truthy (or) argument, else the last.
      let last: Value = FALSE
      for (const arg of call.args) {
        last = evaluate(arg, scope)
        if (truthy(last) === (fn === 'or')) return last
      }
      return last
    }
    case 'not': {
      const [arg] = call.args
      return bool(arg === undefined || !truthy(evaluate(arg, scope)))
    }
    case 'eq':
    case 'ne': {
      // Like Go ≥ 1.18: a missing input compares unequal to a present value; comparing only missing
      // inputs is refused.
      const evaluated = call.args.map((arg) => evaluate(arg, scope))
      const [first, ...rest] = evaluated
      if (first === undefined || evaluated.every((value) => value.kind === 'missing')) {
        present(first ?? FALSE, scope, fn)
        return FALSE
      }
      const equal =
        first.kind !== 'missing' &&
        compare(call, [first, ...rest.filter((value): value is Present => value.kind !== 'missing')], scope)
      return bool(fn === 'eq' ? equal : !equal)
    }
    case 'js':
      return {
        kind: 'string',
        text: goJsEscape(goSprint(call.args.map((arg) => present(evaluate(arg, scope), scope, 'js')))),
        fromSubst: false,
      }
    case 'subst':
      return subst(call, scope)
  }
}

/** Evaluates an expression. Throws TEMPLATE_INPUT_MISSING, TEMPLATE_RENDER_FAILED or TEMPLATE_UNSUPPORTED. */
export function evaluate(expr: Expr, scope: Scope): Value {
  switch (expr.kind) {
    case 'field': {
      const text = scope.inputs.get(expr.name)
      return text === undefined
        ? {kind: 'missing', name: expr.name, line: expr.line}
        : {kind: 'string', text, fromSubst: false}
    }
    case 'string':
      return {kind: 'string', text: expr.value, fromSubst: false}
    case 'bool':
      return bool(expr.value)
    case 'call':
      return callFunction(expr, scope)
  }
}

/** The text Go prints for a value; a missing input is refused (Go prints `<no value>`). */
export function printValue(value: Value, scope: Scope): string {
  const shown = present(value, scope, 'print')
  if (shown.kind === 'bool') return String(shown.value)
  return shown.fromSubst ? jsonStringBody(shown.text) : shown.text
}
