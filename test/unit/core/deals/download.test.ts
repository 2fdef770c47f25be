/**
 * `downloadInto` against a real HTTP server on 127.0.0.1 speaking the solver's `/deals/{id}/files`
 * route: the archive lands in a sibling first, so a mismatch, a 404 or a broken tar never touches
 * what the directory held, and a directory that is not ours is refused before anything is fetched.
 */
import {type Server, createServer} from 'node:http'
import {mkdir, mkdtemp, readFile, readdir, rm, writeFile} from 'node:fs/promises'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {downloadInto} from '../../../../src/core/deals/follow.js'
import {packResultStream} from '../../../../src/core/results/archive.js'
import {computeDataId} from '../../../../src/core/results/data-id.js'
import {createSolverClient} from '../../../../src/core/solver/client.js'

const KEY = `0x${'11'.repeat(32)}`
let root: string
let server: Server
let url: string
let tarBytes: Buffer
let dataId: string
let requests = 0
/** What the next request gets: the tar, a 404, or bytes that are no tar. */
let serve: 'tar' | 'missing' | 'garbage' = 'tar'

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    return isLilypadError(error) ? error.code : String(error)
  }
  return 'resolved'
}

const options = (extra: {replace: boolean; expected?: string}): Parameters<typeof downloadInto>[3] => ({
  signal: new AbortController().signal,
  emit: () => undefined,
  ...extra,
})

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-download-'))
  const source = join(root, 'source')
  await mkdir(join(source, 'outputs'), {recursive: true})
  await writeFile(join(source, 'stdout'), 'the real result\n')
  await writeFile(join(source, 'outputs', 'a.txt'), 'a\n')
  dataId = await computeDataId(source)
  const chunks: Buffer[] = []
  for await (const chunk of packResultStream(source)) chunks.push(chunk as Buffer)
  tarBytes = Buffer.concat(chunks)
  server = createServer((request, response) => {
    requests += 1
    if (!(request.url ?? '').endsWith('/files')) {
      response.writeHead(500).end()
      return
    }
    if (serve === 'missing') response.writeHead(404, {'content-type': 'text/plain'}).end('not found')
    else if (serve === 'garbage') response.writeHead(200).end(Buffer.alloc(1024, 7))
    else response.writeHead(200, {'content-length': String(tarBytes.length)}).end(tarBytes)
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

async function previous(name: string): Promise<string> {
  const dir = join(root, name)
  await mkdir(dir, {recursive: true})
  await writeFile(join(dir, 'keep.txt'), 'mine\n')
  return dir
}

describe('downloadInto', () => {
  const solver = (): ReturnType<typeof createSolverClient> =>
    createSolverClient({url, signer: KEY, retries: 0})

  it('refuses a directory that is not ours before fetching anything', async () => {
    const dir = await previous('not-ours')
    const before = requests
    serve = 'tar'
    expect(await code(downloadInto(solver(), 'QmDeal', dir, options({replace: false})))).toBe(
      'RESULT_DIR_EXISTS',
    )
    expect(requests).toBe(before)
    expect(await readFile(join(dir, 'keep.txt'), 'utf8')).toBe('mine\n')
  })

  it('keeps the earlier download when the solver has no result (404) or sends no tar', async () => {
    const dir = await previous('kept')
    for (const kind of ['missing', 'garbage'] as const) {
      serve = kind
      expect(await code(downloadInto(solver(), 'QmDeal', dir, options({replace: true})))).toMatch(
        kind === 'missing' ? 'SOLVER_NOT_FOUND' : /^RESULT_ARCHIVE_/,
      )
      expect(await readFile(join(dir, 'keep.txt'), 'utf8')).toBe('mine\n')
      expect((await readdir(root)).filter((name) => name.startsWith('kept.'))).toEqual([])
    }
  })

  it('moves a mismatching result aside (RESULT_MISMATCH) and leaves the directory as it was', async () => {
    const dir = await previous('mismatch')
    serve = 'tar'
    const expected = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
    expect(await code(downloadInto(solver(), 'QmDeal', dir, options({replace: true, expected})))).toBe(
      'RESULT_MISMATCH',
    )
    expect(await readFile(join(dir, 'keep.txt'), 'utf8')).toBe('mine\n')
    expect(await readFile(join(`${dir}.disputed`, 'stdout'), 'utf8')).toBe('the real result\n')
  })

  it('swaps a verified result in for the earlier one it owns', async () => {
    const dir = await previous('replaced')
    serve = 'tar'
    const got = await downloadInto(solver(), 'QmDeal', dir, options({replace: true, expected: dataId}))
    expect(got).toBe(dataId)
    expect((await readdir(dir)).sort()).toEqual(['outputs', 'stdout'])
    expect((await readdir(root)).filter((name) => name.startsWith('replaced'))).toEqual(['replaced'])
  })
})
