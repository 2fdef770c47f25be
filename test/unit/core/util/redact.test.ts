import {describe, expect, it} from '@jest/globals'

import {redact, redactDeep} from '../../../../src/core/util/redact.js'

describe('redact', () => {
  it('hides registered secrets wherever they appear', () => {
    const key = '0x' + 'c0ffee'.repeat(10) + 'abcd'
    expect(redact(`signing with ${key} failed`, [key])).toBe('signing with *** failed')
  })

  it('hides credentials in URLs and secret query values', () => {
    expect(redact('GET https://alice:s3cret@rpc.example.org/v1?apikey=XYZ&x=1 failed')).toBe(
      'GET https://***@rpc.example.org/v1?apikey=***&x=1 failed',
    )
    expect(redact('wss://token@node.example/ws')).toBe('wss://***@node.example/ws')
  })

  it('hides API keys in RPC URL paths', () => {
    const key = '0123456789abcdef0123456789abcdef'
    expect(redact(`calling https://mainnet.infura.io/v3/${key} failed`)).toBe(
      'calling https://mainnet.infura.io/v3/*** failed',
    )
    expect(redact(`wss://arb-sepolia.g.alchemy.com/v2/${key}/`)).toBe(
      'wss://arb-sepolia.g.alchemy.com/v2/***/',
    )
    expect(redact('https://github.com/Lilypad-Tech/lilypad-module-cowsay')).toBe(
      'https://github.com/Lilypad-Tech/lilypad-module-cowsay',
    )
  })

  it('hides values labelled as private keys but keeps hashes and digests', () => {
    const hex = 'a'.repeat(64)
    expect(redact(`WEB3_PRIVATE_KEY=${hex}`)).toBe('WEB3_PRIVATE_KEY=***')
    expect(redact(`"privateKey": "0x${hex}"`)).toBe('"privateKey": "***"')
    expect(redact(`image@sha256:${hex}`)).toBe(`image@sha256:${hex}`)
    expect(redact(`tx 0x${hex} reverted`)).toBe(`tx 0x${hex} reverted`)
  })

  it('ignores secrets too short to redact safely', () => {
    expect(redact('abc in text', ['abc'])).toBe('abc in text')
  })

  it('walks nested values', () => {
    const secret = 'supersecretvalue'
    expect(redactDeep({a: [`x ${secret}`, 1, null], b: {c: secret}}, [secret])).toEqual({
      a: ['x ***', 1, null],
      b: {c: '***'},
    })
  })
})
