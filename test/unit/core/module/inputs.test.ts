import {describe, expect, it} from '@jest/globals'
import fc from 'fast-check'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {parseInputs} from '../../../../src/core/module/inputs.js'

function errorOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

describe('parseInputs', () => {
  it('splits at the first = and keeps the rest verbatim', () => {
    expect({...parseInputs(['Message=hello, world', 'Expr=a=b=c', 'Quote="hi"', 'Empty='])}).toEqual({
      Message: 'hello, world',
      Expr: 'a=b=c',
      Quote: '"hi"',
      Empty: '',
    })
  })

  it('returns a null-prototype record so any key is safe', () => {
    const inputs = parseInputs(['constructor=x', '__proto__=y'])
    expect(Object.getPrototypeOf(inputs)).toBeNull()
    expect(inputs.constructor).toBe('x')
    expect(Object.keys(inputs)).toEqual(['constructor', '__proto__'])
  })

  it('rejects an argument without =', () => {
    const error = errorOf(() => parseInputs(['Message']))
    expect(isLilypadError(error, 'INPUT_MALFORMED')).toBe(true)
    expect((error as {category: string}).category).toBe('usage')
  })

  it('rejects keys that are not identifiers', () => {
    for (const arg of ['=x', '1a=x', 'a-b=x', 'a b=x', ' a=x']) {
      expect(
        isLilypadError(
          errorOf(() => parseInputs([arg])),
          'INPUT_MALFORMED',
        ),
      ).toBe(true)
    }
  })

  it('rejects a repeated key', () => {
    const error = errorOf(() => parseInputs(['A=1', 'B=2', 'A=3']))
    expect(isLilypadError(error, 'INPUT_DUPLICATE')).toBe(true)
    expect((error as {details: {key: string}}).details.key).toBe('A')
  })

  it('keeps any value verbatim (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/),
        fc.string({unit: 'binary'}),
        (key, value) => {
          expect(parseInputs([`${key}=${value}`])[key]).toBe(value)
        },
      ),
      {numRuns: 300},
    )
  })
})
