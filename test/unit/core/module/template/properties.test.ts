/** Property tests: whatever the input value, rendering yields valid JSON holding that value. */
import {describe, expect, it} from '@jest/globals'
import fc from 'fast-check'

import {toWellFormed} from '../../../../../src/core/module/template/go-json.js'
import {compileModuleTemplate, goJsonString} from '../../../../../src/core/module/template/index.js'

const RUNS = {numRuns: 300}

/** Characters that stress JSON, Go templates and Handlebars. */
const tricky = fc.constantFrom(
  '"',
  '\\',
  '{',
  '}',
  '{{',
  '}}',
  '"}',
  '\n',
  '\r',
  '\t',
  '\u0000',
  '\u001f',
  '\u007f',
  '<',
  '>',
  '&',
  '=',
  "'",
  '%',
  '%s',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\u00a0',
  '\u{e0001}',
  '🐸',
  'é',
  '\ud800',
  '\udc00',
  'a',
  ' ',
  '#each',
)
/** Arbitrary values: any code point (lone surrogates included), or dense runs of tricky characters. */
const anyValue = fc.oneof(
  fc.string({unit: 'binary'}),
  fc.string({unit: 'grapheme'}),
  fc.string({unit: tricky}),
)

/** The Go CLI's view of a value: lone surrogates cannot survive UTF-8, they become U+FFFD. */
const goView = toWellFormed

describe('rendering arbitrary input values', () => {
  it('(a) a bare {{.X}} in an array always yields JSON holding the value verbatim', () => {
    const template = compileModuleTemplate('{"args": ["cmd", {{.X}}, "end"], "n": 1}')
    const shape = template.render({X: 'placeholder'}).value as {args: unknown[]}
    fc.assert(
      fc.property(anyValue, (value) => {
        const rendered = template.render({X: value}).value
        expect(rendered).toEqual({...shape, args: ['cmd', goView(value), 'end']})
      }),
      RUNS,
    )
  })

  it('(b) "{{ subst "K=%s" .X }}" always yields JSON holding K= plus the value verbatim', () => {
    const template = compileModuleTemplate('{"env": [\n  "{{ subst "K=%s" .X }}",\n  "B=1"\n]}')
    fc.assert(
      fc.property(anyValue, (value) => {
        expect(template.render({X: value}).value).toEqual({env: [`K=${goView(value)}`, 'B=1']})
      }),
      RUNS,
    )
  })

  it('(c) "V={{ js .X }}" always yields JSON holding V= plus the Go JSON encoding of the value', () => {
    const template = compileModuleTemplate('{"env": ["V={{ js .X }}"], "x": {"y": true}}')
    fc.assert(
      fc.property(anyValue, (value) => {
        expect(template.render({X: value}).value).toEqual({env: [`V=${goJsonString(value)}`], x: {y: true}})
      }),
      RUNS,
    )
  })

  it('subst output is byte-identical to Go whenever Go’s output is valid JSON', () => {
    const template = compileModuleTemplate('"{{ subst "K=%s" .X }}"')
    const plain = fc.string({
      unit: fc.constantFrom('a', 'Z', '0', ' ', '<', '>', '&', '=', "'", '/', 'é', '🐸', '%', '{', '}'),
    })
    fc.assert(
      fc.property(plain, (value) => {
        expect(template.renderText({X: value})).toBe(`"K=${value}"`)
      }),
      RUNS,
    )
  })
})

describe('goJsonString', () => {
  it('is always a JSON string decoding to the value (lone surrogates as U+FFFD) with no raw controls, <>&, U+2028/9', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const encoded = goJsonString(value)
        expect(JSON.parse(encoded)).toBe(goView(value))
        const forbidden = Array.from(encoded).filter((char) => {
          const code = char.codePointAt(0) ?? 0
          return code < 0x20 || '<>&\u2028\u2029'.includes(char) || (code >= 0xd800 && code <= 0xdfff)
        })
        expect(forbidden).toEqual([])
      }),
      RUNS,
    )
  })
})

describe('template text through Handlebars', () => {
  const text = fc.string({
    unit: fc.constantFrom('{', '}', '\\', '\u0000', '"', ' ', '\n', 'a', '#', '>', '!', '~'),
  })

  it('any text between actions comes out verbatim', () => {
    fc.assert(
      fc.property(fc.array(text, {minLength: 1, maxLength: 5}), fc.string(), (texts, value) => {
        // Go ends a text at the first "{{", so a text between actions holds no "{{" and does not end with "{".
        fc.pre(texts.every((t, i) => !t.includes('{{') && (i === texts.length - 1 || !t.endsWith('{'))))
        const source = texts.join('{{.X}}')
        const expected = texts.join(goJsonString(value))
        expect(compileModuleTemplate(source).renderText({X: value})).toBe(expected)
      }),
      RUNS,
    )
  })
})
