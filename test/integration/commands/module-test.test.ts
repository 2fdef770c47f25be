/**
 * `lilypad module test`: modules made by the `wasm` and `docker` scaffolds (real git repositories
 * in a temp dir), run from their directory and by a `file://` ref, through the real executors.
 * Docker is pointed at a socket that does not exist: this machine has no engine, and the test must
 * not depend on one that happens to be there.
 */
import {execFile} from 'node:child_process'
import {copyFile, cp, mkdir, readFile, readdir, stat, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {createExecutors} from '../../../src/core/executors/index.js'
import {DEFAULT_TEST_SEED, type ModuleTestEvent, testModule} from '../../../src/core/module/test-module.js'
import {FALLBACK_GIT_IDENTITY, scaffoldModule} from '../../../src/core/module/scaffold.js'
import {computeDataId} from '../../../src/core/results/data-id.js'
import {makeTempDir, removeTempDir} from '../../helpers/git-fixtures.js'
import {ROOT, envelope, runCli} from '../../helpers/run-cli.js'

interface TestResult {
  module: {path?: string; repo?: string; ref?: string; commit?: string; files?: number}
  inputs: Record<string, string>
  seed: string
  engine: string
  exitCode: number
  resultDir: string
  dataId: string
  durationMs: number
  truncated: {stdout: boolean; stderr: boolean}
}
type Ok = {ok: true; result: TestResult; warnings: string[]}
type Failed = {ok: false; error: {code: string; message: string; hints: string[]}}

let root: string
let env: Record<string, string>
let wasmDir: string
const execFileAsync = promisify(execFile)
const gitEnv = {PATH: process.env.PATH ?? '/usr/bin:/bin'}

async function scaffold(name: string, template: 'wasm' | 'docker'): Promise<string> {
  const dir = join(root, name)
  await scaffoldModule({
    dir,
    template,
    templatesDir: join(ROOT, 'templates'),
    git: FALLBACK_GIT_IDENTITY,
    env: gitEnv,
    ...(template === 'docker' ? {image: 'docker.io/example/hello:v0.1.0'} : {}),
  })
  return dir
}

async function testJson(args: readonly string[]): Promise<Ok> {
  const run = await runCli(['module', 'test', ...args, '--json'], env)
  if (run.exitCode !== 0) throw new Error(`exit ${run.exitCode}: ${run.stdout}${run.stderr}`)
  return envelope<Ok>(run)
}

async function testFails(args: readonly string[]): Promise<{exitCode: number; out: Failed}> {
  const run = await runCli(['module', 'test', ...args, '--json'], env)
  return {exitCode: run.exitCode, out: envelope<Failed>(run)}
}

beforeAll(async () => {
  root = await makeTempDir('lilypad-module-test-cmd-')
  env = {
    DATA_DIR: join(root, 'data'),
    LILYPAD_CONFIG_DIR: join(root, 'config'),
    DOCKER_HOST: `unix://${join(root, 'no-docker.sock')}`,
  }
  wasmDir = await scaffold('hello', 'wasm')
})

afterAll(async () => {
  await removeTempDir(root)
})

describe('lilypad module test on a module made by module init --template wasm', () => {
  let first: Ok

  it('prints the result directory and its data ID, and the same data ID on a second run', async () => {
    first = await testJson([wasmDir])
    const second = await testJson([wasmDir])
    expect(first.result).toMatchObject({
      module: {path: wasmDir, files: expect.any(Number)},
      inputs: {},
      seed: DEFAULT_TEST_SEED,
      engine: 'wasm',
      exitCode: 0,
      truncated: {stdout: false, stderr: false},
    })
    expect(first.result.module.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(first.result.dataId).toMatch(/^Qm[1-9A-HJ-NP-Za-km-z]{44}$/)
    expect(first.result.resultDir.startsWith(join(root, 'data', 'module-tests', 'hello-'))).toBe(true)
    expect(second.result.resultDir).not.toBe(first.result.resultDir)
    expect(second.result.dataId).toBe(first.result.dataId)
    expect(await computeDataId(first.result.resultDir)).toBe(first.result.dataId)
    expect(await computeDataId(second.result.resultDir)).toBe(first.result.dataId)
    expect(await readFile(join(first.result.resultDir, 'stdout'), 'utf8')).toContain('Message: hello')
    expect(await readFile(join(first.result.resultDir, 'exitCode'), 'utf8')).toBe('0')
  })

  it('prints the same for humans: where the result is, its data ID, the exit code and stdout', async () => {
    const run = await runCli(['module', 'test', wasmDir], env)
    expect(run.exitCode).toBe(0)
    const resultDir = /^ {2}Result: +(\S+)$/m.exec(run.stdout)?.[1]
    expect(resultDir).toBeDefined()
    expect((await stat(resultDir ?? '')).isDirectory()).toBe(true)
    expect(run.stdout).toMatch(new RegExp(`^ {2}Data ID: +${first.result.dataId}$`, 'm'))
    expect(run.stdout).toMatch(/^ {2}Exit code: 0$/m)
    expect(run.stdout).toContain('    Message: hello')
    expect(run.stdout).toContain('same data ID')
  })

  it('runs the current directory by default', async () => {
    const cwd = process.cwd()
    process.chdir(wasmDir)
    try {
      expect((await testJson([])).result.dataId).toBe(first.result.dataId)
    } finally {
      process.chdir(cwd)
    }
  })

  it('passes -i inputs: another message, other stdout, another data ID', async () => {
    const out = await testJson([wasmDir, '-i', 'Message=frogs and toads'])
    expect(out.result.inputs).toEqual({Message: 'frogs and toads'})
    expect(await readFile(join(out.result.resultDir, 'stdout'), 'utf8')).toContain('Message: frogs and toads')
    expect(out.result.dataId).not.toBe(first.result.dataId)
    expect(await computeDataId(out.result.resultDir)).toBe(out.result.dataId)
  })

  it('gives the data ID of the same module run by a file:// ref at its tag', async () => {
    const out = await testJson([`${pathToFileURL(wasmDir).href}:v0.1.0`])
    expect(out.result.module).toEqual({
      repo: pathToFileURL(wasmDir).href,
      ref: 'v0.1.0',
      commit: first.result.module.commit,
    })
    expect(out.result.engine).toBe('wasm')
    expect(out.result.resultDir.startsWith(join(root, 'data', 'module-tests', 'hello-'))).toBe(true)
    expect(out.result.dataId).toBe(first.result.dataId)
  })

  it('writes to --output, takes --seed, and refuses an --output that exists', async () => {
    const output = join(root, 'chosen', 'result')
    const out = await testJson([wasmDir, '--output', output, '--seed', 'QmSomeDeal'])
    expect(out.result).toMatchObject({resultDir: output, seed: 'QmSomeDeal'})
    // This module reads neither clock nor randomness: the seed does not change its bytes.
    expect(out.result.dataId).toBe(first.result.dataId)
    expect(await readdir(output)).toEqual(expect.arrayContaining(['exitCode', 'outputs', 'stderr', 'stdout']))

    const again = await testFails([wasmDir, '--output', output])
    expect(again.exitCode).toBe(2)
    expect(again.out.error.code).toBe('USAGE')
    expect(again.out.error.message).toContain(output)
  })
})

describe('lilypad module test: what a local directory runs as', () => {
  it('uses the working tree, uncommitted edits included: a required input that is missing fails as the template says', async () => {
    const dir = await scaffold('strict', 'wasm')
    const template = join(dir, 'lilypad_module.json.tmpl')
    const text = await readFile(template, 'utf8')
    const strict = text.replace(/\{\{ if \.Message \}\}.*\{\{ end \}\}/, '{{ .Message }}')
    expect(strict).not.toBe(text)
    await writeFile(template, strict)

    const missing = await testFails([dir])
    expect(missing.exitCode).toBe(3)
    expect(missing.out.error.code).toBe('TEMPLATE_INPUT_MISSING')
    expect(missing.out.error.message).toContain('Message')

    const given = await testJson([dir, '-i', 'Message=given'])
    expect(await readFile(join(given.result.resultDir, 'stdout'), 'utf8')).toContain('Message: given')
  })

  it('leaves out files git ignores and keeps untracked ones it would commit', async () => {
    const dir = await scaffold('ignored', 'wasm')
    const wasm = join(dir, 'build', 'module.wasm')
    await writeFile(join(dir, '.gitignore'), 'build/leftover.wasm\n', {flag: 'a'})
    await copyFile(wasm, join(dir, 'build', 'leftover.wasm'))
    await copyFile(wasm, join(dir, 'build', 'fresh.wasm'))
    const template = join(dir, 'lilypad_module.json.tmpl')
    const text = await readFile(template, 'utf8')
    const pointAt = (file: string) => writeFile(template, text.replace('build/module.wasm', file))

    await pointAt('build/leftover.wasm')
    const ignored = await testFails([dir])
    expect(ignored.exitCode).toBe(6)
    expect(ignored.out.error.code).toBe('JOB_CANNOT_RUN')
    expect(ignored.out.error.message).toContain('build/leftover.wasm')

    await pointAt('build/fresh.wasm')
    const untracked = await testJson([dir])
    expect(untracked.result.exitCode).toBe(0)
  })

  it('copies symbolic links as links, so an entry module reached through one still runs', async () => {
    const dir = await scaffold('linked', 'wasm')
    await symlink('module.wasm', join(dir, 'build', 'link.wasm'))
    const template = join(dir, 'lilypad_module.json.tmpl')
    await writeFile(
      template,
      (await readFile(template, 'utf8')).replace('build/module.wasm', 'build/link.wasm'),
    )
    const out = await testJson([dir])
    expect(out.result.exitCode).toBe(0)
    expect(await readFile(join(out.result.resultDir, 'stdout'), 'utf8')).toContain('Message: hello')
  })

  it('takes a directory that is not a git repository whole; a non-zero exit is a result, with a warning', async () => {
    // The devnet's failing module: exits with the code it is given and says so on stderr.
    const source = join(ROOT, 'src', 'devnet', 'git', 'modules', 'lilypad-module-fail')
    const dir = join(root, 'plain-fail')
    await cp(join(source, 'files'), dir, {recursive: true})
    await copyFile(
      join(source, 'tags', 'v0.1.0', 'lilypad_module.json.tmpl'),
      join(dir, 'lilypad_module.json.tmpl'),
    )
    const out = await testJson([dir, '-i', 'ExitCode=7'])
    expect(out.result.module.path).toBe(dir)
    expect(out.result.module.commit).toBeUndefined()
    expect(out.result.module.files).toBeGreaterThanOrEqual(2)
    expect(out.result.exitCode).toBe(7)
    expect(await readFile(join(out.result.resultDir, 'exitCode'), 'utf8')).toBe('7')
    expect(await computeDataId(out.result.resultDir)).toBe(out.result.dataId)
    expect(out.warnings.some((w) => w.includes('exited with code 7'))).toBe(true)

    const human = await runCli(['module', 'test', dir, '-i', 'ExitCode=7'], env)
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toMatch(/^ {2}Exit code: 7$/m)
    expect(human.stderr).toContain('exited with code 7')
  })

  it('says when the directory has no template', async () => {
    const dir = join(root, 'empty-module')
    await mkdir(dir)
    await writeFile(join(dir, 'README.md'), 'nothing here\n')
    const out = await testFails([dir])
    expect(out.exitCode).toBe(3)
    expect(out.out.error.code).toBe('MODULE_TEMPLATE_MISSING')
  })
})

describe('testModule', () => {
  it('names default result directories by module and time, counting up when one is taken', async () => {
    const events: ModuleTestEvent[] = []
    const dataDir = join(root, 'core-data')
    const options = {
      target: wasmDir,
      inputs: {},
      dataDir,
      moduleBase: 'file:///nowhere',
      executors: await createExecutors({dockerHost: env.DOCKER_HOST}),
      env: gitEnv,
      now: () => new Date('2025-03-04T05:06:07.890Z'),
      onEvent: (event: ModuleTestEvent) => events.push(event),
    }
    const one = await testModule(options)
    const two = await testModule(options)
    expect(one.resultDir).toBe(join(dataDir, 'module-tests', 'hello-20250304T050607Z'))
    expect(two.resultDir).toBe(join(dataDir, 'module-tests', 'hello-20250304T050607Z-2'))
    expect(two.dataId).toBe(one.dataId)
    expect(one.stdoutHead).toContain('Message: hello')
    expect(one.stdoutMore).toBe(false)
    const copied = events.find((event) => event.type === 'module-test.copied')
    // git itself says which files a commit of this clean tree would carry.
    const tracked = (await execFileAsync('git', ['ls-files', '-z'], {cwd: wasmDir})).stdout
      .split('\0')
      .filter(Boolean)
    expect(copied).toEqual({type: 'module-test.copied', dir: wasmDir, source: 'git', files: tracked.length})
    expect(one.module).toMatchObject({kind: 'local', files: tracked.length})
    expect(events.map((event) => event.type)).toEqual(
      expect.arrayContaining(['executor.started', 'executor.finished', 'job.data-id']),
    )
  })
})

describe('lilypad module test on a module made by module init --template docker', () => {
  it('fails with ENGINE_UNAVAILABLE on a machine without a Docker engine, and writes nothing', async () => {
    const dir = await scaffold('docker-hello', 'docker')
    const output = join(root, 'docker-result')
    const out = await testFails([dir, '--output', output])
    expect(out.exitCode).toBe(6)
    expect(out.out.error.code).toBe('ENGINE_UNAVAILABLE')
    expect(out.out.error.hints.join(' ')).toContain('DOCKER_HOST')
    await expect(stat(output)).rejects.toThrow()
  })
})

describe('lilypad module test: refs', () => {
  it('reports a ref that names no repository', async () => {
    const missing = pathToFileURL(join(root, 'nowhere')).href
    const out = await testFails([`${missing}:v1`])
    expect(out.exitCode).toBe(3)
    expect(out.out.error.code).toBe('MODULE_NOT_FOUND')
  })

  it('refuses an argument that is neither a directory nor a module ref', async () => {
    const out = await testFails([join(root, 'no-such-dir')])
    expect(out.exitCode).toBe(2)
    expect(out.out.error.code).toBe('USAGE')
    expect(out.out.error.message).toContain('not a module directory')
  })
})
