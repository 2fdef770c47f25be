/**
 * Result tars and input archives on disk: `<dataDir>/job-files/<dealID>/<filename>` and
 * `<dataDir>/job-input-archives/<jobOfferID>/inputs.tar`, as the Go solver lays them out. A file is
 * streamed to a temporary name in its final directory, flushed, then renamed, so a reader (or a
 * restart after a kill) sees either no file or the whole file.
 */
import {randomBytes} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {mkdir, open, readdir, rename, rm, stat} from 'node:fs/promises'
import {join} from 'node:path'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {Transform} from 'node:stream'

import {SolverHttpError} from './http.js'

/** The result file name when the upload names none (Go's default). */
export const DEFAULT_RESULT_FILENAME = 'results.tar'

const TEMP_SUFFIX = '.part'

/** The upload was complete but no longer wanted (the deal moved on meanwhile); nothing was stored. */
export class UploadRefused extends Error {
  constructor() {
    super('the upload is no longer wanted')
    this.name = 'UploadRefused'
  }
}

/** Thrown by {@link writeStreamAtomically} when the body exceeds the limit. */
export class FileTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`file larger than ${limit} bytes`)
    this.name = 'FileTooLarge'
  }
}

/**
 * The file name of an upload's `Content-Disposition` (Go splits at `filename=` and trims quotes),
 * reduced to a safe base name: the last path segment, only `[A-Za-z0-9._-]`, no leading dot.
 * Anything that leaves nothing usable becomes `results.tar`.
 */
export function uploadFilename(contentDisposition: string | undefined): string {
  if (contentDisposition === undefined || contentDisposition === '') return DEFAULT_RESULT_FILENAME
  const parts = contentDisposition.split('filename=')
  if (parts.length < 2 || parts[1] === undefined) return DEFAULT_RESULT_FILENAME
  return safeFilename(parts[1].replace(/^"+|"+$/g, ''))
}

/** `name` reduced to a base name that cannot leave its directory (see {@link uploadFilename}). */
export function safeFilename(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? ''
  const cleaned = base
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 200)
  if (cleaned === '' || cleaned.endsWith(TEMP_SUFFIX)) return DEFAULT_RESULT_FILENAME
  return cleaned
}

/** Directory of a deal's result files. Deal IDs are CIDs, but a path segment is checked anyway. */
export function dealFilesDir(dataDir: string, dealId: string): string {
  return join(dataDir, 'job-files', safeSegment(dealId))
}

/** Directory of a job offer's input archive. */
export function inputsDir(dataDir: string, jobOfferId: string): string {
  return join(dataDir, 'job-input-archives', safeSegment(jobOfferId))
}

function safeSegment(id: string): string {
  // Route parameters reach here; an ID that is no CID must never become a path.
  if (!/^[A-Za-z0-9]{1,128}$/.test(id)) throw new SolverHttpError(404, 'deal not found')
  return id
}

function limiter(limit: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > limit) callback(new FileTooLarge(limit))
      else callback(null, chunk)
    },
  })
}

/**
 * Streams `source` into `dir/filename` through a temporary file, at most `limit` bytes.
 *
 * @param stillWanted - asked once the stream is written, before the file replaces any earlier one
 * @returns the final path and the size written
 * @throws FileTooLarge when the stream is longer than `limit`, UploadRefused when `stillWanted()` says
 * no (nothing is left behind either way)
 */
export async function writeStreamAtomically(
  source: Readable,
  dir: string,
  filename: string,
  limit: number,
  stillWanted: () => boolean = () => true,
): Promise<{path: string; size: number}> {
  await mkdir(dir, {recursive: true})
  const temp = join(dir, `.${filename}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`)
  const target = join(dir, filename)
  try {
    await pipeline(source, limiter(limit), createWriteStream(temp))
    const handle = await open(temp, 'r+')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
    // Checked after the (possibly long) upload and right before the file becomes visible.
    if (!stillWanted()) throw new UploadRefused()
    await rename(temp, target)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
  return {path: target, size: (await stat(target)).size}
}

/** The first complete regular file of `dir` (Go serves the first one it finds), if any. */
export async function firstFile(dir: string): Promise<{path: string; filename: string} | undefined> {
  let entries
  try {
    entries = await readdir(dir, {withFileTypes: true})
  } catch {
    return undefined
  }
  const file = entries
    .filter((entry) => entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX))
    .sort((a, b) => a.name.localeCompare(b.name))[0]
  return file === undefined ? undefined : {path: join(dir, file.name), filename: file.name}
}
