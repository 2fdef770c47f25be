/**
 * Result archives on real files: deterministic packing, round trips that keep the data ID, and
 * hostile archives written header by header, each of which must leave nothing behind.
 */
import {createHash} from 'node:crypto'
import {execFileSync} from 'node:child_process'
import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Header, Pax} from 'tar'
import type {HeaderData} from 'tar'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {packResult, packResultStream, unpackResultTar} from '../../../../src/core/results/archive.js'
import {computeDataId} from '../../../../src/core/results/data-id.js'

let base: string
let counter = 0

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'lilypad-archive-'))
})

afterAll(async () => {
  await rm(base, {recursive: true, force: true})
})

function fresh(name = 'case'): string {
  counter += 1
  return join(base, `${name}-${counter}`)
}

async function resultDir(): Promise<string> {
  const dir = fresh('result')
  await mkdir(join(dir, 'outputs', 'empty'), {recursive: true})
  await mkdir(join(dir, 'outputs', 'nested', 'deeper'), {recursive: true})
  await writeFile(join(dir, 'stdout'), 'hello\n')
  await writeFile(join(dir, 'stderr'), '')
  await writeFile(join(dir, 'exitCode'), '0')
  await writeFile(join(dir, '.hidden'), 'kept')
  await writeFile(join(dir, 'outputs', 'run.sh'), '#!/bin/sh\necho hi\n', {mode: 0o750})
  await writeFile(join(dir, 'outputs', 'nested', 'deeper', 'data.bin'), Buffer.alloc(700_000, 7))
  await writeFile(join(dir, 'outputs', `${'n'.repeat(120)}-long-name.txt`), 'needs a long path')
  await writeFile(join(dir, 'outputs', 'café.txt'), 'non-ASCII name')
  return dir
}

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex')

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

describe('packing', () => {
  it('gives identical bytes for the same directory, also after its times and owners’ metadata change', async () => {
    const dir = await resultDir()
    const first = fresh('a.tar')
    const second = fresh('b.tar')
    const summary = await packResult(dir, first)
    expect(summary).toEqual({files: 8, directories: 4, bytes: 6 + 0 + 1 + 4 + 18 + 700_000 + 17 + 14})
    await utimes(join(dir, 'stdout'), new Date(2001, 1, 1), new Date(2002, 2, 2))
    await utimes(join(dir, 'outputs'), new Date(2003, 3, 3), new Date(2004, 4, 4))
    await packResult(dir, second)
    expect(await sha256(second)).toBe(await sha256(first))
  })

  it('streams the same bytes as the file form', async () => {
    const dir = await resultDir()
    const file = fresh('c.tar')
    await packResult(dir, file)
    const chunks: Buffer[] = []
    for await (const chunk of packResultStream(dir)) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).equals(await readFile(file))).toBe(true)
  })

  it('writes sorted relative paths with fixed modes, no owners and mtime 0 (checked with GNU tar)', async () => {
    const dir = await resultDir()
    const file = fresh('d.tar')
    await packResult(dir, file)
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', file], {encoding: 'utf8'})
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/))
    expect(listing.map((fields) => fields.slice(5).join(' '))).toEqual([
      '.hidden',
      'exitCode',
      'outputs/',
      'outputs/café.txt',
      'outputs/empty/',
      'outputs/nested/',
      'outputs/nested/deeper/',
      'outputs/nested/deeper/data.bin',
      `outputs/${'n'.repeat(120)}-long-name.txt`,
      'outputs/run.sh',
      'stderr',
      'stdout',
    ])
    for (const fields of listing) {
      expect(fields[1]).toBe('0/0')
      expect(['-rw-r--r--', '-rwxr-xr-x', 'drwxr-xr-x']).toContain(fields[0])
    }
    expect(listing.find((fields) => fields[5] === 'outputs/run.sh')?.[0]).toBe('-rwxr-xr-x')
    expect(listing.find((fields) => fields[5] === 'stdout')?.[3]).toBe('1970-01-01')
  })

  it('refuses a result holding a symbolic link', async () => {
    const dir = await resultDir()
    await symlink('/etc/passwd', join(dir, 'outputs', 'passwd'))
    const dest = fresh('e.tar')
    expect((await errorOf(packResult(dir, dest))).code).toBe('RESULT_PATH_UNSUPPORTED')
    await expect(stat(dest)).rejects.toThrow()
    expect((await readdir(base)).filter((name) => name.includes('partial'))).toEqual([])
  })
})

describe('round trip', () => {
  it('unpacks to a directory with the same data ID and the same bytes, also through a stream', async () => {
    const dir = await resultDir()
    const file = fresh('f.tar')
    await packResult(dir, file)
    const target = fresh('unpacked')
    const summary = await unpackResultTar(file, target)
    expect(summary).toEqual({files: 8, directories: 4, bytes: 700_060})
    expect(await computeDataId(target)).toBe(await computeDataId(dir))
    expect((await stat(join(target, 'outputs', 'run.sh'))).mode & 0o777).toBe(0o755)
    expect((await stat(join(target, 'stdout'))).mode & 0o777).toBe(0o644)
    const viaStream = fresh('unpacked-stream')
    await unpackResultTar(packResultStream(dir), viaStream)
    expect(await computeDataId(viaStream)).toBe(await computeDataId(dir))
  })

  it('round-trips an empty result directory', async () => {
    const dir = fresh('empty-result')
    await mkdir(dir)
    const file = fresh('g.tar')
    expect(await packResult(dir, file)).toEqual({files: 0, directories: 0, bytes: 0})
    const target = fresh('unpacked-empty')
    await unpackResultTar(file, target)
    expect(await readdir(target)).toEqual([])
    expect(await computeDataId(target)).toBe('QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn')
  })

  it('accepts an existing empty target directory and refuses a non-empty one', async () => {
    const dir = await resultDir()
    const file = fresh('h.tar')
    await packResult(dir, file)
    const empty = fresh('empty-target')
    await mkdir(empty)
    await unpackResultTar(file, empty)
    expect(await computeDataId(empty)).toBe(await computeDataId(dir))
    const error = await errorOf(unpackResultTar(file, empty))
    expect(error.code).toBe('DIRECTORY_NOT_EMPTY')
  })

  it('reads archives made by GNU tar with a ./ prefix', async () => {
    const dir = await resultDir()
    const file = fresh('gnu.tar')
    execFileSync('tar', ['-cf', file, '-C', dir, '.'])
    const target = fresh('unpacked-gnu')
    await unpackResultTar(file, target)
    expect(await computeDataId(target)).toBe(await computeDataId(dir))
  })
})

/** A tar entry built header by header (node-tar's Header encodes the 512-byte block). */
interface RawEntry {
  header: HeaderData
  body?: Buffer
  pax?: {path?: string; linkpath?: string}
}

function block(data: HeaderData): Buffer {
  const header = new Header({mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: 0, ...data})
  header.encode()
  if (header.block === undefined) throw new Error('header did not encode')
  return header.block
}

function rawTar(entries: RawEntry[], {end = true}: {end?: boolean} = {}): Buffer {
  const parts: Buffer[] = []
  for (const entry of entries) {
    if (entry.pax !== undefined) parts.push(new Pax({...entry.pax, mtime: new Date(0)}).encode())
    parts.push(block(entry.header))
    if (entry.body !== undefined) {
      parts.push(entry.body, Buffer.alloc((512 - (entry.body.byteLength % 512)) % 512))
    }
  }
  if (end) parts.push(Buffer.alloc(1024))
  return Buffer.concat(parts)
}

const file = (path: string, content = 'x'): RawEntry => ({
  header: {path, type: 'File', size: Buffer.byteLength(content)},
  body: Buffer.from(content),
})

describe('hostile archives', () => {
  let sandbox: string
  let outside: string

  beforeAll(async () => {
    sandbox = fresh('sandbox')
    outside = join(sandbox, 'outside')
    await mkdir(outside, {recursive: true})
  })

  /** Unpacks `archive` into sandbox/target/deal and checks that it failed and left nothing anywhere. */
  async function rejects(
    archive: Buffer,
    code: string,
    options: {maxBytes?: number; maxEntries?: number} = {},
  ) {
    const parent = join(sandbox, 'target')
    await mkdir(parent, {recursive: true})
    const before = {
      parent: await readdir(parent),
      sandbox: await readdir(sandbox),
      outside: await readdir(outside),
    }
    const target = join(parent, 'deal')
    const path = join(sandbox, '..', `hostile-${++counter}.tar`)
    await writeFile(path, archive)
    const error = await errorOf(unpackResultTar(path, target, options))
    expect({code: error.code, message: error.message}).toEqual({code, message: expect.any(String)})
    expect(error.hints.length).toBeGreaterThan(0)
    await expect(lstat(target)).rejects.toThrow()
    expect(await readdir(parent)).toEqual(before.parent)
    expect(await readdir(sandbox)).toEqual(before.sandbox)
    expect(await readdir(outside)).toEqual(before.outside)
    await expect(lstat(join(sandbox, 'x'))).rejects.toThrow()
    await expect(lstat(join(sandbox, 'target', 'x'))).rejects.toThrow()
    // The same bytes as a stream behave the same.
    const again = await errorOf(unpackResultTar(Readable.from([archive]), target, options))
    expect(again.code).toBe(code)
    expect(await readdir(parent)).toEqual(before.parent)
    await rm(path)
    return error
  }

  it('rejects "../x" instead of stripping it', async () => {
    const error = await rejects(rawTar([file('ok.txt'), file('../x')]), 'RESULT_ARCHIVE_UNSAFE')
    expect(error.message).toContain('..')
  })

  it('rejects "a/../../x"', async () => {
    await rejects(rawTar([file('a/../../x')]), 'RESULT_ARCHIVE_UNSAFE')
  })

  it('rejects an absolute path', async () => {
    const error = await rejects(rawTar([file(join(outside, 'abs'))]), 'RESULT_ARCHIVE_UNSAFE')
    expect(error.message).toContain('absolute')
  })

  it('rejects a pax header that turns a harmless name into "../x"', async () => {
    await rejects(rawTar([{...file('harmless.txt'), pax: {path: '../x'}}]), 'RESULT_ARCHIVE_UNSAFE')
  })

  it('rejects a symlink to outside followed by a file written through it', async () => {
    const archive = rawTar([
      {header: {path: 'link', type: 'SymbolicLink', linkpath: outside}},
      file('link/pwned'),
    ])
    const error = await rejects(archive, 'RESULT_ARCHIVE_UNSAFE')
    expect(error.message).toContain('symbolic link')
  })

  it('rejects a hard link to a file outside', async () => {
    await writeFile(join(outside, 'secret'), 'secret')
    const archive = rawTar([{header: {path: 'copy', type: 'Link', linkpath: join(outside, 'secret')}}])
    const error = await rejects(archive, 'RESULT_ARCHIVE_UNSAFE')
    expect(error.message).toContain('hard link')
    await rm(join(outside, 'secret'))
  })

  it('rejects character and block devices and FIFOs', async () => {
    for (const type of ['CharacterDevice', 'BlockDevice', 'FIFO'] as const) {
      await rejects(rawTar([file('ok.txt'), {header: {path: `dev-${type}`, type}}]), 'RESULT_ARCHIVE_UNSAFE')
    }
  })

  it('rejects a duplicate entry instead of overwriting', async () => {
    await rejects(rawTar([file('stdout', 'first'), file('stdout', 'second')]), 'RESULT_ARCHIVE_UNSAFE')
  })

  it('rejects more entries than the cap', async () => {
    const entries = Array.from({length: 11}, (_, i) => file(`f${i}`))
    const error = await rejects(rawTar(entries), 'RESULT_ARCHIVE_TOO_LARGE', {maxEntries: 10})
    expect(error.message).toContain('10 entries')
  })

  it('rejects a huge declared size before reading any of it', async () => {
    const archive = rawTar([{header: {path: 'bomb', type: 'File', size: 2 ** 40}}], {end: false})
    await rejects(archive, 'RESULT_ARCHIVE_TOO_LARGE', {maxBytes: 1024 ** 3})
  })

  it('rejects files adding up past the byte cap', async () => {
    const archive = rawTar([file('a', 'x'.repeat(600)), file('b', 'y'.repeat(600))])
    await rejects(archive, 'RESULT_ARCHIVE_TOO_LARGE', {maxBytes: 1000})
  })

  it('rejects a truncated archive and one with a damaged header', async () => {
    const good = rawTar([file('a.txt', 'z'.repeat(3000))])
    await rejects(good.subarray(0, 1500), 'RESULT_ARCHIVE_INVALID')
    const damaged = Buffer.from(good)
    damaged[10] = (damaged[10] ?? 0) ^ 0xff
    await rejects(damaged, 'RESULT_ARCHIVE_INVALID')
    await rejects(Buffer.from('this is not a tar archive at all'), 'RESULT_ARCHIVE_INVALID')
  })

  it('stops with INTERRUPTED and cleans up when the signal aborts', async () => {
    const parent = join(sandbox, 'aborted')
    await mkdir(parent)
    const controller = new AbortController()
    async function* slow() {
      yield rawTar([file('a.txt')], {end: false})
      controller.abort()
      await new Promise((resolveLater) => setImmediate(resolveLater))
      yield Buffer.alloc(1024)
    }
    const error = await errorOf(unpackResultTar(slow(), join(parent, 'deal'), {signal: controller.signal}))
    expect(error.code).toBe('INTERRUPTED')
    expect(await readdir(parent)).toEqual([])
  })
})
