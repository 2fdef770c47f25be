/**
 * The functions a module template may call, with Go `text/template` semantics (`funcs.go`) plus
 * Lilypad's own `subst` (`pkg/module/utils.go`), and the Go `fmt`/JS-escaping helpers they need.
 */
import type {FunctionName} from './ast.js'

/** Arity of each supported function; `max` undefined = variadic. Go checks these when executing. */
export const FUNCTIONS: Readonly<Record<FunctionName, {readonly min: number; readonly max?: number}>> = {
  and: {min: 1},
  or: {min: 1},
  not: {min: 1, max: 1},
  eq: {min: 2},
  ne: {min: 2, max: 2},
  js: {min: 0},
  subst: {min: 1},
}

/** Go builtins (and `call`) that exist but lilypad does not implement. */
export const UNSUPPORTED_GO_FUNCTIONS: ReadonlySet<string> = new Set([
  'call',
  'html',
  'index',
  'slice',
  'len',
  'print',
  'printf',
  'println',
  'urlquery',
  'lt',
  'le',
  'gt',
  'ge',
])

/** True when `name` is a function a template may call. */
export function isSupportedFunction(name: string): name is FunctionName {
  return Object.hasOwn(FUNCTIONS, name)
}

const UPPER_HEX = '0123456789ABCDEF'
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0')
}

function jsAsciiEscape(char: string, code: number): string {
  switch (char) {
    case '\\':
      return '\\\\'
    case "'":
      // Go writes \' which is not valid JSON; a bare apostrophe means the same once decoded.
      return "'"
    case '"':
      return '\\"'
    case '<':
      return '\\u003C'
    case '>':
      return '\\u003E'
    case '&':
      return '\\u0026'
    case '=':
      return '\\u003D'
    default:
      return code < 0x20 ? `\\u00${UPPER_HEX[code >> 4] ?? ''}${UPPER_HEX[code & 0xf] ?? ''}` : char
  }
}

/**
 * Go's `template.JSEscapeString`, adjusted so the result is always valid inside a JSON string:
 * `\'` becomes `'`, and a non-printable astral character (Go: `\u1XXXX`) becomes a `\uXXXX\uXXXX`
 * surrogate pair. Both decode to what Go's escaping meant.
 */
export function goJsEscape(value: string): string {
  let out = ''
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0
    if (code < 0x80) out += jsAsciiEscape(char, code)
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd'
    else if (PRINTABLE.test(char)) out += char
    else if (code <= 0xffff) out += `\\u${hex4(code)}`
    else out += `\\u${hex4(char.charCodeAt(0))}\\u${hex4(char.charCodeAt(1))}`
  }
  return out
}

/** A `fmt` format feature `subst` does not implement (flags, width, precision, `%q`, …). */
export class UnsupportedFormatError extends Error {
  constructor(readonly directive: string) {
    super(`unsupported format directive ${directive}`)
    this.name = 'UnsupportedFormatError'
  }
}

function utf8Hex(value: string, upper: boolean): string {
  const hex = Buffer.from(value, 'utf8').toString('hex')
  return upper ? hex.toUpperCase() : hex
}

/**
 * Go's `fmt.Sprintf(format, args...)` for string arguments: `%s` `%v` `%x` `%X` `%T` `%%`, other verbs as
 * `%!d(string=…)`, `%!s(MISSING)` for a missing argument, `%!(EXTRA string=…)` for extra ones and
 * `%!(NOVERB)` for a trailing `%`. Flags, widths, precisions, argument indexes and `%q` throw
 * {@link UnsupportedFormatError}.
 */
export function goSprintf(format: string, args: readonly string[]): string {
  let out = ''
  let argIndex = 0
  let i = 0
  while (i < format.length) {
    const percent = format.indexOf('%', i)
    if (percent < 0) {
      out += format.slice(i)
      break
    }
    out += format.slice(i, percent)
    const verbCode = format.codePointAt(percent + 1)
    if (verbCode === undefined) {
      out += '%!(NOVERB)'
      break
    }
    const verb = String.fromCodePoint(verbCode)
    i = percent + 1 + verb.length
    if (verb === '%') {
      out += '%'
      continue
    }
    if ('#0+- *.['.includes(verb) || (verb >= '1' && verb <= '9') || verb === 'q') {
      throw new UnsupportedFormatError(`%${verb}`)
    }
    const arg = args[argIndex]
    if (arg === undefined) {
      out += `%!${verb}(MISSING)`
      continue
    }
    argIndex++
    switch (verb) {
      case 's':
      case 'v':
        out += arg
        break
      case 'x':
      case 'X':
        out += utf8Hex(arg, verb === 'X')
        break
      case 'T':
        out += 'string'
        break
      default:
        out += `%!${verb}(string=${arg})`
    }
  }
  if (argIndex < args.length) {
    out += `%!(EXTRA ${args
      .slice(argIndex)
      .map((arg) => `string=${arg}`)
      .join(', ')})`
  }
  return out
}

/** The format directives `subst` cannot handle in a literal format, found before rendering. */
export function unsupportedFormatDirective(format: string): string | undefined {
  try {
    goSprintf(format, [])
    return undefined
  } catch (error) {
    if (error instanceof UnsupportedFormatError) return error.directive
    throw error
  }
}
