/**
 * Local git repositories for tests: bare "module repositories" with commits and tags in a temp dir,
 * served over file:// (or git:// with {@link startGitDaemon}). Uses the system git directly, with a
 * hermetic environment (no user or system config).
 *
 * @example
 * const root = await makeTempDir('lilypad-test-')
 * const repo = await createModuleRepo({root, name: 'lilypad-module-cowsay', versions: [
 *   {tag: 'v0.0.1', files: {'lilypad_module.json.tmpl': '{"machine": {}}'}},
 *   {tag: 'v0.0.2', files: {'lilypad_module.json.tmpl': '{…}'}, annotated: true},
 * ]})
 * repo.url // file:///tmp/lilypad-test-XXXX/lilypad-module-cowsay.git
 * repo.commits['v0.0.2'] // the commit the tag points to
 * await removeTempDir(root)
 */
import {execFile, spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {createConnection} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {promisify} from 'node:util'
import {freePort} from './net.js'

const execFileAsync = promisify(execFile)

/** One commit of a fixture repository. */
export interface ModuleRepoVersion {
  /** Tag to put on the commit (optional). */
  readonly tag?: string
  /** Files to write, relative to the repository root, overlaid on the previous commit; `null` deletes. */
  readonly files: Readonly<Record<string, string | null>>
  /** Make the tag annotated (`git tag -a`). Default: lightweight. */
  readonly annotated?: boolean
  /** Commit message. Default: the tag or "commit <n>". */
  readonly message?: string
}

/** Options of {@link createModuleRepo}. */
export interface CreateModuleRepoOptions {
  /** Directory to create the repository in (a temp dir of the test). */
  readonly root: string
  /** Repository name; the bare repository is `<root>/<name>.git`. */
  readonly name: string
  /** Commits, oldest first, all on {@link ModuleRepoFixture.branch}. */
  readonly versions: readonly ModuleRepoVersion[]
  /** Branch name. Default `main`. */
  readonly branch?: string
}

/** A created repository. `commits` and `commitList` are updated by {@link addCommit} and {@link moveTag}. */
export interface ModuleRepoFixture {
  /** `file:///…/<name>.git` */
  readonly url: string
  /** The bare repository. */
  readonly bareDir: string
  /** The working clone commits are made in. */
  readonly workDir: string
  /** The branch everything is committed on (the bare repository's HEAD). */
  readonly branch: string
  /** Commit hash of each tag. */
  readonly commits: Record<string, string>
  /** Every commit, oldest first. */
  readonly commitList: string[]
}

/** Environment for fixture git commands: no user/system config, fixed identity, no prompts. */
export function fixtureGitEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Lilypad Test',
    GIT_AUTHOR_EMAIL: 'test@lilypad.invalid',
    GIT_COMMITTER_NAME: 'Lilypad Test',
    GIT_COMMITTER_EMAIL: 'test@lilypad.invalid',
  }
}

/** Runs git with the fixture environment and returns trimmed stdout. */
export async function git(args: readonly string[], cwd: string): Promise<string> {
  const {stdout} = await execFileAsync('git', [...args], {
    cwd,
    env: fixtureGitEnv(cwd),
    maxBuffer: 16 * 1024 * 1024,
  })
  return stdout.trim()
}

/** Creates a temp directory under the OS temp dir. */
export async function makeTempDir(prefix = 'lilypad-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/** Removes a directory made by {@link makeTempDir} (or anything else), ignoring absence. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, {recursive: true, force: true, maxRetries: 3})
}

/**
 * Creates `<root>/<name>.git` (bare) with one commit per version, tags as requested, and the branch
 * pushed.
 */
export async function createModuleRepo(options: CreateModuleRepoOptions): Promise<ModuleRepoFixture> {
  const branch = options.branch ?? 'main'
  const bareDir = join(options.root, `${options.name}.git`)
  const workDir = join(options.root, `${options.name}.work`)
  await mkdir(bareDir, {recursive: true})
  await mkdir(workDir, {recursive: true})
  await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`], bareDir)
  await git(['init', '--quiet', `--initial-branch=${branch}`], workDir)
  const fixture: ModuleRepoFixture = {
    url: pathToFileURL(bareDir).href,
    bareDir,
    workDir,
    branch,
    commits: {},
    commitList: [],
  }
  for (const version of options.versions) await commitVersion(fixture, version)
  await push(fixture)
  return fixture
}

/** Adds a commit (and optional tag) on top of the branch and pushes it. Returns the commit hash. */
export async function addCommit(fixture: ModuleRepoFixture, version: ModuleRepoVersion): Promise<string> {
  const commit = await commitVersion(fixture, version)
  await push(fixture)
  return commit
}

/**
 * Moves an existing tag to a new commit made from `files` (as a force-push would), like an author
 * re-tagging a release. Returns the new commit hash.
 */
export async function moveTag(
  fixture: ModuleRepoFixture,
  tag: string,
  files: Readonly<Record<string, string | null>>,
  options: {annotated?: boolean} = {},
): Promise<string> {
  await git(['tag', '-d', tag], fixture.workDir)
  return addCommit(fixture, {tag, files, message: `re-tag ${tag}`, ...options})
}

/** Creates (or moves) a branch in the bare repository at `commit`. */
export async function setBranch(fixture: ModuleRepoFixture, name: string, commit: string): Promise<void> {
  await git(['update-ref', `refs/heads/${name}`, commit], fixture.bareDir)
}

async function commitVersion(fixture: ModuleRepoFixture, version: ModuleRepoVersion): Promise<string> {
  const {workDir} = fixture
  for (const [file, content] of Object.entries(version.files)) {
    const path = join(workDir, file)
    if (content === null) {
      await git(['rm', '--quiet', '--', file], workDir)
      continue
    }
    await mkdir(dirname(path), {recursive: true})
    await writeFile(path, content, 'utf8')
    await git(['add', '--', file], workDir)
  }
  const message = version.message ?? version.tag ?? `commit ${fixture.commitList.length + 1}`
  await git(['commit', '--quiet', '--allow-empty', '-m', message], workDir)
  const commit = await git(['rev-parse', 'HEAD'], workDir)
  fixture.commitList.push(commit)
  if (version.tag !== undefined) {
    await git(
      version.annotated === true ? ['tag', '-a', '-m', version.tag, version.tag] : ['tag', version.tag],
      workDir,
    )
    fixture.commits[version.tag] = commit
  }
  return commit
}

async function push(fixture: ModuleRepoFixture): Promise<void> {
  await git(
    ['push', '--quiet', '--force', '--tags', fixture.bareDir, `HEAD:refs/heads/${fixture.branch}`],
    fixture.workDir,
  )
}

/** A running `git daemon`, serving the repositories under a directory over git://127.0.0.1. */
export interface GitDaemon {
  readonly port: number
  /** `git://127.0.0.1:<port>` — append `/<name>.git`. */
  readonly baseUrl: string
  /** Stops the daemon (by its PID) and waits until it has exited. */
  stop(): Promise<void>
}

/** Starts `git daemon --export-all` on 127.0.0.1 for `baseDir`, and waits until it accepts connections. */
export async function startGitDaemon(baseDir: string): Promise<GitDaemon> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--export-all',
      '--informative-errors',
      `--base-path=${baseDir}`,
      '--listen=127.0.0.1',
      `--port=${port}`,
      baseDir,
    ],
    {env: fixtureGitEnv(baseDir), stdio: 'ignore'},
  )
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve()
    })
  })
  const deadline = Date.now() + 10_000
  while (!(await canConnect(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill()
      throw new Error(`git daemon did not start on port ${port}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    port,
    baseUrl: `git://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({host: '127.0.0.1', port})
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => {
      resolve(false)
    })
  })
}

export {freePort}
