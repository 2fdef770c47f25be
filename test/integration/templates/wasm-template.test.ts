/**
 * The wasm scaffold ships a prebuilt build/module.wasm so a new module runs at v0.1.0 straight away.
 * This proves the binary is exactly what its AssemblyScript source builds to, and that it runs.
 */
import {execFile} from 'node:child_process'
import {cp, mkdtemp, readFile, rm, symlink} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {ROOT} from '../../helpers/run-cli.js'

const run = promisify(execFile)
const TEMPLATE = join(ROOT, 'templates', 'wasm')
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-wasm-template-'))
  await cp(TEMPLATE, dir, {recursive: true})
  await rm(join(dir, 'build'), {recursive: true, force: true})
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
})

afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** Runs a WASI module in a child process (wasi.start blocks its thread) and returns its stdout. */
async function runWasi(wasm: string, env: Record<string, string>): Promise<string> {
  const script = `
    import {readFileSync} from 'node:fs'
    import {WASI} from 'node:wasi'
    const wasi = new WASI({version: 'preview1', args: ['module'], env: JSON.parse(process.argv[2]), returnOnExit: true})
    const {instance} = await WebAssembly.instantiate(readFileSync(process.argv[1]), wasi.getImportObject())
    process.exitCode = wasi.start(instance)`
  const {stdout} = await run(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script, wasm, JSON.stringify(env)],
    {timeout: 20_000},
  )
  return stdout
}

describe('templates/wasm', () => {
  it('ships the binary its source builds to, byte for byte', async () => {
    await run(process.execPath, [join(ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js'), 'assembly/index.ts', '--target', 'release'], {
      cwd: dir,
      timeout: 60_000,
    })
    const built = await readFile(join(dir, 'build', 'module.wasm'))
    const shipped = await readFile(join(TEMPLATE, 'build', 'module.wasm'))
    expect(built.length).toBeGreaterThan(1000)
    expect(built.equals(shipped)).toBe(true)
  })

  it('runs under WASI, deterministically, using MESSAGE', async () => {
    const wasm = join(TEMPLATE, 'build', 'module.wasm')
    const first = await runWasi(wasm, {MESSAGE: 'hello lilypad frogs'})
    const second = await runWasi(wasm, {MESSAGE: 'hello lilypad frogs'})
    const other = await runWasi(wasm, {MESSAGE: 'something else'})
    expect(first).toContain('hello lilypad frogs')
    expect(first).toBe(second)
    expect(other).not.toBe(first)
  })
})
