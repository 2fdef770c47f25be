/**
 * `lilypad module render` end to end in-process: real git repositories in temp dirs served over
 * file://, the built commands, the JSON envelope and the exit codes.
 */
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {createModuleRepo} from '../../helpers/git-fixtures.js'
import {ROOT, envelope, runCli} from '../../helpers/run-cli.js'

const FIXTURES = join(ROOT, 'test', 'fixtures', 'modules')
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8')

interface Envelope {
  ok: boolean
  result: {
    repo: string
    ref: string
    commit: string
    inputs: Record<string, string>
    templateInputs: {name: string; required: boolean}[]
    rendered: unknown
  }
  error: {code: string; message: string; hints: string[]; details: Record<string, unknown>}
  warnings: string[]
}

let root: string
let dataDir: string
let cowsay: {url: string; commits: Record<string, string>}
let others: Record<string, string>
let env: Record<string, string>

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-render-cmd-'))
  dataDir = join(root, 'data')
  cowsay = await createModuleRepo({
    root: join(root, 'modules'),
    name: 'lilypad-module-cowsay',
    versions: ['v0.0.1', 'v0.0.2', 'v0.0.3', 'v0.0.4'].map((tag) => ({
      tag,
      files: {'lilypad_module.json.tmpl': fixture(`cowsay-${tag}.lilypad_module.json.tmpl`)},
    })),
  })
  others = {}
  for (const [name, tag, file] of [
    ['lilypad-module-lilysay', '0.5.2', 'lilysay-0.5.2.lilypad_module.json.tmpl'],
    [
      'lilypad-module-sdxl-pipeline',
      'v1.0-base-lilypad3',
      'sdxl-pipeline-v1.0-base-lilypad3.lilypad_module.json.tmpl',
    ],
    ['lilypad-module-ollama-pipeline', 'dev6', 'ollama-pipeline-dev6.lilypad_module.json.tmpl'],
    ['lilypad-deepseek-r1-7b', 'v1', 'deepseek-r1-7b-a223622b.lilypad_module.json.tmpl'],
  ] as const) {
    const repo = await createModuleRepo({
      root: join(root, 'modules'),
      name,
      versions: [{tag, files: {'lilypad_module.json.tmpl': fixture(file)}}],
    })
    others[name] = repo.url
  }
  env = {
    DATA_DIR: dataDir,
    LILYPAD_MODULE_BASE: `file://${join(root, 'modules')}`,
    LILYPAD_CONFIG_DIR: join(root, 'config'),
  }
})

afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

describe('lilypad module render', () => {
  it('renders cowsay v0.0.3 with Message=hi exactly as the Go CLI', async () => {
    const run = await runCli(['module', 'render', `${cowsay.url}:v0.0.3`, '-i', 'Message=hi', '--json'], env)
    expect(run.exitCode).toBe(0)
    const out = envelope<Envelope>(run)
    expect(out.ok).toBe(true)
    expect(out.result.rendered).toEqual(JSON.parse(fixture('cowsay-v0.0.3.rendered-Message-hi.json')))
    expect(out.result).toMatchObject({
      repo: cowsay.url,
      ref: 'v0.0.3',
      commit: cowsay.commits['v0.0.3'],
      inputs: {Message: 'hi'},
    })
    expect(out.result.templateInputs).toEqual([{name: 'Message', required: false}])
    // Lilypad ignores `Verifier`: a warning, not an error.
    expect(out.warnings.join('\n')).toContain('/job/Spec/Verifier')
  })

  it('prints the rendered text byte for byte for humans, and nothing else on stdout', async () => {
    const run = await runCli(['module', 'render', `${cowsay.url}:v0.0.3`, '-i', 'Message=hi'], env)
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toBe(fixture('cowsay-v0.0.3.rendered-Message-hi.json'))
  })

  it('renders the default and lists the inputs when none are given', async () => {
    const run = await runCli(['module', 'render', `${cowsay.url}:v0.0.3`], env)
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toBe(fixture('cowsay-v0.0.3.rendered-no-inputs.json'))
    expect(run.stderr).toContain('This module takes inputs: Message (optional)')
  })

  it('resolves the name:ref shortcut through the module base', async () => {
    const out = envelope<Envelope>(
      await runCli(['module', 'render', 'cowsay:v0.0.4', '-i', 'Message=moo', '--json'], env),
    )
    expect(out.ok).toBe(true)
    // git finds the bare `lilypad-module-cowsay.git` behind the shortcut's URL.
    expect(`${out.result.repo}.git`).toBe(cowsay.url)
    expect(out.result.commit).toBe(cowsay.commits['v0.0.4'])
    expect(
      (out.result.rendered as {job: {Spec: {Docker: {Entrypoint: string[]}}}}).job.Spec.Docker.Entrypoint,
    ).toEqual(['/usr/local/bin/cowsay', 'moo'])
  })

  it('renders every real module template from its repository', async () => {
    type Spec = {
      Docker?: {EnvironmentVariables?: string[]; Entrypoint?: string[]}
      EngineSpec?: {Params: {EnvironmentVariables: string[]}}
    }
    const spec = (run: Awaited<ReturnType<typeof runCli>>): Spec =>
      (envelope<Envelope>(run).result.rendered as {job: {Spec: Spec}}).job.Spec
    const cases: [string, string, string[], (s: Spec) => unknown, unknown][] = [
      [
        'lilypad-module-lilysay',
        '0.5.2',
        ['Message=hello', 'Image=lilyfrog'],
        (s) => s.Docker?.EnvironmentVariables,
        ['IMAGE=lilyfrog', 'MESSAGE=hello'],
      ],
      [
        'lilypad-module-sdxl-pipeline',
        'v1.0-base-lilypad3',
        ['Prompt=a frog', 'Seed=42'],
        (s) => s.EngineSpec?.Params.EnvironmentVariables,
        ['PROMPT=a frog', 'SEED=42', 'HF_HUB_OFFLINE=1'],
      ],
      [
        'lilypad-module-ollama-pipeline',
        'dev6',
        ['Prompt=why is the sky blue?'],
        (s) => s.Docker?.EnvironmentVariables,
        ['PROMPT=why is the sky blue?'],
      ],
      [
        'lilypad-deepseek-r1-7b',
        'v1',
        ['request=eyJ4IjoxfQ=='],
        (s) => s.Docker?.Entrypoint,
        ['/app/src/run_model', 'eyJ4IjoxfQ=='],
      ],
    ]
    for (const [name, tag, inputs, pick, expected] of cases) {
      const run = await runCli(
        ['module', 'render', `${others[name]}:${tag}`, ...inputs.flatMap((i) => ['-i', i]), '--json'],
        env,
      )
      expect([name, run.exitCode]).toEqual([name, 0])
      expect([name, pick(spec(run))]).toEqual([name, expected])
    }
  })

  it('keeps hostile input values verbatim and changes nothing else', async () => {
    const hostile =
      'a "quoted" \\ back\\slash\nnew line }"] {{.Message}} {{ end }} \u0000\u001f ünï 🐸 \u2028 <&> ' +
      `https://bob:pw@example.com/x?token=abc private_key=${'ab'.repeat(32)}`
    const run = await runCli(
      ['module', 'render', `${cowsay.url}:v0.0.3`, '-i', `Message=${hostile}`, '--json'],
      env,
    )
    expect(run.exitCode).toBe(0)
    const expected = JSON.parse(fixture('cowsay-v0.0.3.rendered-Message-hi.json')) as {
      job: {Spec: {Docker: {Entrypoint: string[]}}}
    }
    expected.job.Spec.Docker.Entrypoint[1] = hostile
    expect(envelope<Envelope>(run).result.rendered).toEqual(expected)
  })

  it('fails with exit 3 naming Message when cowsay v0.0.1 gets no input', async () => {
    const run = await runCli(['module', 'render', `${cowsay.url}:v0.0.1`, '--json'], env)
    expect(run.exitCode).toBe(3)
    const out = envelope<Envelope>(run)
    expect(out.ok).toBe(false)
    expect(out.error.code).toBe('TEMPLATE_INPUT_MISSING')
    expect(out.error.message).toContain('Message')
    expect(out.error.hints.join(' ')).toContain('-i Message=')
  })

  it('shows the same error to humans on stderr, with nothing on stdout', async () => {
    const run = await runCli(['module', 'render', `${cowsay.url}:v0.0.1`], env)
    expect(run.exitCode).toBe(3)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain('Error [TEMPLATE_INPUT_MISSING]')
    expect(run.stderr).toContain('Try this:')
  })

  it('exits 2 for a malformed ref or a ref without a version', async () => {
    for (const ref of ['cowsay', 'cowsay:', 'github.com/owner/repo']) {
      const run = await runCli(['module', 'render', ref, '--json'], env)
      expect([ref, run.exitCode, envelope<Envelope>(run).error.code]).toEqual([ref, 2, 'MODULE_REF_INVALID'])
    }
    const hint = envelope<Envelope>(
      await runCli(['module', 'render', 'cowsay', '--json'], env),
    ).error.hints.join(' ')
    expect(hint).toContain('cowsay:v0.0.3')
  })

  it('exits 2 for -i without =', async () => {
    const run = await runCli(['module', 'render', `${cowsay.url}:v0.0.3`, '-i', 'Message', '--json'], env)
    expect(run.exitCode).toBe(2)
    expect(envelope<Envelope>(run).error.code).toBe('INPUT_MALFORMED')
  })

  it('exits 3 for an unknown tag and lists the tags that exist', async () => {
    const run = await runCli(['module', 'render', `${cowsay.url}:v9.9.9`, '--json'], env)
    expect(run.exitCode).toBe(3)
    const out = envelope<Envelope>(run)
    expect(out.error.code).toBe('MODULE_REF_NOT_FOUND')
    expect(out.error.message).toContain('v0.0.4')
  })

  it('exits 3 for a repository that does not exist', async () => {
    const run = await runCli(['module', 'render', `file://${join(root, 'nowhere')}:v1`, '--json'], env)
    expect(run.exitCode).toBe(3)
    expect(envelope<Envelope>(run).error.code).toBe('MODULE_NOT_FOUND')
  })

  it('exits 3 with a JSON pointer when the rendered module breaks the schema', async () => {
    const broken = await createModuleRepo({
      root: join(root, 'modules'),
      name: 'lilypad-module-broken',
      versions: [
        {
          tag: 'v1',
          files: {
            'lilypad_module.json.tmpl': '{"machine": {"cpu": "lots"}, "job": {"Spec": {"Timeout": 1.5}}}',
          },
        },
      ],
    })
    const run = await runCli(['module', 'render', `${broken.url}:v1`, '--json'], env)
    expect(run.exitCode).toBe(3)
    const out = envelope<Envelope>(run)
    expect(out.error.code).toBe('MODULE_INVALID')
    const pointers = (out.error.details.problems as {pointer: string}[]).map((p) => p.pointer)
    expect(pointers).toEqual(expect.arrayContaining(['/machine/cpu', '/job/Spec/Timeout']))
  })

  it('refuses ext:: and option-like refs without running anything', async () => {
    const marker = join(root, 'pwned')
    for (const ref of [
      `ext::sh -c touch% ${marker}:v1`,
      '--upload-pack=touch /tmp/x:v1',
      `-u:v1`,
      `${cowsay.url}:--output=${marker}`,
    ]) {
      const run = await runCli(['module', 'render', '--json', '--', ref], env)
      expect([ref, run.exitCode]).toEqual([ref, 2])
      expect(['MODULE_REF_UNSAFE', 'MODULE_REF_INVALID']).toContain(envelope<Envelope>(run).error.code)
    }
    expect(existsSync(marker)).toBe(false)
  })

  it('caches the checkout by commit under DATA_DIR/repos', async () => {
    await runCli(['module', 'render', `${cowsay.url}:v0.0.3`, '--json'], env)
    const segments = join(root, 'modules', 'lilypad-module-cowsay')
      .split('/')
      .filter((s) => s !== '')
    const entries = await readdir(join(dataDir, 'repos', 'file', ...segments))
    expect(entries).toContain(cowsay.commits['v0.0.3'])
  })
})
