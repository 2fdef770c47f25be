/** The real module templates (verbatim copies in test/fixtures/modules) render like the Go CLI. */
import {readdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from '@jest/globals'

import {lilypadErrorOf} from '../../../../helpers/errors.js'
import {compileModuleTemplate} from '../../../../../src/core/module/template/index.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'fixtures', 'modules')
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')
const template = (name: string) =>
  compileModuleTemplate(fixture(`${name}.lilypad_module.json.tmpl`), {templateName: `${name}.tmpl`})
const TEMPLATES = readdirSync(FIXTURES).filter((name) => name.endsWith('.tmpl'))

/** Navigates parsed JSON without type gymnastics in every assertion. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], value)
}

describe('real module templates', () => {
  it('finds the eight fixture templates', () => {
    expect(TEMPLATES).toHaveLength(8)
  })

  it.each(TEMPLATES)('%s renders to a module object with every input it uses given', (name) => {
    const compiled = compileModuleTemplate(fixture(name))
    const inputs = Object.fromEntries(compiled.inputs.map((input) => [input.name, `value of ${input.name}`]))
    const {text, value} = compiled.render(inputs)
    expect(Object.keys(value as object)).toEqual(expect.arrayContaining(['machine', 'job']))
    for (const input of compiled.inputs) expect(text).toContain(`value of ${input.name}`)
  })

  it('cowsay v0.0.3 with Message=hi is byte-identical to the Go render', () => {
    expect(template('cowsay-v0.0.3').renderText({Message: 'hi'})).toBe(
      fixture('cowsay-v0.0.3.rendered-Message-hi.json'),
    )
  })

  it('cowsay v0.0.3 without inputs is byte-identical to the Go render (the else branch)', () => {
    const compiled = template('cowsay-v0.0.3')
    expect(compiled.renderText({})).toBe(fixture('cowsay-v0.0.3.rendered-no-inputs.json'))
    expect(at(compiled.render({}).value, 'job', 'Spec', 'Docker', 'Entrypoint')).toEqual([
      '/usr/games/cowsay',
      'Pass me an input called Message, like lilypad run cowsay:v0.0.2 -i Message=moo',
    ])
  })

  it('cowsay v0.0.3 with an empty Message takes the if branch (a JSON-encoded "" is truthy, as in Go)', () => {
    expect(
      at(template('cowsay-v0.0.3').render({Message: ''}).value, 'job', 'Spec', 'Docker', 'Entrypoint'),
    ).toEqual(['/usr/games/cowsay', ''])
  })

  it('cowsay v0.0.3 keeps a hostile Message verbatim as one argument', () => {
    const message = 'a "quoted" \\ {{.Message}} </script> & \u2028 🐸\n'
    const {value} = template('cowsay-v0.0.3').render({Message: message})
    expect(at(value, 'job', 'Spec', 'Docker', 'Entrypoint')).toEqual(['/usr/games/cowsay', message])
  })

  it('cowsay v0.0.1 without Message refuses, naming the input, the line and the flag to pass', () => {
    const error = lilypadErrorOf(() => template('cowsay-v0.0.1').render({}))
    expect(error.code).toBe('TEMPLATE_INPUT_MISSING')
    expect(error.message).toBe('Input "Message" is required by the template (line 16) but was not given.')
    expect(error.hints).toContain('Pass it: -i Message=<value>')
    expect(error.details).toMatchObject({input: 'Message', line: 16, template: 'cowsay-v0.0.1.tmpl'})
  })

  it('lilysay 0.5.2 builds its environment with subst, or falls back to the defaults', () => {
    const env = (inputs: Record<string, string>): unknown =>
      at(template('lilysay-0.5.2').render(inputs).value, 'job', 'Spec', 'Docker', 'EnvironmentVariables')
    expect(env({Message: 'hello world', Image: 'lilyfrog'})).toEqual([
      'IMAGE=lilyfrog',
      'MESSAGE=hello world',
    ])
    expect(env({Message: 'moo'})).toEqual(['IMAGE=lilypad', 'MESSAGE=moo'])
    expect(env({})).toEqual(['IMAGE=lilypad', 'Message=Hello World'])
  })

  it('lilysay renders subst results byte-identically to Go for plain values', () => {
    const text = template('lilysay-0.5.2').renderText({Message: 'hello world', Image: 'lilyfrog'})
    expect(text).toContain('\n          "IMAGE=lilyfrog",\n          "MESSAGE=hello world"\n        ],')
  })

  it('lilysay keeps quotes and backslashes in a Message valid (where Go would break the JSON)', () => {
    const message = 'say "hi" \\o/'
    const env = at(
      template('lilysay-0.5.2').render({Message: message}).value,
      'job',
      'Spec',
      'Docker',
      'EnvironmentVariables',
    )
    expect(env).toEqual(['IMAGE=lilypad', `MESSAGE=${message}`])
  })

  it('sdxl v1.0-base-lilypad3 emits one env entry per given input, in template order', () => {
    const env = (inputs: Record<string, string>): unknown =>
      at(
        template('sdxl-pipeline-v1.0-base-lilypad3').render(inputs).value,
        'job',
        'Spec',
        'EngineSpec',
        'Params',
        'EnvironmentVariables',
      )
    expect(env({})).toEqual(['HF_HUB_OFFLINE=1'])
    expect(env({Steps: '20', Prompt: 'a frog', Seed: '42'})).toEqual([
      'PROMPT=a frog',
      'SEED=42',
      'STEPS=20',
      'HF_HUB_OFFLINE=1',
    ])
    expect(
      env({
        Prompt: 'p',
        Seed: '1',
        Steps: '2',
        Sampler: 'euler',
        Scheduler: 'normal',
        Size: '1024',
        Batching: '4',
      }),
    ).toEqual([
      'PROMPT=p',
      'SEED=1',
      'STEPS=2',
      'SAMPLER=euler',
      'SCHEDULER=normal',
      'SIZE=1024',
      'BATCHING=4',
      'HF_HUB_OFFLINE=1',
    ])
  })

  it('ollama dev6 has a PROMPT only when Prompt is given', () => {
    const env = (inputs: Record<string, string>): unknown =>
      at(
        template('ollama-pipeline-dev6').render(inputs).value,
        'job',
        'Spec',
        'Docker',
        'EnvironmentVariables',
      )
    expect(env({Prompt: 'why is the sky blue?'})).toEqual(['PROMPT=why is the sky blue?'])
    expect(env({})).toEqual([])
  })

  it('deepseek passes the request as the second entrypoint argument and requires it', () => {
    const request = 'eyJtb2RlbCI6ImRlZXBzZWVrLXIxOjdiIiwibWVzc2FnZXMiOltdfQ=='
    const compiled = template('deepseek-r1-7b-a223622b')
    expect(at(compiled.render({request}).value, 'job', 'Spec', 'Docker', 'Entrypoint')).toEqual([
      '/app/src/run_model',
      request,
    ])
    const error = lilypadErrorOf(() => compiled.render({}))
    expect(error.code).toBe('TEMPLATE_INPUT_MISSING')
    expect(error.details).toMatchObject({input: 'request', line: 9})
  })
})

describe('input analysis of the real templates', () => {
  it('cowsay v0.0.1 requires Message (a bare use on line 16)', () => {
    expect(template('cowsay-v0.0.1').inputs).toEqual([{name: 'Message', required: true, line: 16}])
  })

  it.each(['cowsay-v0.0.2', 'cowsay-v0.0.3', 'cowsay-v0.0.4'])(
    '%s makes Message optional (guarded by if)',
    (name) => {
      expect(template(name).inputs).toEqual([{name: 'Message', required: false, line: 16}])
    },
  )

  it('sdxl uses seven optional inputs, in template order', () => {
    expect(template('sdxl-pipeline-v1.0-base-lilypad3').inputs).toEqual(
      ['Prompt', 'Seed', 'Steps', 'Sampler', 'Scheduler', 'Size', 'Batching'].map((name, i) => ({
        name,
        required: false,
        line: 22 + i,
      })),
    )
  })

  it('lilysay uses Image then Message, both optional', () => {
    expect(template('lilysay-0.5.2').inputs).toEqual([
      {name: 'Image', required: false, line: 20},
      {name: 'Message', required: false, line: 21},
    ])
  })

  it('ollama uses an optional Prompt, deepseek a required request', () => {
    expect(template('ollama-pipeline-dev6').inputs).toEqual([{name: 'Prompt', required: false, line: 20}])
    expect(template('deepseek-r1-7b-a223622b').inputs).toEqual([{name: 'request', required: true, line: 9}])
  })
})
