/**
 * `lilypad module init`: copies a scaffold from the package's `templates/<template>/` into a new
 * module directory, fills in its placeholders, makes it a git repository on branch `main` with one
 * commit, and tags that commit `v0.1.0` (a lightweight tag: every git implementation, go-git's
 * included, resolves it straight to the commit).
 *
 * Scaffold conventions (`templates/<name>/`):
 * - `__MODULE_NAME__` and `__IMAGE__` in text files are replaced at scaffold time. The syntax cannot
 *   collide with the Go-template `{{ … }}` of `lilypad_module.json.tmpl`.
 * - `_gitignore` and `_dockerignore` are written as `.gitignore` and `.dockerignore` (npm leaves
 *   `.gitignore` files out of published packages).
 * - Files containing a NUL byte are binary and copied as they are; the executable bit is kept.
 *
 * Nothing is half-written: a new module is assembled in a temporary directory next to the target
 * and renamed into place. With `force`, into a directory that already has files: existing files are
 * never overwritten or deleted (they are reported as `skipped`), an existing repository is reused
 * (the scaffold is committed on its current branch; refused if it already has a `v0.1.0` tag), the
 * commit contains only the files the scaffold wrote, and on failure the files and the repository
 * it created are removed again.
 */
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises'
import {basename, dirname, join, relative, resolve, sep} from 'node:path'

import {type LilypadError, isLilypadError, lilypadError} from '../errors/index.js'
import {type GitEnvironment, runGit} from './git.js'
import {errnoCode} from '../util/errno.js'

/** The scaffolds shipped in `templates/`. */
export const SCAFFOLD_TEMPLATES = ['docker', 'wasm'] as const

/** A scaffold name. */
export type ScaffoldTemplate = (typeof SCAFFOLD_TEMPLATES)[number]

/** The tag put on the first commit. */
export const FIRST_TAG = 'v0.1.0'

/** Identity used for the first commit when git has none configured. */
export const FALLBACK_GIT_IDENTITY: Readonly<{authorName: string; authorEmail: string}> = Object.freeze({
  authorName: 'Lilypad module author',
  authorEmail: 'author@lilypad.invalid',
})

/** Options of {@link scaffoldModule}. */
export interface ScaffoldOptions {
  /** The module directory to create (or fill, with `force`). */
  dir: string
  template: ScaffoldTemplate
  /** Module name; defaults to the directory name. Lower-cased and reduced to `[a-z0-9._-]`. */
  name?: string
  /** Docker image reference for the docker scaffold; defaults to `docker.io/<you>/<name>:v0.1.0`. */
  image?: string
  /** Write into a directory that is not empty (existing files are kept). */
  force?: boolean
  /** The package's `templates/` directory. */
  templatesDir: string
  /** Identity for the first commit and tag, used only where git has no `user.name`/`user.email`. */
  git?: {authorName: string; authorEmail: string}
  /** The caller's environment for git (PATH, HOME so git finds the user's identity). */
  env?: GitEnvironment
}

/** What {@link scaffoldModule} created. */
export interface ScaffoldResult {
  /** Absolute path of the module directory. */
  dir: string
  template: ScaffoldTemplate
  /** The module name the placeholders were filled with. */
  name: string
  /** Files written, relative to `dir`, `/`-separated, sorted. */
  files: string[]
  /** Files of the scaffold that already existed and were left alone (only with `force`). */
  skipped: string[]
  /** The first commit (full hash). */
  commit: string
  /** The lightweight tag on that commit. */
  tag: typeof FIRST_TAG
  /** The branch the commit is on. */
  branch: string
  /** Commands and steps to show the user next. */
  nextSteps: string[]
}

/** Scaffold files whose name is stored without the leading dot. */
const DOTFILES: Readonly<Record<string, string>> = {_gitignore: '.gitignore', _dockerignore: '.dockerignore'}

interface ScaffoldFile {
  /** Path inside the module, `/`-separated. */
  path: string
  content: Buffer
  executable: boolean
}

/**
 * Turns a directory name into a module name usable as a Docker repository and npm package name.
 *
 * @example
 * sanitiseModuleName('My Module!') // 'my-module'
 */
export function sanitiseModuleName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]{2,}/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 64)
    .replace(/[._-]+$/, '')
  return name === '' ? 'lilypad-module' : name
}

/**
 * Creates a module repository from a scaffold.
 *
 * @param options - target directory, scaffold, name, `force`, the templates directory, git fallbacks
 * @returns the directory, the files written, the commit and tag, and next steps to print
 * @throws DIRECTORY_NOT_EMPTY when `dir` has files and `force` is not set
 * @throws USAGE when `dir` is a file, when a forced target repository already has tag v0.1.0, or
 *   when `image` is not a plain image reference
 * @throws SCAFFOLD_FAILED when the scaffold is missing or writing or git fails (nothing is left behind)
 * @example
 * const result = await scaffoldModule({dir: 'my-module', template: 'docker', templatesDir})
 * // result.tag === 'v0.1.0'
 */
export async function scaffoldModule(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const target = resolve(options.dir)
  const name = sanitiseModuleName(options.name ?? basename(target))
  const image = options.image ?? `docker.io/<you>/${name}:${FIRST_TAG}`
  if (!/^[^\s"'\\{}`$]+$/.test(image)) {
    throw lilypadError('USAGE', {
      message: `"${image}" is not a plain image reference.`,
      hints: ['Pass an image such as docker.io/me/my-module:v0.1.0.'],
      details: {image},
    })
  }
  const files = await readScaffold(options.templatesDir, options.template, {
    __MODULE_NAME__: name,
    __IMAGE__: image,
  })

  const existing = await inspectTarget(target)
  if (existing === 'file') {
    throw lilypadError('USAGE', {
      message: `${target} exists and is not a directory.`,
      hints: ['Choose another directory for the module.'],
      details: {dir: target},
    })
  }
  if (existing === 'non-empty' && options.force !== true) {
    throw lilypadError('DIRECTORY_NOT_EMPTY', {
      message: `${target} is not empty.`,
      hints: [
        'Choose a new or empty directory, or pass --force to add the module files (existing files are kept).',
      ],
      details: {dir: target},
    })
  }

  const context = {name, image, template: options.template, target, ...pickGit(options)}
  return existing === 'non-empty'
    ? scaffoldInPlace(files, context)
    : scaffoldFresh(files, context, existing === 'empty')
}

interface ScaffoldContext {
  name: string
  image: string
  template: ScaffoldTemplate
  target: string
  git: {authorName: string; authorEmail: string}
  env: GitEnvironment
}

function pickGit(options: ScaffoldOptions): Pick<ScaffoldContext, 'git' | 'env'> {
  return {git: options.git ?? FALLBACK_GIT_IDENTITY, env: options.env ?? {}}
}

async function inspectTarget(target: string): Promise<'missing' | 'file' | 'empty' | 'non-empty'> {
  try {
    const info = await lstat(target)
    if (!info.isDirectory()) return 'file'
    return (await readdir(target)).length === 0 ? 'empty' : 'non-empty'
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 'missing'
    throw scaffoldFailed(`Could not read ${target}`, error)
  }
}

/** Reads `templates/<template>/`, renames dotfiles and fills placeholders in text files. */
async function readScaffold(
  templatesDir: string,
  template: ScaffoldTemplate,
  values: Readonly<Record<string, string>>,
): Promise<ScaffoldFile[]> {
  const root = join(templatesDir, template)
  let entries: string[]
  try {
    if (!(await stat(root)).isDirectory()) throw new Error(`${root} is not a directory`)
    entries = await readdir(root, {recursive: true})
  } catch (error) {
    throw scaffoldFailed(`The ${template} scaffold is missing from ${templatesDir}`, error)
  }
  const files: ScaffoldFile[] = []
  for (const entry of entries.sort()) {
    const source = join(root, entry)
    const info = await lstat(source)
    if (!info.isFile()) continue
    const segments = entry.split(sep)
    const last = segments.pop() ?? entry
    const path = [...segments, DOTFILES[last] ?? last].join('/')
    let content = await readFile(source)
    if (!content.includes(0)) {
      let text = content.toString('utf8')
      for (const [placeholder, value] of Object.entries(values)) text = text.replaceAll(placeholder, value)
      content = Buffer.from(text, 'utf8')
    }
    files.push({path, content, executable: (info.mode & 0o111) !== 0})
  }
  if (!files.some((file) => file.path === 'lilypad_module.json.tmpl')) {
    throw scaffoldFailed(`The ${template} scaffold in ${templatesDir} has no lilypad_module.json.tmpl`)
  }
  return files
}

async function writeScaffoldFile(dir: string, file: ScaffoldFile, flag: 'w' | 'wx'): Promise<void> {
  const path = join(dir, ...file.path.split('/'))
  await mkdir(dirname(path), {recursive: true})
  await writeFile(path, file.content, {flag, mode: file.executable ? 0o755 : 0o644})
}

/** A new directory: assemble next to it, then rename into place. */
async function scaffoldFresh(
  files: ScaffoldFile[],
  context: ScaffoldContext,
  targetExists: boolean,
): Promise<ScaffoldResult> {
  const parent = dirname(context.target)
  let staging: string | undefined
  try {
    await mkdir(parent, {recursive: true})
    staging = await mkdtemp(join(parent, `.${basename(context.target)}.lilypad-init-`))
    const mode = targetExists ? (await stat(context.target)).mode & 0o7777 : 0o755
    await chmod(staging, mode)
    for (const file of files) await writeScaffoldFile(staging, file, 'wx')
    const git = await commitScaffold(staging, files, context, {init: true})
    await moveIntoPlace(staging, context.target, targetExists)
    staging = undefined
    return result(context, files, [], git)
  } catch (error) {
    throw isLilypadError(error)
      ? error
      : scaffoldFailed(`Could not create the module in ${context.target}`, error)
  } finally {
    if (staging !== undefined) await rm(staging, {recursive: true, force: true})
  }
}

async function moveIntoPlace(staging: string, target: string, targetExists: boolean): Promise<void> {
  try {
    await rename(staging, target)
    return
  } catch (error) {
    const code = errnoCode(error)
    if (
      !targetExists ||
      (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EPERM' && code !== 'EISDIR')
    ) {
      throw notEmptyIfRaced(target, error)
    }
  }
  // Some systems refuse to rename onto an empty directory: remove it first (fails if it filled up).
  try {
    await rmdir(target)
    await rename(staging, target)
  } catch (error) {
    throw notEmptyIfRaced(target, error)
  }
}

function notEmptyIfRaced(target: string, error: unknown): LilypadError {
  const code = errnoCode(error)
  if (code === 'EEXIST' || code === 'ENOTEMPTY') {
    return lilypadError('DIRECTORY_NOT_EMPTY', {
      message: `${target} was filled by something else while the module was being created.`,
      hints: ['Choose a new or empty directory.'],
      details: {dir: target},
      cause: error,
    })
  }
  return scaffoldFailed(`Could not move the module into ${target}`, error)
}

/** `force` into a non-empty directory: add missing files, commit only those, undo on failure. */
async function scaffoldInPlace(files: ScaffoldFile[], context: ScaffoldContext): Promise<ScaffoldResult> {
  const dir = context.target
  const hasRepo = await exists(join(dir, '.git'))
  if (hasRepo) {
    const tags = await git(
      ['tag', '--list', FIRST_TAG],
      dir,
      context,
      'list the tags of the existing repository',
    )
    if (tags.trim() !== '') {
      throw lilypadError('USAGE', {
        message: `${dir} is a git repository that already has a tag ${FIRST_TAG}.`,
        hints: ['Choose a new or empty directory for the module.'],
        details: {dir, tag: FIRST_TAG},
      })
    }
  }
  const written: ScaffoldFile[] = []
  const skipped: string[] = []
  const createdDirs: string[] = []
  try {
    for (const file of files) {
      const path = join(dir, ...file.path.split('/'))
      if (await exists(path)) {
        skipped.push(file.path)
        continue
      }
      await recordMissingDirs(dir, dirname(path), createdDirs)
      await writeScaffoldFile(dir, file, 'wx')
      written.push(file)
    }
    if (written.length === 0) {
      throw lilypadError('USAGE', {
        message: `Every file of the ${context.template} scaffold already exists in ${dir}; nothing to add.`,
        hints: ['Choose a new or empty directory for the module.'],
        details: {dir},
      })
    }
    const commit = await commitScaffold(dir, written, context, {init: !hasRepo})
    return result(context, written, skipped, commit)
  } catch (error) {
    for (const file of written) await rm(join(dir, ...file.path.split('/')), {force: true})
    for (const created of createdDirs.reverse()) await rmdir(created).catch(() => undefined)
    if (!hasRepo) await rm(join(dir, '.git'), {recursive: true, force: true})
    throw isLilypadError(error) ? error : scaffoldFailed(`Could not add the module files to ${dir}`, error)
  }
}

/** Notes the directories between `root` and `dir` that do not exist yet, outermost first. */
async function recordMissingDirs(root: string, dir: string, created: string[]): Promise<void> {
  const missing: string[] = []
  for (let current = dir; current !== root && relative(root, current) !== ''; current = dirname(current)) {
    if (await exists(current)) break
    missing.unshift(current)
  }
  for (const path of missing) if (!created.includes(path)) created.push(path)
}

/** `git init` (branch main) when asked, then one commit of `files` and the tag. */
async function commitScaffold(
  dir: string,
  files: readonly ScaffoldFile[],
  context: ScaffoldContext,
  options: {init: boolean},
): Promise<{commit: string; branch: string}> {
  if (options.init) {
    await git(['init', '--quiet'], dir, context, 'create the git repository')
    await git(['symbolic-ref', 'HEAD', 'refs/heads/main'], dir, context, 'name the branch main')
  }
  const identity = await identityFlags(dir, context)
  const paths = files.map((file) => file.path)
  await git(['add', '--force', '--', ...paths], dir, context, 'stage the module files')
  const message = `Create Lilypad module ${context.name} from the ${context.template} scaffold`
  await git(
    [...identity, 'commit', '--quiet', '--no-verify', '-m', message, '--', ...paths],
    dir,
    context,
    'commit',
  )
  await git(['tag', FIRST_TAG], dir, context, `tag ${FIRST_TAG}`)
  const commit = (await git(['rev-parse', 'HEAD'], dir, context, 'read the commit')).trim()
  const branch = (await git(['rev-parse', '--abbrev-ref', 'HEAD'], dir, context, 'read the branch')).trim()
  return {commit, branch}
}

/** `-c user.name=… -c user.email=…` for whatever git has no value for. */
async function identityFlags(dir: string, context: ScaffoldContext): Promise<string[]> {
  const flags: string[] = []
  const configured = async (key: string): Promise<boolean> => {
    try {
      return (await runGit(['config', '--get', key], {cwd: dir, env: context.env})).trim() !== ''
    } catch {
      return false // exit 1: not set
    }
  }
  if (!(await configured('user.name'))) flags.push('-c', `user.name=${context.git.authorName}`)
  if (!(await configured('user.email'))) flags.push('-c', `user.email=${context.git.authorEmail}`)
  return flags
}

async function git(
  args: readonly string[],
  cwd: string,
  context: ScaffoldContext,
  what: string,
): Promise<string> {
  try {
    return await runGit(args, {cwd, env: context.env})
  } catch (error) {
    if (isLilypadError(error)) {
      throw lilypadError('SCAFFOLD_FAILED', {
        message: `Could not ${what}: ${error.message}`,
        hints: error.hints,
        details: error.details,
        cause: error,
      })
    }
    throw scaffoldFailed(`Could not ${what}`, error)
  }
}

function result(
  context: ScaffoldContext,
  files: readonly ScaffoldFile[],
  skipped: string[],
  git: {commit: string; branch: string},
): ScaffoldResult {
  return {
    dir: context.target,
    template: context.template,
    name: context.name,
    files: files.map((file) => file.path).sort(),
    skipped: skipped.sort(),
    commit: git.commit,
    tag: FIRST_TAG,
    branch: git.branch,
    nextSteps: nextSteps(context, git.branch),
  }
}

function nextSteps(context: ScaffoldContext, branch: string): string[] {
  const dir = shellQuote(context.target)
  const repo = `github.com/<you>/${context.name}`
  const common = [
    `lilypad module validate ${dir}`,
    `git -C ${dir} remote add origin https://${repo}.git && git -C ${dir} push origin ${branch} --tags`,
    `lilypad run ${repo}:${FIRST_TAG} -i Message=hello`,
  ]
  if (context.template === 'docker') {
    return [
      `docker buildx build --platform linux/amd64 -t ${shellQuote(context.image)} --push ${dir}`,
      `Put your image in lilypad_module.json.tmpl, commit, and move the unpublished tag: git tag -f ${FIRST_TAG}`,
      ...common,
    ]
  }
  return [
    'After changing assembly/index.ts: npm install && npm run build, commit build/module.wasm and tag a new version',
    ...common,
  ]
}

/** Quotes a value for a POSIX shell when it needs it. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false
    throw error
  }
}

function scaffoldFailed(message: string, cause?: unknown): LilypadError {
  const reason = cause instanceof Error ? `: ${cause.message}` : ''
  return lilypadError('SCAFFOLD_FAILED', {message: `${message}${reason}`, cause})
}
