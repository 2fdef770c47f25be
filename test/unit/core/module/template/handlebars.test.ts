/**
 * Handlebars is the engine underneath: template text that means something to Handlebars must come
 * out verbatim, and input values must never be read as template syntax.
 */
import {describe, expect, it} from '@jest/globals'
import Handlebars from 'handlebars'

import {lilypadErrorOf} from '../../../../helpers/errors.js'
import {compileModuleTemplate, goJsonString} from '../../../../../src/core/module/template/index.js'
import {translate} from '../../../../../src/core/module/template/translate.js'
import {parseTemplate} from '../../../../../src/core/module/template/parse.js'

const render = (source: string, inputs: Record<string, string> = {}): string =>
  compileModuleTemplate(source).renderText(inputs)

describe('Handlebars-significant template text', () => {
  it('a backslash right before an action does not escape it', () => {
    expect(render('"C:\\{{ subst "%s" .X }}"', {X: 'dir'})).toBe('"C:\\dir"')
    expect(render('["a\\\\", {{.X}}]', {X: 'v'})).toBe('["a\\\\", "v"]')
    expect(render('x\\\\{{.X}}', {X: 'v'})).toBe('x\\\\"v"')
    expect(render('x\\{{if .X}}\\{{end}}\\', {X: 'v'})).toBe('x\\\\\\')
  })

  it('braces next to actions stay braces', () => {
    expect(JSON.parse(render('{"a": {{.X}}}', {X: 'v'}))).toEqual({a: 'v'})
    expect(render('{"a": {"b": {{.X}}}}', {X: 'v'})).toBe('{"a": {"b": "v"}}')
    expect(render('{ {{- .X}}', {X: 'v'})).toBe('{"v"')
    expect(render('{{if .X}}}{{end}}{ {{- if .X}}{{end}}', {X: 'v'})).toBe('}{')
  })

  it('text that becomes "{{" after trimming and a dropped comment stays literal', () => {
    expect(render('{ {{- /* c */}}{ {{- .X}}', {X: 'v'})).toBe('{{"v"')
  })

  it('"}}" and Handlebars-looking words in text are plain text', () => {
    const text = 'a }} b }}} {{"{{#each x}}"}} {{"{{> partial}}"}} {{"{{!-- c --}}"}} {{"\\\\{{x}}"}} c }}'
    expect(render(text)).toBe('a }} b }}} {{#each x}} {{> partial}} {{!-- c --}} \\{{x}} c }}')
  })

  it('NUL characters in text are copied', () => {
    expect(render('a\u0000b{{.X}}\u0000', {X: 'v'})).toBe('a\u0000b"v"\u0000')
  })

  it('whitespace around block tags alone on a line is kept (ignoreStandalone)', () => {
    const source = '[\n{{if .X}}\n  {{.X}}\n{{else}}\n  "d"\n{{end}}\n]\n'
    expect(render(source, {X: 'v'})).toBe('[\n\n  "v"\n\n]\n')
    expect(render(source)).toBe('[\n\n  "d"\n\n]\n')
  })
})

describe('input values are data, never template syntax', () => {
  it.each([
    '{{.X}}',
    '{{#each this}}x{{/each}}',
    '{{{raw}}}',
    '{{> partial}}',
    '{{!-- comment --}}',
    '\\{{escaped}}',
    '}}{{',
    '{{lp_out 0}}',
    '"},{"injected": true, "x": "',
  ])('%s is printed JSON-encoded and decodes back verbatim', (value) => {
    const compiled = compileModuleTemplate(
      '{"bare": [{{.X}}], "subst": "{{ subst "%s" .X }}", "js": "{{ js .X }}"}',
    )
    const {value: parsed} = compiled.render({X: value})
    expect(parsed).toEqual({bare: [value], subst: value, js: goJsonString(value)})
  })
})

describe('the translation', () => {
  it('turns actions into lp_out helpers and if chains into Handlebars if/else if', () => {
    const {nodes} = parseTemplate('a{{.X}}b{{if .A}}1{{else if .B}}2{{else}}3{{end}}', {templateName: 't'})
    const {source, exprs} = translate(nodes)
    expect(source).toBe('a{{lp_out 0}}b{{#if (lp_test 1)}}1{{else if (lp_test 2)}}2{{else}}3{{/if}}')
    expect(exprs).toHaveLength(3)
  })

  it('routes text Handlebars would alter through lp_text', () => {
    const {nodes} = parseTemplate('ok{{.X}}ends with \\{{.X}}} starts with a brace', {templateName: 't'})
    const {source, texts} = translate(nodes)
    expect(source).toBe('ok{{lp_out 0}}{{lp_text 0}}{{lp_out 1}}{{lp_text 1}}')
    expect(texts).toEqual(['ends with \\', '} starts with a brace'])
  })

  it('uses a private Handlebars instance: the global one gets no helpers', () => {
    render('{{.X}}', {X: 'v'})
    expect(Object.keys(Handlebars.helpers).filter((name) => name.startsWith('lp_'))).toEqual([])
  })

  it('helpers errors come through unchanged', () => {
    const error = lilypadErrorOf(() => render('{{if .A}}{{else if js .B}}{{end}}'))
    expect(error.code).toBe('TEMPLATE_INPUT_MISSING')
  })
})
