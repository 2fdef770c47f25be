/**
 * Go's `encoding/json` string encoding, reproduced byte for byte. The Go CLI JSON-encodes every
 * input value with `json.Marshal` before handing it to the template, so `.Message` is `"hi"` with
 * the quotes; rendering the same bytes as Go starts here.
 */

const LOWER_HEX = '0123456789abcdef'

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff
}

/** The escape Go's encoder writes for an ASCII character, or `undefined` when it is written as is. */
function asciiEscape(code: number): string | undefined {
  switch (code) {
    case 0x22:
      return '\\"'
    case 0x5c:
      return '\\\\'
    case 0x0a:
      return '\\n'
    case 0x0d:
      return '\\r'
    case 0x09:
      return '\\t'
    case 0x08:
      return '\\b'
    case 0x0c:
      return '\\f'
    case 0x3c: // <, >, & are HTML-escaped by json.Marshal
    case 0x3e:
    case 0x26:
      return `\\u00${LOWER_HEX[code >> 4] ?? ''}${LOWER_HEX[code & 0xf] ?? ''}`
    default:
      return code < 0x20 ? `\\u00${LOWER_HEX[code >> 4] ?? ''}${LOWER_HEX[code & 0xf] ?? ''}` : undefined
  }
}

/**
 * Encodes a string exactly as Go's `json.Marshal` does (Go ≥ 1.22): `"` and `\` escaped, `\n` `\r`
 * `\t` `\b` `\f` in short form, other control characters as `\u00xx` (lowercase hex), `<` `>` `&`
 * HTML-escaped as `\u003c` `\u003e` `\u0026`, U+2028/U+2029 as `\u2028`/`\u2029`, a lone surrogate
 * (invalid UTF-8 once encoded) as `\ufffd`, everything else verbatim.
 *
 * @param value - any string
 * @returns the JSON string literal, surrounding quotes included
 * @example
 * goJsonString('a<b "c"') // '"a\\u003cb \\"c\\""'
 */
export function goJsonString(value: string): string {
  let out = '"'
  let start = 0
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    let escape: string | undefined
    if (code < 0x80) {
      escape = asciiEscape(code)
    } else if (isHighSurrogate(code)) {
      if (isLowSurrogate(value.charCodeAt(i + 1))) {
        i++
        continue
      }
      escape = '\\ufffd'
    } else if (isLowSurrogate(code)) {
      escape = '\\ufffd'
    } else if (code === 0x2028 || code === 0x2029) {
      escape = code === 0x2028 ? '\\u2028' : '\\u2029'
    }
    if (escape === undefined) continue
    out += value.slice(start, i) + escape
    start = i + 1
  }
  return `${out}${value.slice(start)}"`
}

/** Replaces lone surrogates with U+FFFD, as Go does when it decodes them from JSON or UTF-8. */
export function toWellFormed(value: string): string {
  let out = ''
  let start = 0
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (isHighSurrogate(code) && isLowSurrogate(value.charCodeAt(i + 1))) {
      i++
    } else if (isHighSurrogate(code) || isLowSurrogate(code)) {
      out += `${value.slice(start, i)}\ufffd`
      start = i + 1
    }
  }
  return out + value.slice(start)
}

/**
 * Decodes `text` the way Go's `json.Unmarshal(text, &s)` fills a `string`: a JSON string literal
 * (surrounding JSON whitespace allowed) gives its value, `null` leaves the string empty, anything
 * else is an error (returned as `undefined`).
 */
export function goJsonDecodeString(text: string): string | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return undefined
  }
  if (parsed === null) return ''
  return typeof parsed === 'string' ? toWellFormed(parsed) : undefined
}

/**
 * The body of a JSON string literal for `value`, without the surrounding quotes: what a value placed
 * between quotes in the template must look like to stay valid JSON and decode to `value` verbatim.
 */
export function jsonStringBody(value: string): string {
  return JSON.stringify(value).slice(1, -1)
}
