/**
 * Splits a Go `text/template` source into text and action pieces, following Go's lexer
 * (`text/template/parse/lex.go`): actions are `{{ … }}`, `{{- ` and ` -}}` trim all adjacent
 * whitespace (space, tab, CR, LF) from the neighbouring text, comments `{{/* … *\/}}` are dropped,
 * and the inside of an action is cut into tokens.
 */
import {type TemplateLocation, templateSyntaxError} from './errors.js'

/** A token inside an action. `line` is 1-based. */
export type Token =
  | {readonly kind: 'space' | 'pipe' | 'lparen' | 'rparen'; readonly line: number}
  | {readonly kind: 'string'; readonly value: string; readonly line: number}
  | {readonly kind: 'bool'; readonly value: boolean; readonly line: number}
  | {readonly kind: 'field' | 'ident'; readonly name: string; readonly line: number}
  | {readonly kind: 'char'; readonly char: string; readonly line: number}
  | {readonly kind: 'unsupported'; readonly construct: string; readonly line: number}

/** Literal text, or the tokens of one action (delimiters and trim markers removed). */
export type Piece =
  | {readonly kind: 'text'; readonly text: string; readonly line: number}
  | {readonly kind: 'action'; readonly tokens: readonly Token[]; readonly line: number}

const TRIM_HINT = 'A trim marker needs a space next to it: write "{{- " and " -}}".'
const IDENT_RUN = /[\p{L}\p{Nd}_]+/uy
const IDENT_START = /[\p{L}_]/uy
const NUMBER_RUN = /(?:[0-9A-Za-z_.]|(?<=[eEpP])[+-])+/y

function isSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\r' || char === '\n'
}

/** Maps offsets to 1-based line numbers. */
class Lines {
  private readonly starts: number[] = [0]

  constructor(source: string) {
    for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) this.starts.push(i + 1)
  }

  at(offset: number): number {
    let low = 0
    let high = this.starts.length - 1
    while (low < high) {
      const mid = (low + high + 1) >> 1
      if ((this.starts[mid] ?? 0) <= offset) low = mid
      else high = mid - 1
    }
    return low + 1
  }
}

function trimRightSpaces(text: string): string {
  let end = text.length
  while (end > 0 && isSpace(text[end - 1])) end--
  return text.slice(0, end)
}

function skipSpaces(source: string, pos: number): number {
  let p = pos
  while (isSpace(source[p])) p++
  return p
}

/** Length of the right delimiter at `pos`: 4 for ` -}}`, 2 for `}}`, 0 for none. */
function rightDelimAt(source: string, pos: number): 0 | 2 | 4 {
  if (isSpace(source[pos]) && source[pos + 1] === '-' && source.startsWith('}}', pos + 2)) return 4
  return source.startsWith('}}', pos) ? 2 : 0
}

function pushUtf8(bytes: number[], codePoint: number): void {
  if (codePoint < 0x80) bytes.push(codePoint)
  else if (codePoint < 0x800) bytes.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f))
  else if (codePoint < 0x10000)
    bytes.push(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f))
  else
    bytes.push(
      0xf0 | (codePoint >> 18),
      0x80 | ((codePoint >> 12) & 0x3f),
      0x80 | ((codePoint >> 6) & 0x3f),
      0x80 | (codePoint & 0x3f),
    )
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  '\\': 0x5c,
  '"': 0x22,
}

/**
 * Go's `strconv.Unquote` for the body of a double-quoted literal. `\x` and octal escapes are raw
 * bytes; the bytes are decoded as UTF-8 at the end (invalid sequences become U+FFFD).
 *
 * @returns the value, or an error description
 */
export function unquoteGoString(body: string): {value: string} | {error: string} {
  if (!body.includes('\\')) return {value: body}
  const bytes: number[] = []
  let i = 0
  while (i < body.length) {
    const codePoint = body.codePointAt(i) ?? 0
    if (codePoint !== 0x5c) {
      pushUtf8(bytes, codePoint >= 0xd800 && codePoint <= 0xdfff ? 0xfffd : codePoint)
      i += codePoint > 0xffff ? 2 : 1
      continue
    }
    const kind = body[i + 1] ?? ''
    const simple = SIMPLE_ESCAPES[kind]
    if (simple !== undefined) {
      bytes.push(simple)
      i += 2
      continue
    }
    const hexLength = kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : 0
    if (hexLength > 0) {
      const digits = body.slice(i + 2, i + 2 + hexLength)
      if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(digits)) {
        return {error: `\\${kind} must be followed by ${hexLength} hex digits`}
      }
      const value = Number.parseInt(digits, 16)
      if (kind === 'x') bytes.push(value)
      else if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
        return {error: `\\${kind}${digits} is not a valid Unicode code point`}
      } else pushUtf8(bytes, value)
      i += 2 + hexLength
      continue
    }
    if (kind >= '0' && kind <= '7') {
      const digits = body.slice(i + 1, i + 4)
      const value = Number.parseInt(digits, 8)
      if (!/^[0-7]{3}$/.test(digits) || value > 255) {
        return {error: `\\${digits} must be three octal digits up to \\377`}
      }
      bytes.push(value)
      i += 4
      continue
    }
    return {error: `unknown escape sequence \\${kind}`}
  }
  return {value: new TextDecoder().decode(Uint8Array.from(bytes))}
}

/**
 * Cuts a template into pieces. Throws TEMPLATE_SYNTAX; valid Go syntax lilypad does not implement
 * (`$x`, numbers, `'c'`, `.`, `nil`) becomes an `unsupported` token the parser reports in order.
 */
export function lexTemplate(source: string, where: TemplateLocation): Piece[] {
  return new Lexer(source, where).run()
}

class Lexer {
  private readonly lines: Lines
  private readonly pieces: Piece[] = []
  private pos = 0

  constructor(
    private readonly source: string,
    private readonly where: TemplateLocation,
  ) {
    this.lines = new Lines(source)
  }

  run(): Piece[] {
    const {source} = this
    while (this.pos < source.length) {
      const open = source.indexOf('{{', this.pos)
      if (open < 0) {
        this.pushText(source.slice(this.pos), this.pos)
        break
      }
      const trimLeft = source[open + 2] === '-' && isSpace(source[open + 3])
      const text = source.slice(this.pos, open)
      this.pushText(trimLeft ? trimRightSpaces(text) : text, this.pos)
      const inner = open + 2 + (trimLeft ? 2 : 0)
      if (source.startsWith('/*', inner)) this.comment(open, inner)
      else this.action(open, inner)
    }
    return this.pieces
  }

  private line(offset: number): number {
    return this.lines.at(offset)
  }

  private pushText(text: string, offset: number): void {
    if (text !== '') this.pieces.push({kind: 'text', text, line: this.line(offset)})
  }

  private syntax(offset: number, problem: string, hint: string): never {
    throw templateSyntaxError(this.where, this.line(offset), problem, hint)
  }

  /** Records a construct lilypad does not implement, skipping the `length` characters it spans. */
  private unsupported(tokens: Token[], offset: number, length: number, construct: string): number {
    tokens.push({kind: 'unsupported', construct, line: this.line(offset)})
    return offset + length
  }

  /** Moves past the right delimiter at `pos` (of length `delim`), trimming if it is ` -}}`. */
  private closeAt(pos: number, delim: 2 | 4): void {
    this.pos = pos + delim
    if (delim === 4) this.pos = skipSpaces(this.source, this.pos)
  }

  private comment(open: number, inner: number): void {
    const end = this.source.indexOf('*/', inner + 2)
    if (end < 0) this.syntax(open, 'unclosed comment', 'Close the comment with "*/}}".')
    const delim = rightDelimAt(this.source, end + 2)
    if (delim === 0) {
      this.syntax(
        open,
        'comment ends before closing delimiter',
        'Write comments as {{/* … */}} (or {{- /* … */ -}}) with nothing between "*/" and "}}".',
      )
    }
    this.closeAt(end + 2, delim)
  }

  private action(open: number, inner: number): void {
    const {source} = this
    const tokens: Token[] = []
    let p = inner
    let depth = 0
    for (;;) {
      const delim = rightDelimAt(source, p)
      if (delim !== 0) {
        if (depth > 0) this.syntax(p, 'unclosed left paren', 'Close every "(" with ")" inside the action.')
        this.pieces.push({kind: 'action', tokens, line: this.line(open)})
        this.closeAt(p, delim)
        return
      }
      const char = source[p]
      const line = this.line(p)
      if (char === undefined) {
        return this.syntax(open, 'unclosed action: "{{" has no matching "}}"', 'Close the action with "}}".')
      }
      if (isSpace(char)) {
        let q = skipSpaces(source, p)
        // ` -}}` owns the last space before it.
        if (source.startsWith('-}}', q)) q--
        if (q > p) tokens.push({kind: 'space', line})
        p = q
        continue
      }
      switch (char) {
        case '|':
          tokens.push({kind: 'pipe', line})
          p++
          continue
        case '(':
          depth++
          tokens.push({kind: 'lparen', line})
          p++
          continue
        case ')':
          depth--
          if (depth < 0) this.syntax(p, 'unexpected right paren', 'Remove the extra ")".')
          tokens.push({kind: 'rparen', line})
          p++
          continue
        case '"':
          p = this.quoted(p, tokens)
          continue
        case '`':
          p = this.rawQuoted(p, tokens)
          continue
        case '$':
          IDENT_RUN.lastIndex = p + 1
          p = this.unsupported(
            tokens,
            p,
            1 + (IDENT_RUN.exec(source)?.[0].length ?? 0),
            'template variables ($x)',
          )
          continue
        case "'":
          p = this.charConstant(p, tokens)
          continue
        case '.': {
          const next = source[p + 1] ?? ''
          p = next >= '0' && next <= '9' ? this.number(p, tokens) : this.word(p + 1, tokens, 'field')
          continue
        }
        case '-':
          if (p === open + 2) return this.syntax(p, '"{{-" must be followed by a space to trim', TRIM_HINT)
          if (source.startsWith('}}', p + 1)) {
            return this.syntax(p, '"-}}" must be preceded by a space to trim', TRIM_HINT)
          }
          p = this.number(p, tokens)
          continue
        case '+':
          p = this.number(p, tokens)
          continue
        default:
          break
      }
      if (char >= '0' && char <= '9') {
        p = this.number(p, tokens)
        continue
      }
      IDENT_START.lastIndex = p
      if (IDENT_START.test(source)) {
        p = this.word(p, tokens, 'ident')
        continue
      }
      const code = char.charCodeAt(0)
      if (code > 0x20 && code < 0x7f) {
        tokens.push({kind: 'char', char, line})
        p++
        continue
      }
      const codePoint = source.codePointAt(p) ?? code
      return this.syntax(
        p,
        `unrecognized character in action: U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`,
        'Actions may only contain names, string literals, "|", "(" and ")"; move other text outside "{{ }}".',
      )
    }
  }

  /** Scans a number literal (sign, digits, letters, dots, exponent signs). */
  private number(start: number, tokens: Token[]): number {
    const {source} = this
    let q = start
    if (source[q] === '+' || source[q] === '-') q++
    const digits = q
    NUMBER_RUN.lastIndex = q
    q += NUMBER_RUN.exec(source)?.[0].length ?? 0
    if (q === digits || !/[0-9]/.test(source.slice(digits, q))) {
      return this.syntax(
        start,
        `bad number syntax: "${source.slice(start, q + 1)}"`,
        'Remove the stray character.',
      )
    }
    return this.unsupported(tokens, start, q - start, 'number literals')
  }

  /** Scans a character constant `'x'`. */
  private charConstant(start: number, tokens: Token[]): number {
    const {source} = this
    let q = start + 1
    for (;;) {
      const char = source[q]
      if (char === '\\' && source[q + 1] !== undefined && source[q + 1] !== '\n') q += 2
      else if (char === undefined || char === '\n') {
        return this.syntax(start, 'unterminated character constant', "Close the character constant with '.")
      } else if (char === "'") break
      else q++
    }
    return this.unsupported(tokens, start, q + 1 - start, "character constants ('x')")
  }

  /** Scans a field name (after its dot) or an identifier starting at `start`; returns the end offset. */
  private word(start: number, tokens: Token[], kind: 'field' | 'ident'): number {
    const {source} = this
    const line = this.line(start)
    IDENT_RUN.lastIndex = start
    const name = IDENT_RUN.exec(source)?.[0] ?? ''
    const end = start + name.length
    const after = source[end]
    const terminated =
      after === undefined || isSpace(after) || '.,|:()'.includes(after) || source.startsWith('}}', end)
    if (!terminated) {
      if (source.startsWith('-}}', end))
        this.syntax(end, '"-}}" must be preceded by a space to trim', TRIM_HINT)
      this.syntax(
        end,
        `bad character ${JSON.stringify(after)} after ${kind === 'field' ? `.${name}` : name}`,
        'Separate arguments with spaces; input names may contain only letters, digits and "_".',
      )
    }
    if (kind === 'field') {
      if (name === '') this.unsupported(tokens, start - 1, 1, '"." (the whole input map)')
      else tokens.push({kind: 'field', name, line})
      return end
    }
    switch (name) {
      case 'true':
      case 'false':
        tokens.push({kind: 'bool', value: name === 'true', line})
        break
      case 'nil':
        this.unsupported(tokens, start, 3, 'nil')
        break
      default:
        tokens.push({kind: 'ident', name, line})
    }
    return end
  }

  private quoted(start: number, tokens: Token[]): number {
    const {source} = this
    let q = start + 1
    for (;;) {
      const char = source[q]
      if (char === '\\') {
        const next = source[q + 1]
        if (next !== undefined && next !== '\n') {
          q += 2
          continue
        }
      }
      if (char === undefined || char === '\\' || char === '\n') {
        this.syntax(start, 'unterminated quoted string', 'Close the string with " on the same line.')
      }
      if (char === '"') break
      q++
    }
    const result = unquoteGoString(source.slice(start + 1, q))
    if ('error' in result) {
      this.syntax(
        start,
        `bad string literal ${source.slice(start, q + 1)}: ${result.error}`,
        'Use Go string escapes (\\" \\\\ \\n \\t \\uXXXX), or a `raw string` in backquotes.',
      )
    }
    tokens.push({kind: 'string', value: result.value, line: this.line(start)})
    return q + 1
  }

  private rawQuoted(start: number, tokens: Token[]): number {
    const end = this.source.indexOf('`', start + 1)
    if (end < 0)
      this.syntax(start, 'unterminated raw quoted string', 'Close the raw string with a backquote.')
    const value = this.source.slice(start + 1, end).replaceAll('\r', '')
    tokens.push({kind: 'string', value, line: this.line(start)})
    return end + 1
  }
}
