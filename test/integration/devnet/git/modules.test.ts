/**
 * The example modules' committed wasm: each is exactly what its AssemblyScript source builds to,
 * and each behaves as documented under plain node:wasi. cowsay is checked against what Debian's
 * cowsay 3.03 printed (test/fixtures/cowsay/corpus.json, from generate.sh) and, where cowsay is
 * installed, against the live program on generated messages.
 */
import {execFile, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {cp, mkdtemp, readFile, readdir, rm, stat, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, relative} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import fc from 'fast-check'

import {EXAMPLE_MODULES, MODULE_SOURCES_DIR} from '../../../../src/devnet/git/repos.js'
import {ROOT} from '../../../helpers/run-cli.js'
import {runWasi} from './run-wasi.js'

const execFileAsync = promisify(execFile)
const COWSAY = '/usr/games/cowsay'
const wasmOf = (repo: string): string => join(MODULE_SOURCES_DIR, repo, 'files', 'build', 'module.wasm')
let scratch: string

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lilypad-example-modules-'))
})

afterAll(async () => {
  await rm(scratch, {recursive: true, force: true})
})

describe.each(Object.keys(EXAMPLE_MODULES))('%s', (repo) => {
  it('ships the wasm its source builds to, byte for byte', async () => {
    const dir = join(scratch, `build-${repo}`)
    await cp(join(MODULE_SOURCES_DIR, repo, 'files'), dir, {recursive: true})
    await rm(join(dir, 'build'), {recursive: true, force: true})
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
    await execFileAsync(
      join(ROOT, 'node_modules', '.bin', 'asc'),
      ['assembly/index.ts', '--target', 'release'],
      {
        cwd: dir,
        timeout: 90_000,
      },
    )
    const built = await readFile(join(dir, 'build', 'module.wasm'))
    const shipped = await readFile(wasmOf(repo))
    expect(built.length).toBeGreaterThan(1000)
    expect(built.equals(shipped)).toBe(true)
  }, 120_000)
})

interface CorpusCase {
  message: string
  stdoutBase64: string
  exitCode: number
}

describe('lilypad-module-cowsay', () => {
  const wasm = wasmOf('lilypad-module-cowsay')

  it("prints exactly what Debian's cowsay 3.03 printed, for every message of the corpus", async () => {
    const corpus = JSON.parse(
      await readFile(join(ROOT, 'test', 'fixtures', 'cowsay', 'corpus.json'), 'utf8'),
    ) as {
      cases: CorpusCase[]
    }
    expect(corpus.cases.length).toBeGreaterThanOrEqual(40)
    const results = await runWasi(
      wasm,
      corpus.cases.map((c) => ({args: [c.message]})),
    )
    const mismatches = corpus.cases.filter((c, index) => {
      const result = results[index]
      return !result?.stdout.equals(Buffer.from(c.stdoutBase64, 'base64')) || result.exitCode !== c.exitCode
    })
    expect(mismatches.map((c) => c.message)).toEqual([])
  })

  const live = existsSync(COWSAY) ? it : it.skip
  live(
    'matches the installed cowsay on generated messages',
    async () => {
      const fragments = [
        'a',
        'moo',
        'lilypad',
        'x'.repeat(39),
        'y'.repeat(45),
        ' ',
        ' ',
        '  ',
        '\t',
        '\n',
        '\n\n',
        '\n ',
        '-',
        '-b',
        '0',
        '"',
        '\\',
        '<>&',
        'é',
        '八',
        '十',
        '\u00a0',
        '\u0085',
        '🐄',
        '\u001b[31m',
        '\u0007',
        '\r',
      ]
      const message = fc
        .oneof(
          fc.array(fc.constantFrom(...fragments), {maxLength: 40}).map((parts) => parts.join('')),
          fc.string({unit: 'grapheme', maxLength: 120}),
          fc.string({unit: fc.constantFrom('a', 'b', ' '), maxLength: 200}),
        )
        // Arguments cannot hold NUL bytes.
        .filter((m) => !m.includes('\0'))
      const seed = Date.now()
      const messages = fc.sample(message, {numRuns: 200, seed})
      const results = await runWasi(
        wasm,
        messages.map((m) => ({args: [m]})),
      )
      const mismatches = messages.filter((m, index) => {
        const reference = spawnSync(COWSAY, [m], {
          env: {PATH: '/usr/bin:/bin', LC_ALL: 'C'},
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        const result = results[index]
        return !result?.stdout.equals(reference.stdout) || result.exitCode !== reference.status
      })
      expect({seed, mismatches}).toEqual({seed, mismatches: []})
    },
    60_000,
  )
})

async function listFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {}
  for (const name of (await readdir(dir, {recursive: true})).sort()) {
    const path = join(dir, name)
    if ((await stat(path)).isFile()) {
      files[relative(dir, path)] = createHash('sha256')
        .update(await readFile(path))
        .digest('hex')
    }
  }
  return files
}

describe('lilypad-module-outputs', () => {
  it('writes the same tree of files to /outputs on every run, one of them over 1 MiB', async () => {
    const first = await mkdtemp(join(scratch, 'outputs-'))
    const second = await mkdtemp(join(scratch, 'outputs-'))
    const [a, b] = await runWasi(wasmOf('lilypad-module-outputs'), [
      {args: [], outputs: first},
      {args: [], outputs: second},
    ])
    expect(a?.exitCode).toBe(0)
    expect(a?.stdout.toString()).toMatch(/^Wrote 4 files to \/outputs: .*\n$/)
    const files = await listFiles(first)
    expect(Object.keys(files)).toEqual([
      'data/nested/note.txt',
      'data/random.bin',
      'hello.txt',
      'squares.csv',
    ])
    expect((await stat(join(first, 'data', 'random.bin'))).size).toBeGreaterThan(1024 * 1024)
    expect(await readFile(join(first, 'hello.txt'), 'utf8')).toBe('Hello from lilypad-module-outputs!\n')
    expect(await readFile(join(first, 'squares.csv'), 'utf8')).toContain('\n99,9801\n')
    expect(await listFiles(second)).toEqual(files)
    expect(b?.stdout.equals(a?.stdout ?? Buffer.alloc(0))).toBe(true)
  })

  it('fails with a message when no /outputs directory is provided', async () => {
    const [result] = await runWasi(wasmOf('lilypad-module-outputs'), [{args: []}])
    expect(result?.exitCode).toBe(1)
    expect(result?.stderr.toString()).toContain('no /outputs directory')
  })
})

describe('lilypad-module-fail', () => {
  it('prints to stdout, explains on stderr and exits with the requested code (3 by default)', async () => {
    const [byDefault, seven] = await runWasi(wasmOf('lilypad-module-fail'), [{args: ['3']}, {args: ['7']}])
    expect(byDefault?.exitCode).toBe(3)
    expect(byDefault?.stdout.toString()).toBe('lilypad-module-fail: starting, and about to fail\n')
    expect(byDefault?.stderr.toString()).toContain('failing on purpose with exit code 3')
    expect(seven?.exitCode).toBe(7)
  })
})

describe('lilypad-module-sleep', () => {
  it('really waits the requested time, then succeeds', async () => {
    const [result] = await runWasi(wasmOf('lilypad-module-sleep'), [{args: ['0.3']}])
    expect(result?.exitCode).toBe(0)
    expect(result?.stdout.toString()).toBe('lilypad-module-sleep: slept 0.3 s\n')
    // A lower bound only: a slow machine can wait longer, never shorter.
    expect(result?.elapsedMs).toBeGreaterThanOrEqual(290)
  })

  it('refuses a Seconds value that is not a number', async () => {
    const [result] = await runWasi(wasmOf('lilypad-module-sleep'), [{args: ['soon']}])
    expect(result?.exitCode).toBe(1)
    expect(result?.stderr.toString()).toContain('Seconds must be a number')
  })
})
