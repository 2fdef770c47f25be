/**
 * A small, safe wrapper over simple-git for the commands module resolution needs. Rules:
 *
 * - Every call passes an argument array. Values that came from a user (a repository URL, a ref) are
 *   validated by `parseModuleRef` first and then only ever appear as positional values after `--`,
 *   so they can never be read as options.
 * - The child environment is built by {@link gitEnvironment}: the caller passes its environment (core
 *   never reads `process.env`), a short allowlist of variables is kept from it (PATH, HOME, proxy and
 *   CA settings, …), every `GIT_*` variable is dropped, and safety variables are laid on top:
 *   `GIT_TERMINAL_PROMPT=0` (never wait for a password), `GIT_ALLOW_PROTOCOL=file:git:http:https`
 *   (this overrides every `protocol.*.allow` setting, so `ext::`/`fd::` cannot be reached through
 *   redirects, submodules or user config), `GIT_CEILING_DIRECTORIES` (never pick up the config of an
 *   enclosing repository) and `LC_ALL=C` (English messages, which the error mapping reads).
 * - simple-git's own blocklist of unsafe options stays fully enabled. We do not add
 *   `-c protocol.ext.allow=never`: simple-git refuses any `protocol.*` override unless that guard is
 *   switched off, and `GIT_ALLOW_PROTOCOL` already takes precedence over those settings.
 * - Every command has a deadline (`timeoutMs`) and can be cancelled (`signal`); they surface as
 *   TIMEOUT and INTERRUPTED. Failures are mapped to the error taxonomy by reading git's stderr.
 */
import {dirname} from 'node:path'

import {GitPluginError, simpleGit} from 'simple-git'
import type {SimpleGitOptions} from 'simple-git'

import {isLilypadError, lilypadError} from '../errors/index.js'
import type {LilypadError} from '../errors/index.js'
import {redact} from '../util/redact.js'

/** An environment as the caller has it (typically a copy of `process.env`, taken in the CLI layer). */
export type GitEnvironment = Readonly<Record<string, string | undefined>>

/** Safety variables set on every git child process, overriding whatever the caller passed. */
export const GIT_SAFETY_ENV: Readonly<Record<string, string>> = Object.freeze({
  GIT_TERMINAL_PROMPT: '0',
  GIT_ALLOW_PROTOCOL: 'file:git:http:https',
  LC_ALL: 'C',
  // Settings that would let a repository's own .git/config run programs (`module validate` runs git
  // inside a directory the user downloaded). Environment config outranks repository config.
  GIT_CONFIG_COUNT: '2',
  GIT_CONFIG_KEY_0: 'core.fsmonitor',
  GIT_CONFIG_VALUE_0: 'false',
  GIT_CONFIG_KEY_1: 'core.hooksPath',
  GIT_CONFIG_VALUE_1: '/dev/null',
})

/**
 * Variables kept from the caller's environment. Everything else is dropped, in particular every
 * `GIT_*` variable (`GIT_SSH_COMMAND`, `GIT_CONFIG_*`, `GIT_ASKPASS`, `GIT_EXEC_PATH`, …), editors and
 * pagers.
 */
export const GIT_PASSTHROUGH_ENV: readonly string[] = Object.freeze([
  'PATH',
  'HOME',
  'USERPROFILE',
  'SYSTEMROOT',
  'TMPDIR',
  'TEMP',
  'TMP',
  'XDG_CONFIG_HOME',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'CURL_CA_BUNDLE',
])

/** Default deadline of one git command. */
export const DEFAULT_GIT_TIMEOUT_MS = 120_000

const STDERR_TAIL_CHARS = 2000

/** The remote a command talks to, used in error messages. */
export interface GitRemoteContext {
  /** The repository URL. */
  readonly url: string
  /** Extra hints when the repository does not exist (e.g. what a shortcut expanded to). */
  readonly notFoundHints?: readonly string[] | undefined
}

/** Options of {@link runGit}. */
export interface GitRunOptions {
  /** Working directory; must exist. */
  readonly cwd: string
  /** The caller's environment; filtered by {@link gitEnvironment}. Default: empty. */
  readonly env?: GitEnvironment | undefined
  /** Deadline for the command. Default {@link DEFAULT_GIT_TIMEOUT_MS}. */
  readonly timeoutMs?: number | undefined
  /** Cancels the command (the git process is killed). */
  readonly signal?: AbortSignal | undefined
  /** The remote involved, for error messages. */
  readonly remote?: GitRemoteContext | undefined
}

/** One line of `git ls-remote` output. */
export interface RemoteRef {
  /** Full ref name: `refs/tags/v1`, `refs/tags/v1^{}` (peeled), `refs/heads/main`, `HEAD`. */
  readonly name: string
  /** Object id (lower-case hex). */
  readonly commit: string
}

/**
 * Builds the environment of a git child process: the allowlisted variables from `callerEnv` plus
 * {@link GIT_SAFETY_ENV}. `GIT_CEILING_DIRECTORIES` is added per command by {@link runGit}.
 *
 * @param callerEnv - the caller's environment (e.g. `{...process.env}` taken in the CLI layer)
 * @returns a fresh object safe to hand to git
 * @example
 * gitEnvironment({PATH: '/usr/bin', GIT_SSH_COMMAND: 'evil'}) // {PATH: '/usr/bin', GIT_TERMINAL_PROMPT: '0', …}
 */
export function gitEnvironment(callerEnv: GitEnvironment = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const key of GIT_PASSTHROUGH_ENV) {
    const value = callerEnv[key]
    if (value !== undefined) env[key] = value
  }
  return {...env, ...GIT_SAFETY_ENV}
}

/**
 * Runs one git command through simple-git with the safety rules of this module.
 *
 * @param args - the git arguments; user-provided values only after `--` and only once validated
 * @param options - working directory, environment, deadline, cancellation and remote context
 * @returns git's stdout
 * @throws MODULE_NOT_FOUND when the remote repository does not exist (or needs credentials)
 * @throws NETWORK_UNREACHABLE when the host cannot be reached
 * @throws TIMEOUT when the deadline passes; INTERRUPTED when `signal` aborts
 * @throws MODULE_GIT_FAILED for any other failure (redacted stderr tail in `details.stderr`)
 * @example
 * await runGit(['ls-remote', '--', url], {cwd: dir, env, remote: {url}})
 */
export async function runGit(args: readonly string[], options: GitRunOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS
  const {signal} = options
  if (isAborted(signal)) throw interrupted(args)

  const controller = new AbortController()
  const deadline = {passed: false}
  const timer = setTimeout(() => {
    deadline.passed = true
    controller.abort()
  }, timeoutMs)
  timer.unref()
  const onAbort = (): void => {
    controller.abort()
  }
  signal?.addEventListener('abort', onAbort, {once: true})

  const env = {...gitEnvironment(options.env), GIT_CEILING_DIRECTORIES: dirname(options.cwd)}
  try {
    const git = simpleGit({
      baseDir: options.cwd,
      abort: controller.signal,
      timeout: {block: timeoutMs},
      maxConcurrentProcesses: 1,
      allowEnvironment: Object.keys(env).filter((key) => key.startsWith('GIT_')),
      // GIT_CONFIG_* here are only our own GIT_SAFETY_ENV: gitEnvironment drops every caller GIT_* variable.
      // These flags only let those safety values through (they disable fsmonitor and hooks).
      unsafe: {allowUnsafeConfigEnvCount: true, allowUnsafeFsMonitor: true, allowUnsafeHooksPath: true},
      errors: captureFailure,
    }).env(env)
    return await git.raw([...args])
  } catch (error) {
    if (isAborted(signal)) throw interrupted(args, error)
    if (deadline.passed || (error instanceof GitPluginError && error.plugin === 'timeout')) {
      throw lilypadError('TIMEOUT', {
        message: `git ${args[0] ?? ''}${options.remote ? ` of ${redact(options.remote.url)}` : ''} took longer than ${Math.round(timeoutMs / 1000)} s.`,
        hints: ['Check your network connection, or allow more time.'],
        details: {
          command: args[0] ?? '',
          timeoutMs,
          ...(options.remote ? {url: redact(options.remote.url)} : {}),
        },
        cause: error,
      })
    }
    throw toGitError(error, args, options.remote)
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Lists a remote's refs with `git ls-remote -- <url>`.
 *
 * @returns every ref the remote advertises, including peeled `^{}` entries of annotated tags
 * @throws see {@link runGit}
 */
export async function lsRemote(
  url: string,
  options: Omit<GitRunOptions, 'remote'> & {readonly notFoundHints?: readonly string[] | undefined},
): Promise<RemoteRef[]> {
  const {notFoundHints, ...rest} = options
  const output = await runGit(['ls-remote', '--', url], {...rest, remote: {url, notFoundHints}})
  return parseLsRemote(output)
}

/**
 * Parses `git ls-remote` output (`<oid>\t<name>` per line). Lines that do not look like that are
 * skipped.
 */
export function parseLsRemote(output: string): RemoteRef[] {
  const refs: RemoteRef[] = []
  for (const line of output.split('\n')) {
    const match = /^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})\t(\S+)$/.exec(line.trim())
    if (match?.[1] !== undefined && match[2] !== undefined)
      refs.push({commit: match[1].toLowerCase(), name: match[2]})
  }
  return refs
}

/** A non-zero exit of git, as captured by simple-git's `errors` hook. */
class GitExitError extends Error {
  constructor(
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(stderr.trim() === '' ? `git exited with code ${exitCode}` : stderr.trim())
    this.name = 'GitExitError'
  }
}

type ErrorsHook = NonNullable<SimpleGitOptions['errors']>

/** simple-git `errors` hook: turns any non-zero exit into a {@link GitExitError}, keeping plugin errors (timeout, abort). */
const captureFailure: ErrorsHook = (error, result) => {
  if (error instanceof GitPluginError) return error
  if (result.exitCode !== 0)
    return new GitExitError(result.exitCode, Buffer.concat(result.stdErr).toString('utf8'))
  return error
}

const NOT_FOUND_PATTERNS = [
  /does not appear to be a git repository/i,
  /repository ['"]?[^\n]*['"]? not found/i,
  /repository not found/i,
  /no such repository/i,
  /access denied or repository not exported/i,
  /returned error: 40[134]/i,
  /could not read username/i,
  /terminal prompts disabled/i,
  /authentication failed/i,
]
/** Failures about a ref or object, not the repository: never "repository not found". */
const REF_PATTERNS = [
  /couldn't find remote ref/i,
  /not our ref/i,
  /no such remote ref/i,
  /unadvertised object/i,
]
const UNREACHABLE_PATTERNS = [
  /could not resolve host/i,
  /connection refused/i,
  /unable to access/i,
  /unable to connect/i,
  /timed out/i,
  /failed to connect/i,
  /network is unreachable/i,
  /no route to host/i,
  /connection reset/i,
  /could not resolve proxy/i,
]

function toGitError(
  error: unknown,
  args: readonly string[],
  remote: GitRemoteContext | undefined,
): LilypadError {
  if (isLilypadError(error)) return error
  const stderr =
    error instanceof GitExitError ? error.stderr : error instanceof Error ? error.message : String(error)
  const tail = redact(stderr.trim().slice(-STDERR_TAIL_CHARS))
  const command = args[0] ?? ''
  const url = remote ? redact(remote.url) : undefined
  const details = {
    command,
    stderr: tail,
    ...(error instanceof GitExitError ? {exitCode: error.exitCode} : {}),
    ...(url === undefined ? {} : {url}),
  }
  const isRefProblem = REF_PATTERNS.some((pattern) => pattern.test(stderr))
  if (
    remote &&
    url !== undefined &&
    !isRefProblem &&
    NOT_FOUND_PATTERNS.some((pattern) => pattern.test(stderr))
  ) {
    return lilypadError('MODULE_NOT_FOUND', {
      message: `No module repository at ${url} (it does not exist, or it is private).`,
      hints: [...(remote.notFoundHints ?? []), 'Check the module name or URL.'],
      details,
      cause: error,
    })
  }
  if (remote && url !== undefined && UNREACHABLE_PATTERNS.some((pattern) => pattern.test(stderr))) {
    return lilypadError('NETWORK_UNREACHABLE', {
      message: `Could not reach ${url}.`,
      hints: ['Check your network connection and that the host is up.'],
      details,
      cause: error,
    })
  }
  if (/ENOENT/.test(stderr) && /spawn/i.test(stderr)) {
    return lilypadError('MODULE_GIT_FAILED', {
      message: 'git is not installed or not on PATH.',
      hints: ['Install git (https://git-scm.com/downloads) and try again.'],
      details,
      cause: error,
    })
  }
  const firstLine = tail.split('\n').find((line) => line.trim() !== '') ?? 'no output'
  return lilypadError('MODULE_GIT_FAILED', {
    message: `git ${command}${url === undefined ? '' : ` (${url})`} failed: ${firstLine}`,
    details,
    cause: error,
  })
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function interrupted(args: readonly string[], cause?: unknown): LilypadError {
  return lilypadError('INTERRUPTED', {
    message: `git ${args[0] ?? ''} was cancelled.`,
    details: {command: args[0] ?? ''},
    cause,
  })
}
