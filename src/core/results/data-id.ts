/**
 * The data ID of a result: the UnixFS CID kubo prints for `ipfs add -Qrn <path>` (hash only,
 * nothing stored), which a resource provider reports in its Result and on chain and a job creator
 * recomputes after download (lilypad-protocol.md §3.4, §7; DESIGN §2 steps 6–7).
 *
 * Every importer option is pinned to kubo's defaults (its `unixfs-v0-2015` profile), because the
 * importer's own defaults differ (CIDv1, raw leaves, 1 MiB chunks in its newer profile):
 * - CIDv0, dag-pb leaves wrapping UnixFS `file` nodes (`rawLeaves: false`), sha2-256;
 * - fixed 256 KiB chunks, balanced layout with at most 174 links per node, a file of one chunk is
 *   that chunk's node (`reduceSingleLeafToSelf`);
 * - no mode or mtime in any node (kubo records them only with `--preserve-mode/--preserve-mtime`);
 * - directories are plain UnixFS directories until kubo would shard them: HAMT (fanout 256,
 *   murmur3-x64-64) once the sum over links of (name bytes + CID bytes) is **greater than**
 *   256 KiB. Verified against boxo `ipld/unixfs/io/directory.go` (HAMTShardingSize = 256 KiB,
 *   `SizeEstimationLinks` by default, comparison `>` since boxo's IPIP-499 work; earlier releases
 *   used `>=`, which differs only for a directory whose estimate is exactly 262144) and against
 *   kubo's `test/cli/cid_profiles_test.go` vectors at and one byte over that threshold, which the
 *   tests reproduce. `ipfs-unixfs-importer` 17 defaults to the same threshold and strategy
 *   (`shardSplitThresholdBytes: 262144`, `links-bytes`, `>`); they are pinned here anyway.
 *
 * Hidden files (names starting with `.`) are part of the result and of its ID. kubo's `ipfs add -r`
 * skips them unless given `--hidden`, so the kubo command that reproduces a data ID is
 * `ipfs add -Qrn --hidden <dir>`; for results without hidden files both agree.
 */
import {constants} from 'node:fs'
import {createReadStream} from 'node:fs'
import {open} from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'

import {importer} from 'ipfs-unixfs-importer'
import type {DirectoryCandidate, FileCandidate, ImporterOptions, WritableStorage} from 'ipfs-unixfs-importer'
import {fixedSize} from 'ipfs-unixfs-importer/chunker'
import {balanced} from 'ipfs-unixfs-importer/layout'

import {isLilypadError, lilypadError} from '../errors/index.js'
import {describeKind, readFailed, throwIfAborted, walkResult} from './walk.js'

/** Bytes per read from disk: large reads keep the importer near its in-memory speed. */
export const READ_CHUNK_BYTES = 1 << 20

/** kubo's UnixFS parameters (`ipfs add` defaults, the `unixfs-v0-2015` profile). */
export const KUBO_UNIXFS = {
  chunkSize: 262_144,
  maxChildrenPerNode: 174,
  hamtThresholdBytes: 262_144,
  hamtFanoutBits: 8,
} as const

/** Name of the root inside the importer's paths; it never appears in a CID. */
const ROOT = 'result'

/** Progress from {@link computeDataId}. */
export type DataIdEvent =
  /** A file has been read and hashed. */
  {readonly type: 'result.file-hashed'; readonly path: string; readonly bytes: number}

/** Options of {@link computeDataId}. */
export interface DataIdOptions {
  /** Stops the computation (INTERRUPTED). */
  readonly signal?: AbortSignal | undefined
  /** Called after each file has been hashed. */
  readonly onEvent?: ((event: DataIdEvent) => void) | undefined
}

/** Options of {@link computeUnixfsCid}: {@link DataIdOptions} plus the HAMT threshold. */
export interface UnixfsCidOptions extends DataIdOptions {
  /**
   * Sharding threshold in bytes of the links estimate. kubo's default is 256 KiB; kubo's own test
   * suite sets `Internal.UnixFSShardingSizeThreshold` to `1B` or `1G` to force either form.
   */
  readonly hamtThresholdBytes?: number | undefined
}

/** A block sink that keeps nothing: only the root CID is wanted. */
const DISCARD: WritableStorage = {
  put: async (cid) => Promise.resolve(cid),
}

function importerOptions(hamtThresholdBytes: number): ImporterOptions {
  return {
    cidVersion: 0,
    rawLeaves: false,
    leafType: 'file',
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({chunkSize: KUBO_UNIXFS.chunkSize}),
    layout: balanced({maxChildrenPerNode: KUBO_UNIXFS.maxChildrenPerNode}),
    shardSplitThresholdBytes: hamtThresholdBytes,
    shardSplitStrategy: 'links-bytes',
    shardFanoutBits: KUBO_UNIXFS.hamtFanoutBits,
    fieldOrder: 'links-first',
    wrapWithDirectory: false,
    // Each file in flight holds up to one read buffer and a few chunks: a handful keeps memory
    // bounded whatever the directory holds, and is as fast as more on a local disk.
    fileImportConcurrency: 16,
    blockWriteConcurrency: 8,
  }
}

/**
 * Reads a regular file in 1 MiB pieces. The file is opened without following a link and checked
 * to still be a regular file, so an entry swapped for a link or a FIFO after the walk is refused
 * instead of read.
 */
async function* readRegularFile(
  absolute: string,
  signal: AbortSignal | undefined,
  onDone: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  let handle: FileHandle
  try {
    handle = await open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (error) {
    throw readFailed(absolute, error)
  }
  let bytes = 0
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) {
      throw lilypadError('RESULT_PATH_UNSUPPORTED', {
        message: `${absolute} is ${describeKind(stats)}; a result holds only regular files and directories.`,
        hints: ['Make sure nothing changes the result directory while its data ID is computed.'],
        details: {path: absolute, kind: describeKind(stats)},
      })
    }
    if (stats.size <= READ_CHUNK_BYTES) {
      // One read for a small file: a stream costs more than the hashing here.
      let whole: Buffer
      try {
        whole = await handle.readFile()
      } catch (error) {
        throw readFailed(absolute, error)
      }
      throwIfAborted(signal, 'Computing the data ID')
      bytes = whole.byteLength
      yield whole
      onDone(bytes)
      return
    }
    const stream = createReadStream(absolute, {fd: handle, highWaterMark: READ_CHUNK_BYTES, autoClose: false})
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        throwIfAborted(signal, 'Computing the data ID')
        bytes += chunk.byteLength
        yield chunk
      }
    } catch (error) {
      if (isLilypadError(error)) throw error
      throw readFailed(absolute, error)
    } finally {
      stream.destroy()
    }
  } finally {
    await handle.close()
  }
  onDone(bytes)
}

async function* candidates(
  root: string,
  options: DataIdOptions,
): AsyncGenerator<FileCandidate | DirectoryCandidate> {
  for await (const entry of walkResult(root, options.signal)) {
    const path = entry.relative === '' ? ROOT : `${ROOT}/${entry.relative}`
    if (entry.type === 'directory') {
      yield {path}
      continue
    }
    const done = (bytes: number) =>
      options.onEvent?.({type: 'result.file-hashed', path: entry.absolute, bytes})
    const content = readRegularFile(entry.absolute, options.signal, done)
    // A lone file is imported without a path, exactly as `ipfs add FILE` treats it.
    yield entry.relative === '' ? {content} : {path, content}
  }
}

/**
 * The UnixFS CIDv0 of a file or directory tree with kubo's parameters, with the sharding threshold
 * adjustable (for tests against kubo vectors that force it). Prefer {@link computeDataId}.
 *
 * @param path - a regular file or a directory
 * @param options - signal, progress, HAMT threshold
 * @returns the CID string (`Qm…`)
 * @throws RESULT_NOT_FOUND, RESULT_PATH_UNSUPPORTED, RESULT_READ_FAILED, INTERRUPTED
 * @example
 * await computeUnixfsCid('/tmp/dir', {hamtThresholdBytes: 1}) // always sharded, like kubo with "1B"
 */
export async function computeUnixfsCid(path: string, options: UnixfsCidOptions = {}): Promise<string> {
  const threshold = options.hamtThresholdBytes ?? KUBO_UNIXFS.hamtThresholdBytes
  let last: string | undefined
  try {
    for await (const entry of importer(candidates(path, options), DISCARD, importerOptions(threshold))) {
      last = entry.cid.toString()
    }
  } catch (error) {
    if (isLilypadError(error)) throw error
    throw lilypadError('INTERNAL', {
      message: `Computing the data ID of ${path} failed: ${error instanceof Error ? error.message : String(error)}`,
      details: {path},
      cause: error,
    })
  }
  throwIfAborted(options.signal, 'Computing the data ID')
  if (last === undefined) {
    throw lilypadError('INTERNAL', {message: `The importer produced no CID for ${path}.`, details: {path}})
  }
  return last
}

/**
 * Computes a result's data ID: the CID kubo's `ipfs add -Qrn --hidden <path>` prints (CIDv0,
 * `Qm…`). Works on a directory (recursively, empty directories and hidden files included) or a
 * single file. Files are streamed in 1 MiB reads, so memory stays bounded for results of any size.
 *
 * @param path - the result directory (or a single file)
 * @param options - `signal` to cancel; `onEvent` for per-file progress
 * @returns the data ID
 * @throws RESULT_NOT_FOUND when nothing is at `path`; RESULT_PATH_UNSUPPORTED for a symbolic link,
 *   FIFO, socket or device inside the result, or a name that is not UTF-8; RESULT_READ_FAILED when
 *   a file cannot be read; INTERRUPTED when `signal` aborts
 * @example
 * const dataId = await computeDataId('/tmp/lilypad/data/downloaded-files/QmDeal')
 */
export async function computeDataId(path: string, options: DataIdOptions = {}): Promise<string> {
  return computeUnixfsCid(path, options)
}

/** Outcome of {@link verifyResult}. */
export interface ResultVerification {
  /** The data ID computed from the files. */
  readonly dataId: string
  /** The ID that was expected (as given). */
  readonly expected: string
  /** Whether the two are the same CID. */
  readonly verified: boolean
}

/**
 * Recomputes a result's data ID and compares it with the one the provider reported.
 *
 * @param dir - the unpacked result directory
 * @param expectedDataId - the data ID from the Result or the chain
 * @param options - signal and progress, as for {@link computeDataId}
 * @returns the computed ID and whether it matches
 * @throws the errors of {@link computeDataId}
 * @example
 * const {verified} = await verifyResult(dir, result.data_id)
 * if (!verified) await dispute()
 */
export async function verifyResult(
  dir: string,
  expectedDataId: string,
  options: DataIdOptions = {},
): Promise<ResultVerification> {
  const dataId = await computeDataId(dir, options)
  return {dataId, expected: expectedDataId, verified: dataId === expectedDataId.trim()}
}
