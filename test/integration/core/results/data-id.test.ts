/**
 * computeDataId against kubo's own CIDs (test/fixtures/results/kubo-unixfs-vectors.json, each
 * vector naming the kubo test it comes from) and, where kubo publishes none, against an
 * independent implementation written from the specs (unixfs-reference.ts).
 */
import {execFileSync} from 'node:child_process'
import {mkdir, mkdtemp, readFile, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {computeDataId, computeUnixfsCid, verifyResult} from '../../../../src/core/results/data-id.js'
import type {DataIdEvent} from '../../../../src/core/results/data-id.js'
import {isLilypadError} from '../../../../src/core/errors/index.js'
import {deterministicNames, writeDeterministicFile} from './kubo-inputs.js'
import {referenceCid} from './unixfs-reference.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')

type Tree = {[name: string]: string | Tree}
interface Vectors {
  small: {source: string; file?: string; dir?: Tree; cid: string; entries?: Record<string, string>}[]
  deterministicFiles: {source: string; seed: string; size: number; cid: string}[]
  numberedDirectory: {count: number; unsharded: string; shardedWithThreshold1B: string; file100: string}
  hamtThreshold: {
    source: string
    seed: string
    count: number
    nameLength: number
    content: string
    cid: string
  }[]
}

let vectors: Vectors
let base: string
let counter = 0

beforeAll(async () => {
  vectors = JSON.parse(
    await readFile(join(ROOT, 'test', 'fixtures', 'results', 'kubo-unixfs-vectors.json'), 'utf8'),
  ) as Vectors
  base = await mkdtemp(join(tmpdir(), 'lilypad-data-id-'))
})

afterAll(async () => {
  await rm(base, {recursive: true, force: true})
})

function fresh(): string {
  counter += 1
  return join(base, `case-${counter}`)
}

async function writeTree(dir: string, tree: Tree): Promise<void> {
  await mkdir(dir, {recursive: true})
  for (const [name, value] of Object.entries(tree)) {
    if (typeof value === 'string') await writeFile(join(dir, name), value)
    else await writeTree(join(dir, name), value)
  }
}

async function errorOf(
  promise: Promise<unknown>,
): Promise<{code: string; message: string; hints: readonly string[]}> {
  try {
    await promise
  } catch (error) {
    if (isLilypadError(error)) return error
    throw error
  }
  throw new Error('expected a LilypadError')
}

describe('kubo vectors', () => {
  it('reproduces every small file and directory vector, including nested entries', async () => {
    for (const vector of vectors.small) {
      const path = fresh()
      if (vector.file !== undefined) await writeFile(path, vector.file)
      else await writeTree(path, vector.dir ?? {})
      expect({source: vector.source, cid: await computeDataId(path)}).toEqual({
        source: vector.source,
        cid: vector.cid,
      })
      for (const [name, cid] of Object.entries(vector.entries ?? {}))
        expect(await computeDataId(join(path, name))).toBe(cid)
    }
  })

  it('reproduces kubo’s deterministic multi-chunk files (174 chunks, and 175 = a second tree level)', async () => {
    for (const vector of vectors.deterministicFiles) {
      const path = fresh()
      await writeDeterministicFile(path, vector.size, vector.seed)
      expect(await computeDataId(path)).toBe(vector.cid)
      // The independent implementation agrees, which vouches for it in the cross-checks below.
      expect(await referenceCid(path)).toBe(vector.cid)
      await rm(path)
    }
  })

  it('reproduces the 2000-file directory of kubo’s sharding test, plain and force-sharded', async () => {
    const dir = fresh()
    await mkdir(dir)
    const {numberedDirectory: v} = vectors
    for (let i = 1; i <= v.count; i += 1) await writeFile(join(dir, `file${i}`), `${i}\n`)
    expect(await computeDataId(dir)).toBe(v.unsharded)
    expect(await referenceCid(dir)).toBe(v.unsharded)
    expect(await computeUnixfsCid(dir, {hamtThresholdBytes: 1})).toBe(v.shardedWithThreshold1B)
    expect(await computeDataId(join(dir, 'file100'))).toBe(v.file100)
  })

  it('switches to a HAMT exactly where kubo does: at 262144 bytes of links it stays plain, at 262145 it shards', async () => {
    for (const vector of vectors.hamtThreshold) {
      const dir = fresh()
      await mkdir(dir)
      const names = deterministicNames(vector.count, vector.nameLength, vector.nameLength, vector.seed)
      expect(names.reduce((sum, name) => sum + Buffer.byteLength(name) + 34, 0)).toBe(
        vector.count === 4096 ? 262_144 : 262_145,
      )
      for (const name of names) await writeFile(join(dir, name), vector.content)
      expect({source: vector.source, cid: await computeDataId(dir)}).toEqual({
        source: vector.source,
        cid: vector.cid,
      })
      await rm(dir, {recursive: true})
    }
  })
})

describe('cross-checked against the independent implementation', () => {
  it('agrees on files around chunk and tree boundaries', async () => {
    const sizes = [1, 262_143, 262_144, 262_145, 5 * 1024 * 1024 + 1, 174 * 262_144 + 3 * 262_144 + 7]
    for (const size of sizes) {
      const path = fresh()
      await writeDeterministicFile(path, size, `lilypad-${size}`)
      expect({size, cid: await computeDataId(path)}).toEqual({size, cid: await referenceCid(path)})
      await rm(path)
    }
  })

  it('agrees on a nested directory with empty directories, hidden files and non-ASCII names', async () => {
    const dir = fresh()
    await writeTree(dir, {
      '.hidden': 'a hidden file is part of the result\n',
      stdout: 'hello\n',
      stderr: '',
      exitCode: '0',
      outputs: {'café.txt': 'ü', empty: {}, deep: {er: {'x.bin': 'x'.repeat(300_000)}}},
      Zeta: 'sorted before lower case',
    })
    expect(await computeDataId(dir)).toBe(await referenceCid(dir))
  })
})

describe('what a result may hold', () => {
  it('includes hidden files (kubo needs --hidden for the same ID)', async () => {
    const withHidden = fresh()
    const without = fresh()
    await writeTree(withHidden, {'visible.txt': 'visible', '.hidden': 'hidden'})
    await writeTree(without, {'visible.txt': 'visible'})
    expect(await computeDataId(withHidden)).not.toBe(await computeDataId(without))
  })

  it('refuses a symbolic link inside the result, even one pointing inside it', async () => {
    const dir = fresh()
    await writeTree(dir, {'a.txt': 'a'})
    await symlink('a.txt', join(dir, 'link'))
    const error = await errorOf(computeDataId(dir))
    expect(error.code).toBe('RESULT_PATH_UNSUPPORTED')
    expect(error.message).toContain('symbolic link')
    expect(error.hints.length).toBeGreaterThan(0)
  })

  it('refuses a FIFO inside the result without blocking on it', async () => {
    const dir = fresh()
    await writeTree(dir, {'a.txt': 'a'})
    execFileSync('mkfifo', [join(dir, 'pipe')])
    const error = await errorOf(computeDataId(dir))
    expect(error.code).toBe('RESULT_PATH_UNSUPPORTED')
    expect(error.message).toContain('FIFO')
  })

  it('refuses a name that is not UTF-8', async () => {
    const dir = fresh()
    await mkdir(dir)
    await writeFile(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0xff, 0xfe])]), 'x')
    expect((await errorOf(computeDataId(dir))).code).toBe('RESULT_PATH_UNSUPPORTED')
  })

  it('reports a missing path as RESULT_NOT_FOUND', async () => {
    expect((await errorOf(computeDataId(join(base, 'nothing-here')))).code).toBe('RESULT_NOT_FOUND')
  })

  it('stops with INTERRUPTED when the signal aborts', async () => {
    const path = fresh()
    await writeDeterministicFile(path, 8 * 1024 * 1024, 'abort')
    const controller = new AbortController()
    controller.abort()
    expect((await errorOf(computeDataId(path, {signal: controller.signal}))).code).toBe('INTERRUPTED')
  })

  it('reports each hashed file and verifies an expected ID', async () => {
    const dir = fresh()
    await writeTree(dir, {'mars.txt': 'Hello Mars!\n', 'venus.txt': 'Hello Venus!\n'})
    const events: DataIdEvent[] = []
    await computeDataId(dir, {onEvent: (event) => events.push(event)})
    expect(events.map((event) => [event.type, event.bytes]).sort()).toEqual([
      ['result.file-hashed', 12],
      ['result.file-hashed', 13],
    ])
    const planets = 'QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY'
    expect(await verifyResult(dir, planets)).toEqual({dataId: planets, expected: planets, verified: true})
    await writeFile(join(dir, 'venus.txt'), 'Hello Venus?\n')
    expect((await verifyResult(dir, planets)).verified).toBe(false)
  })
})
