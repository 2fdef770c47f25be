/**
 * Walks a result directory in the one order both the data ID and the tar use: depth first, each
 * directory's entries sorted by the bytes of their UTF-8 names (kubo's link order, and Go's string
 * order), a directory before its contents.
 *
 * A result is regular files and directories only. Symbolic links, sockets, FIFOs and devices are
 * refused rather than followed or skipped: following a link could pull in files from outside the
 * result, skipping one would make two parties compute different IDs for "the same" directory.
 * Names must be valid UTF-8 (a UnixFS link name is a string; a lossy conversion would change
 * the ID) and must not end with a backslash (the importer reads `\/` as an escaped slash).
 */
import type {Dirent, Stats} from 'node:fs'
import {lstat, readdir} from 'node:fs/promises'
import {join} from 'node:path'

import {lilypadError} from '../errors/index.js'
import {errnoCode} from '../util/errno.js'

/** One entry of a result directory, relative to its root. */
export interface ResultEntry {
  /** Absolute path on disk. */
  readonly absolute: string
  /** Path relative to the root with `/` separators; `''` for the root itself. */
  readonly relative: string
  readonly type: 'file' | 'directory'
  /** Size in bytes (0 for directories). */
  readonly size: number
  /** Whether the owner may execute the file. */
  readonly executable: boolean
}

const utf8 = new TextDecoder('utf-8', {fatal: true})

/** Throws INTERRUPTED when `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted === true) throw lilypadError('INTERRUPTED', {message: `${what} was cancelled.`})
}

/** Reads the stat of `absolute` without following a link, mapping failures to LilypadErrors. */
export async function statEntry(absolute: string, relative: string): Promise<Stats> {
  try {
    return await lstat(absolute)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' && relative === '') {
      throw lilypadError('RESULT_NOT_FOUND', {
        message: `There is no file or directory at ${absolute}.`,
        hints: ['Check the path of the result directory.'],
        details: {path: absolute},
        cause: error,
      })
    }
    throw readFailed(absolute, error)
  }
}

/** A RESULT_READ_FAILED error for a path that could not be read. */
export function readFailed(absolute: string, error: unknown) {
  return lilypadError('RESULT_READ_FAILED', {
    message: `Could not read ${absolute}: ${error instanceof Error ? error.message : String(error)}.`,
    hints: ['Check that the result directory is readable and is not changing while it is read.'],
    details: {path: absolute, ...(errnoCode(error) === undefined ? {} : {errno: errnoCode(error) ?? ''})},
    cause: error,
  })
}

function unsupported(absolute: string, kind: string) {
  return lilypadError('RESULT_PATH_UNSUPPORTED', {
    message: `${absolute} is ${kind}; a result holds only regular files and directories.`,
    hints: [
      'Have the job copy the file into its outputs instead of linking to it.',
      'Remove the entry from the result directory.',
    ],
    details: {path: absolute, kind},
  })
}

/** What kind of non-regular file `stats` describes, for error messages. */
export function describeKind(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link'
  if (stats.isFIFO()) return 'a FIFO'
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  return 'not a regular file'
}

function entryOf(absolute: string, relative: string, stats: Stats): ResultEntry {
  if (stats.isDirectory()) return {absolute, relative, type: 'directory', size: 0, executable: false}
  if (stats.isFile()) {
    return {absolute, relative, type: 'file', size: stats.size, executable: (stats.mode & 0o100) !== 0}
  }
  throw unsupported(absolute, describeKind(stats))
}

function nameOf(parent: string, raw: Buffer): string {
  let name: string
  try {
    name = utf8.decode(raw)
  } catch {
    throw lilypadError('RESULT_PATH_UNSUPPORTED', {
      message: `${parent} holds an entry whose name is not valid UTF-8 (bytes ${raw.toString('hex')}).`,
      hints: ['Rename the file: result names must be UTF-8.'],
      details: {path: parent, nameHex: raw.toString('hex')},
    })
  }
  if (name.endsWith('\\')) {
    throw lilypadError('RESULT_PATH_UNSUPPORTED', {
      message: `${join(parent, name)} ends with a backslash, which the UnixFS importer reads as an escape.`,
      hints: ['Rename the file so that its name does not end with "\\".'],
      details: {path: join(parent, name)},
    })
  }
  return name
}

async function sortedNames(absolute: string): Promise<string[]> {
  let raw: Dirent<Buffer>[]
  try {
    raw = await readdir(absolute, {withFileTypes: true, encoding: 'buffer'})
  } catch (error) {
    throw readFailed(absolute, error)
  }
  return raw
    .map((dirent) => dirent.name)
    .sort((a, b) => Buffer.compare(a, b))
    .map((name) => nameOf(absolute, name))
}

/**
 * Yields `root` (relative `''`) and, when it is a directory, everything below it in result order.
 *
 * @throws RESULT_NOT_FOUND, RESULT_PATH_UNSUPPORTED, RESULT_READ_FAILED, INTERRUPTED
 */
export async function* walkResult(root: string, signal?: AbortSignal): AsyncGenerator<ResultEntry> {
  throwIfAborted(signal, 'Reading the result')
  const top = entryOf(root, '', await statEntry(root, ''))
  yield top
  if (top.type === 'directory') yield* walkChildren(root, '', signal)
}

async function* walkChildren(
  absolute: string,
  relative: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<ResultEntry> {
  for (const name of await sortedNames(absolute)) {
    throwIfAborted(signal, 'Reading the result')
    const childAbsolute = join(absolute, name)
    const childRelative = relative === '' ? name : `${relative}/${name}`
    const entry = entryOf(childAbsolute, childRelative, await statEntry(childAbsolute, childRelative))
    yield entry
    if (entry.type === 'directory') yield* walkChildren(childAbsolute, childRelative, signal)
  }
}
