/**
 * buildModuleRepos makes the same commits on every machine and every run: fixed identity and dates,
 * no user configuration. The hashes below change only when a module's files change; update them
 * then (and know that refs pinned to the old commits stop resolving on the devnet).
 */
import {execFile} from 'node:child_process'
import {mkdir, readFile, readdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {EXAMPLE_MODULES, MODULE_SOURCES_DIR, buildModuleRepos} from '../../../../src/devnet/git/repos.js'
import {makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'

const run = promisify(execFile)

const EXPECTED_COMMITS: Record<string, Record<string, string>> = {
  'lilypad-module-cowsay': {
    'v0.0.1': '7d539a743fff6baf02da0af50cd40b503458c335',
    'v0.0.2': '102255e7406c8a19fe167d073e16585282735af4',
    'v0.0.3': 'c312411b7121977d71af45d7cd0b80db4a178483',
    'v0.0.4': '5928f770ce5863a3c3cf46ccb71555998878a81a',
  },
  'lilypad-module-outputs': {'v0.1.0': '697088c4881eff9688fc3726b7bfd37becae8131'},
  'lilypad-module-fail': {'v0.1.0': 'c4fd0544797b5fceb4704ba392ec34acf5c843fe'},
  'lilypad-module-sleep': {'v0.1.0': '09c40778bf12d14cf795a608accfb8bf1e78fc7d'},
}

/** git in a bare repository, with no user configuration. */
async function git(repo: string, ...args: string[]): Promise<string> {
  const {stdout} = await run('git', args, {
    cwd: repo,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: repo,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
    },
    encoding: 'buffer',
    maxBuffer: 16 * 1024 * 1024,
  })
  return stdout.toString('latin1')
}

async function sourceFiles(repo: string, tag: string): Promise<string[]> {
  const list = async (dir: string): Promise<string[]> =>
    (await readdir(dir, {recursive: true, withFileTypes: true}))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
  const files = [
    ...(await list(join(MODULE_SOURCES_DIR, repo, 'files'))),
    ...(await list(join(MODULE_SOURCES_DIR, repo, 'tags', tag))),
  ]
  return [...new Set(files)].sort()
}

let root: string

beforeAll(async () => {
  root = await makeTempDir('lilypad-module-repos-')
})

afterAll(async () => {
  await removeTempDir(root)
})

describe('buildModuleRepos', () => {
  it('builds the same commits twice, in two places, equal to the recorded hashes', async () => {
    const first = await buildModuleRepos(join(root, 'first'))
    const second = await buildModuleRepos(join(root, 'second'))
    const commits = (repos: typeof first): Record<string, Record<string, string>> =>
      Object.fromEntries(Object.entries(repos).map(([name, repo]) => [name, {...repo.tags}]))
    expect(commits(first)).toEqual(EXPECTED_COMMITS)
    expect(commits(second)).toEqual(EXPECTED_COMMITS)
    expect(first['lilypad-module-cowsay']?.path).toBe(join(root, 'first', 'lilypad-module-cowsay.git'))
  })

  it("ignores the caller's git identity and configuration, and rebuilds in place", async () => {
    const home = join(root, 'home')
    await mkdir(home, {recursive: true})
    await writeFile(
      join(home, '.gitconfig'),
      '[user]\n\tname = Somebody Else\n\temail = else@example.invalid\n[core]\n\tautocrlf = true\n[init]\n\tdefaultBranch = trunk\n',
    )
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      GIT_AUTHOR_NAME: 'Somebody Else',
      GIT_COMMITTER_DATE: '2030-01-01T00:00:00Z',
    }
    const target = join(root, 'again')
    await buildModuleRepos(target, {env})
    const repos = await buildModuleRepos(target, {env})
    expect(repos['lilypad-module-cowsay']?.tags).toEqual(EXPECTED_COMMITS['lilypad-module-cowsay'])
  })

  it('makes one commit per tag, oldest first, with exactly that tag’s files, and main at the last tag', async () => {
    const repos = await buildModuleRepos(join(root, 'inspect'))
    for (const [name, tags] of Object.entries(EXAMPLE_MODULES)) {
      const repo = repos[name]
      if (repo === undefined) throw new Error(`${name} was not built`)
      expect((await git(repo.path, 'symbolic-ref', 'HEAD')).trim()).toBe('refs/heads/main')
      expect((await git(repo.path, 'rev-parse', 'main')).trim()).toBe(repo.tags[tags.at(-1) ?? ''])
      const history = (await git(repo.path, 'log', '--reverse', '--format=%H %an <%ae> %aI %cI', 'main'))
        .trim()
        .split('\n')
      expect(history.map((line) => line.split(' ')[0])).toEqual(tags.map((tag) => repo.tags[tag]))
      expect(history[0]).toContain(
        'Lilypad Devnet <devnet@lilypad.invalid> 2024-01-01T00:00:00+00:00 2024-01-01T00:00:00+00:00',
      )
      for (const tag of tags) {
        const listed = (await git(repo.path, 'ls-tree', '-r', '--name-only', tag)).trim().split('\n').sort()
        expect(listed).toEqual(await sourceFiles(name, tag))
        const template = await git(repo.path, 'show', `${tag}:lilypad_module.json.tmpl`)
        expect(template).toBe(
          await readFile(join(MODULE_SOURCES_DIR, name, 'tags', tag, 'lilypad_module.json.tmpl'), 'latin1'),
        )
        const wasm = await git(repo.path, 'show', `${tag}:build/module.wasm`)
        expect(
          Buffer.from(wasm, 'latin1').equals(
            await readFile(join(MODULE_SOURCES_DIR, name, 'files', 'build', 'module.wasm')),
          ),
        ).toBe(true)
      }
    }
  })

  it('stops with INTERRUPTED when the signal is already aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const error: unknown = await buildModuleRepos(join(root, 'aborted'), {signal: controller.signal}).catch(
      (e: unknown) => e,
    )
    expect(isLilypadError(error) && error.code).toBe('INTERRUPTED')
  })
})
