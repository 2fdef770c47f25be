/**
 * Result archives: the uncompressed tar a resource provider uploads (`POST /deals/{id}/files`) and
 * a job creator downloads and expands into `downloaded-files/<dealID>/` (lilypad-protocol.md §4.3).
 *
 * Packing is deterministic: the same directory always gives the same bytes, whatever the files'
 * owners, times or the packing machine. Entries come in result order (see `walk.ts`), paths are
 * relative without a `./` prefix, owner fields are empty (node-tar `portable`), every file's mtime
 * is 0 and directories carry none, and modes are normalised to 0644 for files, 0755 for files the
 * owner may execute and for directories. The executable bit is kept because results can hold
 * scripts or binaries a user runs next; it does not enter the data ID (UnixFS nodes carry no mode).
 *
 * Unpacking treats the archive as hostile. It accepts regular files and directories only and
 * *rejects* (never silently rewrites, as node-tar's extractor does) absolute paths, `..` or empty
 * path segments, links of either kind, devices and FIFOs, unknown entry types, duplicate entries,
 * and archives past the size or entry caps, checked on declared sizes before any byte is written.
 * Files are created by this code with `O_EXCL | O_NOFOLLOW` inside a fresh temporary directory
 * next to the target, which holds nothing this code did not create, so no entry can reach outside
 * it. Only a wholly valid archive is renamed into place; on any failure the temporary directory is
 * removed and the target is left as it was.
 */
import {
  closeSync,
  constants,
  createReadStream,
  createWriteStream,
  mkdirSync,
  openSync,
  writeSync,
} from 'node:fs'
import {chmod, mkdir, mkdtemp, readdir, rename, rm, stat} from 'node:fs/promises'
import {basename, dirname, join, resolve, sep} from 'node:path'
import {PassThrough, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

import {Pack, Parser} from 'tar'
import type {ReadEntry, WriteEntry} from 'tar'

import {isLilypadError, lilypadError} from '../errors/index.js'
import type {LilypadError} from '../errors/index.js'
import {errnoCode} from '../util/errno.js'
import {readFailed, throwIfAborted, walkResult} from './walk.js'

/** Default cap on the total size of the files in an archive: 8 GiB. */
export const DEFAULT_MAX_RESULT_BYTES = 8 * 1024 ** 3
/** Default cap on the number of entries (files and directories) in an archive. */
export const DEFAULT_MAX_RESULT_ENTRIES = 100_000
/** Deepest directory nesting accepted in an archive. */
const MAX_DEPTH = 128
const READ_BYTES = 1 << 20

/** What a pack or unpack handled. */
export interface ResultArchiveSummary {
  /** Regular files. */
  readonly files: number
  /** Directories, not counting the root. */
  readonly directories: number
  /** Total bytes of the files' contents. */
  readonly bytes: number
}

/** Options of {@link packResult} and {@link packResultStream}. */
export interface PackResultOptions {
  /** Stops packing (INTERRUPTED). */
  readonly signal?: AbortSignal | undefined
}

/** Options of {@link unpackResultTar}. */
export interface UnpackResultOptions {
  /** Largest total of declared file sizes accepted (default {@link DEFAULT_MAX_RESULT_BYTES}). */
  readonly maxBytes?: number | undefined
  /** Most entries accepted (default {@link DEFAULT_MAX_RESULT_ENTRIES}). */
  readonly maxEntries?: number | undefined
  /** Stops unpacking (INTERRUPTED); nothing is left behind. */
  readonly signal?: AbortSignal | undefined
}

const FIXED_MTIME = new Date(0)

function packMode(type: string, mode: number): number {
  if (type === 'Directory') return 0o755
  return (mode & 0o100) === 0 ? 0o644 : 0o755
}

async function runPack(
  dir: string,
  out: PassThrough,
  signal: AbortSignal | undefined,
): Promise<ResultArchiveSummary> {
  const paths: string[] = []
  let files = 0
  let directories = 0
  let bytes = 0
  for await (const entry of walkResult(dir, signal)) {
    if (entry.relative === '') {
      if (entry.type !== 'directory') {
        throw lilypadError('RESULT_PATH_UNSUPPORTED', {
          message: `${dir} is a file; a result archive is made from a directory.`,
          hints: ['Pass the result directory, not a file inside it.'],
          details: {path: dir},
        })
      }
      continue
    }
    paths.push(entry.relative)
    if (entry.type === 'file') {
      files += 1
      bytes += entry.size
    } else {
      directories += 1
    }
  }
  throwIfAborted(signal, 'Packing the result')

  // node-tar stats every path again; anything that stopped being a file or directory since the
  // walk is recorded here and fails the archive instead of entering it.
  const changed: string[] = []
  const pack = new Pack({
    cwd: dir,
    portable: true,
    mtime: FIXED_MTIME,
    noDirRecurse: true,
    follow: false,
    strict: true,
    maxReadSize: READ_BYTES,
    filter: (path, entry) => {
      const ok = 'isFile' in entry && (entry.isFile() || entry.isDirectory())
      if (!ok) changed.push(path)
      return ok
    },
    onWriteEntry: (entry: WriteEntry) => {
      if (entry.stat !== undefined) entry.stat.mode = packMode(entry.type ?? '', entry.stat.mode)
    },
  })
  const done = new Promise<void>((resolveDone, rejectDone) => {
    pack.on('end', () => {
      resolveDone()
    })
    pack.on('error', (error: unknown) => {
      rejectDone(error instanceof Error ? error : new Error(String(error)))
    })
  })
  const onAbort = () => {
    out.destroy(lilypadError('INTERRUPTED', {message: 'Packing the result was cancelled.'}))
  }
  signal?.addEventListener('abort', onAbort, {once: true})
  out.once('close', () => {
    signal?.removeEventListener('abort', onAbort)
  })
  pack.pipe(out, {end: false})
  for (const path of paths) pack.add(path)
  pack.end()
  try {
    await done
  } catch (error) {
    throw readFailed(join(dir, changed[0] ?? ''), error)
  }
  if (changed.length > 0) {
    throw lilypadError('RESULT_PATH_UNSUPPORTED', {
      message: `${join(dir, changed[0] ?? '')} changed into something other than a file or directory while it was packed.`,
      hints: ['Make sure nothing changes the result directory while it is packed.'],
      details: {path: join(dir, changed[0] ?? ''), changed},
    })
  }
  return {files, directories, bytes}
}

/**
 * Packs a result directory into a deterministic, uncompressed tar, as a stream. Read errors and
 * refusals arrive as the stream's `error` (a LilypadError).
 *
 * @param dir - the result directory
 * @param options - `signal` to cancel
 * @returns the tar bytes
 * @example
 * await pipeline(packResultStream(resultDir), httpRequestBody)
 */
export function packResultStream(dir: string, options: PackResultOptions = {}): Readable {
  const out = new PassThrough({highWaterMark: READ_BYTES})
  runPack(resolve(dir), out, options.signal).then(
    () => {
      out.end()
    },
    (error: unknown) => {
      out.destroy(error instanceof Error ? error : new Error(String(error)))
    },
  )
  return out
}

/**
 * Packs a result directory into a tar file (written to a temporary name, then renamed, so
 * `destFile` is either absent or complete). Same directory → same bytes.
 *
 * @param dir - the result directory
 * @param destFile - where the tar goes (replaced if it exists)
 * @param options - `signal` to cancel
 * @returns counts of files, directories and bytes packed
 * @throws RESULT_NOT_FOUND, RESULT_PATH_UNSUPPORTED (a link, FIFO, socket or device in the
 *   result, or `dir` is a file), RESULT_READ_FAILED, INTERRUPTED
 * @example
 * const {files, bytes} = await packResult(resultDir, join(tmp, 'result.tar'))
 */
export async function packResult(
  dir: string,
  destFile: string,
  options: PackResultOptions = {},
): Promise<ResultArchiveSummary> {
  const dest = resolve(destFile)
  const temp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${Date.now()}.partial`)
  const out = new PassThrough({highWaterMark: READ_BYTES})
  const summary = runPack(resolve(dir), out, options.signal)
  // A failed pack destroys `out` with its error, so the pipeline below reports it.
  summary.then(
    () => out.end(),
    (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
  )
  try {
    await pipeline(out, createWriteStream(temp, {flags: 'wx'}))
    const result = await summary
    await rename(temp, dest)
    return result
  } catch (error) {
    await rm(temp, {force: true})
    if (isLilypadError(error)) throw error
    throw readFailed(dest, error)
  }
}

/** A tar source: a file path or a stream of bytes. */
export type TarSource = string | Readable | AsyncIterable<Uint8Array>

function unsafe(message: string, details: Record<string, string | number>): LilypadError {
  return lilypadError('RESULT_ARCHIVE_UNSAFE', {
    message,
    hints: [
      'Nothing was unpacked. The archive did not come from an honest result directory.',
      'Treat the result as not delivered (dispute it or ask for it again).',
    ],
    details,
  })
}

function tooLarge(message: string, details: Record<string, string | number>): LilypadError {
  return lilypadError('RESULT_ARCHIVE_TOO_LARGE', {
    message,
    hints: [
      'Nothing was unpacked.',
      'If the result is expected to be this large, raise maxBytes / maxEntries for this download.',
    ],
    details,
  })
}

function invalid(message: string, details: Record<string, string | number>, cause?: unknown): LilypadError {
  return lilypadError('RESULT_ARCHIVE_INVALID', {
    message,
    hints: ['Nothing was unpacked. Download the result again; the archive is damaged or not a tar.'],
    details,
    cause,
  })
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile'])

const KIND_NAMES: Record<string, string> = {
  Link: 'a hard link',
  SymbolicLink: 'a symbolic link',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
  FIFO: 'a FIFO',
  GNUDumpDir: 'a GNU dump directory',
}

/** The checked path segments of an entry, or a refusal. `[]` is the archive's root (`./`). */
function entrySegments(entry: ReadEntry, isDirectory: boolean): string[] {
  const path = entry.path
  const details = {path}
  if (path.includes('\0')) throw unsafe(`An archive entry's path contains a NUL byte.`, details)
  if (path.startsWith('/'))
    throw unsafe(`The archive holds an absolute path, ${JSON.stringify(path)}.`, details)
  const segments = path.split('/')
  while (segments.length > 0 && segments[0] === '.') segments.shift()
  if (segments.length > 0 && segments[segments.length - 1] === '') {
    if (!isDirectory)
      throw unsafe(`The archive holds a file path ending in "/", ${JSON.stringify(path)}.`, details)
    segments.pop()
  }
  for (const segment of segments) {
    if (segment === '..')
      throw unsafe(`The archive holds a path with "..", ${JSON.stringify(path)}.`, details)
    if (segment === '' || segment === '.') {
      throw unsafe(`The archive holds a malformed path, ${JSON.stringify(path)}.`, details)
    }
  }
  if (segments.length === 0 && !isDirectory) {
    throw unsafe(`The archive holds a file entry for its root directory.`, details)
  }
  if (segments.length > MAX_DEPTH) {
    throw unsafe(`The archive nests deeper than ${MAX_DEPTH} levels.`, {path, depth: segments.length})
  }
  return segments
}

function writeAll(fd: number, chunk: Buffer): void {
  let offset = 0
  while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset)
}

async function checkTarget(target: string): Promise<void> {
  let names: string[]
  try {
    const stats = await stat(target)
    if (!stats.isDirectory()) {
      throw lilypadError('DIRECTORY_NOT_EMPTY', {
        message: `${target} exists and is not a directory; a result is unpacked into a new directory.`,
        hints: ['Choose another target, or remove the file first.'],
        details: {path: target},
      })
    }
    names = await readdir(target)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return
    if (isLilypadError(error)) throw error
    throw readFailed(target, error)
  }
  if (names.length > 0) {
    throw lilypadError('DIRECTORY_NOT_EMPTY', {
      message: `${target} is not empty; a result is unpacked only into an absent or empty directory.`,
      hints: ['Remove the directory first, or unpack into another one.'],
      details: {path: target},
    })
  }
}

/** Unpacks into `root` (an empty directory nothing else writes to); the core of {@link unpackResultTar}. */
async function extractInto(
  root: string,
  source: TarSource,
  limits: {maxBytes: number; maxEntries: number},
  signal: AbortSignal | undefined,
): Promise<ResultArchiveSummary> {
  let failure: LilypadError | undefined
  let entries = 0
  let files = 0
  let directories = 0
  let bytes = 0
  let inputBytes = 0
  let inputAllZero = true
  const openFds = new Set<number>()

  const parser = new Parser({
    onwarn: (code: string, message: string) => {
      // node-tar calls an archive of end blocks only "unrecognized"; it is the empty result.
      const emptyArchive =
        code === 'TAR_BAD_ARCHIVE' &&
        entries === 0 &&
        inputAllZero &&
        inputBytes >= 1024 &&
        inputBytes % 512 === 0
      if (!emptyArchive) fail(invalid(`The result archive is not a valid tar: ${message}.`, {tarCode: code}))
    },
  })

  let onFailure: () => void = () => undefined
  const failed = new Promise<void>((resolveFailed) => {
    onFailure = resolveFailed
  })
  function fail(error: LilypadError): void {
    if (failure !== undefined) return
    failure = error
    onFailure()
    parser.abort(new Error(error.message))
  }

  parser.on('error', (error: unknown) => {
    fail(
      invalid(
        `The result archive could not be read: ${error instanceof Error ? error.message : String(error)}.`,
        {},
        error,
      ),
    )
  })
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    fail(
      unsafe(
        `The archive holds an entry of an unsupported kind (${entry.type}) at ${JSON.stringify(entry.path)}.`,
        {
          path: entry.path,
          type: entry.type,
        },
      ),
    )
  })
  parser.on('entry', (entry: ReadEntry) => {
    try {
      if (failure !== undefined) throw failure
      handleEntry(entry)
    } catch (error) {
      fail(
        isLilypadError(error)
          ? error
          : invalid(`Unpacking ${JSON.stringify(entry.path)} failed.`, {path: entry.path}, error),
      )
      entry.resume()
    }
  })

  function handleEntry(entry: ReadEntry): void {
    entries += 1
    if (entries > limits.maxEntries) {
      throw tooLarge(`The result archive holds more than ${limits.maxEntries} entries.`, {
        maxEntries: limits.maxEntries,
      })
    }
    const isDirectory = entry.type === 'Directory'
    if (!isDirectory && !FILE_TYPES.has(entry.type)) {
      const kind = KIND_NAMES[entry.type] ?? `an entry of type ${entry.type}`
      throw unsafe(
        `The archive holds ${kind} at ${JSON.stringify(entry.path)}; a result holds only files and directories.`,
        {
          path: entry.path,
          type: entry.type,
        },
      )
    }
    const segments = entrySegments(entry, isDirectory)
    const absolute = join(root, ...segments)
    if (absolute !== root && !absolute.startsWith(root + sep)) {
      throw unsafe(`The archive path ${JSON.stringify(entry.path)} leaves the target directory.`, {
        path: entry.path,
      })
    }
    if (isDirectory) {
      if (segments.length > 0) {
        makeDirectory(absolute, entry.path)
        directories += 1
      }
      entry.resume()
      return
    }
    bytes += entry.size
    if (bytes > limits.maxBytes) {
      throw tooLarge(`The result archive's files add up to more than ${limits.maxBytes} bytes.`, {
        maxBytes: limits.maxBytes,
        path: entry.path,
        declaredSize: entry.size,
      })
    }
    makeDirectory(dirname(absolute), entry.path)
    const mode = ((entry.mode ?? 0o644) & 0o100) === 0 ? 0o644 : 0o755
    let fd: number
    try {
      fd = openSync(
        absolute,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        mode,
      )
    } catch (error) {
      throw conflictOr(error, entry.path)
    }
    openFds.add(fd)
    files += 1
    entry.on('data', (chunk: Buffer) => {
      if (failure !== undefined) return
      try {
        writeAll(fd, chunk)
      } catch (error) {
        fail(invalid(`Writing ${JSON.stringify(entry.path)} failed.`, {path: entry.path}, error))
      }
    })
    entry.on('end', () => {
      if (openFds.delete(fd)) closeSync(fd)
    })
  }

  function makeDirectory(absolute: string, path: string): void {
    if (absolute === root) return
    try {
      mkdirSync(absolute, {recursive: true, mode: 0o755})
    } catch (error) {
      throw conflictOr(error, path)
    }
  }

  function conflictOr(error: unknown, path: string): LilypadError {
    const code = errnoCode(error)
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ELOOP') {
      return unsafe(`The archive entry ${JSON.stringify(path)} collides with an earlier entry.`, {path})
    }
    return invalid(
      `Unpacking ${JSON.stringify(path)} failed: ${error instanceof Error ? error.message : String(error)}.`,
      {path},
      error,
    )
  }

  const ended = new Promise<void>((resolveEnd) => {
    parser.on('end', () => {
      resolveEnd()
    })
  })
  const input: AsyncIterable<Uint8Array> =
    typeof source === 'string' ? createReadStream(source, {highWaterMark: READ_BYTES}) : source
  const onAbort = () => {
    fail(lilypadError('INTERRUPTED', {message: 'Unpacking the result was cancelled.'}))
  }
  signal?.addEventListener('abort', onAbort, {once: true})
  try {
    throwIfAborted(signal, 'Unpacking the result')
    try {
      for await (const chunk of input) {
        if (failure !== undefined) break
        const bytesIn = Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        inputBytes += bytesIn.byteLength
        if (inputAllZero && bytesIn.some((byte) => byte !== 0)) inputAllZero = false
        parser.write(bytesIn)
      }
    } catch (error) {
      if (isLilypadError(error)) throw error
      throw typeof source === 'string'
        ? readFailed(source, error)
        : invalid(
            `Reading the result archive failed: ${error instanceof Error ? error.message : String(error)}.`,
            {},
            error,
          )
    }
    if (failure === undefined) {
      parser.end()
      await Promise.race([ended, failed])
    }
    if (failure !== undefined) throw failure
    if (openFds.size > 0) throw invalid('The result archive ended inside a file.', {})
    return {files, directories, bytes}
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (typeof input === 'object' && 'destroy' in input && typeof input.destroy === 'function') {
      ;(input as Readable).destroy()
    }
    for (const fd of openFds) closeSync(fd)
    openFds.clear()
  }
}

/**
 * Safely unpacks a result tar into `targetDir`, which must not exist or be an empty directory.
 * The archive is expanded into a temporary sibling directory and renamed into place only when
 * every entry was valid, so a failed or hostile archive leaves nothing behind, inside or outside
 * the target.
 *
 * @param source - a tar file path, or a stream of tar bytes (an HTTP response body)
 * @param targetDir - the directory to create, e.g. `downloaded-files/<dealID>`
 * @param options - `maxBytes` (declared file sizes, default 8 GiB), `maxEntries` (default 100000), `signal`
 * @returns counts of files, directories and bytes unpacked
 * @throws RESULT_ARCHIVE_UNSAFE (absolute or `..` paths, links, devices, FIFOs, duplicate
 *   entries, unknown entry types), RESULT_ARCHIVE_TOO_LARGE (past a cap), RESULT_ARCHIVE_INVALID
 *   (not a tar, damaged, truncated), DIRECTORY_NOT_EMPTY (the target holds something),
 *   RESULT_READ_FAILED (the source file cannot be read), INTERRUPTED
 * @example
 * const {files} = await unpackResultTar(response.body, join(dataDir, 'downloaded-files', dealId))
 */
export async function unpackResultTar(
  source: TarSource,
  targetDir: string,
  options: UnpackResultOptions = {},
): Promise<ResultArchiveSummary> {
  const target = resolve(targetDir)
  const limits = {
    maxBytes: options.maxBytes ?? DEFAULT_MAX_RESULT_BYTES,
    maxEntries: options.maxEntries ?? DEFAULT_MAX_RESULT_ENTRIES,
  }
  await checkTarget(target)
  const parent = dirname(target)
  try {
    await mkdir(parent, {recursive: true})
  } catch (error) {
    throw readFailed(parent, error)
  }
  const temp = await mkdtemp(join(parent, `.${basename(target)}.unpack-`))
  let placed = false
  try {
    const summary = await extractInto(temp, source, limits, options.signal)
    throwIfAborted(options.signal, 'Unpacking the result')
    await chmod(temp, 0o755)
    try {
      await rename(temp, target)
    } catch (error) {
      const code = errnoCode(error)
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
        throw lilypadError('DIRECTORY_NOT_EMPTY', {
          message: `${target} was filled by something else while the result was unpacked.`,
          hints: ['Make sure only one download writes into this directory.'],
          details: {path: target},
          cause: error,
        })
      }
      throw readFailed(target, error)
    }
    placed = true
    return summary
  } finally {
    if (!placed) await rm(temp, {recursive: true, force: true})
  }
}
