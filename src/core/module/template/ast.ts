/**
 * The parsed form of a module template: the subset of Go `text/template` Lilypad modules use.
 * Parenthesised pipelines and `a | f b` are already folded into plain calls (`f b a`).
 */

/** Functions a template may call. */
export type FunctionName = 'and' | 'or' | 'not' | 'eq' | 'ne' | 'js' | 'subst'

/** An expression: an input reference, a literal, or a function call. `line` is 1-based. */
export type Expr =
  | {readonly kind: 'field'; readonly name: string; readonly line: number}
  | {readonly kind: 'string'; readonly value: string; readonly line: number}
  | {readonly kind: 'bool'; readonly value: boolean; readonly line: number}
  | {readonly kind: 'call'; readonly fn: FunctionName; readonly args: readonly Expr[]; readonly line: number}

/** One `{{if}}` / `{{else if}}` arm. */
export interface IfBranch {
  readonly cond: Expr
  readonly body: readonly TemplateNode[]
  readonly line: number
}

/** A node of the template body. */
export type TemplateNode =
  | {readonly kind: 'text'; readonly text: string; readonly line: number}
  | {readonly kind: 'action'; readonly expr: Expr; readonly line: number}
  | {
      readonly kind: 'if'
      readonly branches: readonly IfBranch[]
      readonly elseBody: readonly TemplateNode[] | undefined
      readonly line: number
    }
