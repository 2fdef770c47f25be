/**
 * Caps a Wasm module's memory by rewriting the maximum in its memory section before it is
 * compiled. A `memory.grow` past the cap then fails inside the guest (returns -1) the same way on
 * every machine, which keeps even a memory-hungry job deterministic, instead of depending on how
 * much the host happens to have free.
 */

/** Bytes in one Wasm page. */
export const WASM_PAGE_BYTES = 65_536

/** Why a module cannot be given a memory cap. */
export class WasmBinaryError extends Error {
  override readonly name = 'WasmBinaryError'
}

/** The module's own memory declaration and the one it will run with. */
export interface MemoryLimitResult {
  /** The module's binary with the capped memory section (the input itself when unchanged). */
  readonly bytes: Uint8Array
  /** Pages the module asks for at start; undefined when it defines no memory. */
  readonly initialPages: number | undefined
  /** The module's own maximum, if it declares one. */
  readonly declaredMaxPages: number | undefined
  /** The maximum it runs with. */
  readonly maxPages: number | undefined
}

interface Reader {
  readonly bytes: Uint8Array
  offset: number
}

function readByte(reader: Reader): number {
  const value = reader.bytes[reader.offset]
  if (value === undefined) throw new WasmBinaryError('the module ends in the middle of a section')
  reader.offset += 1
  return value
}

function readU32(reader: Reader): number {
  let result = 0
  let shift = 0
  for (;;) {
    const byte = readByte(reader)
    result += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) break
    shift += 7
    if (shift > 28) throw new WasmBinaryError('a LEB128 number in the module is too long')
  }
  if (result > 0xffffffff) throw new WasmBinaryError('a LEB128 number in the module is out of range')
  return result
}

function encodeU32(value: number): number[] {
  const out: number[] = []
  let rest = value
  do {
    let byte = rest & 0x7f
    rest = Math.floor(rest / 128)
    if (rest !== 0) byte |= 0x80
    out.push(byte)
  } while (rest !== 0)
  return out
}

const MEMORY_SECTION = 5
const IMPORT_SECTION = 2
const IMPORT_KIND_MEMORY = 2

/** Reports an imported memory: the runner supplies only WASI functions, so such a module cannot run. */
function importsMemory(payload: Uint8Array): boolean {
  const reader: Reader = {bytes: payload, offset: 0}
  const count = readU32(reader)
  for (let i = 0; i < count; i++) {
    for (let name = 0; name < 2; name++) {
      const length = readU32(reader) // module name, then field name
      reader.offset += length
    }
    const kind = readByte(reader)
    if (kind === IMPORT_KIND_MEMORY) return true
    if (kind === 0) readU32(reader)
    else if (kind === 1) {
      readByte(reader)
      const flags = readByte(reader)
      readU32(reader)
      if (flags & 1) readU32(reader)
    } else if (kind === 3) reader.offset += 2
    else if (kind === 4) {
      readByte(reader)
      readU32(reader)
    } else throw new WasmBinaryError(`unknown import kind ${kind}`)
  }
  return false
}

/**
 * Rewrites the module's memory maximum to at most `capBytes`.
 *
 * @param bytes - a WebAssembly binary module
 * @param capBytes - the most memory the module may use (rounded down to whole pages)
 * @returns the (possibly rewritten) binary and the page counts
 * @throws WasmBinaryError when the binary is malformed, uses 64-bit, shared or several memories,
 *   imports its memory, or needs more than the cap at start
 * @example
 * const {bytes: capped} = limitMemory(readFileSync('module.wasm'), 256 * 1024 * 1024)
 */
export function limitMemory(bytes: Uint8Array, capBytes: number): MemoryLimitResult {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmBinaryError('the file is not a WebAssembly binary module (no \\0asm header)')
  }
  const capPages = Math.floor(capBytes / WASM_PAGE_BYTES)
  const reader: Reader = {bytes, offset: 8}
  while (reader.offset < bytes.length) {
    const sectionStart = reader.offset
    const id = readByte(reader)
    const size = readU32(reader)
    const payloadStart = reader.offset
    const payloadEnd = payloadStart + size
    if (payloadEnd > bytes.length) throw new WasmBinaryError('a section runs past the end of the module')
    const payload = bytes.subarray(payloadStart, payloadEnd)
    if (id === IMPORT_SECTION && importsMemory(payload)) {
      throw new WasmBinaryError(
        'the module imports its memory; only modules that define their own memory can run',
      )
    }
    if (id === MEMORY_SECTION) {
      const section: Reader = {bytes: payload, offset: 0}
      const count = readU32(section)
      if (count === 0) break
      if (count > 1) throw new WasmBinaryError('the module defines several memories')
      const flags = readByte(section)
      if (flags & 0x04) throw new WasmBinaryError('the module uses 64-bit memory')
      if (flags & 0x02) throw new WasmBinaryError('the module uses shared memory (threads)')
      const initialPages = readU32(section)
      const declaredMaxPages = flags & 0x01 ? readU32(section) : undefined
      if (initialPages > capPages) {
        throw new WasmBinaryError(
          `the module needs ${initialPages * (WASM_PAGE_BYTES / 1024)} KiB of memory at start, more than the limit of ${capPages * (WASM_PAGE_BYTES / 1024)} KiB`,
        )
      }
      const maxPages = Math.min(declaredMaxPages ?? capPages, capPages)
      if (maxPages === declaredMaxPages) {
        return {bytes, initialPages, declaredMaxPages, maxPages}
      }
      const newPayload = [
        ...encodeU32(1),
        flags | 0x01,
        ...encodeU32(initialPages),
        ...encodeU32(maxPages),
        ...payload.subarray(section.offset),
      ]
      const out = new Uint8Array(bytes.length - (payloadEnd - sectionStart) + 1 + 5 + newPayload.length)
      out.set(bytes.subarray(0, sectionStart), 0)
      const header = [MEMORY_SECTION, ...encodeU32(newPayload.length)]
      out.set(header, sectionStart)
      out.set(newPayload, sectionStart + header.length)
      out.set(bytes.subarray(payloadEnd), sectionStart + header.length + newPayload.length)
      const length = sectionStart + header.length + newPayload.length + (bytes.length - payloadEnd)
      return {bytes: out.subarray(0, length), initialPages, declaredMaxPages, maxPages}
    }
    reader.offset = payloadEnd
  }
  return {bytes, initialPages: undefined, declaredMaxPages: undefined, maxPages: undefined}
}
