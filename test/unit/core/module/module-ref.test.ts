import {describe, expect, it} from '@jest/globals'
import fc from 'fast-check'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {
  MODULE_TEMPLATE_PATH,
  assertValidRef,
  isCommitLike,
  isFullCommit,
  moduleRefToString,
  parseModuleRef,
  toModuleConfig,
} from '../../../../src/core/module/module-ref.js'
import type {ModuleRef} from '../../../../src/core/module/module-ref.js'

const shortcutBase = 'https://github.com/Lilypad-Tech'
const parse = (text: string, base = shortcutBase): ModuleRef => parseModuleRef(text, {shortcutBase: base})

/** The error thrown by `fn`, asserting it is a LilypadError with `code`. */
function errorOf(
  fn: () => unknown,
  code: string,
): {message: string; hints: readonly string[]; details: Record<string, unknown>} {
  try {
    fn()
  } catch (error) {
    if (!isLilypadError(error)) throw error
    expect(error.code).toBe(code)
    return error
  }
  throw new Error(`expected ${code}, but nothing was thrown`)
}

describe('parseModuleRef: accepted forms', () => {
  it('expands a shortcut under the shortcut base', () => {
    expect(parse('cowsay:v0.0.3')).toEqual({
      input: 'cowsay:v0.0.3',
      kind: 'shortcut',
      repoUrl: 'https://github.com/Lilypad-Tech/lilypad-module-cowsay',
      ref: 'v0.0.3',
      cacheKey: {host: 'github.com', segments: ['Lilypad-Tech', 'lilypad-module-cowsay']},
    })
  })

  it('expands shortcuts under file:// and loopback http:// bases, ignoring a trailing slash', () => {
    const file = parse('cowsay:main', 'file:///srv/git/')
    expect(file.repoUrl).toBe('file:///srv/git/lilypad-module-cowsay')
    expect(file.cacheKey).toEqual({host: 'file', segments: ['srv', 'git', 'lilypad-module-cowsay']})
    const http = parse('sdxl-0.9.1:v1', 'http://127.0.0.1:8080/modules')
    expect(http.repoUrl).toBe('http://127.0.0.1:8080/modules/lilypad-module-sdxl-0.9.1')
    expect(http.cacheKey).toEqual({
      host: '127.0.0.1_8080',
      segments: ['modules', 'lilypad-module-sdxl-0.9.1'],
    })
  })

  it('treats host/owner/repo as a third-party https repository (Go rule)', () => {
    const ref = parse('github.com/owner/repo:v1.0.0')
    expect(ref.kind).toBe('third-party')
    expect(ref.repoUrl).toBe('https://github.com/owner/repo')
    expect(ref.ref).toBe('v1.0.0')
    expect(ref.cacheKey).toEqual({host: 'github.com', segments: ['owner', 'repo']})
  })

  it('keeps a .git suffix in the URL but not in the cache key', () => {
    const ref = parse('gitlab.example.org/group/sub/repo.git:release/2.0')
    expect(ref.repoUrl).toBe('https://gitlab.example.org/group/sub/repo.git')
    expect(ref.ref).toBe('release/2.0')
    expect(ref.cacheKey).toEqual({host: 'gitlab.example.org', segments: ['group', 'sub', 'repo']})
  })

  it('accepts https, git and file URLs with a ref after the path', () => {
    expect(parse('https://github.com/owner/repo:v2')).toMatchObject({
      kind: 'url',
      repoUrl: 'https://github.com/owner/repo',
      ref: 'v2',
    })
    const withPort = parse('https://git.example.com:8443/o/r.git:v1')
    expect(withPort).toMatchObject({repoUrl: 'https://git.example.com:8443/o/r.git', ref: 'v1'})
    expect(withPort.cacheKey).toEqual({host: 'git.example.com_8443', segments: ['o', 'r']})
    expect(parse('git://127.0.0.1:9418/x.git:main')).toMatchObject({
      repoUrl: 'git://127.0.0.1:9418/x.git',
      ref: 'main',
    })
    const file = parse('file:///tmp/repos/lilypad-module-cowsay.git:v0.0.3')
    expect(file).toMatchObject({repoUrl: 'file:///tmp/repos/lilypad-module-cowsay.git', ref: 'v0.0.3'})
    expect(file.cacheKey).toEqual({host: 'file', segments: ['tmp', 'repos', 'lilypad-module-cowsay']})
  })

  it('lower-cases the scheme and the cache host', () => {
    const ref = parse('HTTPS://GitHub.com/Owner/Repo:v1')
    expect(ref.repoUrl).toBe('https://GitHub.com/Owner/Repo')
    expect(ref.cacheKey).toEqual({host: 'github.com', segments: ['Owner', 'Repo']})
  })

  it('allows plain http only for loopback hosts', () => {
    expect(parse('http://127.0.0.1:3000/m.git:v1').repoUrl).toBe('http://127.0.0.1:3000/m.git')
    expect(parse('http://localhost/m:v1').cacheKey.host).toBe('localhost')
    expect(parse('http://[::1]:8080/m:v1').cacheKey.host).toBe('__1_8080')
  })

  it('accepts commits, short commits, HEAD and full ref names', () => {
    const full = 'cb8b670805b06206bd63603a8ba582638a619fe5'
    expect(parse(`github.com/Lilypad-Tech/lilypad-module-cowsay:${full}`).ref).toBe(full)
    expect(parse('cowsay:cb8b').ref).toBe('cb8b')
    expect(parse('cowsay:HEAD').ref).toBe('HEAD')
    expect(parse('cowsay:refs/tags/v1').ref).toBe('refs/tags/v1')
    expect(parse('cowsay:feature/x-1_2').ref).toBe('feature/x-1_2')
  })
})

describe('parseModuleRef: missing or malformed', () => {
  it.each([
    'cowsay',
    'cowsay:',
    'github.com/owner/repo',
    'https://github.com/owner/repo',
    'file:///srv/repo:',
  ])('%s has no version: MODULE_REF_INVALID with a hint naming tags, branches or commits', (text) => {
    const error = errorOf(() => parse(text), 'MODULE_REF_INVALID')
    expect(error.message).toContain('has no version')
    const hints = error.hints.join('\n')
    expect(hints).toContain('cowsay:v0.0.3')
    expect(hints).toContain('github.com/owner/repo:v1.0.0')
    expect(hints).toMatch(/tag, branch or commit/)
  })

  it.each([
    ['', 'empty'],
    ['   ', 'blank'],
    ['cow say:v1', 'space'],
    ['cowsay:v1\n', 'newline'],
    ['cowsay:v\u00001', 'NUL'],
    ['cowsay:v1\u001b[31m', 'escape'],
    ['cow$ay:v1', 'bad name char'],
    ['_cowsay:v1', 'name must start with a letter or digit'],
    ['github.com/owner/../repo:v1', '.. segment'],
    ['github.com/./repo:v1', '. segment'],
    ['github.com//repo:v1', 'empty segment'],
    ['github.com/owner/repo/:v1', 'trailing slash'],
    ['https://github.com/../x:v1', '.. in URL path'],
    ['file:///srv/../etc/repo:v1', '.. in file path'],
    ['https://github.com/o/r%2e%2e:v1', 'percent-encoding'],
    ['https://github.com/o/r?x=1:v1', 'query'],
    ['https://github.com:v1', 'no path'],
    ['https://bad_host/o/r:v1', 'bad host'],
    ['https://host:99999/o/r:v1', 'bad port'],
    ['file://server/share/repo:v1', 'file URL with a host'],
    ['not_a_host/owner/repo:v1', 'bad third-party host'],
    ['cowsay:v1\\x', 'backslash'],
  ])('%j is refused as MODULE_REF_INVALID (%s)', (text) => {
    errorOf(() => parse(text), 'MODULE_REF_INVALID')
  })

  it.each([
    ['v1..2', '".."'],
    ['v1@{0}', '"@{"'],
    ['@', '"@{" or is "@"'],
    ['v1~1', '"~"'],
    ['v1^', '"^"'],
    ['v1:x', '":"'],
    ['v1?', '"?"'],
    ['v*', '"*"'],
    ['v[1]', '"["'],
    ['/v1', 'empty "/" component'],
    ['v1/', 'empty "/" component'],
    ['a//b', 'empty "/" component'],
    ['v1.', 'ends with "."'],
    ['v1.lock', '".lock"'],
    ['a/.hidden', 'starts with "."'],
  ])('ref %j breaks check-ref-format (%s)', (ref, why) => {
    const error = errorOf(() => parse(`cowsay:${ref}`), 'MODULE_REF_INVALID')
    expect(error.message).toContain(why)
    expect(error.message).toContain('is not a valid git ref')
  })

  it('refuses a shortcut base that is not a usable URL as a config error', () => {
    const error = errorOf(() => parse('cowsay:v1', 'ftp://example.com/x'), 'CONFIG_INVALID')
    expect(error.message).toContain('shortcut base')
  })
})

describe('parseModuleRef: unsafe transports and options', () => {
  it.each([
    ['ext::sh -c touch% /tmp/pwned:v1', '"ext::" transport'],
    ['ext::sh:v1', '"ext::" transport'],
    ['fd::17:v1', '"fd::" transport'],
    ['ssh://git@github.com/owner/repo:v1', 'SSH is not supported'],
    ['git+ssh://github.com/owner/repo:v1', 'SSH is not supported'],
    ['ftp://example.com/repo:v1', 'ftp:// transport is not allowed'],
    ['git@github.com:owner/repo', 'SSH address'],
    ['git@github.com:owner/repo.git:v1', 'SSH address'],
    ['C:\\repos\\module:v1', 'Windows path'],
    ['c:/repos/module:v1', 'Windows path'],
    ['/srv/git/module.git:v1', 'plain local path'],
    ['./module:v1', 'plain local path'],
    ['../module:v1', 'plain local path'],
    ['-u:v1', 'could be read as a git option'],
    ['--upload-pack=touch /tmp/pwned:v1', 'could be read as a git option'],
    ['cowsay:-u', 'could be read as a git option'],
    ['cowsay:--upload-pack=touch', 'could be read as a git option'],
    ['github.com/owner/repo:--output=/etc/passwd', 'could be read as a git option'],
    ['https://github.com/owner/repo:-n', 'could be read as a git option'],
    ['http://github.com/owner/repo:v1', 'plain http://'],
    ['http://10.0.0.5/repo:v1', 'plain http://'],
  ])('%j is refused as MODULE_REF_UNSAFE (%s)', (text, why) => {
    const error = errorOf(() => parse(text), 'MODULE_REF_UNSAFE')
    expect(error.message).toContain(why)
  })

  it('suggests https for a remote http URL', () => {
    const error = errorOf(() => parse('http://example.com/o/r:v1'), 'MODULE_REF_UNSAFE')
    expect(error.hints.join(' ')).toContain('https://example.com/o/r')
  })

  it.each([
    'https://user:hunter2secret@github.com/o/r:v1',
    'https://token@github.com/o/r:v1',
    'https://user:p/w@github.com/o/r:v1',
  ])('refuses credentials in %j, says why, and never echoes them', (text) => {
    const error = errorOf(() => parse(text), 'MODULE_REF_UNSAFE')
    expect(error.message).toMatch(/credentials/)
    expect(error.message).toMatch(/caches, logs/)
    const everything = JSON.stringify({message: error.message, hints: error.hints, details: error.details})
    expect(everything).not.toContain('hunter2secret')
    expect(everything).not.toContain('token@')
  })

  it('never returns a URL or ref that git could read as an option or helper transport (property)', () => {
    const alphabet = fc.constantFrom(
      ...'ab-_.:/@\\~^ext+0f'.split(''),
      '::',
      '--',
      'ssh://',
      'https://',
      'file://',
      'ext::',
      'git@',
    )
    fc.assert(
      fc.property(
        fc.array(alphabet, {maxLength: 24}).map((parts) => parts.join('')),
        (text) => {
          let ref: ModuleRef
          try {
            ref = parse(text)
          } catch (error) {
            if (!isLilypadError(error)) throw error
            expect(['MODULE_REF_INVALID', 'MODULE_REF_UNSAFE']).toContain(error.code)
            return
          }
          expect(ref.repoUrl).toMatch(/^(https|git|file):\/\/|^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/)
          expect(ref.repoUrl).not.toContain('::')
          expect(ref.repoUrl).not.toContain('@')
          expect(ref.ref.startsWith('-')).toBe(false)
          for (const part of [ref.cacheKey.host, ...ref.cacheKey.segments]) {
            expect(part).not.toMatch(/^\.{1,2}$/)
            expect(part).not.toContain('/')
          }
        },
      ),
      {numRuns: 2000},
    )
  })
})

describe('ref helpers', () => {
  it('classifies commit-like refs', () => {
    expect(isCommitLike('cb8b')).toBe(true)
    expect(isCommitLike('cb8')).toBe(false)
    expect(isCommitLike('v1.0')).toBe(false)
    expect(isFullCommit('cb8b670805b06206bd63603a8ba582638a619fe5')).toBe(true)
    expect(isFullCommit('cb8b670805b06206bd63603a8ba582638a619fe')).toBe(false)
  })

  it('assertValidRef accepts git-valid names and refuses option-like ones as unsafe', () => {
    expect(() => {
      assertValidRef('release/v1.2.3-rc.1')
    }).not.toThrow()
    errorOf(() => {
      assertValidRef('-x')
    }, 'MODULE_REF_UNSAFE')
  })

  it('formats repo:ref so that it parses back to the same repository and ref', () => {
    for (const text of [
      'cowsay:v0.0.3',
      'github.com/owner/repo.git:main',
      'file:///srv/x:abc123',
      'git://127.0.0.1:9418/m.git:v1',
    ]) {
      const ref = parse(text)
      const again = parse(moduleRefToString(ref))
      expect(again.repoUrl).toBe(ref.repoUrl)
      expect(again.ref).toBe(ref.ref)
      expect(again.cacheKey).toEqual(ref.cacheKey)
    }
    expect(moduleRefToString(parse('cowsay:v0.0.3'))).toBe(
      'https://github.com/Lilypad-Tech/lilypad-module-cowsay:v0.0.3',
    )
  })

  it('builds the Go ModuleConfig with an empty name and the ref as typed', () => {
    expect(toModuleConfig(parse('cowsay:v0.0.3'))).toEqual({
      name: '',
      repo: 'https://github.com/Lilypad-Tech/lilypad-module-cowsay',
      hash: 'v0.0.3',
      path: '/lilypad_module.json.tmpl',
    })
    expect(MODULE_TEMPLATE_PATH).toBe('/lilypad_module.json.tmpl')
  })
})
