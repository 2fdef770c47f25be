/**
 * The devnet's example module repositories, built from the sources under `./modules/`: one bare
 * repository per module, one commit per tag. Author, committer, dates and messages are fixed and
 * git runs without any user or system configuration, so every machine builds the same commit
 * hashes, and a module ref pinned to a commit keeps working after `devnet reset`.
 *
 * Each repository is written by a single `git fast-import` (one process per repository, all in
 * parallel), which keeps a cold `devnet up` fast.
 */
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdir, readFile, readdir, rm} from 'node:fs/promises'
import {join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

import {type LilypadError, lilypadError} from '../../core/errors/index.js'
import {gitEnvironment} from '../../core/module/git.js'

/** Where the module sources live: `<repo>/files/**` in every tag, `<repo>/tags/<tag>/**` per tag. */
export const MODULE_SOURCES_DIR: string = fileURLToPath(new URL('./modules/', import.meta.url))

/** The example modules and their tags, oldest first. */
export const EXAMPLE_MODULES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'lilypad-module-cowsay': Object.freeze(['v0.0.1', 'v0.0.2', 'v0.0.3', 'v0.0.4']),
  'lilypad-module-outputs': Object.freeze(['v0.1.0']),
  'lilypad-module-fail': Object.freeze(['v0.1.0']),
  'lilypad-module-sleep': Object.freeze(['v0.1.0']),
})

/** The identity and clock every commit is made with. */
const AUTHOR = 'Lilypad Devnet <devnet@lilypad.invalid>'
/** 2024-01-01T00:00:00Z; each tag of a repository is one day after the previous one. */
const FIRST_COMMIT_TIME = 1_704_067_200
const DAY = 86_400

/** One built repository. */
export interface ModuleRepo {
  /** The bare repository, `<targetDir>/<name>.git`. */
  readonly path: string
  /** The commit of each tag. */
  readonly tags: Readonly<Record<string, string>>
}

/** Options of {@link buildModuleRepos}. */
export interface BuildModuleReposOptions {
  /** Stops the build; the partly written repositories are left for the caller to remove. */
  readonly signal?: AbortSignal | undefined
  /** Where to read the module sources from. Default {@link MODULE_SOURCES_DIR}. */
  readonly sourcesDir?: string | undefined
  /** The caller's environment; only PATH (and a few safe variables) reach git. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/**
 * Builds every example module repository under `targetDir`, replacing any earlier build there.
 *
 * @param targetDir - directory to create `<name>.git` bare repositories in (created if missing)
 * @param options - cancellation, sources directory and environment
 * @returns each repository's path and tag commits, keyed by repository name
 * @throws INTERRUPTED when `signal` aborts; DEVNET_START_FAILED when git fails or the sources are missing
 * @example
 * const repos = await buildModuleRepos('/data/devnet/git')
 * repos['lilypad-module-cowsay'].tags['v0.0.3'] // the commit cowsay:v0.0.3 resolves to
 */
export async function buildModuleRepos(
  targetDir: string,
  options: BuildModuleReposOptions = {},
): Promise<Record<string, ModuleRepo>> {
  const sourcesDir = options.sourcesDir ?? MODULE_SOURCES_DIR
  throwIfAborted(options.signal)
  await mkdir(targetDir, {recursive: true})
  const env = {
    ...gitEnvironment({PATH: options.env?.PATH ?? process.env.PATH}),
    HOME: targetDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  }
  const entries = await Promise.all(
    Object.entries(EXAMPLE_MODULES).map(async ([name, tags]) => {
      const repo = await buildRepo({name, tags, sourcesDir, targetDir, env, signal: options.signal})
      return [name, repo] as const
    }),
  )
  return Object.fromEntries(entries)
}

interface BuildRepoOptions {
  name: string
  tags: readonly string[]
  sourcesDir: string
  targetDir: string
  env: Record<string, string>
  signal: AbortSignal | undefined
}

async function buildRepo(options: BuildRepoOptions): Promise<ModuleRepo> {
  const {name, tags, targetDir, env, signal} = options
  const source = join(options.sourcesDir, name)
  const common = await readTree(join(source, 'files'))
  const path = join(targetDir, `${name}.git`)
  await rm(path, {recursive: true, force: true})
  await git(['init', '--quiet', '--bare', '--template=', '--initial-branch=main', path], {
    cwd: targetDir,
    env,
    signal,
  })

  const chunks: Buffer[] = []
  const text = (value: string): void => {
    chunks.push(Buffer.from(value, 'utf8'))
  }
  const data = (bytes: Buffer): void => {
    text(`data ${bytes.length}\n`)
    chunks.push(bytes, Buffer.from('\n'))
  }
  const blobs = new Map<string, number>()
  let nextMark = 1
  const blobMark = (bytes: Buffer): number => {
    const key = createHash('sha256').update(bytes).digest('hex')
    const known = blobs.get(key)
    if (known !== undefined) return known
    const mark = nextMark++
    blobs.set(key, mark)
    text(`blob\nmark :${mark}\n`)
    data(bytes)
    return mark
  }

  const commitMarks: number[] = []
  for (const [index, tag] of tags.entries()) {
    const files = new Map([...common, ...(await readTree(join(source, 'tags', tag)))])
    const lines = [...files.keys()]
      .sort()
      .map((file) => `M 100644 :${blobMark(files.get(file) ?? Buffer.alloc(0))} ${file}\n`)
    const mark = nextMark++
    const time = `${FIRST_COMMIT_TIME + index * DAY} +0000`
    text(`commit refs/heads/main\nmark :${mark}\nauthor ${AUTHOR} ${time}\ncommitter ${AUTHOR} ${time}\n`)
    data(Buffer.from(`${name} ${tag}\n`, 'utf8'))
    const previous = commitMarks.at(-1)
    if (previous !== undefined) text(`from :${previous}\n`)
    text('deleteall\n')
    for (const line of lines) text(line)
    text(`\nreset refs/tags/${tag}\nfrom :${mark}\n\n`)
    commitMarks.push(mark)
  }
  text('done\n')

  const marksFile = join(path, 'lilypad-marks')
  await git(['fast-import', '--quiet', '--done', `--export-marks=${marksFile}`], {
    cwd: path,
    env,
    signal,
    input: Buffer.concat(chunks),
  })
  const marks = parseMarks(await readFile(marksFile, 'utf8'))
  await rm(marksFile, {force: true})
  const commits: Record<string, string> = {}
  for (const [index, tag] of tags.entries()) {
    const commit = marks.get(commitMarks[index] ?? -1)
    if (commit === undefined) throw failed(`git fast-import did not report the commit of ${name} ${tag}.`)
    commits[tag] = commit
  }
  return {path, tags: commits}
}

/** Every file under `dir`, keyed by its `/`-separated path relative to `dir`. */
async function readTree(dir: string): Promise<Map<string, Buffer>> {
  let names: string[]
  try {
    names = await readdir(dir, {recursive: true})
  } catch (error) {
    throw failed(`The example module sources are missing: ${dir}.`, error)
  }
  const files = new Map<string, Buffer>()
  for (const name of names.sort()) {
    const full = join(dir, name)
    const content = await readFile(full).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') return undefined
      throw error
    })
    const path = relative(dir, full).split(sep).join('/')
    // fast-import would need these quoted; module files never need them.
    if (/["\n\\]|^\s/.test(path)) throw failed(`Unsupported file name in the example modules: ${path}`)
    if (content !== undefined) files.set(path, content)
  }
  return files
}

function parseMarks(text: string): Map<number, string> {
  const marks = new Map<number, string>()
  for (const line of text.split('\n')) {
    const match = /^:(\d+) ([0-9a-f]{40,64})$/.exec(line)
    if (match?.[1] !== undefined && match[2] !== undefined) marks.set(Number(match[1]), match[2])
  }
  return marks
}

interface GitOptions {
  cwd: string
  env: Record<string, string>
  signal: AbortSignal | undefined
  input?: Buffer
}

/** Runs git with a fixed environment, feeding `input` on stdin; rejects with its stderr on failure. */
async function git(args: readonly string[], options: GitOptions): Promise<void> {
  throwIfAborted(options.signal)
  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', [...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'ignore', 'pipe'],
      ...(options.signal === undefined ? {} : {signal: options.signal}),
    })
    const stderr: Buffer[] = []
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.stdin.on('error', () => {
      // A git that exits early closes its stdin; the exit status tells what happened.
    })
    child.once('error', (error) => {
      reject(
        options.signal?.aborted === true
          ? interrupted(error)
          : failed(`Could not run git ${args[0] ?? ''}: ${error.message}`, error),
      )
    })
    child.once('close', (code) => {
      if (options.signal?.aborted === true) reject(interrupted())
      else if (code === 0) resolve()
      else {
        const message = Buffer.concat(stderr).toString('utf8').trim().split('\n').at(-1) ?? ''
        reject(
          failed(
            `git ${args[0] ?? ''} failed while building the example modules: ${message || `exit code ${code}`}`,
          ),
        )
      }
    })
    child.stdin.end(options.input ?? Buffer.alloc(0))
  })
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw interrupted()
}

function interrupted(cause?: unknown): LilypadError {
  return lilypadError('INTERRUPTED', {
    message: 'Building the example module repositories was cancelled.',
    cause,
  })
}

function failed(message: string, cause?: unknown): LilypadError {
  return lilypadError('DEVNET_START_FAILED', {
    message,
    hints: ['Check that git is installed and on PATH, and that the data directory is writable.'],
    cause,
  })
}
