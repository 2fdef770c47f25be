/**
 * The WASI preview1 imports a Wasm job gets: Node's `node:wasi` implementation with everything
 * that could differ between two runs of the same job replaced.
 *
 * - Clocks: virtual. Every read of any clock advances one shared counter by 1 ms, so time moves
 *   (a loop waiting for time to pass ends) but the values are the same on every run. The realtime
 *   clock starts at 2024-01-01T00:00:00Z, the others at 0. Resolution is 1 ms.
 * - `random_get`: the seeded SHA-256 counter-mode stream of `random.ts`.
 * - File timestamps returned by `fd_filestat_get`/`path_filestat_get`: the virtual epoch, and the
 *   device and inode numbers 0. A directory reports one link and size 0, which filesystems
 *   otherwise give as they please (ext4 4096, tmpfs a multiple of its entries).
 * - `fd_readdir`: the whole directory is read first and returned sorted by name bytes, with
 *   cookies 1, 2, 3… and inode numbers 0, where the host would give its own order (hash order on
 *   ext4, newest first on tmpfs) and its own cookies.
 * - fd 1 and fd 2 go to capture files with byte caps; past a cap the bytes are dropped (the guest
 *   is told they were written, so it does not retry) and the cut is reported.
 * - Writes to other files count against the outputs quota; past it they fail with ENOSPC.
 * - `/inputs` is read-only: writable rights are masked off everything opened under it, and
 *   creating, removing, renaming or linking there fails with EROFS.
 * - No sockets, no signals: `sock_*` and `proc_raise` return ENOSYS.
 *
 * `poll_oneoff` is Node's: a relative clock subscription really sleeps, so a "sleep" job takes its
 * time, but the virtual clock does not see that time pass.
 */
import {writeSync} from 'node:fs'

import {createRandomStream} from './random.js'
import type {WasmMemory} from './webassembly.js'

/** 2024-01-01T00:00:00Z in nanoseconds since the Unix epoch. */
export const VIRTUAL_EPOCH_NS = 1_704_067_200_000_000_000n
/** How far the virtual clock moves on each read, and the resolution every clock reports. */
export const VIRTUAL_TICK_NS = 1_000_000n

const ERRNO = {success: 0, inval: 28, nospc: 51, nosys: 52, rofs: 69} as const
/** Size of a WASI preview1 `dirent` header: d_next u64, d_ino u64, d_namlen u32, d_type u8, padding. */
const DIRENT_BYTES = 24
/** The name length announced when a buffer cannot even hold a `dirent` header to read one from. */
const NAME_MAX = 255
const FILETYPE_DIRECTORY = 3
const CLOCK_REALTIME = 0
const CLOCK_COUNT = 4
const OFLAGS_CREAT = 1
const OFLAGS_TRUNC = 8
const FDFLAGS_APPEND = 1

/** The rights that allow changing a file or a directory (WASI preview1 `rights` bits). */
const WRITE_RIGHTS =
  (1n << 0n) | // fd_datasync
  (1n << 3n) | // fd_fdstat_set_flags
  (1n << 4n) | // fd_sync
  (1n << 6n) | // fd_write
  (1n << 8n) | // fd_allocate
  (1n << 9n) | // path_create_directory
  (1n << 10n) | // path_create_file
  (1n << 11n) | // path_link_source
  (1n << 12n) | // path_link_target
  (1n << 16n) | // path_rename_source
  (1n << 17n) | // path_rename_target
  (1n << 19n) | // path_filestat_set_size
  (1n << 20n) | // path_filestat_set_times
  (1n << 22n) | // fd_filestat_set_size
  (1n << 23n) | // fd_filestat_set_times
  (1n << 24n) | // path_symlink
  (1n << 25n) | // path_remove_directory
  (1n << 26n) // path_unlink_file

/** A capped capture file for one output stream. */
export interface Capture {
  readonly fd: number
  readonly limit: number
  written: number
  truncated: boolean
  /** Whether what was kept so far ends a line (or is empty). */
  atLineStart: boolean
}

/** What {@link deterministicImports} needs besides Node's own imports. */
export interface DeterministicOptions {
  readonly seed: string
  readonly stdout: Capture
  readonly stderr: Capture
  readonly outputsBytes: number
  /** The guest fd of the `/inputs` preopen, if there is one. */
  readonly inputsFd: number | undefined
  /** The guest's memory, once instantiated. */
  readonly memory: () => WasmMemory
}

/** A WASI import function; every argument is an i32 (number) or i64 (bigint). */
type WasiFunction = (...args: (number | bigint)[]) => number

/** One directory entry as the guest will see it. */
interface DirectoryEntry {
  readonly name: Buffer
  readonly type: number
}

/**
 * A whole directory, or, when the guest's buffer cannot hold one of its entries, the name length
 * to ask for (the guest grows its buffer to `DIRENT_BYTES + namlen` and asks again).
 */
type Listing =
  | {readonly kind: 'entries'; readonly entries: DirectoryEntry[]}
  | {readonly kind: 'too-small'; readonly namlen: number}
  | {readonly kind: 'error'; readonly errno: number}

/**
 * Wraps Node's WASI imports so that the job is deterministic and confined.
 *
 * @param base - `wasi.wasiImport` of a `node:wasi` instance
 * @param options - seed, capture files, quotas, the `/inputs` fd and the memory accessor
 * @returns the import object for `wasi_snapshot_preview1`
 * @example
 * const imports = {wasi_snapshot_preview1: deterministicImports(wasi.wasiImport, options)}
 */
export function deterministicImports(
  base: Record<string, unknown>,
  options: DeterministicOptions,
): Record<string, WasiFunction> {
  const original = (name: string): WasiFunction => {
    const fn = base[name]
    if (typeof fn !== 'function') throw new Error(`node:wasi has no ${name}`)
    return fn as WasiFunction
  }
  const view = (): DataView => new DataView(options.memory().buffer)
  const random = createRandomStream(options.seed)
  let ticks = 0n
  let inputsFd = options.inputsFd
  /** Guest fds opened under /inputs, whose rights were masked at open. */
  const readOnly = new Set<number>(inputsFd === undefined ? [] : [inputsFd])
  let outputsWritten = 0

  const isInputs = (fd: number | bigint): boolean => readOnly.has(Number(fd))
  const guard =
    (name: string, dirfdIndexes: readonly number[]): WasiFunction =>
    (...args) =>
      dirfdIndexes.some((index) => {
        const fd = args[index]
        return fd !== undefined && isInputs(fd)
      })
        ? ERRNO.rofs
        : original(name)(...args)

  const gather = (iovs: number, count: number): Buffer[] => {
    const memory = view()
    const chunks: Buffer[] = []
    for (let i = 0; i < count; i++) {
      const pointer = memory.getUint32(iovs + i * 8, true)
      const length = memory.getUint32(iovs + i * 8 + 4, true)
      chunks.push(Buffer.from(memory.buffer, pointer, length))
    }
    return chunks
  }
  const capture = (target: Capture, chunks: Buffer[]): number => {
    let total = 0
    for (const chunk of chunks) {
      total += chunk.length
      const room = target.limit - target.written
      if (chunk.length > room) target.truncated = true
      const kept = Math.max(0, Math.min(room, chunk.length))
      if (kept > 0) {
        writeSync(target.fd, chunk, 0, kept)
        target.atLineStart = chunk[kept - 1] === 0x0a
      }
      target.written += kept
    }
    return total
  }
  const quota =
    (name: string): WasiFunction =>
    (...args) => {
      const [fd, iovs, count] = args.map(Number) as [number, number, number]
      if (!isInputs(fd)) {
        const length = gather(iovs, count).reduce((sum, chunk) => sum + chunk.length, 0)
        if (outputsWritten + length > options.outputsBytes) return ERRNO.nospc
        outputsWritten += length
      }
      return original(name)(...args)
    }
  const fixStat = (pointer: number): void => {
    const memory = view()
    memory.setBigUint64(pointer, 0n, true) // dev
    memory.setBigUint64(pointer + 8, 0n, true) // ino
    if (memory.getUint8(pointer + 16) === FILETYPE_DIRECTORY) {
      memory.setBigUint64(pointer + 24, 1n, true) // nlink
      memory.setBigUint64(pointer + 32, 0n, true) // size
    }
    for (const offset of [40, 48, 56]) memory.setBigUint64(pointer + offset, VIRTUAL_EPOCH_NS, true)
  }
  const nosys: WasiFunction = () => ERRNO.nosys

  /** Listings read by a cookie-0 call, served to the calls that continue it. */
  const listings = new Map<number, DirectoryEntry[]>()
  /**
   * Reads every entry through Node's fd_readdir, with the guest's own buffer as scratch space
   * (it is the guest's to be overwritten, and no other guest memory is free to use).
   */
  const readListing = (fd: number, buffer: number, length: number, usedPointer: number): Listing => {
    const entries: DirectoryEntry[] = []
    const cookies = new Set<bigint>()
    let cookie = 0n
    let longest = 0
    let unreadable = false
    for (;;) {
      const result = original('fd_readdir')(fd, buffer, length, cookie, usedPointer)
      if (result !== ERRNO.success) return {kind: 'error', errno: result}
      const memory = view()
      const used = memory.getUint32(usedPointer, true)
      let offset = 0
      while (offset + DIRENT_BYTES <= used) {
        const namlen = memory.getUint32(buffer + offset + 16, true)
        const complete = offset + DIRENT_BYTES + namlen <= used
        // A cut entry after others fits in the next call, which starts at it.
        if (!complete && offset > 0) break
        longest = Math.max(longest, namlen)
        if (complete) {
          const start = buffer + offset + DIRENT_BYTES
          entries.push({
            name: Buffer.from(memory.buffer.slice(start, start + namlen)),
            type: memory.getUint8(buffer + offset + 20),
          })
        } else {
          unreadable = true
        }
        cookie = memory.getBigUint64(buffer + offset, true)
        offset += DIRENT_BYTES + namlen
      }
      if (used < length) break
      if (offset === 0) return {kind: 'too-small', namlen: NAME_MAX}
      // A cookie seen before would loop forever; the host's cookies are telldir positions.
      if (cookies.has(cookie)) break
      cookies.add(cookie)
    }
    if (unreadable) return {kind: 'too-small', namlen: longest}
    entries.sort((a, b) => Buffer.compare(a.name, b.name))
    return {kind: 'entries', entries}
  }
  /** Writes `records` from the start of the guest's buffer, cutting the last one at its end. */
  const fill = (buffer: number, length: number, usedPointer: number, records: Buffer[]): void => {
    const target = new Uint8Array(options.memory().buffer, buffer, length)
    let used = 0
    for (const record of records) {
      if (used >= length) break
      const kept = Math.min(record.length, length - used)
      target.set(record.subarray(0, kept), used)
      used += kept
    }
    // What the scratch reads left past the answer is host data; the guest gets zeros instead.
    target.fill(0, used)
    view().setUint32(usedPointer, used, true)
  }
  const direntRecord = (next: bigint, namlen: number, type: number, name: Buffer): Buffer => {
    const record = Buffer.alloc(DIRENT_BYTES + name.length)
    record.writeBigUInt64LE(next, 0)
    record.writeUInt32LE(namlen, 16)
    record.writeUInt8(type, 20)
    name.copy(record, DIRENT_BYTES)
    return record
  }
  const readdir: WasiFunction = (fd, bufferArg, lengthArg, cookieArg, usedArg) => {
    const [buffer, length, usedPointer] = [Number(bufferArg), Number(lengthArg), Number(usedArg)]
    const cookie = BigInt(cookieArg)
    let entries = cookie === 0n ? undefined : listings.get(Number(fd))
    if (entries === undefined) {
      const listing = readListing(Number(fd), buffer, length, usedPointer)
      if (listing.kind === 'error') return listing.errno
      if (listing.kind === 'too-small') {
        // A header naming the longest entry, cut at the buffer's end: the guest grows its buffer.
        const header = direntRecord(cookie + 1n, listing.namlen, 0, Buffer.alloc(listing.namlen))
        fill(buffer, length, usedPointer, [header])
        return ERRNO.success
      }
      entries = listing.entries
      listings.set(Number(fd), entries)
    }
    const records: Buffer[] = []
    let size = 0
    for (let index = cookie; index < BigInt(entries.length) && size < length; index++) {
      const entry = entries[Number(index)] as DirectoryEntry
      const record = direntRecord(index + 1n, entry.name.length, entry.type, entry.name)
      records.push(record)
      size += record.length
    }
    fill(buffer, length, usedPointer, records)
    return ERRNO.success
  }

  return {
    ...(base as Record<string, WasiFunction>),
    clock_time_get: (id, _precision, pointer) => {
      if (Number(id) >= CLOCK_COUNT) return ERRNO.inval
      const value = (Number(id) === CLOCK_REALTIME ? VIRTUAL_EPOCH_NS : 0n) + ticks * VIRTUAL_TICK_NS
      ticks += 1n
      view().setBigUint64(Number(pointer), value, true)
      return ERRNO.success
    },
    clock_res_get: (id, pointer) => {
      if (Number(id) >= CLOCK_COUNT) return ERRNO.inval
      view().setBigUint64(Number(pointer), VIRTUAL_TICK_NS, true)
      return ERRNO.success
    },
    random_get: (pointer, length) => {
      const bytes = random.read(Number(length))
      new Uint8Array(options.memory().buffer, Number(pointer), bytes.length).set(bytes)
      return ERRNO.success
    },
    fd_write: (fd, iovs, count, writtenPointer) => {
      const target = fd === 1 ? options.stdout : fd === 2 ? options.stderr : undefined
      if (target === undefined) return quota('fd_write')(fd, iovs, count, writtenPointer)
      const total = capture(target, gather(Number(iovs), Number(count)))
      view().setUint32(Number(writtenPointer), total, true)
      return ERRNO.success
    },
    fd_pwrite: quota('fd_pwrite'),
    fd_readdir: readdir,
    fd_filestat_get: (fd, pointer) => {
      const result = original('fd_filestat_get')(fd, pointer)
      if (result === ERRNO.success) fixStat(Number(pointer))
      return result
    },
    path_filestat_get: (fd, flags, path, length, pointer) => {
      const result = original('path_filestat_get')(fd, flags, path, length, pointer)
      if (result === ERRNO.success) fixStat(Number(pointer))
      return result
    },
    path_open: (dirfd, dirflags, path, length, oflags, rightsBase, rightsInheriting, fdflags, fdPointer) => {
      if (!isInputs(dirfd)) {
        return original('path_open')(
          dirfd,
          dirflags,
          path,
          length,
          oflags,
          rightsBase,
          rightsInheriting,
          fdflags,
          fdPointer,
        )
      }
      if (
        (Number(oflags) & (OFLAGS_CREAT | OFLAGS_TRUNC)) !== 0 ||
        (Number(fdflags) & FDFLAGS_APPEND) !== 0
      ) {
        return ERRNO.rofs
      }
      const result = original('path_open')(
        dirfd,
        dirflags,
        path,
        length,
        oflags,
        BigInt(rightsBase) & ~WRITE_RIGHTS,
        BigInt(rightsInheriting) & ~WRITE_RIGHTS,
        fdflags,
        fdPointer,
      )
      if (result === ERRNO.success) readOnly.add(view().getUint32(Number(fdPointer), true))
      return result
    },
    fd_close: (fd) => {
      const result = original('fd_close')(fd)
      if (result === ERRNO.success) {
        readOnly.delete(Number(fd))
        listings.delete(Number(fd))
        if (Number(fd) === inputsFd) inputsFd = undefined
      }
      return result
    },
    fd_renumber: (from, to) => {
      const result = original('fd_renumber')(from, to)
      if (result === ERRNO.success) {
        const moved = readOnly.delete(Number(from))
        readOnly.delete(Number(to))
        if (moved) readOnly.add(Number(to))
        const listing = listings.get(Number(from))
        listings.delete(Number(from))
        listings.delete(Number(to))
        if (listing !== undefined) listings.set(Number(to), listing)
      }
      return result
    },
    fd_allocate: guard('fd_allocate', [0]),
    fd_filestat_set_size: guard('fd_filestat_set_size', [0]),
    fd_filestat_set_times: guard('fd_filestat_set_times', [0]),
    fd_fdstat_set_flags: guard('fd_fdstat_set_flags', [0]),
    path_create_directory: guard('path_create_directory', [0]),
    path_remove_directory: guard('path_remove_directory', [0]),
    path_unlink_file: guard('path_unlink_file', [0]),
    path_filestat_set_times: guard('path_filestat_set_times', [0]),
    path_rename: guard('path_rename', [0, 3]),
    path_link: guard('path_link', [0, 4]),
    path_symlink: guard('path_symlink', [2]),
    proc_raise: nosys,
    sock_accept: nosys,
    sock_recv: nosys,
    sock_send: nosys,
    sock_shutdown: nosys,
  }
}
