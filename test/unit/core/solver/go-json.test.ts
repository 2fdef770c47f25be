import {describe, expect, it} from '@jest/globals'
import {
  GO_SCHEMAS,
  encodeDeal,
  encodeJobOffer,
  encodeModuleConfig,
  encodeResourceOffer,
  encodeResult,
  goJsonEncode,
} from '../../../../src/core/solver/go-json.js'
import type {Deal, JobOffer, ModuleConfig, ResourceOffer, Result} from '../../../../src/core/solver/types.js'
import {lilypadErrorOf} from '../../../helpers/errors.js'
import {asGo122, loadGoVectors, parseJsonExact} from './go-vectors.js'

const file = loadGoVectors()
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8')

function encodeKind(kind: string, value: unknown): Uint8Array {
  switch (kind) {
    case 'moduleConfig':
      return encodeModuleConfig(value as ModuleConfig)
    case 'jobOffer':
      return encodeJobOffer(value as JobOffer)
    case 'resourceOffer':
      return encodeResourceOffer(value as ResourceOffer)
    case 'deal':
      return encodeDeal(value as Deal)
    case 'result':
      return encodeResult(value as Result)
    default:
      throw new Error(`no encoder for ${kind}`)
  }
}

describe('Go JSON encoder against Go encoding/json', () => {
  const vectors = file.vectors.filter((vector) => vector.kind !== 'authUser')

  it('has vectors of every kind', () => {
    expect(new Set(vectors.map((vector) => vector.kind))).toEqual(
      new Set(['moduleConfig', 'jobOffer', 'resourceOffer', 'deal', 'result']),
    )
    expect(vectors.length).toBeGreaterThanOrEqual(20)
  })

  it.each(vectors.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    const goText = asGo122(Buffer.from(vector.hex, 'hex').toString('utf8'), file.go_version)
    const decoded = parseJsonExact(goText)
    expect(text(encodeKind(vector.kind, decoded))).toBe(goText)
  })
})

describe('Go JSON encoder semantics', () => {
  it('writes zero values for missing fields and drops unknown keys (engines)', () => {
    const offer = {id: 'x', engines: ['wasm'], spec: {cpu: 1}} as unknown as ResourceOffer
    expect(text(encodeResourceOffer(offer))).toBe(
      '{"id":"x","created_at":0,"resource_provider":"","index":0,' +
        '"spec":{"gpu":0,"gpus":null,"cpu":1,"ram":0,"disk":0},"modules":null,"mode":"",' +
        '"default_pricing":{"instruction_price":0,"payment_collateral":0,"results_collateral_multiple":0,"mediation_fee":0},' +
        '"module_pricing":null,"trusted_parties":{"solver":"","mediator":null,"api_host":""}}',
    )
  })

  it('writes timeouts between pricing and job_offer only when the deal has them', () => {
    const base = {
      id: '',
      members: {solver: 's', job_creator: 'j', resource_provider: 'r', mediators: []},
    } as unknown as Deal
    const without = text(encodeDeal(base))
    expect(without).not.toContain('timeouts')
    const timeouts = GO_SCHEMAS.dealTimeouts
    const withTimeouts = text(
      encodeDeal({
        ...base,
        timeouts: {
          agree: {timeout: 3600, collateral: 0},
          submit_results: {timeout: 3600, collateral: 1},
          judge_results: {timeout: 3600, collateral: 1},
          mediate_results: {timeout: 3600, collateral: 0},
        },
      }),
    )
    expect(withTimeouts).toMatch(
      /"pricing":\{[^}]*\},"timeouts":\{"agree":\{"timeout":3600,"collateral":0\}.*\},"job_offer":/,
    )
    expect(goJsonEncode(timeouts, null)).toContain('"agree":{"timeout":0,"collateral":0}')
  })

  it('writes results_id equal to data_id, last', () => {
    expect(text(encodeResult({id: '', deal_id: 'd', data_id: 'Qm1', error: '', instruction_count: 7}))).toBe(
      '{"id":"","deal_id":"d","data_id":"Qm1","error":"","instruction_count":7,"results_id":"Qm1"}',
    )
  })

  it('prints integers in full, never in exponent form', () => {
    expect(goJsonEncode(GO_SCHEMAS.int, 1e21)).toBe('1000000000000000000000')
    expect(goJsonEncode(GO_SCHEMAS.int, 18446744073709551615n)).toBe('18446744073709551615')
    expect(goJsonEncode(GO_SCHEMAS.int, -0)).toBe('0')
  })

  it('refuses values no Go type can hold', () => {
    const error = lilypadErrorOf(() => goJsonEncode(GO_SCHEMAS.machineSpec, {cpu: 1.5}, 'spec'))
    expect(error.code).toBe('INTERNAL')
    expect(error.message).toContain('spec.cpu')
    expect(lilypadErrorOf(() => goJsonEncode(GO_SCHEMAS.serviceConfig, {mediator: 'x'})).message).toContain(
      'an array',
    )
    expect(lilypadErrorOf(() => goJsonEncode(GO_SCHEMAS.string, 5)).message).toContain('a string')
  })

  it('sorts map keys by UTF-8 bytes, not UTF-16 units', () => {
    const schema = {kind: 'map', of: GO_SCHEMAS.string} as const
    // U+FFFD sorts before U+1F600 in UTF-8 (EF.. < F0..) but after it in UTF-16 (FFFD > D83D).
    expect(goJsonEncode(schema, {'😀': '1', '\ufffd': '2', a: '3'})).toBe('{"a":"3","\ufffd":"2","😀":"1"}')
  })
})
