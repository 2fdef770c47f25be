import {execFileSync} from 'node:child_process'
import {copyFile, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {checkLocalModule} from '../../../../src/core/module/local-module.js'
import {MODULE_TEMPLATE_FILE} from '../../../../src/core/module/module-ref.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const FIXTURES = join(ROOT, 'test', 'fixtures', 'modules')

let root: string
const env = {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ''}
let counter = 0

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-local-module-'))
})

afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

/** A fresh module directory holding `template` as its lilypad_module.json.tmpl. */
async function moduleDir(template: string): Promise<string> {
  const dir = join(root, `module-${++counter}`)
  await mkdir(dir)
  await writeFile(join(dir, MODULE_TEMPLATE_FILE), template)
  return dir
}

async function fixtureDir(fixture: string): Promise<string> {
  const dir = join(root, `fixture-${++counter}`)
  await mkdir(dir)
  await copyFile(join(FIXTURES, fixture), join(dir, MODULE_TEMPLATE_FILE))
  return dir
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
  }).trim()
}

describe('checkLocalModule on real module templates', () => {
  it('accepts cowsay v0.0.3 and renders its default', async () => {
    const check = await checkLocalModule(await fixtureDir('cowsay-v0.0.3.lilypad_module.json.tmpl'))
    expect(check.ok).toBe(true)
    expect(check.problems).toEqual([])
    expect(check.inputs).toEqual([{name: 'Message', required: false, line: 16}])
    expect(check.warnings).toContainEqual({pointer: '/job/Spec/Verifier', message: 'ignored by Lilypad'})
    expect(check.module?.job.Spec.Docker?.Entrypoint?.[1]).toMatch(/^Pass me an input called Message/)
    expect(check.rendered).toMatchObject({machine: {gpu: 0, cpu: 1000, ram: 100}})
    expect(check.git).toBeUndefined()
  })

  it('renders with the inputs it is given', async () => {
    const check = await checkLocalModule(await fixtureDir('cowsay-v0.0.3.lilypad_module.json.tmpl'), {
      inputs: {Message: 'moo'},
    })
    expect(check.module?.job.Spec.Docker?.Entrypoint).toEqual(['/usr/games/cowsay', 'moo'])
  })

  it.each([
    ['cowsay-v0.0.1.lilypad_module.json.tmpl', 'Message'],
    ['deepseek-r1-7b-a223622b.lilypad_module.json.tmpl', 'request'],
  ])('accepts %s, whose input %s has no default, with a warning', async (fixture, input) => {
    const check = await checkLocalModule(await fixtureDir(fixture))
    expect(check.ok).toBe(true)
    expect(check.inputs.find((i) => i.name === input)?.required).toBe(true)
    expect(check.warnings.map((w) => w.message)).toContain(
      `input "${input}" has no default, so users must pass -i ${input}=…; checked with ${input}="example"`,
    )
  })

  it.each([
    'cowsay-v0.0.2.lilypad_module.json.tmpl',
    'cowsay-v0.0.4.lilypad_module.json.tmpl',
    'lilysay-0.5.2.lilypad_module.json.tmpl',
    'ollama-pipeline-dev6.lilypad_module.json.tmpl',
    'sdxl-pipeline-v1.0-base-lilypad3.lilypad_module.json.tmpl',
  ])('accepts %s with and without its inputs', async (fixture) => {
    const check = await checkLocalModule(await fixtureDir(fixture))
    expect(check.problems).toEqual([])
    expect(check.ok).toBe(true)
    expect(check.inputs.length).toBeGreaterThan(0)
  })
})

describe('checkLocalModule problems', () => {
  it('reports a missing directory', async () => {
    const check = await checkLocalModule(join(root, 'does-not-exist'))
    expect(check.ok).toBe(false)
    expect(check.problems).toEqual([{pointer: '', message: `${join(root, 'does-not-exist')} does not exist`}])
  })

  it('reports a missing template', async () => {
    const dir = join(root, 'no-template')
    await mkdir(dir)
    const check = await checkLocalModule(dir)
    expect(check.ok).toBe(false)
    expect(check.templatePath).toBe(join(dir, MODULE_TEMPLATE_FILE))
    expect(check.problems).toHaveLength(1)
    expect(check.problems[0]?.message).toContain(`${MODULE_TEMPLATE_FILE} not found in ${dir}`)
  })

  it('reports a template syntax error', async () => {
    const check = await checkLocalModule(await moduleDir('{"machine": {}, "job": {"Spec": [{{if .X}}1]}}'))
    expect(check.ok).toBe(false)
    expect(check.problems).toHaveLength(1)
    expect(check.problems[0]?.message).toMatch(/syntax error on line 1/)
  })

  it('reports rendered text that is not JSON', async () => {
    const check = await checkLocalModule(
      await moduleDir('{"machine": {}, "job": {"Spec": {"Docker": {"Image": "a:1"},}}}'),
    )
    expect(check.ok).toBe(false)
    expect(check.problems[0]?.message).toMatch(/not valid JSON/)
  })

  it('lists every schema problem with its pointer', async () => {
    const check = await checkLocalModule(
      await moduleDir(
        '{"machine": {"cpu": "x", "ram": -1}, "job": {"Spec": {"Engine": "Docker", "Timeout": "soon", "Network": {"Type": "Web"}}}}',
      ),
    )
    expect(check.ok).toBe(false)
    expect(check.module).toBeUndefined()
    expect(check.rendered).toBeDefined()
    expect(check.problems.map((p) => p.pointer).sort()).toEqual([
      '/job/Spec/Docker/Image',
      '/job/Spec/Network/Type',
      '/job/Spec/Timeout',
      '/machine/cpu',
      '/machine/ram',
    ])
  })

  it('finds a mistake inside an {{if}} branch that the defaults do not reach', async () => {
    const template =
      '{"machine": {}, "job": {"Spec": {"Docker": {"Image": "a:1", "EnvironmentVariables": [' +
      '{{ if .Seed }}"{{ subst "SEED=%s" .Seed }}",{{ end }}' +
      '{{ if .Mode }}"{{ subst "%s" .Mode }}"{{ else }}"MODE=fast"{{ end }}]}}}}'
    const check = await checkLocalModule(await moduleDir(template))
    expect(check.ok).toBe(false)
    expect(check.module).toBeDefined()
    expect(check.problems).toEqual([
      {
        pointer: '/job/Spec/Docker/EnvironmentVariables/1',
        message: 'must look like KEY=VALUE (when Seed, Mode are given)',
      },
    ])
  })
})

describe('checkLocalModule git facts', () => {
  it('reports HEAD, its tags and uncommitted template changes', async () => {
    const dir = await fixtureDir('cowsay-v0.0.3.lilypad_module.json.tmpl')
    git(dir, 'init', '--quiet')
    const empty = await checkLocalModule(dir, {env})
    expect(empty.git).toEqual({commit: null, tags: [], templateChanged: true})

    git(dir, 'add', MODULE_TEMPLATE_FILE)
    git(dir, 'commit', '--quiet', '-m', 'Module')
    git(dir, 'tag', 'v1.0.0')
    git(dir, 'tag', 'latest-try')
    const head = git(dir, 'rev-parse', 'HEAD')
    const clean = await checkLocalModule(dir, {env})
    expect(clean.git).toEqual({commit: head, tags: ['latest-try', 'v1.0.0'], templateChanged: false})
    expect(clean.warnings.filter((w) => w.message.includes('uncommitted'))).toEqual([])

    await writeFile(
      join(dir, MODULE_TEMPLATE_FILE),
      '{"machine": {}, "job": {"Spec": {"Docker": {"Image": "a:2"}}}}',
    )
    const changed = await checkLocalModule(dir, {env})
    expect(changed.ok).toBe(true)
    expect(changed.git?.templateChanged).toBe(true)
    expect(changed.warnings).toContainEqual({
      pointer: '',
      message: `${MODULE_TEMPLATE_FILE} has uncommitted changes; Lilypad runs the committed version`,
    })
  })
})
