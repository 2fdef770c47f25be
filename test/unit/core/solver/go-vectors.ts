/**
 * The Go reference vectors (`test/fixtures/solver/gojson-vectors.json`, made by Go's own
 * encoding/json) and a JSON reader that keeps integers beyond 2^53 exact, as Go's uint64 fields do.
 */
import {readFileSync} from 'node:fs'

/** One vector: the bytes Go wrote and the CIDs Go computed. */
export interface GoVector {
  name: string
  kind: 'moduleConfig' | 'jobOffer' | 'resourceOffer' | 'deal' | 'result' | 'authUser'
  hex: string
  data_cid: string
  id: string
}

/** The vector file. */
export interface GoVectorFile {
  go_version: string
  vectors: GoVector[]
}

/** Reads the vector file. */
export function loadGoVectors(): GoVectorFile {
  const url = new URL('../../../fixtures/solver/gojson-vectors.json', import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8')) as GoVectorFile
}

/** The minor version of a `go1.M.P` string. */
export function goMinor(version: string): number {
  return Number(/^go1\.(\d+)/.exec(version)?.[1] ?? 0)
}

/**
 * Go changed `\b` and `\f` from `\u0008`/`\u000c` to the short forms in 1.22; Lilypad builds with
 * 1.23. Vectors from an older Go are brought forward (none contain a literal backslash-u text).
 */
export function asGo122(text: string, goVersion: string): string {
  return goMinor(goVersion) >= 22 ? text : text.replaceAll('\\u0008', '\\b').replaceAll('\\u000c', '\\f')
}

/** Parses JSON, giving integers outside the safe range as bigint. */
export function parseJsonExact(text: string): unknown {
  let at = 0
  const skip = (): void => {
    while (at < text.length && ' \t\r\n'.includes(text.charAt(at))) at++
  }
  const value = (): unknown => {
    skip()
    const char = text.charAt(at)
    if (char === '{') {
      at++
      const out: Record<string, unknown> = {}
      skip()
      if (text.charAt(at) === '}') {
        at++
        return out
      }
      for (;;) {
        skip()
        const key = value() as string
        skip()
        at++ // :
        out[key] = value()
        skip()
        if (text.charAt(at++) === '}') return out
      }
    }
    if (char === '[') {
      at++
      const out: unknown[] = []
      skip()
      if (text.charAt(at) === ']') {
        at++
        return out
      }
      for (;;) {
        out.push(value())
        skip()
        if (text.charAt(at++) === ']') return out
      }
    }
    if (char === '"') {
      const start = at++
      while (text.charAt(at) !== '"') at += text.charAt(at) === '\\' ? 2 : 1
      at++
      return JSON.parse(text.slice(start, at)) as string
    }
    const match = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(at))
    if (match === null) throw new SyntaxError(`bad JSON at ${at}`)
    at += match[0].length
    const token = match[0]
    if (/^-?\d+$/.test(token)) {
      const big = BigInt(token)
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(token)
        : big
    }
    return JSON.parse(token) as unknown
  }
  return value()
}
