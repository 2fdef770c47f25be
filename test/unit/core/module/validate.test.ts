import {readFileSync, readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from '@jest/globals'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {
  type ModuleProblem,
  engineOf,
  formatModuleProblem,
  validateModuleSpec,
} from '../../../../src/core/module/validate.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const FIXTURES = join(ROOT, 'test', 'fixtures', 'modules')

/** Inputs plausible for every real template (each reads a subset). */
const INPUTS: Record<string, string> = {
  Message: 'hi there', // no quotes: subst does not escape them (§1.7), in Go too
  Image: 'lilyfrog',
  Prompt: 'a frog on a lilypad',
  Seed: '42',
  Steps: '20',
  request: 'eyJtb2RlbCI6ImRlZXBzZWVrIn0=',
}

/**
 * Enough of the Go-template dialect for the real templates, so this test does not depend on the
 * renderer: if/else/end (not nested), subst, and bare fields, with JSON-encoded inputs (§1.7).
 */
function renderForTest(template: string, inputs: Record<string, string>): unknown {
  const field = (name: string): string | undefined =>
    Object.hasOwn(inputs, name) ? JSON.stringify(inputs[name]) : undefined
  let text = template.replace(
    /\{\{-?\s*if\s+\.(\w+)\s*-?\}\}([\s\S]*?)(?:\{\{-?\s*else\s*-?\}\}([\s\S]*?))?\{\{-?\s*end\s*-?\}\}/g,
    (_match, name: string, then: string, otherwise: string | undefined) =>
      field(name) === undefined ? (otherwise ?? '') : then,
  )
  text = text.replace(/\{\{\s*subst\s+"([^"]*)"\s+\.(\w+)\s*\}\}/g, (_match, format: string, name: string) =>
    format.replace('%s', inputs[name] ?? ''),
  )
  text = text.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_match, name: string) => field(name) ?? '<no value>')
  return JSON.parse(text)
}

/** The problems a module is rejected with (fails the test if it is accepted). */
function problemsOf(value: unknown): ModuleProblem[] {
  try {
    validateModuleSpec(value)
  } catch (error) {
    if (isLilypadError(error, 'MODULE_INVALID')) return error.details.problems as unknown as ModuleProblem[]
    throw error
  }
  throw new Error('expected MODULE_INVALID')
}

const pointersOf = (problems: readonly ModuleProblem[]): string[] => problems.map((p) => p.pointer)

/** A small valid Docker module, built fresh for each test. */
function dockerModule(): {
  machine: Record<string, unknown>
  job: {APIVersion: string; Spec: Record<string, unknown>}
} {
  return {
    machine: {gpu: 0, cpu: 1000, ram: 100},
    job: {
      APIVersion: 'V1beta1',
      Spec: {
        Engine: 'Docker',
        Docker: {Image: 'alpine:3.20', Entrypoint: ['echo', 'hi'], EnvironmentVariables: ['A=1']},
        Network: {Type: 'None'},
        Outputs: [{Name: 'outputs', Path: '/outputs'}],
        Resources: {CPU: '1', Memory: '100Mb', GPU: ''},
        Timeout: 600,
      },
    },
  }
}

describe('validateModuleSpec on real modules', () => {
  const rendered = ['cowsay-v0.0.3.rendered-Message-hi.json', 'cowsay-v0.0.3.rendered-no-inputs.json']

  it.each(rendered)('accepts %s and warns about Verifier', (file) => {
    const value: unknown = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'))
    const {module, warnings} = validateModuleSpec(value)
    expect(warnings).toContainEqual({pointer: '/job/Spec/Verifier', message: 'ignored by Lilypad'})
    expect(module.job.Spec.Docker?.Image).toMatch(/^grycap\/cowsay@sha256:/)
    expect(module.job.Spec).not.toHaveProperty('Verifier')
    expect(module.job.Spec.PublisherSpec?.Type).toBe('Ipfs')
    expect(engineOf(module)).toBe('docker')
  })

  const templates = readdirSync(FIXTURES).filter((name) => name.endsWith('.tmpl'))

  it('finds the real templates', () => {
    expect(templates.length).toBeGreaterThanOrEqual(8)
  })

  it.each(templates)('accepts %s rendered with inputs and without', (file) => {
    const source = readFileSync(join(FIXTURES, file), 'utf8')
    for (const inputs of [INPUTS, {}]) {
      // cowsay v0.0.1 has no default: without inputs Go prints <no value> and the JSON breaks.
      if (file.startsWith('cowsay-v0.0.1') && Object.keys(inputs).length === 0) continue
      // deepseek has no default for `request` either.
      if (file.startsWith('deepseek') && Object.keys(inputs).length === 0) continue
      const {module} = validateModuleSpec(renderForTest(source, inputs), {source: file})
      expect(module.job.Spec).toBeDefined()
    }
  })

  it('accepts the EngineSpec style (sdxl-pipeline) with a warning that providers ignore it', () => {
    const source = readFileSync(
      join(FIXTURES, 'sdxl-pipeline-v1.0-base-lilypad3.lilypad_module.json.tmpl'),
      'utf8',
    )
    const {module, warnings} = validateModuleSpec(renderForTest(source, INPUTS))
    expect(engineOf(module)).toBe('docker')
    const engineSpec = warnings.find((w) => w.pointer === '/job/Spec/EngineSpec')
    expect(engineSpec?.message).toMatch(/ignored by current Lilypad resource providers.*Spec\.Docker/)
  })

  it('warns about machine.vram (deepseek) and keeps the GPU count', () => {
    const source = readFileSync(join(FIXTURES, 'deepseek-r1-7b-a223622b.lilypad_module.json.tmpl'), 'utf8')
    const {module, warnings} = validateModuleSpec(renderForTest(source, INPUTS))
    expect(warnings).toContainEqual({pointer: '/machine/vram', message: 'ignored by Lilypad'})
    expect(module.machine).toEqual({gpu: 1, cpu: 8000, ram: 16000})
  })

  it('warns about a moving image tag (cowsay v0.0.4 uses :latest)', () => {
    const source = readFileSync(join(FIXTURES, 'cowsay-v0.0.4.lilypad_module.json.tmpl'), 'utf8')
    const {warnings} = validateModuleSpec(renderForTest(source, INPUTS))
    expect(warnings.find((w) => w.pointer === '/job/Spec/Docker/Image')?.message).toMatch(/moving tag/)
  })
})

describe('validateModuleSpec problems', () => {
  it('lists every problem of a broken module with its pointer', () => {
    const broken = {
      machine: {gpu: 0, cpu: '1000', ram: -5, gpus: [{name: 'A100', vram: 'lots'}]},
      job: {
        Metadata: {CreatedAt: 'yesterday'},
        Spec: {
          Engine: 'Docker',
          Docker: {Image: '', Entrypoint: ['run', 3], EnvironmentVariables: ['NOEQUALS', '=v', 'OK=1']},
          Network: {Type: 'Internet'},
          Timeout: 'soon',
          Deal: {Concurrency: 1.5},
          Outputs: [{Name: '', Path: '/outputs'}, {Name: 'logs'}],
          PublisherSpec: {Type: 'dropbox'},
        },
      },
      executionTimeoutSeconds: -1,
    }
    const problems = problemsOf(broken)
    const text = problems.map(formatModuleProblem)
    expect(text).toEqual(
      expect.arrayContaining([
        '/machine/cpu must be integer',
        '/machine/ram must be >= 0',
        '/machine/gpus/0/vram must be integer',
        '/job/Metadata/CreatedAt must be an RFC 3339 time such as "0001-01-01T00:00:00Z"',
        '/job/Spec/Docker/Image must name the Docker image to run',
        '/job/Spec/Docker/Entrypoint/1 must be string',
        '/job/Spec/Docker/EnvironmentVariables/0 must look like KEY=VALUE',
        '/job/Spec/Docker/EnvironmentVariables/1 must look like KEY=VALUE',
        '/job/Spec/Network/Type must be one of None, Full, HTTP',
        '/job/Spec/Timeout must be integer',
        '/job/Spec/Deal/Concurrency must be integer',
        '/job/Spec/Outputs/0/Name must name the output folder',
        '/job/Spec/Outputs/1/Path must be the path the job writes to, such as /outputs',
        '/job/Spec/PublisherSpec/Type must be one of Noop, Ipfs, Estuary, S3',
        '/executionTimeoutSeconds must be >= 0',
      ]),
    )
    expect(pointersOf(problems)).not.toContain('/job/Spec/Docker/EnvironmentVariables/2')
    expect(problems).toHaveLength(15)
  })

  it('says how many problems there are and lists them in the message', () => {
    let message = ''
    try {
      validateModuleSpec(
        {machine: {cpu: 'x'}, job: {Spec: {Docker: {Image: 'a:1'}, Timeout: 1.5}}},
        {source: 'x:v1'},
      )
    } catch (error) {
      if (!isLilypadError(error, 'MODULE_INVALID')) throw error
      message = error.message
      expect(error.category).toBe('module')
      expect(error.details.source).toBe('x:v1')
    }
    expect(message.split('\n')).toEqual([
      'The module x:v1 is not valid: 2 problems',
      '  /machine/cpu must be integer',
      '  /job/Spec/Timeout must be integer',
    ])
  })

  it('reports missing required sections', () => {
    expect(pointersOf(problemsOf({machine: {}}))).toEqual(['/job'])
    expect(pointersOf(problemsOf({job: {Spec: {Docker: {Image: 'a:1'}}}}))).toEqual(['/machine'])
    expect(pointersOf(problemsOf({machine: {}, job: {APIVersion: 'V1beta1'}}))).toEqual(['/job/Spec'])
    expect(problemsOf([])).toEqual([{pointer: '', message: 'must be object'}])
    expect(problemsOf(null)).toEqual([{pointer: '', message: 'must be object'}])
  })

  it('reports each problem once', () => {
    const problems = problemsOf({machine: {cpu: 'x'}, job: {Spec: {Timeout: 'x'}}})
    const keys = problems.map(formatModuleProblem)
    expect(new Set(keys).size).toBe(keys.length)
    expect(keys).toEqual(
      expect.arrayContaining([
        '/machine/cpu must be integer',
        '/job/Spec/Docker/Image must name the Docker image to run',
      ]),
    )
  })

  it('accepts an image given only in EngineSpec, and refuses a module with no image at all', () => {
    const engineSpecOnly = {
      machine: {},
      job: {
        Spec: {
          Docker: {},
          EngineSpec: {Type: 'docker', Params: {Image: 'x/y:1', EnvironmentVariables: ['BAD']}},
        },
      },
    }
    expect(problemsOf(engineSpecOnly)).toEqual([
      {pointer: '/job/Spec/EngineSpec/Params/EnvironmentVariables/0', message: 'must look like KEY=VALUE'},
    ])
    expect(problemsOf({machine: {}, job: {Spec: {}}})).toEqual([
      {pointer: '/job/Spec/Docker/Image', message: 'must name the Docker image to run'},
    ])
    expect(
      problemsOf({machine: {}, job: {Spec: {EngineSpec: {Type: 'python'}, Docker: {Image: 'a:1'}}}}),
    ).toEqual([{pointer: '/job/Spec/EngineSpec/Type', message: 'must be docker, wasm or noop'}])
  })

  it('encodes pointer segments (RFC 6901)', () => {
    const module = dockerModule()
    module.job.Spec['a/b~c'] = 1
    const {warnings} = validateModuleSpec(module)
    expect(warnings).toContainEqual({pointer: '/job/Spec/a~1b~0c', message: 'ignored by Lilypad'})
  })
})

describe('validateModuleSpec warnings and normalisation', () => {
  it('accepts unknown keys anywhere with one warning each, and drops them', () => {
    const module = {
      ...dockerModule(),
      gpus: [{vram: 1}],
      Language: 'python',
    }
    module.machine.vram = 8
    module.job.Spec.Verifier = 'Noop'
    const {module: out, warnings} = validateModuleSpec(module)
    expect(warnings.filter((w) => w.message === 'ignored by Lilypad').map((w) => w.pointer)).toEqual([
      '/machine/vram',
      '/job/Spec/Verifier',
      '/gpus',
      '/Language',
    ])
    expect(out).not.toHaveProperty('gpus')
    expect(out.machine).not.toHaveProperty('vram')
  })

  it('reads keys and enum values in any case, as Go does, without changing its input', () => {
    const input = {
      machine: {CPU: 1000},
      job: {spec: {engine: 'docker', docker: {image: 'a:1'}, network: {type: 'http', Domains: ['x.org']}}},
    }
    const copy = structuredClone(input)
    const {module, warnings} = validateModuleSpec(input)
    expect(module.machine.cpu).toBe(1000)
    expect(module.job.Spec.Engine).toBe('Docker')
    expect(module.job.Spec.Docker?.Image).toBe('a:1')
    expect(module.job.Spec.Network?.Type).toBe('HTTP')
    expect(warnings).toContainEqual({
      pointer: '/job/spec',
      message: 'read as "Spec" (Go matches keys in any case)',
    })
    expect(input).toEqual(copy)
  })

  it('reads null as an absent key where Go would leave the field unchanged', () => {
    const {module} = validateModuleSpec({
      machine: {cpu: null, ram: 100},
      job: {Spec: {Docker: {Image: 'a:1', Entrypoint: null}, Timeout: null}},
    })
    expect(module.machine).toEqual({ram: 100})
    expect(module.job.Spec).toEqual({Docker: {Image: 'a:1', Entrypoint: null}})
    expect(pointersOf(problemsOf({machine: null, job: {Spec: {Docker: {Image: null}}}}))).toEqual([
      '/machine',
      '/job/Spec/Docker/Image',
    ])
  })

  it('does not let a __proto__ key reach the prototype', () => {
    const value: unknown = JSON.parse(
      '{"machine": {}, "job": {"Spec": {"Docker": {"Image": "a:1"}, "Wasm": {"EnvironmentVariables": {"__proto__": "x"}}}}}',
    )
    const {module} = validateModuleSpec(value)
    const env = module.job.Spec.Wasm?.EnvironmentVariables ?? {}
    expect(Object.getPrototypeOf(env)).toBe(Object.prototype)
    expect(Object.hasOwn(env, '__proto__')).toBe(true)
  })

  it('warns about Docker fields providers ignore', () => {
    const module = dockerModule()
    module.job.Spec.Docker = {Image: 'a:1', Parameters: ['--x'], WorkingDirectory: '/app'}
    const {warnings} = validateModuleSpec(module)
    expect(warnings.map((w) => w.pointer)).toEqual(
      expect.arrayContaining(['/job/Spec/Docker/Parameters', '/job/Spec/Docker/WorkingDirectory']),
    )
    expect(warnings.every((w) => w.message.length < 140)).toBe(true)
  })

  it('warns about a placeholder image and a printed <no value>', () => {
    const module = dockerModule()
    module.job.Spec.Docker = {Image: 'docker.io/<you>/thing:v0.1.0', Entrypoint: ['echo', '<no value>']}
    const {warnings} = validateModuleSpec(module)
    expect(warnings).toContainEqual({
      pointer: '/job/Spec/Docker/Image',
      message: 'looks like a placeholder, not a pullable image reference',
    })
    expect(warnings.find((w) => w.pointer === '/job/Spec/Docker/Entrypoint/1')?.message).toContain(
      '<no value>',
    )
  })

  it('does not warn about a version-tagged image or a digest', () => {
    for (const image of ['alpine:3.20', 'localhost:5000/x/y:1.0', 'a/b@sha256:' + '0'.repeat(64)]) {
      const module = dockerModule()
      module.job.Spec.Docker = {Image: image}
      const {warnings} = validateModuleSpec(module)
      expect(warnings.filter((w) => w.pointer === '/job/Spec/Docker/Image')).toEqual([])
    }
    const module = dockerModule()
    module.job.Spec.Docker = {Image: 'localhost:5000/x/y'}
    expect(validateModuleSpec(module).warnings.map((w) => w.pointer)).toContain('/job/Spec/Docker/Image')
  })
})

describe('Wasm and Noop modules', () => {
  const wasmModule = (wasm: unknown): unknown => ({
    machine: {gpu: 0, cpu: 1000, ram: 100},
    job: {
      APIVersion: 'V1beta1',
      Spec: {Engine: 'Wasm', Wasm: wasm, Outputs: [{Name: 'outputs', Path: '/outputs'}]},
    },
  })

  it('accepts a Wasm module with an entry module and notes where it runs', () => {
    const {module, warnings} = validateModuleSpec(
      wasmModule({
        EntryModule: {StorageSource: 'repoClone', Path: 'build/module.wasm'},
        EntryPoint: '_start',
        EnvironmentVariables: {MESSAGE: 'hi'},
      }),
    )
    expect(engineOf(module)).toBe('wasm')
    expect(module.job.Spec.Wasm?.EntryModule?.StorageSource).toBe('RepoClone')
    expect(warnings.find((w) => w.pointer === '/job/Spec/Engine')?.message).toMatch(/devnet.*Docker only/)
  })

  it('accepts a missing EntryPoint (defaults to _start)', () => {
    expect(() => validateModuleSpec(wasmModule({EntryModule: {URL: 'https://x/y.wasm'}}))).not.toThrow()
  })

  it('needs an entry module with a source', () => {
    expect(problemsOf(wasmModule({EntryModule: {}}))).toEqual([
      {
        pointer: '/job/Spec/Wasm/EntryModule',
        message: 'must say where the Wasm module comes from (StorageSource with Path, CID, URL or Repo)',
      },
    ])
    expect(pointersOf(problemsOf(wasmModule(undefined)))).toEqual(['/job/Spec/Wasm'])
    expect(pointersOf(problemsOf(wasmModule({EntryModule: {StorageSource: 'ftp'}})))).toEqual([
      '/job/Spec/Wasm/EntryModule/StorageSource',
    ])
    expect(
      pointersOf(problemsOf(wasmModule({EntryModule: {Path: 'a.wasm'}, EnvironmentVariables: ['A=1']}))),
    ).toEqual(['/job/Spec/Wasm/EnvironmentVariables'])
  })

  it('takes the engine from EngineSpec when Engine is absent', () => {
    const {module} = validateModuleSpec({
      machine: {},
      job: {Spec: {EngineSpec: {Type: 'WASM'}, Wasm: {EntryModule: {CID: 'Qm'}}}},
    })
    expect(engineOf(module)).toBe('wasm')
  })

  it('accepts Noop with a warning', () => {
    const {module, warnings} = validateModuleSpec({machine: {}, job: {Spec: {Engine: 'noop'}}})
    expect(engineOf(module)).toBe('noop')
    expect(warnings.map((w) => w.pointer)).toContain('/job/Spec/Engine')
  })
})
