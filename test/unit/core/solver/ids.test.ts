import {readFileSync} from 'node:fs'
import {describe, expect, it} from '@jest/globals'
import {cidV0OfData, dealId, jobOfferId, moduleId, resourceOfferId} from '../../../../src/core/solver/ids.js'
import type {Deal, JobOffer, ModuleConfig, ResourceOffer} from '../../../../src/core/solver/types.js'
import {asGo122, loadGoVectors, parseJsonExact} from './go-vectors.js'

interface SharedVector {
  description: string
  block_hex?: string
  data_hex?: string
  json?: string
  cid: string
}

const shared = (
  JSON.parse(
    readFileSync(new URL('../../../fixtures/solver/cid-test-vectors.json', import.meta.url), 'utf8'),
  ) as {vectors: SharedVector[]}
).vectors

const file = loadGoVectors()

describe('CIDv0 of dag-pb data (shared vectors)', () => {
  it.each(shared.map((vector) => [vector.description, vector] as const))('%s', (_name, vector) => {
    const data =
      vector.json !== undefined
        ? new TextEncoder().encode(vector.json)
        : Buffer.from(vector.data_hex ?? vector.block_hex ?? '', 'hex')
    expect(cidV0OfData(new Uint8Array(data))).toBe(vector.cid)
    if (vector.json !== undefined) expect(moduleId(JSON.parse(vector.json) as ModuleConfig)).toBe(vector.cid)
  })
})

describe('IDs against CIDs computed in Go', () => {
  const unchanged = file.vectors.filter(
    (vector) =>
      asGo122(Buffer.from(vector.hex, 'hex').toString('utf8'), file.go_version) ===
      Buffer.from(vector.hex, 'hex').toString('utf8'),
  )

  it.each(unchanged.map((vector) => [vector.name, vector] as const))('%s', (_name, vector) => {
    const bytes = Buffer.from(vector.hex, 'hex')
    expect(cidV0OfData(new Uint8Array(bytes))).toBe(vector.data_cid)
    const value = parseJsonExact(bytes.toString('utf8'))
    switch (vector.kind) {
      case 'moduleConfig':
        expect(moduleId(value as ModuleConfig)).toBe(vector.data_cid)
        break
      case 'jobOffer':
        expect(jobOfferId(value as JobOffer)).toBe(vector.id)
        break
      case 'resourceOffer':
        expect(resourceOfferId(value as ResourceOffer)).toBe(vector.id)
        break
      case 'deal':
        expect(dealId(value as Deal)).toBe(vector.id)
        break
      case 'result':
      case 'authUser':
        expect(vector.id).toBe('')
        break
    }
  })

  it('ignores the id a job offer carries, and never counts a provider engines list', () => {
    const vector = file.vectors.find((v) => v.name === 'job offer: id set (blanked for the ID)')
    const plain = file.vectors.find((v) => v.name === 'job offer: cowsay as the CLI builds it')
    expect(vector?.id).toBe(plain?.id)
    const offer = parseJsonExact(Buffer.from(vector?.hex ?? '', 'hex').toString('utf8')) as JobOffer
    expect(jobOfferId(offer)).toBe(plain?.data_cid)
    const provider = file.vectors.find((v) => v.kind === 'resourceOffer')
    const resource = parseJsonExact(Buffer.from(provider?.hex ?? '', 'hex').toString('utf8')) as ResourceOffer
    expect(resourceOfferId({...resource, engines: ['wasm']})).toBe(provider?.id)
  })

  it('gives a deal whose offers lack their IDs a different ID (they are part of the hash)', () => {
    const vector = file.vectors.find((v) => v.kind === 'deal')
    const deal = parseJsonExact(Buffer.from(vector?.hex ?? '', 'hex').toString('utf8')) as Deal
    expect(dealId(deal)).toBe(vector?.id)
    expect(dealId({...deal, job_offer: {...deal.job_offer, id: ''}})).not.toBe(vector?.id)
  })
})
