/**
 * Which inputs a template uses and which it cannot render without. An input X is *required* when
 * rendering with X missing fails on every path, whatever the other inputs are: the template is
 * run abstractly with X missing and every other input unknown (present or not), and a use that
 * refuses a missing value (printing it, `subst`, `js`, `eq`, `ne`) must be reached on all paths.
 * So `{{.X}}` makes X required, while `{{if .X}}{{.X}}{{end}}`, `{{if and .X .Y}}…`, the else
 * branch of `{{if not .X}}` and `{{or .X "default"}}` do not.
 */
import type {Expr, TemplateNode} from './ast.js'
import type {FieldUse} from './parse.js'

/** An input a template uses. `line` is where it is first used. */
export interface TemplateInput {
  readonly name: string
  readonly required: boolean
  readonly line: number
}

type Tri = 'yes' | 'no' | 'maybe'

/** What is known about a value: whether it is the missing input, and whether it is truthy. */
interface Abstract {
  readonly missing: Tri
  readonly truth: Tri
}

/** `fails` = evaluation certainly stops on the missing input. */
type Outcome = Abstract | 'fails'

const UNKNOWN_STRING: Abstract = {missing: 'no', truth: 'maybe'}

function joinTri(a: Tri, b: Tri): Tri {
  return a === b ? a : 'maybe'
}

function join(a: Abstract, b: Abstract): Abstract {
  return {missing: joinTri(a.missing, b.missing), truth: joinTri(a.truth, b.truth)}
}

function known(value: boolean): Tri {
  return value ? 'yes' : 'no'
}

function not(value: Tri): Tri {
  return value === 'maybe' ? value : known(value === 'no')
}

class Analysis {
  constructor(private readonly missingInput: string) {}

  /** True when running `nodes` certainly fails. */
  fails(nodes: readonly TemplateNode[]): boolean {
    return nodes.some((node) => this.nodeFails(node))
  }

  private nodeFails(node: TemplateNode): boolean {
    switch (node.kind) {
      case 'text':
        return false
      case 'action':
        return this.strict(this.eval(node.expr)) === 'fails'
      case 'if':
        return this.chainFails(node.branches, 0, node.elseBody ?? [])
    }
  }

  private chainFails(
    branches: Extract<TemplateNode, {kind: 'if'}>['branches'],
    index: number,
    elseBody: readonly TemplateNode[],
  ): boolean {
    const branch = branches[index]
    if (branch === undefined) return this.fails(elseBody)
    const cond = this.eval(branch.cond)
    if (cond === 'fails') return true
    const thenFails = (): boolean => this.fails(branch.body)
    const elseFails = (): boolean => this.chainFails(branches, index + 1, elseBody)
    if (cond.truth === 'yes') return thenFails()
    if (cond.truth === 'no') return elseFails()
    return thenFails() && elseFails()
  }

  /** A use that refuses the missing input. */
  private strict(outcome: Outcome): Outcome {
    return outcome !== 'fails' && outcome.missing === 'yes' ? 'fails' : outcome
  }

  private eval(expr: Expr): Outcome {
    switch (expr.kind) {
      case 'field':
        return expr.name === this.missingInput ? {missing: 'yes', truth: 'no'} : UNKNOWN_STRING
      case 'string':
        return {missing: 'no', truth: known(expr.value !== '')}
      case 'bool':
        return {missing: 'no', truth: known(expr.value)}
      case 'call':
        switch (expr.fn) {
          case 'and':
          case 'or':
            return this.shortCircuit(expr.args, 0, expr.fn === 'or')
          case 'not': {
            const [arg] = expr.args
            const value = arg === undefined ? 'fails' : this.eval(arg)
            return value === 'fails' ? value : {missing: 'no', truth: not(value.truth)}
          }
          case 'eq':
          case 'ne': {
            // A missing input only fails a comparison when every operand is missing.
            const values = expr.args.map((arg) => this.eval(arg))
            if (values.some((value) => value === 'fails')) return 'fails'
            if (values.every((value) => value !== 'fails' && value.missing === 'yes')) return 'fails'
            return UNKNOWN_STRING
          }
          case 'js':
          case 'subst':
            for (const arg of expr.args) if (this.strict(this.eval(arg)) === 'fails') return 'fails'
            return UNKNOWN_STRING
        }
    }
  }

  /** Go's `and`/`or`: the first falsy/truthy argument, else the last one. */
  private shortCircuit(args: readonly Expr[], index: number, isOr: boolean): Outcome {
    const arg = args[index]
    if (arg === undefined) return 'fails'
    const value = this.eval(arg)
    if (value === 'fails' || index === args.length - 1) return value
    const stopsHere: Tri = isOr ? value.truth : not(value.truth)
    if (stopsHere === 'yes') return value
    const rest = this.shortCircuit(args, index + 1, isOr)
    if (stopsHere === 'no') return rest
    // Either this value stops the evaluation (a truthy value is never the missing input) or the rest runs.
    const stopped: Abstract = isOr ? {missing: 'no', truth: 'yes'} : {missing: value.missing, truth: 'no'}
    return rest === 'fails' ? stopped : join(stopped, rest)
  }
}

/** The inputs a template uses, in order of first use, with whether each is required. */
export function analyzeInputs(nodes: readonly TemplateNode[], fields: readonly FieldUse[]): TemplateInput[] {
  const firstUse = new Map<string, number>()
  for (const {name, line} of fields) if (!firstUse.has(name)) firstUse.set(name, line)
  return [...firstUse].map(([name, line]) => ({name, line, required: new Analysis(name).fails(nodes)}))
}
