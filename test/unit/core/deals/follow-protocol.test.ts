/**
 * followRun decides by the record's protocol: an onchain deal is never followed without its chain
 * (it would take the solver's word for the data ID and "accept" with 0x). A real journal in a temp
 * directory; the solver is a real HTTP listener on 127.0.0.1 that counts requests, none expected.
 */
import {type Server, createServer} from 'node:http'
import {mkdtemp, rm} from 'node:fs/promises'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {followRun} from '../../../../src/core/deals/follow.js'
import {type RunRecord, openJournal} from '../../../../src/core/deals/journal.js'
import {isLilypadError} from '../../../../src/core/errors/index.js'
import {createSolverClient} from '../../../../src/core/solver/client.js'

let root: string
let server: Server
let url: string
let requests = 0

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-follow-'))
  server = createServer((_request, response) => {
    requests += 1
    response.writeHead(500).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve()
    }),
  )
  await rm(root, {recursive: true, force: true})
})

describe('followRun', () => {
  it('refuses an onchain record when no chain is connected (USAGE), asking the solver nothing', async () => {
    const journal = openJournal(join(root, 'data'))
    try {
      const record: RunRecord = {
        id: 'run-1',
        network: 'local',
        chainId: 412346,
        protocol: 'onchain',
        jobCreator: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
        module: {repo: 'git://127.0.0.1:9418/lilypad-module-cowsay', ref: 'v0.0.3', commit: 'c'.repeat(40)},
        inputs: {Message: 'hi'},
        specHash: 'sha256:00',
        jobOfferId: 'QmOffer',
        dealId: 'QmDeal',
        state: 'DealAgreed',
        txs: {},
        source: 'run',
        createdAt: 1_000,
        updatedAt: 1_000,
      }
      journal.insert(record)
      const error = await followRun({
        journal,
        record,
        solver: createSolverClient({url, signer: `0x${'11'.repeat(32)}`, retries: 0}),
        chain: undefined,
        dataDir: join(root, 'data'),
        maxPrice: 10n ** 19n,
        verify: 'cid',
        detach: false,
        pollIntervalMs: 10,
        signal: new AbortController().signal,
        emit: () => undefined,
      }).catch((caught: unknown) => caught)
      expect(isLilypadError(error) ? error.code : error).toBe('USAGE')
      expect(requests).toBe(0)
      expect(journal.get('QmDeal')?.txs).toEqual({})
    } finally {
      journal.close()
    }
  })
})
