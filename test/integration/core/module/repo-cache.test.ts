import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {chmod, mkdir, readFile, readdir, rename, stat, symlink, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import type {Server, Socket} from 'node:net'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {lock} from 'proper-lockfile'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import type {LilypadError} from '../../../../src/core/errors/index.js'
import {GIT_SAFETY_ENV, gitEnvironment, runGit} from '../../../../src/core/module/git.js'
import {parseModuleRef} from '../../../../src/core/module/module-ref.js'
import type {ModuleRef} from '../../../../src/core/module/module-ref.js'
import {repoCacheDir, resolveModule} from '../../../../src/core/module/repo-cache.js'
import type {
  ModuleEvent,
  ResolveModuleOptions,
  ResolvedModule,
} from '../../../../src/core/module/repo-cache.js'
import {
  addCommit,
  createModuleRepo,
  freePort,
  git,
  makeTempDir,
  moveTag,
  removeTempDir,
  setBranch,
  startGitDaemon,
} from '../../../helpers/git-fixtures.js'
import type {ModuleRepoFixture} from '../../../helpers/git-fixtures.js'
import {transpileSources} from '../../../helpers/transpile-src.js'

const TEMPLATE = 'lilypad_module.json.tmpl'
const template = (version: string): string =>
  `{"machine": {"gpu": 0}, "job": {"Spec": {"Docker": {"Image": "cowsay:${version}"}}}}\n`
const env = {PATH: process.env.PATH}

let root: string
let reposRoot: string
let shortcutBase: string
let cowsay: ModuleRepoFixture
let noTemplate: ModuleRepoFixture
let tempDirs: string[] = []

beforeAll(async () => {
  root = await makeTempDir('lilypad-repo-cache-')
  reposRoot = join(root, 'remotes')
  await mkdir(reposRoot)
  shortcutBase = pathToFileURL(reposRoot).href
  cowsay = await createModuleRepo({
    root: reposRoot,
    name: 'lilypad-module-cowsay',
    versions: [
      {tag: 'v0.0.1', files: {[TEMPLATE]: template('v0.0.1'), 'README.md': 'cowsay\n'}},
      {tag: 'v0.0.2', annotated: true, files: {[TEMPLATE]: template('v0.0.2')}},
      {tag: 'v0.0.10', files: {[TEMPLATE]: template('v0.0.10')}},
      {files: {[TEMPLATE]: template('main')}},
    ],
  })
  noTemplate = await createModuleRepo({
    root: reposRoot,
    name: 'lilypad-module-empty',
    versions: [{tag: 'v1', files: {'README.md': 'no template here\n'}}],
  })
})

afterAll(async () => {
  await removeTempDir(root)
  await Promise.all(tempDirs.map((dir) => removeTempDir(dir)))
  tempDirs = []
})

/** A repository of its own (in a temp dir removed afterwards) with one commit tagged v1. */
async function singleTagRepo(prefix: string, name: string, version: string): Promise<ModuleRepoFixture> {
  const repoRoot = await makeTempDir(`lilypad-${prefix}-`)
  tempDirs.push(repoRoot)
  return createModuleRepo({
    root: repoRoot,
    name,
    versions: [{tag: 'v1', files: {[TEMPLATE]: template(version)}}],
  })
}

async function newDataDir(): Promise<string> {
  const dir = join(root, 'data', Math.random().toString(36).slice(2))
  await mkdir(dir, {recursive: true})
  return dir
}

const parse = (text: string): ModuleRef => parseModuleRef(text, {shortcutBase})

async function resolveWithEvents(
  text: string,
  options: Partial<ResolveModuleOptions> & {dataDir: string},
): Promise<{result: ResolvedModule; events: ModuleEvent[]}> {
  const events: ModuleEvent[] = []
  const result = await resolveModule(parse(text), {env, ...options, onEvent: (event) => events.push(event)})
  return {result, events}
}

async function rejection(promise: Promise<unknown>): Promise<LilypadError> {
  try {
    await promise
  } catch (error) {
    if (isLilypadError(error)) return error
    throw error
  }
  throw new Error('expected a LilypadError, but the promise resolved')
}

/** Entries of a repository's cache directory, minus refs.json. */
async function cacheEntries(dataDir: string, text: string): Promise<string[]> {
  const entries = await readdir(repoCacheDir(dataDir, parse(text).cacheKey))
  return entries.filter((entry) => entry !== 'refs.json').sort()
}

const types = (events: readonly ModuleEvent[]): string[] => events.map((event) => event.type)

describe('resolveModule: ref forms', () => {
  it('resolves a lightweight tag through a shortcut into the Go cache layout', async () => {
    const dataDir = await newDataDir()
    const {result, events} = await resolveWithEvents('cowsay:v0.0.1', {dataDir})
    const commit = cowsay.commits['v0.0.1']!
    expect(result.commit).toBe(commit)
    expect(result.dir).toBe(
      join(
        dataDir,
        'repos',
        'file',
        ...reposRoot.split('/').filter(Boolean),
        'lilypad-module-cowsay',
        commit,
      ),
    )
    expect(result.templatePath).toBe(join(result.dir, TEMPLATE))
    expect(result.templateText).toBe(template('v0.0.1'))
    expect(result).toMatchObject({cacheHit: false, offline: false})
    expect(result.movedFrom).toBeUndefined()
    expect(types(events)).toEqual(['module.resolving', 'module.resolved', 'module.cloning', 'module.cloned'])
    expect(await readFile(join(result.dir, 'README.md'), 'utf8')).toBe('cowsay\n')
    // shallow: only the tagged commit was fetched
    expect(existsSync(join(result.dir, '.git', 'shallow'))).toBe(true)
    expect(await cacheEntries(dataDir, 'cowsay:v0.0.1')).toEqual([commit])
    const record = JSON.parse(
      await readFile(
        join(
          dataDir,
          'repos',
          'file',
          ...reposRoot.split('/').filter(Boolean),
          'lilypad-module-cowsay',
          'refs.json',
        ),
        'utf8',
      ),
    )
    expect(record.refs['v0.0.1'].commit).toBe(commit)
  })

  it('resolves an annotated tag to the commit it points to, not the tag object', async () => {
    const dataDir = await newDataDir()
    const {result} = await resolveWithEvents('cowsay:v0.0.2', {dataDir})
    expect(result.commit).toBe(cowsay.commits['v0.0.2'])
    expect(result.templateText).toBe(template('v0.0.2'))
    expect(await cacheEntries(dataDir, 'cowsay:v0.0.2')).toEqual([cowsay.commits['v0.0.2']])
  })

  it('resolves a branch to its tip', async () => {
    const dataDir = await newDataDir()
    const {result} = await resolveWithEvents('cowsay:main', {dataDir})
    expect(result.commit).toBe(cowsay.commitList.at(-1))
    expect(result.templateText).toBe(template('main'))
  })

  it('prefers a tag over a branch of the same name', async () => {
    await setBranch(cowsay, 'v0.0.1', cowsay.commitList.at(-1)!)
    const dataDir = await newDataDir()
    const {result} = await resolveWithEvents('cowsay:v0.0.1', {dataDir})
    expect(result.commit).toBe(cowsay.commits['v0.0.1'])
  })

  it('takes a full commit as-is, through a file:// URL, without asking for refs', async () => {
    const dataDir = await newDataDir()
    const commit = cowsay.commitList[1]!
    const {result, events} = await resolveWithEvents(`${cowsay.url}:${commit}`, {dataDir})
    expect(result.commit).toBe(commit)
    expect(result.templateText).toBe(template('v0.0.2'))
    expect(types(events)).not.toContain('module.resolving')
  })

  it('works without a caller environment, and offline for a cached full commit', async () => {
    const dataDir = await newDataDir()
    const commit = cowsay.commitList[0]!
    const online = await resolveModule(parse(`cowsay:${commit}`), {dataDir})
    expect(online).toMatchObject({commit, cacheHit: false, offline: false})
    const offline = await resolveModule(parse(`cowsay:${commit}`), {dataDir, offline: true})
    expect(offline).toMatchObject({commit, cacheHit: true, offline: true})
  })

  it('refuses a full commit the repository does not have', async () => {
    const dataDir = await newDataDir()
    const error = await rejection(resolveModule(parse(`cowsay:${'1'.repeat(40)}`), {dataDir, env}))
    expect(error.code).toBe('MODULE_REF_NOT_FOUND')
    expect(error.message).toContain('1'.repeat(40))
    expect(await cacheEntries(dataDir, 'cowsay:v1')).toEqual([])
  })

  it('resolves a short commit through the history and leaves no temporary repository', async () => {
    const dataDir = await newDataDir()
    const commit = cowsay.commitList[2]!
    const {result} = await resolveWithEvents(`cowsay:${commit.slice(0, 8)}`, {dataDir})
    expect(result.commit).toBe(commit)
    expect(result.templateText).toBe(template('v0.0.10'))
    expect(await cacheEntries(dataDir, 'cowsay:v1')).toEqual([commit])
    // a second resolve reuses the recorded commit
    const again = await resolveWithEvents(`cowsay:${commit.slice(0, 8)}`, {dataDir})
    expect(again.result).toMatchObject({commit, cacheHit: true})
  })

  it('reports an unknown short commit as not found', async () => {
    const dataDir = await newDataDir()
    const unused = ['0000', '1111', 'abcd', 'dcba', 'ffff'].find(
      (prefix) => !cowsay.commitList.some((c) => c.startsWith(prefix)),
    )!
    const error = await rejection(resolveModule(parse(`cowsay:${unused}`), {dataDir, env}))
    expect(error.code).toBe('MODULE_REF_NOT_FOUND')
    expect(await cacheEntries(dataDir, 'cowsay:v1')).toEqual([])
  })
})

describe('resolveModule: cache', () => {
  it('reuses the checkout on the second resolve, still asking the remote for the commit', async () => {
    const dataDir = await newDataDir()
    const first = await resolveWithEvents('cowsay:v0.0.1', {dataDir})
    const second = await resolveWithEvents('cowsay:v0.0.1', {dataDir})
    expect(second.result).toMatchObject({
      commit: first.result.commit,
      dir: first.result.dir,
      cacheHit: true,
      offline: false,
    })
    expect(types(second.events)).toEqual(['module.resolving', 'module.resolved', 'module.cache-hit'])
    expect(second.result.templateText).toBe(template('v0.0.1'))
  })

  it('detects a moved tag: warns, reports movedFrom and checks out the new commit', async () => {
    const repo = await singleTagRepo('moved', 'moving', 'one')
    const text = `${repo.url}:v1`
    const dataDir = await newDataDir()
    const first = await resolveWithEvents(text, {dataDir})
    const oldCommit = repo.commits.v1!
    expect(first.result.commit).toBe(oldCommit)

    const newCommit = await moveTag(repo, 'v1', {[TEMPLATE]: template('two')})
    expect(newCommit).not.toBe(oldCommit)
    const second = await resolveWithEvents(text, {dataDir})
    expect(second.result).toMatchObject({commit: newCommit, movedFrom: oldCommit, cacheHit: false})
    expect(second.result.templateText).toBe(template('two'))
    expect(second.events).toContainEqual({
      type: 'module.ref-moved',
      repoUrl: repo.url,
      ref: 'v1',
      from: oldCommit,
      to: newCommit,
    })
    expect(await cacheEntries(dataDir, text)).toEqual([newCommit, oldCommit].sort())

    // the record now holds the new commit: no second warning
    const third = await resolveWithEvents(text, {dataDir})
    expect(third.result.movedFrom).toBeUndefined()
    expect(types(third.events)).not.toContain('module.ref-moved')
  })

  it('replaces an incomplete checkout and clears temporary directories left by a dead process', async () => {
    const dataDir = await newDataDir()
    const commit = cowsay.commits['v0.0.1']!
    const repoDir = repoCacheDir(dataDir, parse('cowsay:v0.0.1').cacheKey)
    await mkdir(join(repoDir, commit), {recursive: true})
    await writeFile(join(repoDir, commit, 'half-written'), 'x')
    await mkdir(join(repoDir, `.tmp-${commit}-dead01`), {recursive: true})
    const {result} = await resolveWithEvents('cowsay:v0.0.1', {dataDir})
    expect(result).toMatchObject({commit, cacheHit: false})
    expect(existsSync(join(result.dir, 'half-written'))).toBe(false)
    expect(await cacheEntries(dataDir, 'cowsay:v0.0.1')).toEqual([commit])
  })

  it('gives up with MODULE_CACHE_LOCKED when another process holds the lock too long', async () => {
    const dataDir = await newDataDir()
    const commit = cowsay.commits['v0.0.2']!
    const repoDir = repoCacheDir(dataDir, parse('cowsay:v0.0.2').cacheKey)
    await mkdir(repoDir, {recursive: true})
    const release = await lock(join(repoDir, commit), {realpath: false, stale: 60_000})
    try {
      const events: ModuleEvent[] = []
      const error = await rejection(
        resolveModule(parse('cowsay:v0.0.2'), {
          dataDir,
          env,
          lockWaitMs: 600,
          onEvent: (event) => events.push(event),
        }),
      )
      expect(error.code).toBe('MODULE_CACHE_LOCKED')
      expect(error.hints.join(' ')).toContain(`${commit}.lock`)
      expect(types(events)).toContain('module.lock-wait')
    } finally {
      await release()
    }
    expect(await cacheEntries(dataDir, 'cowsay:v0.0.2')).toEqual([])
  })
})

describe('resolveModule: failures', () => {
  it('lists the existing tags (version order) when the ref is unknown', async () => {
    const dataDir = await newDataDir()
    const error = await rejection(resolveModule(parse('cowsay:v9.9.9'), {dataDir, env}))
    expect(error.code).toBe('MODULE_REF_NOT_FOUND')
    expect(error.category).toBe('module')
    expect(error.message).toContain('no tag, branch or commit named "v9.9.9"')
    expect(error.message).toContain('Tags: v0.0.1, v0.0.2, v0.0.10.')
    expect(error.details.tags).toEqual(['v0.0.1', 'v0.0.2', 'v0.0.10'])
    expect(error.hints).toEqual(['Use one of its tags, e.g. cowsay:v0.0.10.'])
  })

  it('reports a missing repository as MODULE_NOT_FOUND, showing what a shortcut expanded to', async () => {
    const dataDir = await newDataDir()
    const error = await rejection(resolveModule(parse('nosuchmodule:v1'), {dataDir, env}))
    expect(error.code).toBe('MODULE_NOT_FOUND')
    expect(error.message).toContain(`${shortcutBase}/lilypad-module-nosuchmodule`)
    expect(error.hints[0]).toBe(
      `"nosuchmodule" is a shortcut for ${shortcutBase}/lilypad-module-nosuchmodule.`,
    )
    expect(error.details.stderr).toEqual(expect.stringContaining('does not appear to be a git repository'))
  })

  it('reports a closed port as NETWORK_UNREACHABLE', async () => {
    const port = await freePort()
    const dataDir = await newDataDir()
    const error = await rejection(resolveModule(parse(`git://127.0.0.1:${port}/x.git:v1`), {dataDir, env}))
    expect(error.code).toBe('NETWORK_UNREACHABLE')
    expect(error.category).toBe('network')
    expect(error.message).toBe(`Could not reach git://127.0.0.1:${port}/x.git.`)
  })

  it('reports a missing template with the repository, commit and path', async () => {
    const dataDir = await newDataDir()
    const error = await rejection(resolveModule(parse('empty:v1'), {dataDir, env}))
    expect(error.code).toBe('MODULE_TEMPLATE_MISSING')
    expect(error.message).toContain(`${shortcutBase}/lilypad-module-empty`)
    expect(error.message).toContain(noTemplate.commits.v1)
    expect(error.message).toContain('/lilypad_module.json.tmpl')
    expect(error.details).toMatchObject({
      commit: noTemplate.commits.v1,
      path: '/lilypad_module.json.tmpl',
      ref: 'v1',
    })
  })

  it('refuses a template that is a symlink out of the checkout', async () => {
    const repoRoot = await makeTempDir('lilypad-symlink-')
    tempDirs.push(repoRoot)
    const secret = join(repoRoot, 'secret.txt')
    await writeFile(secret, 'PRIVATE KEY')
    const repo = await createModuleRepo({
      root: repoRoot,
      name: 'sneaky',
      versions: [{tag: 'v1', files: {'README.md': 'x'}}],
    })
    await symlink(secret, join(repo.workDir, TEMPLATE))
    await git(['add', TEMPLATE], repo.workDir)
    await addCommit(repo, {tag: 'v2', files: {}})
    const error = await rejection(resolveModule(parse(`${repo.url}:v2`), {dataDir: await newDataDir(), env}))
    expect(error.code).toBe('MODULE_TEMPLATE_MISSING')
    expect(error.message).toContain('outside the repository')
  })

  it('times out on a server that never answers', async () => {
    const sockets: Socket[] = []
    const server: Server = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    try {
      const started = Date.now()
      const error = await rejection(
        resolveModule(parse(`git://127.0.0.1:${port}/x.git:v1`), {
          dataDir: await newDataDir(),
          env,
          timeoutMs: 500,
        }),
      )
      expect(error.code).toBe('TIMEOUT')
      expect(Date.now() - started).toBeLessThan(10_000)

      const controller = new AbortController()
      setTimeout(() => {
        controller.abort()
      }, 200)
      const aborted = await rejection(
        resolveModule(parse(`git://127.0.0.1:${port}/x.git:v1`), {
          dataDir: await newDataDir(),
          env,
          signal: controller.signal,
        }),
      )
      expect(aborted.code).toBe('INTERRUPTED')
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('resolveModule: offline', () => {
  it('uses the cached commit when asked to stay offline, even with the remote gone', async () => {
    const repo = await singleTagRepo('offline', 'gone', 'gone')
    const text = `${repo.url}:v1`
    const dataDir = await newDataDir()
    const first = await resolveWithEvents(text, {dataDir})
    await rename(repo.bareDir, `${repo.bareDir}.moved`)

    // Online, a deleted file:// repository is simply not found: no silent fallback.
    expect((await rejection(resolveModule(parse(text), {dataDir, env}))).code).toBe('MODULE_NOT_FOUND')

    const offline = await resolveWithEvents(text, {dataDir, offline: true})
    expect(offline.result).toMatchObject({
      commit: first.result.commit,
      dir: first.result.dir,
      offline: true,
      cacheHit: true,
    })
    expect(offline.result.templateText).toBe(template('gone'))
    expect(offline.events[0]).toMatchObject({
      type: 'module.offline',
      reason: 'requested',
      commit: first.result.commit,
      ref: 'v1',
    })

    const never = await rejection(resolveModule(parse(`${repo.url}:v2`), {dataDir, env, offline: true}))
    expect(never.code).toBe('MODULE_REF_NOT_FOUND')
    expect(never.details.offline).toBe(true)
  })

  it('falls back to the cached commit when the git server is unreachable', async () => {
    const daemon = await startGitDaemon(reposRoot)
    const text = `${daemon.baseUrl}/lilypad-module-cowsay.git:v0.0.2`
    const dataDir = await newDataDir()
    let first: ResolvedModule
    try {
      first = (await resolveWithEvents(text, {dataDir})).result
      expect(first.commit).toBe(cowsay.commits['v0.0.2'])
    } finally {
      await daemon.stop()
    }
    const {result, events} = await resolveWithEvents(text, {dataDir})
    expect(result).toMatchObject({commit: first.commit, offline: true, cacheHit: true})
    expect(events).toContainEqual(
      expect.objectContaining({type: 'module.offline', reason: 'unreachable', commit: first.commit}),
    )

    // a ref that was never cached still fails with the network error
    const error = await rejection(
      resolveModule(parse(`${daemon.baseUrl}/lilypad-module-cowsay.git:v0.0.1`), {dataDir, env}),
    )
    expect(error.code).toBe('NETWORK_UNREACHABLE')
  })
})

describe('resolveModule: concurrency', () => {
  it('four concurrent resolves in one process share one download', async () => {
    const dataDir = await newDataDir()
    const events: ModuleEvent[] = []
    const results = await Promise.all(
      Array.from({length: 4}, () =>
        resolveModule(parse('cowsay:v0.0.10'), {dataDir, env, onEvent: (event) => events.push(event)}),
      ),
    )
    const commit = cowsay.commits['v0.0.10']!
    for (const result of results) expect(result).toMatchObject({commit, templateText: template('v0.0.10')})
    expect(new Set(results.map((result) => result.dir)).size).toBe(1)
    expect(types(events).filter((type) => type === 'module.cloned')).toHaveLength(1)
    expect(results.filter((result) => !result.cacheHit)).toHaveLength(1)
    expect(await cacheEntries(dataDir, 'cowsay:v0.0.10')).toEqual([commit])
  })

  it('two processes resolving the same module at once both succeed with one checkout', async () => {
    const outDir = await makeTempDir('lilypad-transpiled-')
    tempDirs.push(outDir)
    await transpileSources(['src/core/module/repo-cache.ts', 'src/core/module/module-ref.ts'], outDir)
    const script = join(outDir, 'resolve-once.mjs')
    await writeFile(
      script,
      `import {existsSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {parseModuleRef} from './src/core/module/module-ref.js'
import {resolveModule} from './src/core/module/repo-cache.js'
const [text, shortcutBase, dataDir, go] = process.argv.slice(2)
while (!existsSync(go)) await sleep(5)
const events = []
const result = await resolveModule(parseModuleRef(text, {shortcutBase}), {dataDir, env: {PATH: process.env.PATH}, onEvent: (e) => events.push(e.type)})
process.stdout.write(JSON.stringify({commit: result.commit, dir: result.dir, cacheHit: result.cacheHit, events}))
`,
    )
    const dataDir = await newDataDir()
    const go = join(outDir, 'go')
    const run = (): Promise<{code: number | null; stdout: string; stderr: string}> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [script, 'cowsay:v0.0.2', shortcutBase, dataDir, go], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {PATH: process.env.PATH},
        })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
        child.once('error', reject)
        child.once('close', (code) => {
          resolve({code, stdout, stderr})
        })
      })
    const runs = [run(), run()]
    await new Promise((resolve) => setTimeout(resolve, 300))
    await writeFile(go, '')
    const outcomes = await Promise.all(runs)
    for (const outcome of outcomes) expect(outcome).toMatchObject({code: 0, stderr: ''})
    const parsed = outcomes.map(
      (outcome) =>
        JSON.parse(outcome.stdout) as {commit: string; dir: string; cacheHit: boolean; events: string[]},
    )
    const commit = cowsay.commits['v0.0.2']!
    expect(parsed.map((p) => p.commit)).toEqual([commit, commit])
    expect(parsed[0]!.dir).toBe(parsed[1]!.dir)
    expect(parsed.flatMap((p) => p.events).filter((type) => type === 'module.cloned')).toHaveLength(1)
    expect(await cacheEntries(dataDir, 'cowsay:v0.0.2')).toEqual([commit])
  })
})

describe('git runner safety', () => {
  it('keeps only allowlisted variables and overrides the safety ones', () => {
    const result = gitEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/u',
      GIT_SSH_COMMAND: 'touch /tmp/pwned',
      GIT_ALLOW_PROTOCOL: 'ext',
      GIT_TERMINAL_PROMPT: '1',
      GIT_CONFIG_PARAMETERS: "'protocol.ext.allow=always'",
      EDITOR: 'vim',
      WEB3_PRIVATE_KEY: 'abc',
    })
    expect(result).toEqual({PATH: '/usr/bin', HOME: '/home/u', ...GIT_SAFETY_ENV})
    expect(result.GIT_ALLOW_PROTOCOL).toBe('file:git:http:https')
  })

  it('git itself refuses the ext:: transport even if such a URL reached it', async () => {
    const dir = await makeTempDir('lilypad-ext-')
    tempDirs.push(dir)
    const marker = join(dir, 'pwned')
    const error = await rejection(runGit(['ls-remote', '--', `ext::sh -c touch% ${marker}`], {cwd: dir, env}))
    expect(error.code).toBe('MODULE_GIT_FAILED')
    expect(error.details.stderr).toEqual(expect.stringContaining("transport 'ext' not allowed"))
    expect(existsSync(marker)).toBe(false)
  })
})

describe('resolveModule: a private cache', () => {
  it('creates the cache private and refuses one other users can write to', async () => {
    const dataDir = await newDataDir()
    const ref = parseModuleRef('cowsay:v0.0.1', {shortcutBase})
    await resolveModule(ref, {dataDir, env})
    expect((await stat(join(dataDir, 'repos'))).mode & 0o777).toBe(0o700)

    await chmod(join(dataDir, 'repos'), 0o777)
    const error = await resolveModule(ref, {dataDir, env}).catch((e: unknown) => e)
    expect(isLilypadError(error, 'MODULE_CACHE_FAILED')).toBe(true)
    expect((error as LilypadError).message).toContain('writable by other users')
  })
})

describe('resolveModule: the refs record', () => {
  it('keeps every ref when several are resolved at once', async () => {
    const dataDir = await newDataDir()
    const refs = ['v0.0.1', 'v0.0.2', 'v0.0.10', 'main']
    await Promise.all(
      refs.map((tag) => resolveModule(parseModuleRef(`cowsay:${tag}`, {shortcutBase}), {dataDir, env})),
    )
    const key = parseModuleRef('cowsay:v0.0.1', {shortcutBase}).cacheKey
    const record = JSON.parse(await readFile(join(repoCacheDir(dataDir, key), 'refs.json'), 'utf8')) as {
      refs: Record<string, {commit: string}>
    }
    expect(Object.keys(record.refs).sort()).toEqual([...refs].sort())
    expect(record.refs['v0.0.2']?.commit).toBe(cowsay.commits['v0.0.2'])
  })
})
