// Writes a small tree of files to /outputs, one of them large enough to span several IPFS chunks,
// so the devnet exercises result directories, subdirectories and multi-chunk files. The content
// depends on nothing but this program: the same bytes on every run and every provider.
//
// The WASI shim has no filesystem API, so this talks to WASI directly: it finds the directory the
// runner preopened as /outputs and creates files relative to it.

// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'fd_prestat_get')
declare function fd_prestat_get(fd: u32, prestat: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'fd_prestat_dir_name')
declare function fd_prestat_dir_name(fd: u32, path: usize, pathLength: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'path_open')
declare function path_open(
  dirFd: u32,
  lookupFlags: u32,
  path: usize,
  pathLength: usize,
  openFlags: u16,
  rightsBase: u64,
  rightsInheriting: u64,
  fdFlags: u16,
  openedFd: usize,
): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'path_create_directory')
declare function path_create_directory(dirFd: u32, path: usize, pathLength: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'fd_write')
declare function fd_write(fd: u32, iovs: usize, iovsLength: usize, written: usize): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'fd_close')
declare function fd_close(fd: u32): u16
// @ts-ignore: decorator
@external('wasi_snapshot_preview1', 'proc_exit')
declare function proc_exit(code: u32): void

const STDOUT: u32 = 1
const STDERR: u32 = 2
const ERRNO_SUCCESS: u16 = 0
const ERRNO_EXIST: u16 = 20
const OFLAGS_CREAT_TRUNC: u16 = 1 | 8
const RIGHT_FD_WRITE: u64 = 1 << 6
const LARGE_FILE_BYTES: i32 = 1536 * 1024

function writeAll(fd: u32, data: usize, length: i32): bool {
  const iov = memory.data(16)
  let offset = 0
  while (offset < length) {
    store<usize>(iov, data + <usize>offset)
    store<usize>(iov, <usize>(length - offset), sizeof<usize>())
    if (fd_write(fd, iov, 1, iov + 2 * sizeof<usize>()) != ERRNO_SUCCESS) return false
    const written = <i32>load<usize>(iov, 2 * sizeof<usize>())
    if (written <= 0) return false
    offset += written
  }
  return true
}

function print(fd: u32, text: string): void {
  const bytes = String.UTF8.encode(text)
  writeAll(fd, changetype<usize>(bytes), bytes.byteLength)
}

function fail(text: string): void {
  print(STDERR, 'lilypad-module-outputs: ' + text + '\n')
  proc_exit(1)
}

/** The preopened directory named /outputs (runners may spell it "outputs" or "/outputs/"). */
function findOutputs(): i32 {
  const prestat = memory.data(8)
  for (let fd: u32 = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, prestat) != ERRNO_SUCCESS) break
    if (load<u8>(prestat) != 0) continue
    const length = load<u32>(prestat, 4)
    const name = new ArrayBuffer(<i32>length)
    if (fd_prestat_dir_name(fd, changetype<usize>(name), length) != ERRNO_SUCCESS) continue
    let path = String.UTF8.decode(name)
    while (path.startsWith('/')) path = path.substring(1)
    while (path.endsWith('/')) path = path.substring(0, path.length - 1)
    if (path == 'outputs') return <i32>fd
  }
  return -1
}

function makeDirectory(dir: u32, path: string): void {
  const bytes = String.UTF8.encode(path)
  const result = path_create_directory(dir, changetype<usize>(bytes), bytes.byteLength)
  if (result != ERRNO_SUCCESS && result != ERRNO_EXIST) fail('cannot create ' + path + ' (errno ' + result.toString() + ')')
}

function writeFile(dir: u32, path: string, data: usize, length: i32): void {
  const bytes = String.UTF8.encode(path)
  const opened = memory.data(4)
  const result = path_open(dir, 0, changetype<usize>(bytes), bytes.byteLength, OFLAGS_CREAT_TRUNC, RIGHT_FD_WRITE, 0, 0, opened)
  if (result != ERRNO_SUCCESS) fail('cannot create ' + path + ' (errno ' + result.toString() + ')')
  const fd = load<u32>(opened)
  if (!writeAll(fd, data, length)) fail('cannot write ' + path)
  fd_close(fd)
}

function writeText(dir: u32, path: string, text: string): void {
  const bytes = String.UTF8.encode(text)
  writeFile(dir, path, changetype<usize>(bytes), bytes.byteLength)
}

/** xorshift32 from a fixed seed: bytes that do not compress and never change. */
function pseudoRandomBytes(length: i32): ArrayBuffer {
  const buffer = new ArrayBuffer(length)
  const base = changetype<usize>(buffer)
  let state: u32 = 0x6c696c79
  for (let i = 0; i < length; i += 4) {
    state ^= state << 13
    state ^= state >> 17
    state ^= state << 5
    store<u32>(base + <usize>i, state)
  }
  return buffer
}

function squares(count: i32): string {
  let text = 'n,square\n'
  for (let n = 0; n < count; n++) text += n.toString() + ',' + (n * n).toString() + '\n'
  return text
}

const outputs = findOutputs()
if (outputs < 0) fail('no /outputs directory was provided')
const dir = <u32>outputs

writeText(dir, 'hello.txt', 'Hello from lilypad-module-outputs!\n')
writeText(dir, 'squares.csv', squares(100))
makeDirectory(dir, 'data')
const large = pseudoRandomBytes(LARGE_FILE_BYTES)
writeFile(dir, 'data/random.bin', changetype<usize>(large), LARGE_FILE_BYTES)
makeDirectory(dir, 'data/nested')
writeText(dir, 'data/nested/note.txt', 'A file two directories down.\n')

print(STDOUT, 'Wrote 4 files to /outputs: hello.txt, squares.csv, data/random.bin (' + LARGE_FILE_BYTES.toString() + ' bytes), data/nested/note.txt\n')
