import {describe, expect, it} from '@jest/globals'

import {
  goJsonDecodeString,
  goJsonString,
  toWellFormed,
} from '../../../../../src/core/module/template/go-json.js'
import {goJsonString as exported} from '../../../../../src/core/module/template/index.js'

describe('goJsonString (Go encoding/json Marshal of a string)', () => {
  it('is exported from the public entry point', () => {
    expect(exported).toBe(goJsonString)
  })

  it.each([
    ['', '""'],
    ['hi', '"hi"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['C:\\dir\\', '"C:\\\\dir\\\\"'],
    ['a/b', '"a/b"'],
    ["it's", '"it\'s"'],
    ['<b>&amp;</b>', '"\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e"'],
    ['\u2028|\u2029', '"\\u2028|\\u2029"'],
    ['🐸 é ß 中', '"🐸 é ß 中"'],
    ['\u007f\u0080\u00a0\ufeff', '"\u007f\u0080\u00a0\ufeff"'],
    ['{{.X}}', '"{{.X}}"'],
  ])('encodes %j as %s', (input, expected) => {
    expect(goJsonString(input)).toBe(expected)
  })

  it('escapes every control character like Go ≥ 1.22 (short forms for \\b \\t \\n \\f \\r, lowercase hex)', () => {
    const all = Array.from({length: 0x20}, (_, code) => String.fromCharCode(code)).join('')
    expect(goJsonString(all)).toBe(
      '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f' +
        '\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"',
    )
  })

  it('writes each lone surrogate (invalid UTF-8) as the escape \\ufffd and keeps valid pairs', () => {
    expect(goJsonString('a\ud800b')).toBe('"a\\ufffdb"')
    expect(goJsonString('\udc00')).toBe('"\\ufffd"')
    expect(goJsonString('\udc00\ud800')).toBe('"\\ufffd\\ufffd"')
    expect(goJsonString('x\ud83d')).toBe('"x\\ufffd"')
    expect(goJsonString('\ud83d\udc38')).toBe('"🐸"')
  })
})

describe('toWellFormed', () => {
  it('replaces lone surrogates with U+FFFD only', () => {
    expect(toWellFormed('a\ud800b\udc00🐸')).toBe('a\ufffdb\ufffd🐸')
    expect(toWellFormed('plain')).toBe('plain')
  })
})

describe('goJsonDecodeString (Go json.Unmarshal into a string)', () => {
  it('decodes JSON strings, allows surrounding JSON whitespace, and treats null as empty', () => {
    expect(goJsonDecodeString('"a\\"b\\u003c"')).toBe('a"b<')
    expect(goJsonDecodeString(' \t\n"x"\r\n')).toBe('x')
    expect(goJsonDecodeString('null')).toBe('')
    expect(goJsonDecodeString('"\\ud800"')).toBe('\ufffd')
  })

  it('rejects anything that is not a JSON string', () => {
    for (const text of ['x', '1', 'true', '{}', '[]', '"unterminated', "'single'", '']) {
      expect(goJsonDecodeString(text)).toBeUndefined()
    }
  })
})
