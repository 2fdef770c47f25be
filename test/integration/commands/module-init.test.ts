/**
 * `lilypad module init` then `module validate` then `module render` of the new module from its own
 * repository at v0.1.0, for both scaffolds.
 */
import {mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {envelope, runCli} from '../../helpers/run-cli.js'

let root: string
let env: Record<string, string>

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-init-cmd-'))
  env = {DATA_DIR: join(root, 'data'), LILYPAD_CONFIG_DIR: join(root, 'config')}
})

afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

describe.each(['docker', 'wasm'] as const)('lilypad module init --template %s', (template) => {
  const dir = (): string => join(root, `my-${template}-module`)

  it('scaffolds a git repository tagged v0.1.0', async () => {
    const args = [
      'module',
      'init',
      dir(),
      '--json',
      ...(template === 'docker' ? ['--yes'] : ['--template', template]),
    ]
    const run = await runCli(args, env)
    expect(run.exitCode).toBe(0)
    const out = envelope<{
      ok: boolean
      result: {dir: string; template: string; commit: string; tag: string; files: string[]}
    }>(run)
    expect(out.ok).toBe(true)
    expect(out.result).toMatchObject({dir: dir(), template, tag: 'v0.1.0'})
    expect(out.result.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(out.result.files).toContain('lilypad_module.json.tmpl')
    expect(await readdir(dir())).toEqual(
      expect.arrayContaining(['.git', 'README.md', 'lilypad_module.json.tmpl']),
    )
  })

  it('validates', async () => {
    const run = await runCli(['module', 'validate', dir(), '--json'], env)
    expect(run.exitCode).toBe(0)
    const out = envelope<{ok: boolean; result: {ok: boolean; inputs: {name: string; required: boolean}[]}}>(
      run,
    )
    expect(out.result.ok).toBe(true)
    expect(out.result.inputs.length).toBeGreaterThan(0)
  })

  it('renders from its own repository at v0.1.0', async () => {
    const run = await runCli(
      ['module', 'render', `file://${dir()}:v0.1.0`, '-i', 'Message=hello lilypad', '--json'],
      env,
    )
    expect(run.exitCode).toBe(0)
    const out = envelope<{ok: boolean; result: {rendered: unknown; ref: string}}>(run)
    expect(out.ok).toBe(true)
    expect(JSON.stringify(out.result.rendered)).toContain('hello lilypad')
  })

  it('refuses to scaffold into the same, now non-empty, directory', async () => {
    const run = await runCli(['module', 'init', dir(), '--yes', '--template', template, '--json'], env)
    expect(run.exitCode).toBe(2)
    expect(envelope<{error: {code: string; hints: string[]}}>(run).error.code).toBe('DIRECTORY_NOT_EMPTY')
  })
})

describe('lilypad module init', () => {
  it('asks for a template only on a terminal, and says which flag to pass otherwise', async () => {
    const run = await runCli(['module', 'init', join(root, 'no-template'), '--json'], env)
    expect(run.exitCode).toBe(2)
    expect(envelope<{error: {hints: string[]}}>(run).error.hints.join(' ')).toContain('--template')
  })

  it('rejects an unknown template as a usage error', async () => {
    const run = await runCli(['module', 'init', join(root, 'x'), '--template', 'cobol', '--json'], env)
    expect(run.exitCode).toBe(2)
  })
})

describe('lilypad module validate', () => {
  it('lists every problem of a broken module with exit 3', async () => {
    const dir = join(root, 'broken')
    await runCli(['module', 'init', dir, '--yes'], env)
    await writeFile(
      join(dir, 'lilypad_module.json.tmpl'),
      '{"machine": {"cpu": -1}, "job": {"Spec": {"Engine": "Docker", "Docker": {"Image": ""}, "Timeout": "soon"}}}',
    )
    const run = await runCli(['module', 'validate', dir, '--json'], env)
    expect(run.exitCode).toBe(3)
    const out = envelope<{error: {code: string; details: {problems: {pointer: string; message: string}[]}}}>(
      run,
    )
    expect(out.error.code).toBe('MODULE_INVALID')
    const pointers = out.error.details.problems.map((p) => p.pointer)
    expect(pointers).toEqual(expect.arrayContaining(['/machine/cpu', '/job/Spec/Timeout']))
    expect(pointers.length).toBeGreaterThanOrEqual(3)
  })

  it('reports a directory without a template', async () => {
    const run = await runCli(['module', 'validate', root, '--json'], env)
    expect(run.exitCode).toBe(3)
    expect(envelope<{error: {code: string; message: string}}>(run).error.message).toContain(
      'lilypad_module.json.tmpl',
    )
  })
})
