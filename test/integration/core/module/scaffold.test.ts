import {execFileSync} from 'node:child_process'
import {mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {checkLocalModule} from '../../../../src/core/module/local-module.js'
import {
  FALLBACK_GIT_IDENTITY,
  type ScaffoldOptions,
  type ScaffoldResult,
  sanitiseModuleName,
  scaffoldModule,
} from '../../../../src/core/module/scaffold.js'
import {engineOf} from '../../../../src/core/module/validate.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..')
const TEMPLATES = join(ROOT, 'templates')

let root: string
/** Git environment with the test machine's identity (HOME) and PATH. */
let env: Record<string, string>

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-scaffold-'))
  env = {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ''}
})

afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {...process.env, GIT_CEILING_DIRECTORIES: dirname(dir)},
  }).trim()
}

async function scaffold(options: Omit<ScaffoldOptions, 'templatesDir'>): Promise<ScaffoldResult> {
  return scaffoldModule({templatesDir: TEMPLATES, env, ...options})
}

/** Runs a promise that must fail with a LilypadError and returns that error. */
async function failure(
  promise: Promise<unknown>,
): Promise<{code: string; category: string; hints: readonly string[]; message: string}> {
  try {
    await promise
  } catch (error) {
    if (isLilypadError(error)) return error
    throw error
  }
  throw new Error('expected a LilypadError')
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {recursive: true, withFileTypes: true})
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .filter((path) => !path.startsWith('.git/'))
    .sort()
}

describe('sanitiseModuleName', () => {
  it.each([
    ['My Module!', 'my-module'],
    ['--weird__name..', 'weird-name'],
    ['cowsay_v2.1', 'cowsay_v2.1'],
    ['???', 'lilypad-module'],
  ])('%s → %s', (raw, name) => {
    expect(sanitiseModuleName(raw)).toBe(name)
  })
})

describe.each([
  {
    template: 'docker' as const,
    files: [
      '.dockerignore',
      '.gitignore',
      'Dockerfile',
      'README.md',
      'lilypad_module.json.tmpl',
      'src/run.sh',
    ],
  },
  {
    template: 'wasm' as const,
    files: [
      '.gitignore',
      'README.md',
      'asconfig.json',
      'assembly/index.ts',
      'build/module.wasm',
      'lilypad_module.json.tmpl',
      'package.json',
    ],
  },
])('scaffoldModule --template $template', ({template, files}) => {
  let result: ScaffoldResult
  const dir = (): string => join(root, `My ${template} Module`)

  beforeAll(async () => {
    result = await scaffold({dir: dir(), template})
  })

  it('writes the scaffold files with the placeholders filled in', async () => {
    expect(result).toMatchObject({
      dir: dir(),
      template,
      name: `my-${template}-module`,
      tag: 'v0.1.0',
      branch: 'main',
    })
    expect(result.files).toEqual(files)
    expect(result.skipped).toEqual([])
    expect(await filesUnder(dir())).toEqual(files)
    for (const file of files.filter((name) => !name.endsWith('.wasm'))) {
      const text = await readFile(join(dir(), file), 'utf8')
      expect(text).not.toMatch(/__MODULE_NAME__|__IMAGE__/)
    }
    expect(await readFile(join(dir(), 'README.md'), 'utf8')).toContain(`my-${template}-module`)
    expect(result.nextSteps.join('\n')).toContain(`lilypad run github.com/<you>/my-${template}-module:v0.1.0`)
  })

  it('leaves no staging directory behind', async () => {
    expect((await readdir(root)).filter((name) => name.includes('lilypad-init'))).toEqual([])
  })

  it('is a git repository with one commit on main, tagged v0.1.0 (lightweight)', () => {
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(git(dir(), 'rev-list', '--count', 'HEAD')).toBe('1')
    expect(git(dir(), 'rev-parse', 'HEAD')).toBe(result.commit)
    expect(git(dir(), 'symbolic-ref', '--short', 'HEAD')).toBe('main')
    expect(git(dir(), 'cat-file', '-t', 'v0.1.0')).toBe('commit')
    expect(git(dir(), 'rev-parse', 'v0.1.0')).toBe(result.commit)
    expect(git(dir(), 'status', '--porcelain')).toBe('')
    expect(git(dir(), 'ls-files').split('\n').sort()).toEqual(files)
  })

  it('commits with the identity git is configured with, or the fallback when there is none', () => {
    let configured: string | undefined
    try {
      configured = git(dir(), 'config', '--get', 'user.email')
    } catch {
      configured = undefined // no identity on this machine (a fresh CI box)
    }
    expect(git(dir(), 'log', '-1', '--format=%ae')).toBe(configured ?? FALLBACK_GIT_IDENTITY.authorEmail)
  })

  it('renders and validates: checkLocalModule is ok', async () => {
    const check = await checkLocalModule(dir(), {env})
    expect(check.problems).toEqual([])
    expect(check.ok).toBe(true)
    expect(check.inputs.map(({name, required}) => ({name, required}))).toEqual([
      {name: 'Message', required: false},
    ])
    expect(check.module === undefined ? undefined : engineOf(check.module)).toBe(template)
    expect(check.git).toEqual({commit: result.commit, tags: ['v0.1.0'], templateChanged: false})
  })

  it('puts the Message input, JSON-escaped, where the job reads it', async () => {
    const message = 'hello "lilypad" \\ <&>'
    const check = await checkLocalModule(dir(), {env, inputs: {Message: message}})
    expect(check.ok).toBe(true)
    const spec = check.module?.job.Spec
    if (template === 'docker') expect(spec?.Docker?.Entrypoint).toEqual(['/app/run.sh', message])
    else expect(spec?.Wasm?.EnvironmentVariables).toEqual({MESSAGE: message})
  })
})

describe('the docker scaffold', () => {
  it('keeps run.sh executable, in git too', async () => {
    const dir = join(root, 'exec-bit')
    await scaffold({dir, template: 'docker'})
    expect((await stat(join(dir, 'src', 'run.sh'))).mode & 0o111).not.toBe(0)
    expect(git(dir, 'ls-files', '-s', 'src/run.sh')).toMatch(/^100755 /)
  })

  it('uses the image it is given, and warns about the placeholder image otherwise', async () => {
    const given = await scaffold({
      dir: join(root, 'with-image'),
      template: 'docker',
      image: 'docker.io/ada/echo:v0.1.0',
    })
    const withImage = await checkLocalModule(given.dir, {env})
    expect(withImage.module?.job.Spec.Docker?.Image).toBe('docker.io/ada/echo:v0.1.0')
    expect(withImage.warnings.filter((w) => w.pointer === '/job/Spec/Docker/Image')).toEqual([])

    const placeholder = await checkLocalModule(join(root, 'exec-bit'), {env})
    expect(placeholder.module?.job.Spec.Docker?.Image).toBe('docker.io/<you>/exec-bit:v0.1.0')
    expect(placeholder.warnings.map((w) => w.pointer)).toContain('/job/Spec/Docker/Image')
  })

  it('refuses an image that would break the template', async () => {
    const error = await failure(scaffold({dir: join(root, 'bad-image'), template: 'docker', image: 'x"y'}))
    expect(error.code).toBe('USAGE')
  })
})

describe('the wasm scaffold', () => {
  /** Runs build/module.wasm with node:wasi in a child process; returns its stdout (throws on a non-zero exit). */
  function runWasm(dir: string, environment: Record<string, string>): string {
    const script = [
      "import {readFileSync} from 'node:fs'",
      "import {WASI} from 'node:wasi'",
      'const [file, env] = process.argv.slice(1)',
      "const wasi = new WASI({version: 'preview1', args: ['module'], env: JSON.parse(env), returnOnExit: true})",
      'const {instance} = await WebAssembly.instantiate(readFileSync(file), wasi.getImportObject())',
      'process.exitCode = wasi.start(instance)',
    ].join('\n')
    const wasm = join(dir, 'build', 'module.wasm')
    return execFileSync(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        '--input-type=module',
        '-e',
        script,
        wasm,
        JSON.stringify(environment),
      ],
      {encoding: 'utf8'},
    )
  }

  it('ships a module.wasm that prints the message from MESSAGE, deterministically', async () => {
    const {dir} = await scaffold({dir: join(root, 'wasm-run'), template: 'wasm'})
    const check = await checkLocalModule(dir, {env, inputs: {Message: 'two words'}})
    const environment = check.module?.job.Spec.Wasm?.EnvironmentVariables ?? {}
    const first = runWasm(dir, environment)
    expect(first).toContain('Message: two words\nWords: 2\nReversed: sdrow owt\n')
    expect(runWasm(dir, environment)).toBe(first)
    expect(runWasm(dir, {})).toContain('Message: hello\n')
  })
})

describe('scaffoldModule into existing directories', () => {
  it('refuses a directory that is not empty, and leaves it alone', async () => {
    const dir = join(root, 'taken')
    await mkdir(dir)
    await writeFile(join(dir, 'notes.txt'), 'mine')
    const error = await failure(scaffold({dir, template: 'docker'}))
    expect(error.code).toBe('DIRECTORY_NOT_EMPTY')
    expect(error.category).toBe('usage')
    expect(error.hints.join(' ')).toContain('--force')
    expect(await readdir(dir)).toEqual(['notes.txt'])
  })

  it('scaffolds into an empty directory that already exists', async () => {
    const dir = join(root, 'empty')
    await mkdir(dir)
    const result = await scaffold({dir, template: 'wasm'})
    expect(result.files).toContain('build/module.wasm')
    expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe('1')
  })

  it('refuses a path that is a file', async () => {
    const file = join(root, 'a-file')
    await writeFile(file, 'x')
    expect((await failure(scaffold({dir: file, template: 'docker'}))).code).toBe('USAGE')
  })

  it('with force, adds the missing files, keeps the existing ones, and commits only its own', async () => {
    const dir = join(root, 'forced')
    await mkdir(dir)
    await writeFile(join(dir, 'README.md'), 'my readme')
    await writeFile(join(dir, 'notes.txt'), 'mine')
    const result = await scaffold({dir, template: 'docker', force: true})
    expect(result.skipped).toEqual(['README.md'])
    expect(result.files).toEqual([
      '.dockerignore',
      '.gitignore',
      'Dockerfile',
      'lilypad_module.json.tmpl',
      'src/run.sh',
    ])
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('my readme')
    expect(git(dir, 'ls-files').split('\n').sort()).toEqual(result.files)
    expect(git(dir, 'status', '--porcelain', '--untracked-files=all').split('\n').sort()).toEqual([
      '?? README.md',
      '?? notes.txt',
    ])
    expect(git(dir, 'tag', '--points-at', 'HEAD')).toBe('v0.1.0')
  })

  it('with force, commits on top of an existing repository', async () => {
    const dir = join(root, 'existing-repo')
    await mkdir(dir)
    git(dir, 'init', '--quiet')
    await writeFile(join(dir, 'LICENSE'), 'MIT')
    git(dir, 'add', 'LICENSE')
    git(dir, '-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'License')
    const result = await scaffold({dir, template: 'wasm', force: true})
    expect(git(dir, 'rev-list', '--count', 'HEAD')).toBe('2')
    expect(git(dir, 'rev-parse', 'v0.1.0')).toBe(result.commit)
    expect(await checkLocalModule(dir, {env})).toMatchObject({ok: true})
  })

  it('with force, refuses a repository that already has v0.1.0, writing nothing', async () => {
    const dir = join(root, 'tagged-repo')
    await mkdir(dir)
    git(dir, 'init', '--quiet')
    await writeFile(join(dir, 'LICENSE'), 'MIT')
    git(dir, 'add', 'LICENSE')
    git(dir, '-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'License')
    git(dir, 'tag', 'v0.1.0')
    const error = await failure(scaffold({dir, template: 'docker', force: true}))
    expect(error.code).toBe('USAGE')
    expect(error.message).toContain('v0.1.0')
    expect(await filesUnder(dir)).toEqual(['LICENSE'])
  })
})

describe('scaffoldModule failures leave nothing behind', () => {
  const noGit = {PATH: '/nonexistent-lilypad-test-path', HOME: '/nonexistent'}

  it('removes the staging directory when git fails on a new module', async () => {
    const parent = join(root, 'fail-fresh')
    await mkdir(parent)
    const error = await failure(
      scaffoldModule({dir: join(parent, 'mod'), template: 'docker', templatesDir: TEMPLATES, env: noGit}),
    )
    expect(error.code).toBe('SCAFFOLD_FAILED')
    expect(await readdir(parent)).toEqual([])
  })

  it('removes the files it wrote when git fails in a forced directory', async () => {
    const dir = join(root, 'fail-forced')
    await mkdir(dir)
    await writeFile(join(dir, 'notes.txt'), 'mine')
    const error = await failure(
      scaffoldModule({dir, template: 'docker', templatesDir: TEMPLATES, env: noGit, force: true}),
    )
    expect(error.code).toBe('SCAFFOLD_FAILED')
    expect(await readdir(dir)).toEqual(['notes.txt'])
  })

  it('reports a missing scaffold as SCAFFOLD_FAILED', async () => {
    const error = await failure(
      scaffoldModule({dir: join(root, 'nope'), template: 'docker', templatesDir: join(root, 'no-templates')}),
    )
    expect(error.code).toBe('SCAFFOLD_FAILED')
  })
})

describe('git identity', () => {
  it('uses the given fallback identity only when git has none', async () => {
    const home = join(root, 'empty-home')
    await mkdir(home)
    const bare = {PATH: env.PATH ?? '', HOME: home}
    const dir = join(root, 'no-identity')
    await scaffoldModule({
      dir,
      template: 'docker',
      templatesDir: TEMPLATES,
      env: bare,
      git: {authorName: 'Ada Lovelace', authorEmail: 'ada@example.invalid'},
    })
    expect(git(dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>')).toBe(
      'Ada Lovelace <ada@example.invalid>|Ada Lovelace <ada@example.invalid>',
    )

    const defaultDir = join(root, 'no-identity-default')
    await scaffoldModule({dir: defaultDir, template: 'docker', templatesDir: TEMPLATES, env: bare})
    expect(git(defaultDir, 'log', '-1', '--format=%an <%ae>')).toBe(
      `${FALLBACK_GIT_IDENTITY.authorName} <${FALLBACK_GIT_IDENTITY.authorEmail}>`,
    )

    await writeFile(
      join(home, '.gitconfig'),
      '[user]\n\tname = Grace Hopper\n\temail = grace@example.invalid\n',
    )
    const configuredDir = join(root, 'configured-identity')
    await scaffoldModule({
      dir: configuredDir,
      template: 'docker',
      templatesDir: TEMPLATES,
      env: bare,
      git: {authorName: 'Ada Lovelace', authorEmail: 'ada@example.invalid'},
    })
    expect(git(configuredDir, 'log', '-1', '--format=%an <%ae>')).toBe('Grace Hopper <grace@example.invalid>')
  })
})
