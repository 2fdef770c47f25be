import {describe, expect, it} from '@jest/globals'

import {RESULT_FILES, exitCodeFileContent, parseExitCodeFile} from '../../../../src/core/results/layout.js'

describe('result directory layout', () => {
  it('names the entries Lilypad providers write', () => {
    expect(RESULT_FILES).toEqual({
      stdout: 'stdout',
      stderr: 'stderr',
      exitCode: 'exitCode',
      outputs: 'outputs',
    })
  })

  it('writes the exit code as a bare decimal, as Lilypad’s executors do', () => {
    expect(exitCodeFileContent(0)).toBe('0')
    expect(exitCodeFileContent(137)).toBe('137')
    expect(() => exitCodeFileContent(1.5)).toThrow(RangeError)
  })

  it('reads exit codes back, with or without a trailing newline, and rejects anything else', () => {
    expect(parseExitCodeFile('0')).toBe(0)
    expect(parseExitCodeFile('1\n')).toBe(1)
    expect(parseExitCodeFile('-1')).toBe(-1)
    expect(parseExitCodeFile('')).toBeUndefined()
    expect(parseExitCodeFile('0x1')).toBeUndefined()
    expect(parseExitCodeFile('12 13')).toBeUndefined()
  })
})
