/**
 * Parses the lexed pieces into {@link TemplateNode}s, following Go's parser
 * (`text/template/parse/parse.go`): `if`/`else if`/`else`/`end`, pipelines `a | f b` (the previous
 * command's value becomes the last argument), parenthesised sub-pipelines and function calls.
 * Go constructs lilypad does not implement raise TEMPLATE_UNSUPPORTED; malformed input and calls
 * that Go could never execute (wrong arity, arguments to an input) raise TEMPLATE_SYNTAX.
 */
import type {Expr, FunctionName, IfBranch, TemplateNode} from './ast.js'
import {type TemplateLocation, templateSyntaxError, templateUnsupportedError} from './errors.js'
import {
  FUNCTIONS,
  isSupportedFunction,
  UNSUPPORTED_GO_FUNCTIONS,
  unsupportedFormatDirective,
} from './functions.js'
import {lexTemplate, type Piece, type Token} from './lexer.js'

/** An input reference, in source order. */
export interface FieldUse {
  readonly name: string
  readonly line: number
}

/** The parse result: the body and every input reference in source order. */
export interface ParsedTemplate {
  readonly nodes: readonly TemplateNode[]
  readonly fields: readonly FieldUse[]
}

const UNSUPPORTED_KEYWORDS: ReadonlySet<string> = new Set([
  'range',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
])
const KEYWORDS: ReadonlySet<string> = new Set([...UNSUPPORTED_KEYWORDS, 'if', 'else', 'end'])
const FUNCTION_LIST = 'subst, js, or, and, not, eq, ne'

type Terminator =
  | {readonly kind: 'eof'}
  | {readonly kind: 'end' | 'else'; readonly line: number}
  | {readonly kind: 'elseif'; readonly cond: Expr; readonly line: number}

type Classified = Terminator | {readonly kind: 'if' | 'expr'; readonly expr: Expr; readonly line: number}

/** An operand of a command: a function name, or a value (input, literal, parenthesised pipeline). */
type Operand =
  | {readonly kind: 'fn'; readonly name: FunctionName; readonly line: number}
  | {readonly kind: 'value'; readonly expr: Expr; readonly source: 'field' | 'literal' | 'pipe'}

/** Parses a template source. Throws TEMPLATE_SYNTAX or TEMPLATE_UNSUPPORTED. */
export function parseTemplate(source: string, where: TemplateLocation): ParsedTemplate {
  return new Parser(lexTemplate(source, where), where).parse()
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'space':
      return 'space'
    case 'pipe':
      return '"|"'
    case 'lparen':
      return '"("'
    case 'rparen':
      return '")"'
    case 'string':
      return `string ${JSON.stringify(token.value)}`
    case 'bool':
      return String(token.value)
    case 'field':
      return `.${token.name}`
    case 'ident':
      return `"${token.name}"`
    case 'char':
      return `"${token.char}"`
    case 'unsupported':
      return token.construct
  }
}

/** A cursor over the tokens of one action. `undefined` means the closing `}}`. */
class Tokens {
  private i = 0

  constructor(readonly tokens: readonly Token[]) {}

  peek(): Token | undefined {
    return this.tokens[this.i]
  }

  next(): Token | undefined {
    return this.tokens[this.i++]
  }

  back(): void {
    this.i--
  }

  skipSpaces(): void {
    while (this.tokens[this.i]?.kind === 'space') this.i++
  }

  peekNonSpace(): Token | undefined {
    this.skipSpaces()
    return this.peek()
  }
}

class Parser {
  private i = 0
  private readonly fields: FieldUse[] = []

  constructor(
    private readonly pieces: readonly Piece[],
    private readonly where: TemplateLocation,
  ) {}

  parse(): ParsedTemplate {
    const {nodes, terminator} = this.body()
    if (terminator.kind !== 'eof') {
      const keyword = terminator.kind === 'end' ? '{{end}}' : '{{else}}'
      this.syntax(
        terminator.line,
        `unexpected ${keyword}`,
        `Remove the ${keyword} or add the {{if …}} it belongs to.`,
      )
    }
    return {nodes, fields: this.fields}
  }

  private syntax(line: number, problem: string, hint: string): never {
    throw templateSyntaxError(this.where, line, problem, hint)
  }

  private unsupported(line: number, construct: string): never {
    throw templateUnsupportedError(this.where, line, construct)
  }

  /** Nodes up to the next `{{end}}`, `{{else}}`, `{{else if}}` or the end of the template. */
  private body(): {nodes: TemplateNode[]; terminator: Terminator} {
    const nodes: TemplateNode[] = []
    for (;;) {
      const piece = this.pieces[this.i++]
      if (piece === undefined) return {nodes, terminator: {kind: 'eof'}}
      if (piece.kind === 'text') {
        const last = nodes.at(-1)
        // Comments and trim markers can leave two texts side by side; keep them as one.
        if (last?.kind === 'text') nodes[nodes.length - 1] = {...last, text: last.text + piece.text}
        else nodes.push(piece)
        continue
      }
      const action = this.classify(piece)
      switch (action.kind) {
        case 'eof':
        case 'end':
        case 'else':
        case 'elseif':
          return {nodes, terminator: action}
        case 'if':
          nodes.push(this.ifNode(action.expr, action.line))
          break
        case 'expr':
          nodes.push({kind: 'action', expr: action.expr, line: action.line})
          break
      }
    }
  }

  private ifNode(firstCond: Expr, ifLine: number): TemplateNode {
    const branches: IfBranch[] = []
    const missingEnd = (): never =>
      this.syntax(
        ifLine,
        `the {{if}} on line ${ifLine} has no matching {{end}}`,
        'Close the {{if …}} with {{end}}.',
      )
    let cond = firstCond
    let line = ifLine
    for (;;) {
      const {nodes, terminator} = this.body()
      branches.push({cond, body: nodes, line})
      switch (terminator.kind) {
        case 'eof':
          return missingEnd()
        case 'end':
          return {kind: 'if', branches, elseBody: undefined, line: ifLine}
        case 'elseif':
          cond = terminator.cond
          line = terminator.line
          continue
        case 'else': {
          const rest = this.body()
          if (rest.terminator.kind === 'end')
            return {kind: 'if', branches, elseBody: rest.nodes, line: ifLine}
          if (rest.terminator.kind === 'eof') return missingEnd()
          return this.syntax(
            rest.terminator.line,
            `expected {{end}} after the {{else}} on line ${terminator.line}`,
            'An {{if}} takes at most one {{else}}, and {{else if …}} must come before it.',
          )
        }
      }
    }
  }

  /** What an action is: a control keyword or a pipeline to print. */
  private classify(piece: Extract<Piece, {kind: 'action'}>): Classified {
    const tokens = new Tokens(piece.tokens)
    const first = tokens.peekNonSpace()
    const {line} = piece
    if (first?.kind === 'ident' && KEYWORDS.has(first.name)) {
      tokens.next()
      switch (first.name) {
        case 'if':
          return {kind: 'if', expr: this.pipeline(tokens, 'if', first.line), line}
        case 'else': {
          const next = tokens.peekNonSpace()
          if (next === undefined) return {kind: 'else', line}
          if (next.kind === 'ident' && next.name === 'if') {
            tokens.next()
            return {kind: 'elseif', cond: this.pipeline(tokens, 'if', next.line), line}
          }
          if (next.kind === 'ident' && next.name === 'with')
            return this.unsupported(next.line, '{{else with}}')
          return this.syntax(
            next.line,
            `unexpected ${describeToken(next)} in {{else}}`,
            'Write {{else}} or {{else if …}}.',
          )
        }
        case 'end': {
          const next = tokens.peekNonSpace()
          if (next !== undefined) {
            this.syntax(
              next.line,
              `unexpected ${describeToken(next)} in {{end}}`,
              'Write {{end}} on its own.',
            )
          }
          return {kind: 'end', line}
        }
        default:
          return this.unsupported(first.line, `{{${first.name}}}`)
      }
    }
    return {kind: 'expr', expr: this.pipeline(tokens, 'command', line), line}
  }

  /** `command ("|" command)*` up to `}}` or an unconsumed `)`, folded into one expression. */
  private pipeline(tokens: Tokens, context: string, line: number): Expr {
    const commands: Operand[][] = []
    for (;;) {
      const token = tokens.peekNonSpace()
      if (token === undefined || token.kind === 'rparen') break
      if (
        token.kind === 'pipe' ||
        token.kind === 'char' ||
        (token.kind === 'ident' && KEYWORDS.has(token.name))
      ) {
        this.syntax(
          token.line,
          `unexpected ${describeToken(token)} in ${context}`,
          'Check the action syntax.',
        )
      }
      commands.push(this.command(tokens))
    }
    if (commands.length === 0) {
      this.syntax(
        line,
        `missing value for ${context}`,
        context === 'if'
          ? 'Give the {{if}} a condition, e.g. {{if .Name}}.'
          : 'Put an input in the action, e.g. {{.Name}}.',
      )
    }
    let folded: Expr | undefined
    for (const [stage, command] of commands.entries()) folded = this.fold(command, folded, stage + 1)
    if (folded === undefined) throw new Error('unreachable: empty pipeline')
    return folded
  }

  /** `operand (space operand)*`, consuming a following `|`. */
  private command(tokens: Tokens): Operand[] {
    const operands: Operand[] = []
    for (;;) {
      tokens.skipSpaces()
      const operand = this.operand(tokens)
      if (operand !== undefined) operands.push(operand)
      const token = tokens.next()
      if (token === undefined) break
      if (token.kind === 'space') continue
      if (token.kind === 'rparen') {
        tokens.back()
        break
      }
      if (token.kind === 'pipe') break
      this.syntax(
        token.line,
        `unexpected ${describeToken(token)} in operand`,
        'Separate arguments with spaces.',
      )
    }
    if (operands.length === 0) {
      this.syntax(
        tokens.tokens[0]?.line ?? 1,
        'empty command',
        'Remove the extra "|" or add a function after it.',
      )
    }
    return operands
  }

  private operand(tokens: Tokens): Operand | undefined {
    const term = this.term(tokens)
    const next = tokens.peek()
    if (term !== undefined && next?.kind === 'field') {
      if (term.kind === 'value' && term.source === 'literal') {
        this.syntax(next.line, `unexpected .${next.name} after a literal`, 'Put a space before the input.')
      }
      this.unsupported(next.line, `field chains (… .${next.name})`)
    }
    return term
  }

  private term(tokens: Tokens): Operand | undefined {
    const token = tokens.next()
    switch (token?.kind) {
      case 'ident': {
        const {name, line} = token
        if (KEYWORDS.has(name)) break
        if (isSupportedFunction(name)) return {kind: 'fn', name, line}
        if (UNSUPPORTED_GO_FUNCTIONS.has(name)) return this.unsupported(line, `the ${name} function`)
        return this.syntax(line, `function "${name}" not defined`, `Available functions: ${FUNCTION_LIST}.`)
      }
      case 'field':
        this.fields.push({name: token.name, line: token.line})
        return {kind: 'value', expr: {kind: 'field', name: token.name, line: token.line}, source: 'field'}
      case 'string':
        return {
          kind: 'value',
          expr: {kind: 'string', value: token.value, line: token.line},
          source: 'literal',
        }
      case 'bool':
        return {kind: 'value', expr: {kind: 'bool', value: token.value, line: token.line}, source: 'literal'}
      case 'lparen': {
        const expr = this.pipeline(tokens, 'parenthesized pipeline', token.line)
        const close = tokens.next()
        if (close?.kind !== 'rparen') {
          this.syntax(token.line, 'unclosed left paren', 'Close every "(" with ")".')
        }
        return {kind: 'value', expr, source: 'pipe'}
      }
      case 'unsupported':
        return this.unsupported(token.line, token.construct)
      case 'char':
      case 'pipe':
      case 'rparen':
      case 'space':
      case undefined:
        break
    }
    if (token !== undefined) tokens.back()
    return undefined
  }

  /** One pipeline stage: `previous` (the value piped in) becomes the last argument. */
  private fold(command: readonly Operand[], previous: Expr | undefined, stage: number): Expr {
    const [head, ...rest] = command
    if (head === undefined) throw new Error('unreachable: empty command')
    const args = rest.map((operand) =>
      operand.kind === 'fn' ? this.call(operand.name, [], operand.line) : operand.expr,
    )
    if (previous !== undefined) args.push(previous)
    if (head.kind === 'fn') return this.call(head.name, args, head.line)
    const {expr} = head
    if (stage > 1 && head.source === 'literal') {
      this.syntax(
        expr.line,
        `non executable command in pipeline stage ${stage}`,
        'Only a function can follow "|".',
      )
    }
    if (args.length > 0) {
      this.syntax(
        expr.line,
        expr.kind === 'field'
          ? `.${expr.name} is an input, not a function, and cannot take arguments`
          : 'a value cannot take arguments',
        `Call a function instead (${FUNCTION_LIST}), e.g. {{ subst "K=%s" .Name }}.`,
      )
    }
    return expr
  }

  private call(fn: FunctionName, args: Expr[], line: number): Expr {
    const {min, max} = FUNCTIONS[fn]
    if (args.length < min || (max !== undefined && args.length > max)) {
      const want = max === undefined ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`
      this.syntax(
        line,
        `wrong number of args for ${fn}: want ${want} got ${args.length}`,
        fn === 'subst' ? 'Write {{ subst "FORMAT %s" .Input }}.' : `Give ${fn} ${want} argument(s).`,
      )
    }
    const [format] = args
    if (fn === 'subst' && format?.kind === 'string') {
      const directive = unsupportedFormatDirective(format.value)
      if (directive !== undefined) this.unsupported(line, `the subst format directive ${directive}`)
    }
    return {kind: 'call', fn, args, line}
  }
}
