/** The Go text/template dialect: syntax, trim markers, comments, control flow and functions. */
import {describe, expect, it} from '@jest/globals'

import {type LilypadError} from '../../../../../src/core/errors/index.js'
import {lilypadErrorOf} from '../../../../helpers/errors.js'
import {compileModuleTemplate} from '../../../../../src/core/module/template/index.js'

const render = (source: string, inputs: Record<string, string> = {}): string =>
  compileModuleTemplate(source).renderText(inputs)

const compileError = (source: string): LilypadError => lilypadErrorOf(() => compileModuleTemplate(source))
const renderError = (source: string, inputs: Record<string, string> = {}): LilypadError =>
  lilypadErrorOf(() => render(source, inputs))

describe('actions and values', () => {
  it('prints an input JSON-encoded, with or without spaces inside the braces', () => {
    expect(render('[{{.X}}, {{ .X }}, {{\t.X\n}}]', {X: 'a"b'})).toBe('["a\\"b", "a\\"b", "a\\"b"]')
  })

  it('prints an empty input as "" (the two quote characters)', () => {
    expect(render('{{.X}}', {X: ''})).toBe('""')
  })

  it('copies text without actions verbatim', () => {
    const text = '{\n  "a": "b\\\\c",\r\n\t"}}": [1, 2] }\n'
    expect(render(text)).toBe(text)
  })

  it('prints string literals raw, with Go escapes decoded', () => {
    expect(render('{{ "a\\tb\\u00e9\\x41\\101\\U0001F438\\"\\\\" }}')).toBe('a\tbéAA🐸"\\')
    expect(render('{{ `raw \\n "x"` }}')).toBe('raw \\n "x"')
    expect(render('{{ `a\r\nb` }}')).toBe('a\nb')
  })

  it('prints bools as true/false', () => {
    expect(render('{{ true }} {{ false }} {{ not .X }} {{ not true }}')).toBe('true false true false')
  })

  it('ignores given inputs the template does not use, and inputs that are not strings', () => {
    expect(render('{{if .X}}y{{else}}n{{end}}', {Y: 'unused'})).toBe('n')
    expect(render('{{if .X}}y{{else}}n{{end}}', {X: undefined} as unknown as Record<string, string>)).toBe(
      'n',
    )
  })

  it('does not see inherited properties: constructor, toString, __proto__ are ordinary input names', () => {
    const source =
      '{{if .constructor}}{{.constructor}}{{else}}none{{end}} {{if .__proto__}}{{.__proto__}}{{else}}none{{end}}'
    expect(render(source)).toBe('none none')
    expect(
      render(source, JSON.parse('{"__proto__": "p", "constructor": "c"}') as Record<string, string>),
    ).toBe('"c" "p"')
    expect(renderError('{{.toString}}').details).toMatchObject({input: 'toString'})
  })

  it('refuses to print a missing input (Go prints <no value>), naming it and its line', () => {
    const error = renderError('{\n  "a": 1,\n  "b": {{ .Missing }}\n}')
    expect(error.code).toBe('TEMPLATE_INPUT_MISSING')
    expect(error.message).toBe('Input "Missing" is required by the template (line 3) but was not given.')
    expect(error.hints[0]).toBe('Pass it: -i Missing=<value>')
    expect(error.details).toMatchObject({input: 'Missing', line: 3, template: 'lilypad_module.json.tmpl'})
  })

  it('uses the given template name in messages and details', () => {
    const error = lilypadErrorOf(() => compileModuleTemplate('{{ range }}', {templateName: 'my.tmpl'}))
    expect(error.message).toContain('my.tmpl')
    expect(error.details).toMatchObject({template: 'my.tmpl'})
  })
})

describe('trim markers', () => {
  it('"{{- " and " -}}" remove all adjacent whitespace, newlines included', () => {
    expect(render('[\n  {{- .X -}}\n  ]', {X: 'v'})).toBe('["v"]')
    expect(render('a \t\r\n {{- .X}} b', {X: 'v'})).toBe('a"v" b')
    expect(render('a {{.X -}} \r\n\t b', {X: 'v'})).toBe('a "v"b')
  })

  it('work on control actions too', () => {
    const source = '[\n  {{- if .X }}\n  {{ .X }}\n  {{- else }}\n  "d"\n  {{- end }}\n]'
    expect(render(source, {X: 'v'})).toBe('[\n  "v"\n]')
    expect(render(source)).toBe('[\n  "d"\n]')
  })

  it('a marker followed by a newline still counts ("{{-\\n" trims)', () => {
    expect(render('a  {{-\n.X\n-}}  b', {X: 'v'})).toBe('a"v"b')
  })

  it('without a space the dash is not a trim marker, and Go rejects it', () => {
    const left = compileError('a {{-.X}}')
    expect(left.code).toBe('TEMPLATE_SYNTAX')
    expect(left.hints.join(' ')).toContain('{{- ')
    const right = compileError('\n{{.X-}}')
    expect(right.code).toBe('TEMPLATE_SYNTAX')
    expect(right.details).toMatchObject({line: 2})
    expect(right.hints.join(' ')).toContain(' -}}')
  })
})

describe('comments', () => {
  it('are dropped, may span lines and contain braces', () => {
    expect(render('a{{/* c {{ }} "x" */}}b')).toBe('ab')
    expect(render('a{{/*\nmulti\nline\n*/}}b')).toBe('ab')
  })

  it('take trim markers', () => {
    expect(render('a \n {{- /* c */ -}} \n b')).toBe('ab')
    expect(render('[ {{- /* c */}} ]')).toBe('[ ]')
    expect(render('[ {{- /* c */ -}} ]')).toBe('[]')
  })

  it('keep line numbers right after them', () => {
    expect(renderError('{{/*\n\n*/}}{{.X}}').details).toMatchObject({line: 3})
  })

  it('must be closed and end right at the delimiter', () => {
    const unclosed = compileError('\n{{/* never closed }}')
    expect(unclosed.code).toBe('TEMPLATE_SYNTAX')
    expect(unclosed.message).toContain('unclosed comment')
    expect(unclosed.details).toMatchObject({line: 2})
    const spaced = compileError('{{/* c */ }}')
    expect(spaced.code).toBe('TEMPLATE_SYNTAX')
    expect(spaced.message).toContain('comment ends before closing delimiter')
  })
})

describe('if / else if / else', () => {
  const chain = '{{if .A}}a{{else if .B}}b{{else if .C}}c{{else}}none{{end}}'

  it('takes the first true branch', () => {
    expect(render(chain, {A: '1', B: '1'})).toBe('a')
    expect(render(chain, {B: '1', C: '1'})).toBe('b')
    expect(render(chain, {C: '1'})).toBe('c')
    expect(render(chain)).toBe('none')
  })

  it('works without else and nested', () => {
    expect(render('[{{if .A}}{{if .B}}"ab"{{else}}"a"{{end}}{{end}}]', {A: '1'})).toBe('["a"]')
    expect(render('[{{if .A}}{{if .B}}"ab"{{else}}"a"{{end}}{{end}}]', {A: '1', B: '1'})).toBe('["ab"]')
    expect(render('[{{if .A}}"a"{{end}}]')).toBe('[]')
    expect(render('[{{if .A}}"a"{{else if .B}}"b"{{end}}]', {B: 'x'})).toBe('["b"]')
  })

  it('uses Go truthiness: a given input is true even when empty, a missing one false', () => {
    const source = '{{if .X}}yes{{else}}no{{end}}'
    expect(render(source, {X: ''})).toBe('yes')
    expect(render(source, {X: 'false'})).toBe('yes')
    expect(render(source)).toBe('no')
  })

  it('uses Go truthiness for literals and bools', () => {
    expect(
      render(
        '{{if ""}}y{{else}}n{{end}} {{if "x"}}y{{else}}n{{end}} {{if true}}y{{end}}{{if false}}y{{end}}',
      ),
    ).toBe('n y y')
    expect(render('{{if not .X}}missing{{else}}{{.X}}{{end}}')).toBe('missing')
    expect(render('{{if not .X}}missing{{else}}{{.X}}{{end}}', {X: 'v'})).toBe('"v"')
  })

  it('keeps whitespace around block tags alone on their line (unlike Handlebars standalone tags)', () => {
    const source = '[\n  {{if .X}}\n  "a",\n  {{else}}\n  "b",\n  {{end}}\n  "c"\n]'
    expect(render(source, {X: 'v'})).toBe('[\n  \n  "a",\n  \n  "c"\n]')
    expect(render(source)).toBe('[\n  \n  "b",\n  \n  "c"\n]')
  })
})

describe('or / and / not', () => {
  it('or returns the first truthy argument, else the last; missing arguments are just falsy', () => {
    expect(render('{{ or .A .B "\\"d\\"" }}', {B: 'b'})).toBe('"b"')
    expect(render('{{ or .A .B "\\"d\\"" }}', {A: 'a', B: 'b'})).toBe('"a"')
    expect(render('{{ or .A .B "\\"d\\"" }}')).toBe('"d"')
    expect(render('{{ or .A "" }}')).toBe('')
  })

  it('and returns the first falsy argument, else the last', () => {
    expect(render('{{ and .A .B }}', {A: 'a', B: 'b'})).toBe('"b"')
    expect(render('{{ and "x" "" "y" }}')).toBe('')
    expect(render('{{if and .A .B}}both{{else}}not both{{end}}', {A: 'a'})).toBe('not both')
    expect(render('{{if and .A .B}}both{{else}}not both{{end}}', {A: 'a', B: ''})).toBe('both')
  })

  it('printing the missing value and/or return is refused, naming that input', () => {
    expect(renderError('{{ and .A .B }}', {B: 'b'}).details).toMatchObject({input: 'A'})
    expect(renderError('{{ or .A .B }}').details).toMatchObject({input: 'B'})
  })

  it('short-circuit: later arguments are not evaluated once the result is known', () => {
    expect(render('{{ or .A (subst "%s" .Missing) }}', {A: 'a'})).toBe('"a"')
    expect(render('{{if and .A (eq .Missing "x")}}y{{else}}n{{end}}')).toBe('n')
    expect(renderError('{{ or .A (subst "%s" .Missing) }}').details).toMatchObject({input: 'Missing'})
  })

  it('not returns a bool', () => {
    expect(render('{{ not .A }}|{{ not .B }}|{{ not "" }}|{{ not (not .B) }}', {B: ''})).toBe(
      'true|false|true|true',
    )
  })
})

describe('eq / ne', () => {
  it('compare strings (inputs are JSON-encoded) and bools', () => {
    expect(render('{{if eq .Mode "\\"fast\\""}}fast{{else}}slow{{end}}', {Mode: 'fast'})).toBe('fast')
    expect(render('{{if eq .Mode "fast"}}fast{{else}}slow{{end}}', {Mode: 'fast'})).toBe('slow')
    expect(render('{{ eq .A .B }} {{ ne .A .B }}', {A: 'x', B: 'x'})).toBe('true false')
    expect(render('{{ eq "a" "b" "c" "a" }} {{ eq "a" "b" "c" }}')).toBe('true false')
    expect(render('{{ eq true (not .X) }} {{ ne false true }}')).toBe('true true')
  })

  it('treat a missing input as unequal to a present value, like Go ≥ 1.18', () => {
    expect(render('{{if eq .Mode "\\"fast\\""}}fast{{else}}slow{{end}}')).toBe('slow')
    expect(render('{{ eq .Mode "x" }} {{ ne .Mode "x" }} {{ eq "x" .Mode }}')).toBe('false true false')
    expect(render('{{ eq "\\"a\\"" .Mode .Other }}', {Other: 'a'})).toBe('true')
  })

  it('refuse comparing only missing inputs', () => {
    const error = renderError('\n{{if eq .Mode .Other}}{{end}}')
    expect(error.code).toBe('TEMPLATE_INPUT_MISSING')
    expect(error.details).toMatchObject({input: 'Mode', line: 2, use: 'eq'})
  })

  it('refuse comparing a string with a bool, like Go', () => {
    const error = renderError('{{ eq "a" true }}')
    expect(error.code).toBe('TEMPLATE_RENDER_FAILED')
    expect(error.message).toContain('incompatible types for comparison')
  })
})

describe('pipelines and parentheses', () => {
  it('pass the previous value as the last argument', () => {
    expect(render('{{ .X | js }}', {X: 'a'})).toBe(render('{{ js .X }}', {X: 'a'}))
    expect(render('"{{ .X | subst "K=%s" }}"', {X: 'v'})).toBe('"K=v"')
    expect(render('{{ .X | not | not }}', {X: 'v'})).toBe('true')
    expect(render('{{ "\\"a\\"" | or .Missing }}')).toBe('"a"')
  })

  it('evaluate parenthesised sub-pipelines', () => {
    expect(render('"{{ js (subst "%s" .X) }}"', {X: 'a"b'})).toBe('"a\\"b"')
    expect(render('{{ (.X) }} {{ (not (or .A .B)) }}', {X: 'v'})).toBe('"v" true')
    expect(render('{{ or (and .A .B) "none" }}')).toBe('none')
  })

  it('call a function name used as an argument with no arguments (Go semantics)', () => {
    expect(render('[{{ or js "x" }}]')).toBe('[x]')
  })
})

describe('subst (Lilypad)', () => {
  it('JSON-decodes its arguments and applies a Go format', () => {
    expect(render('"{{ subst "PROMPT=%s" .Prompt }}"', {Prompt: 'a frog'})).toBe('"PROMPT=a frog"')
    expect(render('"{{ subst "%s=%v" .K .V }}"', {K: 'k', V: 'v'})).toBe('"k=v"')
    expect(render('"{{ subst "100%% %s" "\\"lit\\"" }}"')).toBe('"100% lit"')
    expect(render('"{{ subst "[%s]" "null" }}"')).toBe('"[]"')
  })

  it('reports arity mismatches the way Go fmt does', () => {
    expect(render('"{{ subst "%s and %s" .A }}"', {A: 'a'})).toBe('"a and %!s(MISSING)"')
    expect(render('"{{ subst "x" .A .B }}"', {A: 'a', B: 'b'})).toBe('"x%!(EXTRA string=a, string=b)"')
    expect(render('"{{ subst "%d" .A }}"', {A: 'a'})).toBe('"%!d(string=a)"')
  })

  it('keeps HTML characters raw as Go does, and JSON-escapes only what would break the JSON', () => {
    expect(render('"{{ subst "P=%s" .P }}"', {P: '<b> & é'})).toBe('"P=<b> & é"')
    const tricky = 'say "hi" \\ \n\t\u0001'
    expect(JSON.parse(render('"{{ subst "P=%s" .P }}"', {P: tricky}))).toBe(`P=${tricky}`)
  })

  it('refuses an argument that is not a JSON string ("subst: invalid input", a panic in Go)', () => {
    const error = renderError('\n\n"{{ subst "%s" "not json" }}"')
    expect(error.code).toBe('TEMPLATE_RENDER_FAILED')
    expect(error.message).toContain('subst: invalid input')
    expect(error.details).toMatchObject({line: 3})
    expect(renderError('"{{ subst "%s" (subst "%s" .X) }}"', {X: 'v'}).code).toBe('TEMPLATE_RENDER_FAILED')
  })

  it('refuses a bool argument and a missing input', () => {
    expect(renderError('{{ subst "%s" (not .X) }}').code).toBe('TEMPLATE_RENDER_FAILED')
    const missing = renderError('"{{ subst "%s" .Prompt }}"')
    expect(missing.code).toBe('TEMPLATE_INPUT_MISSING')
    expect(missing.details).toMatchObject({input: 'Prompt', use: 'subst'})
  })

  it('rejects format flags and widths it does not implement', () => {
    const error = compileError('{{ subst "%5s" .X }}')
    expect(error.code).toBe('TEMPLATE_UNSUPPORTED')
    expect(error.message).toContain('%5')
    expect(renderError('{{ subst .F .X }}', {F: '%-3s', X: 'v'}).code).toBe('TEMPLATE_UNSUPPORTED')
  })
})

describe('js', () => {
  it('JS-escapes the JSON-encoded value, so the env value keeps the quotes (create-lilypad-module)', () => {
    const text = render('["INPUT={{ js .input }}"]', {input: 'hello'})
    expect(text).toBe('["INPUT=\\"hello\\""]')
    expect(JSON.parse(text)).toEqual(['INPUT="hello"'])
  })

  it('escapes like Go JSEscape, writing an apostrophe JSON-validly', () => {
    const text = render('"{{ js .X }}"', {X: "it's <b>&="})
    expect(text).toBe('"\\"it\'s \\\\u003cb\\\\u003e\\\\u0026\\u003D\\""')
    expect(JSON.parse(text)).toBe('"it\'s \\u003cb\\u003e\\u0026="')
  })

  it('formats several arguments and bools like fmt.Sprint', () => {
    expect(render('{{ js "a" "b" }}|{{ js true false }}|{{ js (not .X) }}')).toBe('ab|true false|true')
  })

  it('refuses a missing input', () => {
    expect(renderError('"{{ js .input }}"').details).toMatchObject({input: 'input', use: 'js'})
  })
})

describe('unsupported Go constructs', () => {
  it.each([
    ['{{range .X}}{{end}}', '{{range}}'],
    ['{{with .X}}{{end}}', '{{with}}'],
    ['{{define "x"}}{{end}}', '{{define}}'],
    ['{{template "x"}}', '{{template}}'],
    ['{{block "x" .}}{{end}}', '{{block}}'],
    ['{{if .A}}{{else with .B}}{{end}}', '{{else with}}'],
    ['{{$x := .X}}', 'variables'],
    ['{{ printf "%s" .X }}', 'printf'],
    ['{{ index .X 0 }}', 'index'],
    ['{{ len .X }}', 'len'],
    ['{{ lt .X .Y }}', 'lt'],
    ['{{ . }}', '"."'],
    ['{{ .A.B }}', 'field chains'],
    ['{{ (js .A).B }}', 'field chains'],
    ['{{ 1 }}', 'number literals'],
    ['{{ -1.5e+3 }}', 'number literals'],
    ['{{ js .X 0x1F }}', 'number literals'],
    ["{{ 'a' }}", 'character constants'],
    ["{{ js '\\'' }}", 'character constants'],
    ['{{ js $ }}', 'variables'],
    ['{{ or nil .X }}', 'nil'],
    ['{{ subst "%q" .X }}', '%q'],
  ])('%s → TEMPLATE_UNSUPPORTED naming %s and the line', (construct, named) => {
    const error = compileError(`{\n  "a":\n  ${construct}\n}`)
    expect(error.code).toBe('TEMPLATE_UNSUPPORTED')
    expect(error.message).toContain(named)
    expect(error.message).toContain('line 3')
    expect(error.details).toMatchObject({line: 3})
  })
})

describe('syntax errors', () => {
  it.each([
    ['unclosed action', '{\n  "a": {{ .X \n}', 2, 'unclosed action'],
    ['unclosed action at the end', '{\n{{', 2, 'unclosed action'],
    ['{{end}} without {{if}}', 'a\n\n{{end}}', 3, 'unexpected {{end}}'],
    ['{{else}} without {{if}}', '{{else}}', 1, 'unexpected {{else}}'],
    ['missing {{end}}', '[\n{{if .X}}\n"a"\n]', 2, 'has no matching {{end}}'],
    ['missing {{end}} after else', '{{if .X}}a{{else}}\nb', 1, 'has no matching {{end}}'],
    ['two {{else}}', '{{if .X}}a{{else}}b\n{{else}}c{{end}}', 2, 'expected {{end}}'],
    ['else if after else', '{{if .X}}a{{else}}b{{else if .Y}}c{{end}}', 1, 'expected {{end}}'],
    ['words after end', '{{if .X}}{{end .X}}', 1, 'in {{end}}'],
    ['bad escape in a string', '\n{{ subst "\\q" .X }}', 2, 'bad string literal'],
    ['\\x needs two hex digits', '{{ "\\x4" }}', 1, 'bad string literal'],
    ['a surrogate \\u escape', '{{ "\\ud800" }}', 1, 'bad string literal'],
    ["\\' in a double-quoted string", '{{ "\\\'" }}', 1, 'bad string literal'],
    ['unterminated string', '{{ "abc }}', 1, 'unterminated quoted string'],
    ['newline in a string', '{{ "a\nb" }}', 1, 'unterminated quoted string'],
    ['unterminated raw string', '{{ `abc }}', 1, 'unterminated raw quoted string'],
    ['unknown function', '\n\n{{ foo .X }}', 3, 'function "foo" not defined'],
    ['empty action', '{{ }}', 1, 'missing value for command'],
    ['empty if', '{{if}}{{end}}', 1, 'missing value for if'],
    ['arguments to an input', '{{ .X .Y }}', 1, '.X is an input, not a function'],
    ['piping into an input', '{{ .X | .Y }}', 1, '.Y is an input, not a function'],
    ['piping into a literal', '{{ .X | "a" }}', 1, 'non executable command in pipeline stage 2'],
    ['wrong arity for not', '{{ not .X .Y }}', 1, 'wrong number of args for not: want 1 got 2'],
    ['eq with one argument', '{{ eq .X }}', 1, 'wrong number of args for eq'],
    ['subst without format', '{{ subst }}', 1, 'wrong number of args for subst'],
    ['unexpected right paren', '{{ js .X) }}', 1, 'unexpected right paren'],
    ['unclosed left paren', '{{ js (.X }}', 1, 'unclosed left paren'],
    ['stray comma', '{{ .X, .Y }}', 1, 'unexpected ","'],
    ['stray pipe', '{{ | js }}', 1, 'unexpected "|"'],
    ['keyword as an argument', '{{ not if }}', 1, 'unexpected "if"'],
    ['non-ASCII in an action', '{{ .X → }}', 1, 'unrecognized character in action: U+2192'],
    ['letters glued to a string', '{{ "a""b" }}', 1, 'unexpected string "b" in operand'],
    ['a bad character after a name', '{{ .X! }}', 1, 'bad character'],
  ])('%s → TEMPLATE_SYNTAX on the right line', (_label, source, line, problem) => {
    const error = compileError(source)
    expect(error.code).toBe('TEMPLATE_SYNTAX')
    expect(error.message).toContain(problem)
    expect(error.message).toContain(`line ${line}`)
    expect(error.details).toMatchObject({line})
    expect(error.hints.length).toBeGreaterThan(0)
  })
})

describe('the inputs analysis', () => {
  const inputs = (source: string) =>
    compileModuleTemplate(source).inputs.map(
      ({name, required}) => `${name}:${required ? 'required' : 'optional'}`,
    )

  it('lists inputs in order of first use with the line of that use', () => {
    expect(compileModuleTemplate('{{if .B}}\n{{.A}}{{end}}\n{{.B}}').inputs).toEqual([
      {name: 'B', required: true, line: 1},
      {name: 'A', required: false, line: 2},
    ])
  })

  it('a bare, subst or js use makes an input required unless guarded; eq only with no present operand', () => {
    expect(
      inputs('{{.A}} {{subst "%s" .B}} {{js .C}} {{if eq .D .D}}{{end}} {{if ne .E "x"}}{{end}}'),
    ).toEqual(['A:required', 'B:required', 'C:required', 'D:required', 'E:optional'])
  })

  it('guards: if .X, if and .X …, the else branch of if not .X, or', () => {
    expect(inputs('{{if .X}}{{.X}}{{end}}')).toEqual(['X:optional'])
    expect(inputs('{{if and .X .Y}}{{.X}}{{.Y}}{{end}}')).toEqual(['X:optional', 'Y:optional'])
    expect(inputs('{{if not .X}}"d"{{else}}{{.X}}{{end}}')).toEqual(['X:optional'])
    expect(inputs('{{ or .X "\\"d\\"" }}')).toEqual(['X:optional'])
    expect(inputs('{{ or .X .Y }}')).toEqual(['X:optional', 'Y:optional'])
    expect(inputs('{{if .X}}a{{else if .Y}}{{.Y}}{{end}}')).toEqual(['X:optional', 'Y:optional'])
    expect(inputs('{{if and .X (eq .X "\\"a\\"")}}{{end}}')).toEqual(['X:optional'])
  })

  it('a use under another input’s condition is not required; a use on every path is', () => {
    expect(inputs('{{if .Y}}{{.X}}{{end}}')).toEqual(['Y:optional', 'X:optional'])
    expect(inputs('{{if .Y}}{{.X}}{{else}}{{js .X}}{{end}}')).toEqual(['Y:optional', 'X:required'])
    expect(inputs('{{if .X}}a{{else}}{{.X}}{{end}}')).toEqual(['X:required'])
    expect(inputs('{{if not .X}}{{.X}}{{end}}')).toEqual(['X:required'])
    expect(inputs('{{if true}}{{.X}}{{end}}')).toEqual(['X:required'])
    expect(inputs('{{if false}}{{.X}}{{end}}')).toEqual(['X:optional'])
    expect(inputs('{{ and .X .Y }}')).toEqual(['X:required', 'Y:optional'])
    expect(inputs('{{ or (subst "%s" .X) "d" }}')).toEqual(['X:required'])
  })

  it('agrees with rendering: every required input, when missing, makes rendering fail', () => {
    const sources = [
      '{{if .Y}}{{.X}}{{else}}{{js .X}}{{end}}',
      '{{ and .X .Y }}',
      '{{if and .A (eq .B "\\"b\\"")}}{{end}}{{ or .C .D }}',
      '{{if eq .A .B}}x{{end}}',
      '{{if .X}}a{{else}}{{.X}}{{end}}',
    ]
    for (const source of sources) {
      const compiled = compileModuleTemplate(source)
      const names = compiled.inputs.map((input) => input.name)
      for (const input of compiled.inputs.filter(({required}) => required)) {
        // Every subset of the other inputs, the required one left out: rendering must fail.
        for (let mask = 0; mask < 1 << names.length; mask++) {
          const given = Object.fromEntries(
            names
              .filter((name, i) => name !== input.name && (mask & (1 << i)) !== 0)
              .map((name) => [name, 'v']),
          )
          expect(() => compiled.renderText(given)).toThrow()
        }
      }
    }
  })
})
