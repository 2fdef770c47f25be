import {createHash} from 'node:crypto'
import {mkdtemp, readFile, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {
  type RunReceipt,
  canonicalJson,
  receiptPath,
  specHash,
  writeReceipt,
} from '../../../../src/core/deals/receipt.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-receipt-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('canonicalJson and specHash', () => {
  it('sorts keys at every level and drops whitespace, so the hash ignores template formatting', () => {
    const a = {machine: {gpu: 0, cpu: 1000}, job: {APIVersion: 'V1beta1', Spec: {Engine: 'wasm'}}}
    const b = JSON.parse(
      '{ "job": {"Spec": {"Engine":"wasm"}, "APIVersion":"V1beta1"}, "machine": {"cpu":1000,"gpu":0} }',
    ) as unknown
    expect(canonicalJson(a)).toBe(
      '{"job":{"APIVersion":"V1beta1","Spec":{"Engine":"wasm"}},"machine":{"cpu":1000,"gpu":0}}',
    )
    expect(specHash(a)).toBe(specHash(b))
  })

  it('is the sha256 of the canonical text, checked with an independent hash of the literal bytes', () => {
    const expected = createHash('sha256').update('{"a":[1,"x",null],"b":true}').digest('hex')
    expect(specHash({b: true, a: [1, 'x', null]})).toBe(`sha256:${expected}`)
  })

  it('changes when a value changes', () => {
    expect(specHash({a: 1})).not.toBe(specHash({a: 2}))
  })
})

describe('writeReceipt', () => {
  const receipt: RunReceipt = {
    version: 1,
    network: 'local',
    chainId: 412346,
    protocol: 'onchain',
    module: {repo: 'git://127.0.0.1:9418/lilypad-module-cowsay', ref: 'v0.0.3', commit: 'a'.repeat(40)},
    specHash: specHash({}),
    inputs: {Message: 'hi'},
    jobCreator: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
    jobOfferId: 'QmOffer',
    dealId: 'QmDeal',
    provider: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
    txs: {agree: '0x01', accept_result: '0x02'},
    dataId: 'QmData',
    verification: 'verified',
    completedAt: new Date(0).toISOString(),
  }

  it('writes <dir>.receipt.json beside the directory, never inside it, and leaves no temporary file', async () => {
    const out = join(dir, 'downloaded-files', 'QmDeal')
    await import('node:fs/promises').then(async (fs) => fs.mkdir(out, {recursive: true}))
    const path = await writeReceipt(`${out}/`, receipt)
    expect(path).toBe(`${out}.receipt.json`)
    expect(receiptPath(out)).toBe(path)
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(receipt)
    expect(await readdir(out)).toEqual([])
    expect((await readdir(join(dir, 'downloaded-files'))).sort()).toEqual(['QmDeal', 'QmDeal.receipt.json'])
  })

  it('replaces an older receipt whole', async () => {
    const out = join(dir, 'again')
    await writeReceipt(out, receipt)
    await writeReceipt(out, {...receipt, verification: 'skipped'})
    expect((JSON.parse(await readFile(receiptPath(out), 'utf8')) as RunReceipt).verification).toBe('skipped')
  })
})
