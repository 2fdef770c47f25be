import {mkdtemp, rm, writeFile, mkdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {type RunRecord, journalPath, openJournal} from '../../../../src/core/deals/journal.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-journal-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

function record(id: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    network: 'local',
    chainId: 412346,
    protocol: 'onchain',
    jobCreator: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
    module: {repo: 'git://127.0.0.1:9418/lilypad-module-cowsay', ref: 'v0.0.3', commit: 'c'.repeat(40)},
    inputs: {Message: 'hi'},
    specHash: 'sha256:00',
    state: 'Created',
    txs: {},
    source: 'run',
    createdAt: 1_000,
    updatedAt: 1_000,
    ...overrides,
  }
}

describe('the run journal', () => {
  it('keeps a record across opens, found by run, deal or job offer ID', () => {
    const data = join(dir, 'a')
    const journal = openJournal(data)
    journal.insert(record('run1'))
    journal.update('run1', {jobOfferId: 'QmOffer1', state: 'DealNegotiating'})
    journal.update('run1', {dealId: 'QmDeal1', txs: {agree: '0xaa'}})
    journal.update('run1', {state: 'ResultsAccepted', txs: {accept_result: '0xbb'}})
    journal.close()
    expect(journalPath(data)).toBe(join(data, 'journal.db'))

    const again = openJournal(data)
    try {
      for (const key of ['run1', 'QmDeal1', 'QmOffer1']) {
        const found = again.get(key)
        expect(found?.id).toBe('run1')
        expect(found?.state).toBe('ResultsAccepted')
        expect(found?.txs).toEqual({agree: '0xaa', accept_result: '0xbb'})
      }
      expect(again.get('QmNothing')).toBeUndefined()
    } finally {
      again.close()
    }
  })

  it('lists newest first, filtered by state and network, within the limit', () => {
    const journal = openJournal(join(dir, 'b'))
    try {
      for (let i = 0; i < 30; i += 1) {
        journal.insert(
          record(`r${i}`, {
            createdAt: i,
            state: i % 3 === 0 ? 'ResultsAccepted' : 'DealAgreed',
            network: i % 2 === 0 ? 'local' : 'testnet',
          }),
        )
      }
      expect(journal.count()).toBe(30)
      expect(journal.list({limit: 3}).map((r) => r.id)).toEqual(['r29', 'r28', 'r27'])
      const accepted = journal.list({state: 'ResultsAccepted', limit: 100})
      expect(accepted.map((r) => r.id)).toEqual([
        'r27',
        'r24',
        'r21',
        'r18',
        'r15',
        'r12',
        'r9',
        'r6',
        'r3',
        'r0',
      ])
      expect(journal.list({state: 'ResultsAccepted', network: 'local', limit: 100}).map((r) => r.id)).toEqual(
        ['r24', 'r18', 'r12', 'r6', 'r0'],
      )
    } finally {
      journal.close()
    }
  })

  it('adopts a rebuilt record only when no record holds its deal', () => {
    const journal = openJournal(join(dir, 'c'))
    try {
      journal.insert(record('mine', {dealId: 'QmDeal'}))
      expect(journal.adopt(record('solver:QmDeal', {dealId: 'QmDeal', source: 'solver'}))).toBe(false)
      expect(journal.adopt(record('solver:QmOther', {dealId: 'QmOther', source: 'solver'}))).toBe(true)
      expect(journal.adopt(record('solver:QmOther', {dealId: 'QmOther', source: 'chain'}))).toBe(false)
      expect(journal.get('QmOther')?.source).toBe('solver')
    } finally {
      journal.close()
    }
  })

  it('says which run is unknown on update', () => {
    const journal = openJournal(join(dir, 'd'))
    try {
      expect(() => journal.update('nope', {state: 'DealAgreed'})).toThrow(
        expect.objectContaining({code: 'DEAL_UNKNOWN'}),
      )
    } finally {
      journal.close()
    }
  })

  it('reports a data directory it cannot use as JOURNAL_FAILED', async () => {
    const file = join(dir, 'not-a-dir')
    await writeFile(file, 'x')
    expect(() => openJournal(join(file, 'data'))).toThrow(expect.objectContaining({code: 'JOURNAL_FAILED'}))
  })

  it('keeps every update when several connections write at once', async () => {
    const data = join(dir, 'e')
    await mkdir(data, {recursive: true})
    const journals = Array.from({length: 4}, () => openJournal(data))
    try {
      journals[0]?.insert(record('shared'))
      journals.forEach((journal, i) => {
        for (let k = 0; k < 10; k += 1) journal.update('shared', {txs: {[`tx${i}-${k}`]: '0x'}})
      })
      expect(Object.keys(journals[3]?.get('shared')?.txs ?? {})).toHaveLength(40)
    } finally {
      for (const journal of journals) journal.close()
    }
  })
})
