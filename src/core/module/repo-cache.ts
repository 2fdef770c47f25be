/**
 * Resolves a module reference to a commit and a checkout in the local cache, then reads the module
 * template from it (lilypad-protocol.md §1.6).
 *
 * Layout (the Go CLI's): `<dataDir>/repos/<host>/<segments…>/<commit>` holds one detached checkout per
 * commit; `refs.json` next to them remembers what each ref last resolved to, so that a moved tag is
 * reported and a cached module can be used when the remote cannot be reached.
 *
 * Every call asks the remote what the ref points to now (`git ls-remote`); only full commit hashes
 * skip that, since they cannot move. A checkout is built in a temporary sibling directory and renamed
 * into place once verified, so a checkout directory that exists is complete. A lock per commit
 * (proper-lockfile) keeps concurrent processes from downloading the same commit twice; correctness
 * does not depend on it, because the final rename is atomic and a lost race just reuses the winner.
 */
import {mkdir, mkdtemp, readFile, readdir, realpath, rename, rm, stat, writeFile} from 'node:fs/promises'
import {join, resolve, sep} from 'node:path'
import {setTimeout as delay} from 'node:timers/promises'

import {lock} from 'proper-lockfile'

import {isLilypadError, lilypadError} from '../errors/index.js'
import type {LilypadError} from '../errors/index.js'
import {redact} from '../util/redact.js'
import {lsRemote, runGit} from './git.js'
import type {GitEnvironment, GitRemoteContext, RemoteRef} from './git.js'
import {MODULE_TEMPLATE_PATH, isCommitLike, isFullCommit} from './module-ref.js'
import type {ModuleCacheKey, ModuleRef} from './module-ref.js'

/** Progress and warnings from {@link resolveModule}; the CLI turns them into spinner text and warnings. */
export type ModuleEvent =
  /** Asking the remote what the ref points to. */
  | {readonly type: 'module.resolving'; readonly repoUrl: string; readonly ref: string}
  /** The ref resolved to a commit (online or from the cache). */
  | {
      readonly type: 'module.resolved'
      readonly repoUrl: string
      readonly ref: string
      readonly commit: string
    }
  /** The ref points to a different commit than last time: a moved tag or an updated branch. */
  | {
      readonly type: 'module.ref-moved'
      readonly repoUrl: string
      readonly ref: string
      readonly from: string
      readonly to: string
    }
  /** The remote was not asked (`offline: true`) or could not be reached; the cached commit is used. */
  | {
      readonly type: 'module.offline'
      readonly repoUrl: string
      readonly ref: string
      readonly commit: string
      /** When the ref was last resolved online (ISO-8601). */
      readonly resolvedAt: string
      readonly reason: 'requested' | 'unreachable'
    }
  /** The checkout for the commit is already in the cache. */
  | {
      readonly type: 'module.cache-hit'
      readonly repoUrl: string
      readonly commit: string
      readonly dir: string
    }
  /** Another process is downloading the same commit; waiting for it. */
  | {
      readonly type: 'module.lock-wait'
      readonly repoUrl: string
      readonly commit: string
      readonly lockPath: string
    }
  /** Downloading the commit. */
  | {readonly type: 'module.cloning'; readonly repoUrl: string; readonly commit: string}
  /** The checkout is in place. */
  | {
      readonly type: 'module.cloned'
      readonly repoUrl: string
      readonly commit: string
      readonly dir: string
      readonly durationMs: number
    }

/** Options of {@link resolveModule}. */
export interface ResolveModuleOptions {
  /** The data directory; checkouts go under `<dataDir>/repos`. */
  readonly dataDir: string
  /**
   * The caller's environment for git, filtered by `gitEnvironment` (core never reads `process.env`).
   * Default: empty, so git runs with only the safety variables and is found on Node's default path.
   */
  readonly env?: GitEnvironment | undefined
  /** Deadline of each git command. Default 120 s. */
  readonly timeoutMs?: number | undefined
  /** Cancels the resolution (INTERRUPTED). */
  readonly signal?: AbortSignal | undefined
  /** Receives progress events and warnings. */
  readonly onEvent?: ((event: ModuleEvent) => void) | undefined
  /** Do not contact the remote: use what the cache recorded for the ref. */
  readonly offline?: boolean | undefined
  /** Template path inside the repository. Default {@link MODULE_TEMPLATE_PATH}. */
  readonly templatePath?: string | undefined
  /** How long to wait for another process downloading the same commit. Default 30 s. */
  readonly lockWaitMs?: number | undefined
  /** When a lock left by a dead process is taken over. Default 60 s. */
  readonly lockStaleMs?: number | undefined
  /** Clock, for tests. */
  readonly now?: (() => Date) | undefined
}

/** A module checked out in the cache, with its template text. */
export interface ResolvedModule {
  readonly ref: ModuleRef
  /** The full commit hash the ref resolved to. */
  readonly commit: string
  /** The checkout directory. */
  readonly dir: string
  /** Absolute path of the template file. */
  readonly templatePath: string
  readonly templateText: string
  /** True when no download was needed. */
  readonly cacheHit: boolean
  /** True when the remote was not used: `offline: true` was asked for, or it could not be reached. */
  readonly offline: boolean
  /** The commit the ref pointed to last time, when it has moved since. */
  readonly movedFrom?: string
}

// The holder keeps its lock fresh while it downloads, so waiting long is safe; Ctrl-C ends the wait.
const DEFAULT_LOCK_WAIT_MS = 10 * 60_000
const DEFAULT_LOCK_STALE_MS = 60_000
const OLD_TEMP_MS = 24 * 60 * 60 * 1000
const REFS_FILE = 'refs.json'
const MAX_LISTED_TAGS = 20
const FULL_FETCH_REFSPECS = ['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']

/**
 * The cache directory of a repository: `<dataDir>/repos/<host>/<segments…>`.
 *
 * @example
 * repoCacheDir('/data', {host: 'github.com', segments: ['Lilypad-Tech', 'lilypad-module-cowsay']})
 * // '/data/repos/github.com/Lilypad-Tech/lilypad-module-cowsay'
 */
export function repoCacheDir(dataDir: string, key: ModuleCacheKey): string {
  return join(resolve(dataDir), 'repos', key.host, ...key.segments)
}

/**
 * The cache decides what job spec a module produces, so nobody else may write to it: it is created
 * private (0700) and refused when another user owns it or can write to it (the default data dir is
 * under the shared /tmp).
 */
async function ensurePrivateCacheRoot(root: string): Promise<void> {
  await mkdir(root, {recursive: true, mode: 0o700})
  const info = await stat(root)
  const uid = process.getuid?.()
  const foreign = uid !== undefined && info.uid !== uid
  if (foreign || (info.mode & 0o022) !== 0) {
    throw lilypadError('MODULE_CACHE_FAILED', {
      message: `The module cache ${root} is ${foreign ? 'owned by another user' : 'writable by other users'}, so a module read from it could have been tampered with.`,
      hints: [
        foreign
          ? 'Set DATA_DIR to a directory of your own.'
          : `Run chmod go-w ${root}, or set DATA_DIR to a directory of your own.`,
      ],
      details: {dir: root},
    })
  }
}

/**
 * Resolves a module reference to a commit, makes sure the commit is checked out in the cache and
 * reads the module template.
 *
 * @param ref - a parsed module reference (`parseModuleRef`)
 * @param options - data directory, git environment, deadline, cancellation, events, offline mode
 * @returns the commit, checkout directory and template text
 * @throws MODULE_NOT_FOUND when the repository does not exist
 * @throws MODULE_REF_NOT_FOUND when no tag, branch or commit has that name (the tags are listed), when
 *   a short commit is ambiguous, or offline when the ref was never resolved
 * @throws MODULE_TEMPLATE_MISSING when the commit has no template file
 * @throws MODULE_CACHE_LOCKED when another process holds the download lock for too long
 * @throws MODULE_CACHE_FAILED when the cache directory cannot be written
 * @throws NETWORK_UNREACHABLE, TIMEOUT, INTERRUPTED, MODULE_GIT_FAILED from git
 * @example
 * const module = await resolveModule(parseModuleRef('cowsay:v0.0.3', {shortcutBase}), {dataDir, env})
 * module.templateText // the lilypad_module.json.tmpl of that tag
 */
export async function resolveModule(ref: ModuleRef, options: ResolveModuleOptions): Promise<ResolvedModule> {
  const repoDir = repoCacheDir(options.dataDir, ref.cacheKey)
  const context: Context = {
    ref,
    repoDir,
    options,
    emit: options.onEvent ?? (() => undefined),
    git: {env: options.env, timeoutMs: options.timeoutMs, signal: options.signal},
    remote: {url: ref.repoUrl, notFoundHints: notFoundHints(ref)},
  }
  try {
    await ensurePrivateCacheRoot(join(resolve(options.dataDir), 'repos'))
    await mkdir(repoDir, {recursive: true})
    const resolution = await resolveCommit(context)
    const {commit} = resolution
    context.emit({type: 'module.resolved', repoUrl: ref.repoUrl, ref: ref.ref, commit})
    const checkout = await ensureCheckout(context, resolution)
    if (resolution.offline === undefined && !isFullCommit(ref.ref)) await recordRef(context, commit)
    const template = await readTemplate(context, commit, checkout.dir)
    return {
      ref,
      commit,
      dir: checkout.dir,
      templatePath: template.path,
      templateText: template.text,
      cacheHit: checkout.cacheHit,
      offline: resolution.offline !== undefined || options.offline === true,
      ...(resolution.movedFrom === undefined ? {} : {movedFrom: resolution.movedFrom}),
    }
  } catch (error) {
    throw toCacheError(error, repoDir)
  }
}

interface Context {
  readonly ref: ModuleRef
  readonly repoDir: string
  readonly options: ResolveModuleOptions
  readonly emit: (event: ModuleEvent) => void
  readonly git: {
    env: GitEnvironment | undefined
    timeoutMs: number | undefined
    signal: AbortSignal | undefined
  }
  readonly remote: GitRemoteContext
}

interface Resolution {
  /** Full commit hash, lower case. */
  readonly commit: string
  /** The remote ref to fetch shallowly (`refs/tags/v1`), when the ref is a name. */
  readonly fetchRef?: string
  /** A temporary repository that already holds the commit (short-hash resolution). */
  readonly prepared?: string
  /** Set when the commit came from the cache record. */
  readonly offline?: 'requested' | 'unreachable'
  readonly movedFrom?: string
}

interface RefRecord {
  readonly commit: string
  readonly resolvedAt: string
}

// ---------------------------------------------------------------------------------------------
// ref → commit

async function resolveCommit(context: Context): Promise<Resolution> {
  const {ref, options, emit} = context
  const wanted = ref.ref
  if (isFullCommit(wanted)) return {commit: wanted.toLowerCase()}
  if (options.offline === true) return useRecord(context, 'requested')

  emit({type: 'module.resolving', repoUrl: ref.repoUrl, ref: wanted})
  let remoteRefs: RemoteRef[]
  try {
    remoteRefs = await lsRemote(ref.repoUrl, {
      cwd: context.repoDir,
      ...context.git,
      notFoundHints: context.remote.notFoundHints,
    })
  } catch (error) {
    if (isLilypadError(error, 'NETWORK_UNREACHABLE') || isLilypadError(error, 'TIMEOUT')) {
      const fallback = await useRecord(context, 'unreachable').catch(() => undefined)
      if (fallback) return fallback
    }
    throw error
  }

  const records = await readRecords(context.repoDir)
  const previous = records[wanted]
  const named = matchRemoteRef(remoteRefs, wanted)
  let resolution: Resolution
  if (named) {
    resolution = named
  } else if (isCommitLike(wanted)) {
    const prefix = wanted.toLowerCase()
    // A short hash that resolved before names the same commit now (commits do not move), so the
    // history fetch is skipped when its checkout is still there.
    resolution =
      previous?.commit.startsWith(prefix) === true &&
      (await isCompleteCheckout(join(context.repoDir, previous.commit), previous.commit))
        ? {commit: previous.commit}
        : await resolveShortCommit(context, prefix, remoteRefs)
  } else {
    throw refNotFound(context, remoteRefs)
  }

  if (previous !== undefined && previous.commit !== resolution.commit) {
    emit({
      type: 'module.ref-moved',
      repoUrl: ref.repoUrl,
      ref: wanted,
      from: previous.commit,
      to: resolution.commit,
    })
    return {...resolution, movedFrom: previous.commit}
  }
  return resolution
}

/** Uses the recorded commit of the ref, if its checkout is still in the cache. */
async function useRecord(context: Context, reason: 'requested' | 'unreachable'): Promise<Resolution> {
  const {ref} = context
  const record = (await readRecords(context.repoDir))[ref.ref]
  if (
    record === undefined ||
    !(await isCompleteCheckout(join(context.repoDir, record.commit), record.commit))
  ) {
    throw lilypadError('MODULE_REF_NOT_FOUND', {
      message: `${ref.input} is not in the module cache, so it cannot be used offline.`,
      hints: ['Run it once while online to cache it.'],
      details: {repo: redact(ref.repoUrl), ref: ref.ref, offline: true},
    })
  }
  context.emit({
    type: 'module.offline',
    repoUrl: ref.repoUrl,
    ref: ref.ref,
    commit: record.commit,
    resolvedAt: record.resolvedAt,
    reason,
  })
  return {commit: record.commit, offline: reason}
}

/** Tags first (peeled commit of annotated tags), then branches, then `HEAD`; `refs/…` names match exactly. */
function matchRemoteRef(remoteRefs: readonly RemoteRef[], wanted: string): Resolution | undefined {
  const byName = new Map(remoteRefs.map((remoteRef) => [remoteRef.name, remoteRef.commit]))
  const candidates =
    wanted.startsWith('refs/') || wanted === 'HEAD'
      ? [wanted]
      : [`refs/tags/${wanted}`, `refs/heads/${wanted}`]
  for (const name of candidates) {
    const commit = byName.get(`${name}^{}`) ?? byName.get(name)
    if (commit !== undefined) return {commit, fetchRef: name}
  }
  return undefined
}

/** Fetches the whole history into a temporary repository and finds the one commit with that prefix. */
async function resolveShortCommit(
  context: Context,
  prefix: string,
  remoteRefs: readonly RemoteRef[],
): Promise<Resolution> {
  const tmp = await mkdtemp(join(context.repoDir, '.tmp-resolve-'))
  try {
    await runGit(['init', '--quiet'], {cwd: tmp, ...context.git})
    await runGit(['fetch', '--quiet', '--no-tags', '--', context.ref.repoUrl, ...FULL_FETCH_REFSPECS], {
      cwd: tmp,
      ...context.git,
      remote: context.remote,
    })
    const commits = (await runGit(['rev-list', '--all'], {cwd: tmp, ...context.git}))
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter((line) => line.startsWith(prefix))
    const unique = [...new Set(commits)]
    if (unique.length === 1 && unique[0] !== undefined) return {commit: unique[0], prepared: tmp}
    if (unique.length > 1) {
      throw lilypadError('MODULE_REF_NOT_FOUND', {
        message: `Commit prefix "${prefix}" is ambiguous in ${redact(context.ref.repoUrl)}: ${unique.slice(0, 5).join(', ')}${unique.length > 5 ? ', …' : ''}.`,
        hints: ['Use more digits of the commit hash (the full 40 are safest).'],
        details: {repo: redact(context.ref.repoUrl), ref: context.ref.ref, candidates: unique.slice(0, 20)},
      })
    }
    throw refNotFound(context, remoteRefs)
  } catch (error) {
    await removeDir(tmp)
    throw error
  }
}

function refNotFound(context: Context, remoteRefs: readonly RemoteRef[]): LilypadError {
  const {ref} = context
  const tags = namesUnder(remoteRefs, 'refs/tags/')
  const branches = namesUnder(remoteRefs, 'refs/heads/')
  const listed = tags.slice(-MAX_LISTED_TAGS)
  const modulePart = ref.input.slice(0, ref.input.length - ref.ref.length - 1)
  const latest = listed.at(-1)
  const repo = redact(ref.repoUrl)
  return lilypadError('MODULE_REF_NOT_FOUND', {
    message:
      `${repo} has no tag, branch or commit named "${ref.ref}". ` +
      (listed.length === 0
        ? 'It has no tags.'
        : `Tags: ${tags.length > listed.length ? '…, ' : ''}${listed.join(', ')}.`),
    hints:
      latest === undefined
        ? ['Name a tag, branch or commit that exists in the repository.']
        : [`Use one of its tags, e.g. ${modulePart}:${latest}.`],
    details: {repo, ref: ref.ref, tags: listed, branches: branches.slice(0, MAX_LISTED_TAGS)},
  })
}

/** Short names of the refs under `prefix`, without peeled duplicates, in natural (version-like) order. */
function namesUnder(remoteRefs: readonly RemoteRef[], prefix: string): string[] {
  const names = remoteRefs
    .map((remoteRef) => remoteRef.name)
    .filter((name) => name.startsWith(prefix))
    .map((name) => name.slice(prefix.length).replace(/\^\{\}$/, ''))
  return [...new Set(names)].sort((a, b) => a.localeCompare(b, 'en', {numeric: true}))
}

// ---------------------------------------------------------------------------------------------
// commit → checkout

async function ensureCheckout(
  context: Context,
  resolution: Resolution,
): Promise<{dir: string; cacheHit: boolean}> {
  const {ref, repoDir, emit, options} = context
  const {commit} = resolution
  const dir = join(repoDir, commit)
  let tmp = resolution.prepared
  try {
    if (await isCompleteCheckout(dir, commit)) {
      emit({type: 'module.cache-hit', repoUrl: ref.repoUrl, commit, dir})
      return {dir, cacheHit: true}
    }
    if (options.offline === true) {
      throw lilypadError('MODULE_REF_NOT_FOUND', {
        message: `Commit ${commit} of ${redact(ref.repoUrl)} is not in the module cache, so it cannot be used offline.`,
        hints: ['Run it once while online to cache it.'],
        details: {repo: redact(ref.repoUrl), ref: ref.ref, commit, offline: true},
      })
    }
    const release = await acquireLock(context, dir, commit)
    try {
      if (await isCompleteCheckout(dir, commit)) {
        emit({type: 'module.cache-hit', repoUrl: ref.repoUrl, commit, dir})
        return {dir, cacheHit: true}
      }
      await removeLeftovers(repoDir, commit, dir)
      emit({type: 'module.cloning', repoUrl: ref.repoUrl, commit})
      const started = Date.now()
      if (tmp === undefined) {
        tmp = await mkdtemp(join(repoDir, `.tmp-${commit}-`))
        await fetchCommit(context, tmp, commit, resolution.fetchRef)
      }
      await runGit(['checkout', '--quiet', '--detach', commit, '--'], {cwd: tmp, ...context.git})
      const head = (await runGit(['rev-parse', 'HEAD'], {cwd: tmp, ...context.git})).trim().toLowerCase()
      if (head !== commit) {
        throw lilypadError('MODULE_GIT_FAILED', {
          message: `The checkout of ${redact(ref.repoUrl)} is at ${head}, not ${commit}.`,
          details: {repo: redact(ref.repoUrl), commit, head},
        })
      }
      try {
        await rename(tmp, dir)
        tmp = undefined
      } catch (error) {
        // Someone finished the same commit without holding the lock (a stale lock taken over): use theirs.
        if (!(await isCompleteCheckout(dir, commit))) throw error
      }
      emit({type: 'module.cloned', repoUrl: ref.repoUrl, commit, dir, durationMs: Date.now() - started})
      return {dir, cacheHit: false}
    } finally {
      await release()
    }
  } finally {
    if (tmp !== undefined) await removeDir(tmp)
  }
}

/**
 * Fetches one commit into an empty repository: shallowly by ref name (or by hash), falling back to a
 * full fetch when the server refuses a shallow or by-hash fetch, or when the ref moved in between.
 */
async function fetchCommit(
  context: Context,
  tmp: string,
  commit: string,
  fetchRef: string | undefined,
): Promise<void> {
  const url = context.ref.repoUrl
  const run = (args: string[], remote?: GitRemoteContext): Promise<string> =>
    runGit(args, {cwd: tmp, ...context.git, ...(remote === undefined ? {} : {remote})})
  await run(['init', '--quiet'])
  try {
    await run(
      ['fetch', '--quiet', '--no-tags', '--depth', '1', '--', url, fetchRef ?? commit],
      context.remote,
    )
    if ((await revParseCommit(context, tmp, 'FETCH_HEAD')) === commit) return
  } catch (error) {
    if (!isLilypadError(error, 'MODULE_GIT_FAILED')) throw error
  }
  await run(['fetch', '--quiet', '--no-tags', '--', url, ...FULL_FETCH_REFSPECS], context.remote)
  if ((await revParseCommit(context, tmp, commit)) !== commit) {
    throw lilypadError('MODULE_REF_NOT_FOUND', {
      message: `Commit ${commit} is not in ${redact(url)}.`,
      hints: ['Check the commit hash; it must be reachable from a branch or tag of the repository.'],
      details: {repo: redact(url), ref: context.ref.ref, commit},
    })
  }
}

/** The commit `rev` (a validated hash or `FETCH_HEAD`) peels to, or undefined. */
async function revParseCommit(context: Context, cwd: string, rev: string): Promise<string | undefined> {
  try {
    const out = await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], {
      cwd,
      ...context.git,
    })
    return out.trim().toLowerCase()
  } catch (error) {
    if (isLilypadError(error, 'MODULE_GIT_FAILED')) return undefined
    throw error
  }
}

/** A checkout is complete when its detached `HEAD` names the commit (checkouts only appear by rename once verified). */
async function isCompleteCheckout(dir: string, commit: string): Promise<boolean> {
  try {
    return (await readFile(join(dir, '.git', 'HEAD'), 'utf8')).trim().toLowerCase() === commit
  } catch {
    return false
  }
}

async function acquireLock(context: Context, dir: string, commit: string): Promise<() => Promise<void>> {
  const {options, ref} = context
  const lockPath = `${dir}.lock`
  const deadline = Date.now() + (options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS)
  let announced = false
  for (;;) {
    try {
      const release = await lock(dir, {
        lockfilePath: lockPath,
        realpath: false,
        stale: options.lockStaleMs ?? DEFAULT_LOCK_STALE_MS,
        retries: 0,
        // proper-lockfile throws from a timer by default when the lock is compromised. The final
        // rename is atomic, so a compromised lock only risks a duplicate download: ignore it.
        onCompromised: () => undefined,
      })
      return async () => {
        await release().catch(() => undefined)
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error
    }
    if (Date.now() >= deadline) {
      throw lilypadError('MODULE_CACHE_LOCKED', {
        message: `Another process has been downloading ${redact(ref.repoUrl)} at ${commit} for too long.`,
        hints: [`Wait for the other lilypad process to finish. If none is running, remove ${lockPath}.`],
        details: {repo: redact(ref.repoUrl), commit, lockPath},
      })
    }
    if (!announced) {
      announced = true
      context.emit({type: 'module.lock-wait', repoUrl: ref.repoUrl, commit, lockPath})
    }
    try {
      await delay(100 + Math.floor(Math.random() * 200), undefined, {signal: options.signal})
    } catch (error) {
      throw lilypadError('INTERRUPTED', {message: 'Module download was cancelled.', cause: error})
    }
  }
}

/** Under the lock: clears an incomplete checkout and the temporary directories of dead processes. */
async function removeLeftovers(repoDir: string, commit: string, dir: string): Promise<void> {
  const entries = await readdir(repoDir)
  if (entries.includes(commit)) {
    const trash = `${dir}.tmp-incomplete`
    await removeDir(trash)
    await rename(dir, trash)
    await removeDir(trash)
  }
  const now = Date.now()
  for (const entry of entries) {
    if (!entry.startsWith('.tmp-')) continue
    const path = join(repoDir, entry)
    // We hold this commit's lock, so its temporary directories belong to processes that died.
    if (entry.startsWith(`.tmp-${commit}-`)) {
      await removeDir(path)
      continue
    }
    const info = await stat(path).catch(() => undefined)
    if (info !== undefined && now - info.mtimeMs > OLD_TEMP_MS) await removeDir(path)
  }
}

async function removeDir(path: string): Promise<void> {
  await rm(path, {recursive: true, force: true, maxRetries: 3})
}

// ---------------------------------------------------------------------------------------------
// refs.json

async function readRecords(repoDir: string): Promise<Record<string, RefRecord>> {
  const records = Object.create(null) as Record<string, RefRecord>
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(join(repoDir, REFS_FILE), 'utf8'))
  } catch {
    return records
  }
  const refs = typeof parsed === 'object' && parsed !== null ? (parsed as {refs?: unknown}).refs : undefined
  if (typeof refs !== 'object' || refs === null) return records
  for (const [name, value] of Object.entries(refs)) {
    const {commit, resolvedAt} = (value ?? {}) as {commit?: unknown; resolvedAt?: unknown}
    if (typeof commit === 'string' && isFullCommit(commit) && typeof resolvedAt === 'string') {
      records[name] = {commit: commit.toLowerCase(), resolvedAt}
    }
  }
  return records
}

/** Records what the ref resolved to; written to a temporary file and renamed, so readers never see half a file. */
async function recordRef(context: Context, commit: string): Promise<void> {
  const {repoDir} = context
  // Read-modify-write under a short lock, so two processes recording different refs keep both.
  const release = await lock(repoDir, {
    lockfilePath: join(repoDir, `${REFS_FILE}.lock`),
    realpath: false,
    stale: 10_000,
    retries: {retries: 50, minTimeout: 20, maxTimeout: 200},
    onCompromised: () => undefined,
  })
  try {
    await writeRecords(context, await readRecords(repoDir), commit)
  } finally {
    await release().catch(() => undefined)
  }
}

async function writeRecords(
  context: Context,
  records: Awaited<ReturnType<typeof readRecords>>,
  commit: string,
): Promise<void> {
  const {repoDir, ref, options} = context
  records[ref.ref] = {commit, resolvedAt: (options.now?.() ?? new Date()).toISOString()}
  const sorted = Object.fromEntries(Object.entries(records).sort(([a], [b]) => a.localeCompare(b)))
  const text = `${JSON.stringify({version: 1, repo: redact(ref.repoUrl), refs: sorted}, null, 2)}\n`
  const tmp = join(repoDir, `.${REFS_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
  try {
    await writeFile(tmp, text, 'utf8')
    await rename(tmp, join(repoDir, REFS_FILE))
  } catch (error) {
    await rm(tmp, {force: true})
    throw error
  }
}

// ---------------------------------------------------------------------------------------------
// template

async function readTemplate(
  context: Context,
  commit: string,
  dir: string,
): Promise<{path: string; text: string}> {
  const {ref} = context
  const wanted = context.options.templatePath ?? MODULE_TEMPLATE_PATH
  const relative = wanted.replace(/^\/+/, '')
  const missing = (why: string, cause?: unknown): LilypadError =>
    lilypadError('MODULE_TEMPLATE_MISSING', {
      message: `${redact(ref.repoUrl)} at ${commit} (${ref.ref}) ${why}.`,
      hints: [
        'Check that the ref is a Lilypad module version; module repositories keep their template at /lilypad_module.json.tmpl.',
      ],
      details: {repo: redact(ref.repoUrl), ref: ref.ref, commit, path: wanted},
      cause,
    })
  if (relative === '' || relative.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw missing(`has no template at "${wanted}" (not a path inside the repository)`)
  }
  const path = join(dir, relative)
  let real: string
  try {
    real = await realpath(path)
  } catch (error) {
    throw missing(`has no ${wanted}`, error)
  }
  // A symlink out of the checkout would leak a local file into the job offer.
  const root = await realpath(dir)
  if (!real.startsWith(root + sep)) throw missing(`has ${wanted} as a link pointing outside the repository`)
  try {
    return {path, text: await readFile(real, 'utf8')}
  } catch (error) {
    throw missing(`has no readable ${wanted}`, error)
  }
}

// ---------------------------------------------------------------------------------------------
// errors

function notFoundHints(ref: ModuleRef): string[] {
  if (ref.kind !== 'shortcut') return []
  const name = ref.input.slice(0, ref.input.length - ref.ref.length - 1)
  return [
    `"${name}" is a shortcut for ${redact(ref.repoUrl)}.`,
    'Third-party modules are written host/owner/repo:ref, e.g. github.com/owner/repo:v1.0.0.',
  ]
}

/** File-system failures become MODULE_CACHE_FAILED; everything else passes through. */
function toCacheError(error: unknown, repoDir: string): unknown {
  if (isLilypadError(error)) return error
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    return lilypadError('MODULE_CACHE_FAILED', {
      message: `Could not write the module cache at ${repoDir}: ${code}.`,
      hints: ['Check that the data directory exists and is writable, or point lilypad at another one.'],
      details: {dir: repoDir, code},
      cause: error,
    })
  }
  return error
}
