/**
 * The example modules' templates render with the project's renderer and validate, and cowsay keeps
 * the real tags' inputs and defaults (compared with the published templates in test/fixtures).
 */
import {existsSync} from 'node:fs'
import {readFile, readdir} from 'node:fs/promises'
import {join} from 'node:path'

import {describe, expect, it} from '@jest/globals'

import {compileModuleTemplate} from '../../../../src/core/module/template/index.js'
import {validateModuleSpec} from '../../../../src/core/module/validate.js'
import {EXAMPLE_MODULES, MODULE_SOURCES_DIR} from '../../../../src/devnet/git/repos.js'
import {lilypadErrorOf} from '../../../helpers/errors.js'
import {ROOT} from '../../../helpers/run-cli.js'

const REAL_TEMPLATES = join(ROOT, 'test', 'fixtures', 'modules')

async function template(repo: string, tag: string): Promise<string> {
  return readFile(join(MODULE_SOURCES_DIR, repo, 'tags', tag, 'lilypad_module.json.tmpl'), 'utf8')
}

interface WasmJob {
  job: {
    Spec: {
      Engine: string
      Wasm: {EntryModule: {StorageSource: string; Path: string}; EntryPoint: string; Parameters: string[]}
    }
  }
}

function render(text: string, inputs: Record<string, string>): WasmJob {
  const {value} = compileModuleTemplate(text).render(inputs)
  const {module, warnings} = validateModuleSpec(value)
  // The one expected finding: today's Lilypad resource providers run Docker only.
  expect(warnings.map((warning) => warning.pointer)).toEqual(['/job/Spec/Engine'])
  return module as unknown as WasmJob
}

function inputsOf(text: string): {name: string; required: boolean}[] {
  return compileModuleTemplate(text).inputs.map(({name, required}) => ({name, required}))
}

/** The argument the real template passes to cowsay, for the same inputs. */
function realArgument(text: string, inputs: Record<string, string>): string | undefined {
  const {value} = compileModuleTemplate(text).render(inputs)
  return (value as {job: {Spec: {Docker: {Entrypoint: string[]}}}}).job.Spec.Docker.Entrypoint[1]
}

describe('example module sources', () => {
  it('has a directory per module with exactly the listed tags, each with a built module.wasm', async () => {
    const repos = (await readdir(MODULE_SOURCES_DIR)).sort()
    expect(repos).toEqual(Object.keys(EXAMPLE_MODULES).sort())
    for (const [repo, tags] of Object.entries(EXAMPLE_MODULES)) {
      expect((await readdir(join(MODULE_SOURCES_DIR, repo, 'tags'))).sort()).toEqual([...tags].sort())
      expect(existsSync(join(MODULE_SOURCES_DIR, repo, 'files', 'build', 'module.wasm'))).toBe(true)
      expect(existsSync(join(MODULE_SOURCES_DIR, repo, 'files', 'assembly', 'index.ts'))).toBe(true)
    }
  })

  it('every tag renders to a valid Wasm job that runs build/module.wasm from the repository', async () => {
    for (const [repo, tags] of Object.entries(EXAMPLE_MODULES)) {
      for (const tag of tags) {
        const text = await template(repo, tag)
        const inputs = compileModuleTemplate(text).inputs.some((input) => input.required)
          ? {Message: 'hi'}
          : {}
        const module = render(text, inputs)
        expect(module.job.Spec.Engine).toBe('Wasm')
        // The validator spells the storage source as Go's enum does (RepoClone).
        const entry = module.job.Spec.Wasm.EntryModule
        expect([entry.StorageSource.toLowerCase(), entry.Path]).toEqual(['repoclone', 'build/module.wasm'])
        expect(module.job.Spec.Wasm.EntryPoint).toBe('_start')
        expect(module).toMatchObject({machine: {gpu: 0, cpu: 1000, ram: 100}, job: {APIVersion: 'V1beta1'}})
      }
    }
  })

  describe('lilypad-module-cowsay', () => {
    const tags = EXAMPLE_MODULES['lilypad-module-cowsay'] ?? []

    it('takes the same inputs as the real tags and passes Message exactly as their cowsay argument', async () => {
      const messages = ['hi', '', 'say "moo" & <leave>', 'two\nlines', 'ünï 🐄']
      for (const tag of tags) {
        const ours = await template('lilypad-module-cowsay', tag)
        const real = await readFile(join(REAL_TEMPLATES, `cowsay-${tag}.lilypad_module.json.tmpl`), 'utf8')
        expect(inputsOf(ours)).toEqual(inputsOf(real))
        for (const Message of messages) {
          expect(render(ours, {Message}).job.Spec.Wasm.Parameters).toEqual([realArgument(real, {Message})])
        }
      }
    })

    it('v0.0.1 requires Message; later tags default to the real texts', async () => {
      const v1 = await template('lilypad-module-cowsay', 'v0.0.1')
      expect(compileModuleTemplate(v1).inputs).toEqual([
        expect.objectContaining({name: 'Message', required: true}),
      ])
      expect(lilypadErrorOf(() => compileModuleTemplate(v1).render({})).code).toBe('TEMPLATE_INPUT_MISSING')
      const v2 = 'Pass me an input called Message, like lilypad run cowsay:v0.0.2 -i Message=moo'
      expect(render(await template('lilypad-module-cowsay', 'v0.0.2'), {}).job.Spec.Wasm.Parameters).toEqual([
        v2,
      ])
      expect(render(await template('lilypad-module-cowsay', 'v0.0.3'), {}).job.Spec.Wasm.Parameters).toEqual([
        v2,
      ])
      expect(render(await template('lilypad-module-cowsay', 'v0.0.4'), {}).job.Spec.Wasm.Parameters).toEqual([
        'Pass me an input called Message, like lilypad run cowsay:<tag> -i Message=moo',
      ])
    })
  })

  it('outputs declares /outputs; fail and sleep take their inputs as the argument, with defaults', async () => {
    const outputs = render(await template('lilypad-module-outputs', 'v0.1.0'), {})
    expect(outputs).toMatchObject({job: {Spec: {Outputs: [{Name: 'outputs', Path: '/outputs'}]}}})
    expect(outputs.job.Spec.Wasm.Parameters).toEqual([])
    const fail = await template('lilypad-module-fail', 'v0.1.0')
    expect(render(fail, {}).job.Spec.Wasm.Parameters).toEqual(['3'])
    expect(render(fail, {ExitCode: '7'}).job.Spec.Wasm.Parameters).toEqual(['7'])
    const sleep = await template('lilypad-module-sleep', 'v0.1.0')
    expect(render(sleep, {}).job.Spec.Wasm.Parameters).toEqual(['1'])
    expect(render(sleep, {Seconds: '0.2'}).job.Spec.Wasm.Parameters).toEqual(['0.2'])
  })
})
