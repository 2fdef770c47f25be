/**
 * Module references: the `MODULE` a user types after `lilypad run`, turned into a git repository URL,
 * a ref (tag, branch or commit) and a cache key. Parsing is pure and strict, because the URL and the
 * ref end up as arguments to git: anything that could select a dangerous git transport (`ext::`,
 * `fd::`, ssh, plain paths) or look like a command-line option is refused before git ever runs.
 *
 * Accepted forms (lilypad-protocol.md §1.5, plus explicit URLs):
 * - `cowsay:v0.0.3`: a shortcut, `<shortcutBase>/lilypad-module-cowsay` (the base comes from the
 *   network profile, e.g. `https://github.com/Lilypad-Tech`);
 * - `github.com/owner/repo:v1.0.0`: a third-party module, `https://github.com/owner/repo`;
 * - `https://host/owner/repo:ref`, `git://host[:port]/path:ref`, `file:///abs/path:ref`, and
 *   `http://` for loopback hosts only.
 */
import {lilypadError} from '../errors/index.js'
import type {LilypadError} from '../errors/index.js'
import {redact} from '../util/redact.js'

/** Where the module template lives inside a module repository (Go `LILYPAD_MODULE_CONFIG_PATH`). */
/** The module template's file name, at the root of the module repository. */
export const MODULE_TEMPLATE_FILE = 'lilypad_module.json.tmpl'
/** The template path as the Go CLI writes it in a job offer's `module.path`. */
export const MODULE_TEMPLATE_PATH = `/${MODULE_TEMPLATE_FILE}`

/** Which form of module reference was typed. */
export type ModuleRefKind = 'shortcut' | 'third-party' | 'url'

/**
 * Where a repository's checkouts live in the cache: `<dataDir>/repos/<host>/<segments…>/<commit>`
 * (the Go CLI's layout). Every part is a safe directory name: no `.`/`..`, no separators.
 */
export interface ModuleCacheKey {
  /** Lower-cased host, `_<port>` appended when a port is given; `file` for `file://` URLs. */
  readonly host: string
  /** The URL path segments, with a trailing `.git` removed from the last one. */
  readonly segments: readonly string[]
}

/** A parsed module reference. */
export interface ModuleRef {
  /** The text as typed. */
  readonly input: string
  /** Which form it was written in. */
  readonly kind: ModuleRefKind
  /** The repository URL handed to git (as given, except that the scheme is lower-cased). */
  readonly repoUrl: string
  /** The git ref as typed: a tag, a branch, `HEAD` or a (possibly short) commit hash. */
  readonly ref: string
  /** Where this repository is cached. */
  readonly cacheKey: ModuleCacheKey
}

/** Options of {@link parseModuleRef}. */
export interface ParseModuleRefOptions {
  /**
   * Base URL that shortcuts (`cowsay:v0.0.3`) expand under, from the network profile:
   * `https://github.com/Lilypad-Tech`, or a `file:///…` / `http://127.0.0.1:PORT/…` base for a local
   * git server.
   */
  readonly shortcutBase: string
}

/** The Go CLI's `ModuleConfig` for a module reference (`pkg/data/data.go`). */
export interface ModuleConfig {
  /** Always empty: the Go CLI clears it. */
  readonly name: string
  readonly repo: string
  /** The ref as typed, not the resolved commit. */
  readonly hash: string
  readonly path: string
}

/** Schemes that may reach git. `http` is further limited to loopback hosts. */
const ALLOWED_SCHEMES = new Set(['https', 'http', 'git', 'file'])
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])
const SHORTCUT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
const PATH_SEGMENT = /^[A-Za-z0-9._~+-]+$/
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]+\]$/
const COMMIT_HEX = /^[0-9a-fA-F]{4,64}$/
const FULL_COMMIT_HEX = /^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/
const FORBIDDEN_REF_CHARS = ['~', '^', ':', '?', '*', '[', '\\']
const MAX_INPUT_LENGTH = 2048
const MAX_REF_LENGTH = 255

const VERSION_HINT =
  'Name a version after a colon: a tag, branch or commit, e.g. "cowsay:v0.0.3" or "github.com/owner/repo:v1.0.0".'

/**
 * Parses a module reference.
 *
 * @param text - what the user typed, e.g. `cowsay:v0.0.3`
 * @param options - `shortcutBase` for `name:ref` shortcuts
 * @returns the repository URL, ref and cache key
 * @throws MODULE_REF_INVALID when the text is malformed (no `:ref`, bad characters, bad ref name)
 * @throws MODULE_REF_UNSAFE when it names a git transport we refuse (`ext::`, `ssh://`, `git@host:`,
 *   plain paths, plain `http://` to a remote host), carries credentials, or looks like an option
 * @throws CONFIG_INVALID when `shortcutBase` is not a usable base URL
 * @example
 * parseModuleRef('cowsay:v0.0.3', {shortcutBase: 'https://github.com/Lilypad-Tech'})
 * // {repoUrl: 'https://github.com/Lilypad-Tech/lilypad-module-cowsay', ref: 'v0.0.3', …}
 */
export function parseModuleRef(text: string, options: ParseModuleRefOptions): ModuleRef {
  if (text.trim() === '') throw invalid(text, 'The module reference is empty.', [VERSION_HINT])
  if (text.length > MAX_INPUT_LENGTH) {
    throw invalid(text, `The module reference is longer than ${MAX_INPUT_LENGTH} characters.`)
  }
  // Transport and option refusals come first: they are the more useful diagnosis for strings such as
  // "ext::sh -c …" or "--upload-pack=touch x" that would also fail the whitespace check.
  const helper = /^([A-Za-z][A-Za-z0-9+.-]*)::/.exec(text)
  if (helper) {
    throw unsafe(
      text,
      `Module reference ${quote(text)} uses git's "${helper[1]}::" transport, which can run programs.`,
      ['Use an https:// URL or a shortcut such as "cowsay:v0.0.3".'],
    )
  }
  if (text.startsWith('-')) {
    throw unsafe(text, `Module reference ${quote(text)} starts with "-" and could be read as a git option.`)
  }
  if (hasSpaceOrControl(text)) {
    throw invalid(text, `Module reference ${quote(text)} contains whitespace or control characters.`)
  }
  if (/^[A-Za-z]:[\\/]/.test(text)) {
    throw unsafe(
      text,
      `Module reference ${quote(text)} is a local Windows path; local repositories must be file:/// URLs.`,
      ['Write a local repository as file:///C:/path/to/repo:ref.'],
    )
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)
  if (scheme?.[1] !== undefined) return parseUrlForm(text, scheme[1])
  return parseShortForm(text, options)
}

/**
 * Formats a module reference as `repo:ref`, the Go CLI's "module id" (`GetShortcut`). The result parses
 * back to the same repository and ref.
 *
 * @example
 * moduleRefToString(ref) // 'https://github.com/Lilypad-Tech/lilypad-module-cowsay:v0.0.3'
 */
export function moduleRefToString(ref: Pick<ModuleRef, 'repoUrl' | 'ref'>): string {
  return `${ref.repoUrl}:${ref.ref}`
}

/**
 * The Go CLI's `ModuleConfig` for a reference: empty name, the repository URL, the ref as typed and the
 * template path.
 *
 * @example
 * toModuleConfig(ref) // {name: '', repo: 'https://github.com/…/lilypad-module-cowsay', hash: 'v0.0.3', path: '/lilypad_module.json.tmpl'}
 */
export function toModuleConfig(ref: Pick<ModuleRef, 'repoUrl' | 'ref'>): ModuleConfig {
  return {name: '', repo: ref.repoUrl, hash: ref.ref, path: MODULE_TEMPLATE_PATH}
}

/** True when `ref` looks like a (possibly short) commit hash: 4 to 64 hex digits. */
export function isCommitLike(ref: string): boolean {
  return COMMIT_HEX.test(ref)
}

/** True when `ref` is a full commit hash (40 hex digits, or 64 for SHA-256 repositories). */
export function isFullCommit(ref: string): boolean {
  return FULL_COMMIT_HEX.test(ref)
}

/**
 * Checks a ref name against git's `check-ref-format` rules (for a single name, so no `/` is required)
 * and refuses option-like names.
 *
 * @throws MODULE_REF_INVALID or MODULE_REF_UNSAFE (leading `-`)
 */
export function assertValidRef(ref: string, input: string = ref): void {
  const bad = (why: string): LilypadError =>
    invalid(input, `Ref ${quote(ref)} is not a valid git ref: ${why}.`, [
      'Use a tag (v1.0.0), a branch (main) or a commit hash (4 to 40 hex digits).',
    ])
  if (ref === '') throw invalid(input, `Module reference ${quote(input)} has no version.`, [VERSION_HINT])
  if (ref.startsWith('-')) {
    throw unsafe(input, `Ref ${quote(ref)} starts with "-" and could be read as a git option.`)
  }
  if (ref.length > MAX_REF_LENGTH) throw bad(`it is longer than ${MAX_REF_LENGTH} characters`)
  if (hasSpaceOrControl(ref)) throw bad('it contains whitespace or control characters')
  const forbidden = FORBIDDEN_REF_CHARS.find((char) => ref.includes(char))
  if (forbidden !== undefined) throw bad(`it contains "${forbidden}"`)
  if (ref.includes('..')) throw bad('it contains ".."')
  if (ref.includes('@{') || ref === '@') throw bad('it contains "@{" or is "@"')
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//'))
    throw bad('it has an empty "/" component')
  if (ref.endsWith('.')) throw bad('it ends with "."')
  for (const component of ref.split('/')) {
    if (component.startsWith('.')) throw bad('a component starts with "."')
    if (component.endsWith('.lock')) throw bad('a component ends with ".lock"')
  }
}

/** `host/owner/repo:ref` and `name:ref`. */
function parseShortForm(text: string, options: ParseModuleRefOptions): ModuleRef {
  const colon = text.indexOf(':')
  const modulePart = colon === -1 ? text : text.slice(0, colon)
  if (modulePart.includes('@')) {
    throw unsafe(
      text,
      `Module reference ${quote(text)} looks like an SSH address (user@host:path); only https, git and file URLs are supported.`,
      [
        'Write the repository as host/owner/repo:ref (fetched over https), e.g. github.com/owner/repo:v1.0.0.',
      ],
    )
  }
  if (modulePart.startsWith('/') || modulePart.startsWith('.') || modulePart.startsWith('~')) {
    throw unsafe(
      text,
      `Module reference ${quote(text)} is a plain local path; local repositories must be file:/// URLs.`,
      ['Write a local repository as file:///absolute/path/to/repo:ref.'],
    )
  }
  if (text.includes('\\')) throw invalid(text, `Module reference ${quote(text)} contains a backslash.`)
  if (colon === -1 || colon === text.length - 1) throw missingVersion(text, modulePart)
  const ref = text.slice(colon + 1)
  assertValidRef(ref, text)

  if (modulePart.includes('/')) {
    const [host = '', ...segments] = modulePart.split('/')
    if (!HOST_NAME.test(host)) {
      throw invalid(text, `${quote(host)} in ${quote(text)} is not a host name.`, [
        'Third-party modules are written host/owner/repo:ref, e.g. github.com/owner/repo:v1.0.0.',
      ])
    }
    const location = parseRepoLocation(text, `https://${modulePart}`, host, `/${segments.join('/')}`)
    return {input: text, kind: 'third-party', ref, ...location}
  }

  if (!SHORTCUT_NAME.test(modulePart)) {
    throw invalid(text, `${quote(modulePart)} is not a module name: use letters, digits, ".", "_" and "-".`, [
      VERSION_HINT,
    ])
  }
  const repoUrl = `${options.shortcutBase.replace(/\/+$/, '')}/lilypad-module-${modulePart}`
  let location: RepoLocation
  try {
    location = parseRepoUrl(repoUrl, repoUrl)
  } catch (error) {
    throw lilypadError('CONFIG_INVALID', {
      message: `The network's module shortcut base ${quote(options.shortcutBase)} is not a usable repository URL.`,
      hints: ['Set the shortcut base to an https:// URL such as https://github.com/Lilypad-Tech.'],
      details: {shortcutBase: redact(options.shortcutBase)},
      cause: error,
    })
  }
  return {input: text, kind: 'shortcut', ref, ...location}
}

/** `scheme://authority/path:ref`. */
function parseUrlForm(text: string, rawScheme: string): ModuleRef {
  const afterScheme = text.slice(rawScheme.length + 3)
  const slash = afterScheme.indexOf('/')
  const pathAndRef = slash === -1 ? '' : afterScheme.slice(slash)
  const colon = pathAndRef.indexOf(':')
  if (colon === -1) {
    // Check the URL itself first, so that "ssh://…" without a ref is refused for the right reason.
    parseRepoUrl(text, text)
    throw missingVersion(text, text)
  }
  const ref = pathAndRef.slice(colon + 1)
  const repoUrl = text.slice(0, text.length - ref.length - 1)
  const location = parseRepoUrl(text, repoUrl)
  if (ref === '') throw missingVersion(text, repoUrl)
  assertValidRef(ref, text)
  return {input: text, kind: 'url', ref, ...location}
}

interface RepoLocation {
  repoUrl: string
  cacheKey: ModuleCacheKey
}

/** Validates a full repository URL (no ref) and derives its cache key. */
function parseRepoUrl(input: string, url: string): RepoLocation {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/.exec(url)
  if (!match) throw invalid(input, `${quote(url)} is not a URL.`)
  const [, rawScheme = '', authority = '', path = ''] = match
  const scheme = rawScheme.toLowerCase()
  if (!ALLOWED_SCHEMES.has(scheme)) {
    const why = scheme.includes('ssh') ? 'SSH is not supported' : `the ${scheme}:// transport is not allowed`
    throw unsafe(input, `Module reference ${quote(input)} uses ${scheme}://; ${why}.`, [
      'Use an https:// URL (or git:// / file:/// for a local network), e.g. https://github.com/owner/repo:v1.0.0.',
    ])
  }
  if (url.includes('@')) {
    throw unsafe(
      input,
      'Module reference contains credentials (user:password@host); secrets in module refs end up in caches, logs and job offers.',
      ['Remove the user name and password from the URL; public module repositories need no credentials.'],
    )
  }
  if (scheme === 'file') {
    if (authority !== '') {
      throw invalid(
        input,
        `${quote(url)} names a host; file URLs must be absolute local paths like file:///srv/repo.`,
      )
    }
    const segments = parsePathSegments(input, path)
    return {repoUrl: `file://${path}`, cacheKey: {host: 'file', segments: stripGitSuffix(segments)}}
  }
  const hostMatch = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(authority)
  const host = hostMatch?.[1] ?? ''
  const port = hostMatch?.[2]
  if (
    !hostMatch ||
    !(HOST_NAME.test(host) || IPV6_LITERAL.test(host)) ||
    (port !== undefined && Number(port) > 65535)
  ) {
    throw invalid(input, `${quote(authority)} in ${quote(input)} is not a valid host.`)
  }
  if (scheme === 'http' && !LOOPBACK_HOSTS.has(host.toLowerCase())) {
    throw unsafe(
      input,
      `Module reference ${quote(input)} uses plain http:// to a remote host; its content could be tampered with in transit.`,
      [
        `Use https:// instead: ${quote(`https://${url.slice('http://'.length)}`)}. (http:// is allowed only for 127.0.0.1, localhost and [::1].)`,
      ],
    )
  }
  return parseRepoLocation(input, `${scheme}://${authority}${path}`, host, path, port)
}

function parseRepoLocation(
  input: string,
  repoUrl: string,
  host: string,
  path: string,
  port?: string,
): RepoLocation {
  const segments = parsePathSegments(input, path)
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  const hostKey = `${bare}${port === undefined ? '' : `_${port}`}`.replace(/[^a-z0-9._-]/g, '_')
  return {repoUrl, cacheKey: {host: hostKey, segments: stripGitSuffix(segments)}}
}

/** Splits `/a/b/c` into safe segments; refuses empty, `.`, `..` and unusual characters. */
function parsePathSegments(input: string, path: string): string[] {
  if (!path.startsWith('/') || path === '/') {
    throw invalid(input, `${quote(input)} has no repository path.`, [
      'Write the repository as host/owner/repo:ref.',
    ])
  }
  const segments = path.slice(1).split('/')
  for (const segment of segments) {
    if (segment === '')
      throw invalid(
        input,
        `The repository path in ${quote(input)} has an empty segment ("//" or a trailing "/").`,
      )
    if (segment === '.' || segment === '..') {
      throw invalid(input, `The repository path in ${quote(input)} contains a "${segment}" segment.`)
    }
    if (!PATH_SEGMENT.test(segment)) {
      throw invalid(
        input,
        `The repository path segment ${quote(segment)} in ${quote(input)} has characters other than letters, digits and "._~+-".`,
      )
    }
  }
  return segments
}

function stripGitSuffix(segments: string[]): string[] {
  const last = segments.at(-1)
  if (last === undefined || !last.endsWith('.git') || last === '.git') return segments
  return [...segments.slice(0, -1), last.slice(0, -'.git'.length)]
}

function missingVersion(input: string, modulePart: string): LilypadError {
  return invalid(input, `Module reference ${quote(input)} has no version.`, [
    `Add a tag, branch or commit after a colon: ${modulePart}:<tag|branch|commit>.`,
    VERSION_HINT,
  ])
}

function hasSpaceOrControl(text: string): boolean {
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0
    if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || /\s/u.test(char)) return true
  }
  return false
}

/** Quotes user text for a message, hiding any credentials in it. */
function quote(text: string): string {
  return JSON.stringify(redact(text))
}

function invalid(input: string, message: string, hints: readonly string[] = [VERSION_HINT]): LilypadError {
  return lilypadError('MODULE_REF_INVALID', {message, hints, details: {input: redact(input)}})
}

function unsafe(input: string, message: string, hints: readonly string[] = []): LilypadError {
  return lilypadError('MODULE_REF_UNSAFE', {message, hints, details: {input: redact(input)}})
}
