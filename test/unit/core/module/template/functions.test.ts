import {describe, expect, it} from '@jest/globals'

import {lilypadErrorOf} from '../../../../helpers/errors.js'
import {
  goJsEscape,
  goSprintf,
  UnsupportedFormatError,
} from '../../../../../src/core/module/template/functions.js'
import {compileModuleTemplate} from '../../../../../src/core/module/template/index.js'

describe('goSprintf (Go fmt.Sprintf with string arguments)', () => {
  it.each([
    ['K=%s', ['v'], 'K=v'],
    ['%v-%s', ['a', 'b'], 'a-b'],
    ['100%%', [], '100%'],
    ['%%s', ['x'], '%s%!(EXTRA string=x)'],
    ['%s and %s', ['a'], 'a and %!s(MISSING)'],
    ['plain', ['x', 'y'], 'plain%!(EXTRA string=x, string=y)'],
    ['%d', ['x'], '%!d(string=x)'],
    ['%é', ['x'], '%!é(string=x)'],
    ['%x %X', ['hi', 'é'], '6869 C3A9'],
    ['%T', ['x'], 'string'],
    ['abc%', [], 'abc%!(NOVERB)'],
    ['%s', ['a%sb'], 'a%sb'],
    ['', [], ''],
  ])('Sprintf(%j, %j) = %j', (format, args, expected) => {
    expect(goSprintf(format, args)).toBe(expected)
  })

  it.each(['%5s', '%-5s', '%.2s', '%+v', '%#v', '%[1]s', '%*s', '%q', '%0s', '% s'])(
    '%s is not implemented and says so',
    (format) => {
      expect(() => goSprintf(format, ['x'])).toThrow(UnsupportedFormatError)
    },
  )
})

describe('goJsEscape (Go template.JSEscapeString, JSON-valid)', () => {
  it.each([
    ['plain text 123', 'plain text 123'],
    ['"q" \\ /', '\\"q\\" \\\\ /'],
    ["it's", "it's"],
    ['<>&=', '\\u003C\\u003E\\u0026\\u003D'],
    ['\u0000\u0001\n\t\u001f', '\\u0000\\u0001\\u000A\\u0009\\u001F'],
    ['\u007f', '\u007f'],
    ['é ß 中 🐸', 'é ß 中 🐸'],
    ['\u00a0\u00ad\u200b\u2028\u2029\ufeff', '\\u00A0\\u00AD\\u200B\\u2028\\u2029\\uFEFF'],
    ['\u{e0001}', '\\uDB40\\uDC01'],
    ['\u{f0000}', '\\uDB80\\uDC00'],
    ['\ud800', '\ufffd'],
  ])('escapes %j as %j', (input, expected) => {
    expect(goJsEscape(input)).toBe(expected)
  })

  it('always decodes, inside a JSON string, back to its input', () => {
    for (const input of ['"\'<>&=\\', '\u0001\u2028\u{e0001}', 'x🐸y']) {
      expect(JSON.parse(`"${goJsEscape(input)}"`)).toBe(input)
    }
  })
})

describe('render (JSON)', () => {
  it('returns the text and its parsed value', () => {
    const rendered = compileModuleTemplate('{"a": [{{.X}}]}').render({X: 'v'})
    expect(rendered).toEqual({text: '{"a": ["v"]}', value: {a: ['v']}})
  })

  it('text that is not JSON → TEMPLATE_NOT_JSON with the line number and the line text', () => {
    const compiled = compileModuleTemplate('{\n  "a": [\n    {{ js .X }}\n  ]\n}', {templateName: 'mod.tmpl'})
    const error = lilypadErrorOf(() => compiled.render({X: 'v'}))
    expect(error.code).toBe('TEMPLATE_NOT_JSON')
    expect(error.message).toContain('line 3')
    expect(error.message).toContain('\\"v\\"')
    expect(error.details).toMatchObject({template: 'mod.tmpl', line: 3, column: 5, lineText: '    \\"v\\"'})
    expect(error.message).toContain('line 3, column 5 of the rendered output')
    expect(error.hints[0]).toContain('produces "\\"v\\""')
  })

  it('a trailing comma left by an if is located', () => {
    const compiled = compileModuleTemplate('{\n  "env": [\n    {{if .A}}"A",{{end}}\n  ]\n}')
    expect(compiled.render({}).value).toEqual({env: []})
    const error = lilypadErrorOf(() => compiled.render({A: 'x'}))
    expect(error.code).toBe('TEMPLATE_NOT_JSON')
    expect(error.message).toBe(
      'The rendered template lilypad_module.json.tmpl is not valid JSON: value expected at line 4, column 3 of the rendered output: ]',
    )
    expect(error.details).toMatchObject({line: 4, column: 3, problem: 'value expected'})
  })

  it('empty output is reported too', () => {
    const error = lilypadErrorOf(() => compileModuleTemplate('{{if .X}}{}{{end}}').render({}))
    expect(error.code).toBe('TEMPLATE_NOT_JSON')
    expect(error.details).toMatchObject({line: 1})
  })
})
