/**
 * The executors' pure parts: the memory-section rewrite (checked by V8 compiling the result),
 * the seeded random stream, size and CPU parsing, limits, environment forms and log demuxing.
 */
import {createHash} from 'node:crypto'
import {Readable} from 'node:stream'

import {describe, expect, it} from '@jest/globals'

import {type LilypadError, isLilypadError, lilypadError} from '../../../../src/core/errors/index.js'
import {
  DEFAULT_LIMITS,
  MACHINE_FAULT_REASONS,
  MODULE_FAULT_REASONS,
  createRandomStream,
  environmentOf,
  executeJob,
  isModuleFault,
  parseByteSize,
  parseCpu,
  resolveLimits,
} from '../../../../src/core/executors/index.js'
import {dockerSpecOf} from '../../../../src/core/executors/job-spec.js'
import {type CappedStream, demultiplexLogs} from '../../../../src/core/executors/docker/engine-api.js'
import {WASM_PAGE_BYTES, WasmBinaryError, limitMemory} from '../../../../src/core/executors/wasm/binary.js'
import type {ModuleSpec} from '../../../../src/core/module/schema.js'

const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object
      Instance: new (m: object) => {exports: Record<string, unknown>}
    }
  }
).WebAssembly

/** A module with one memory (`limits` bytes as encoded) exported as "memory", and a type section. */
function moduleWithMemory(limits: number[]): Uint8Array {
  const memorySection = [0x01, ...limits]
  const exportSection = [0x01, 0x06, ...Buffer.from('memory'), 0x02, 0x00]
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    0x01,
    0x04,
    0x01,
    0x60,
    0x00,
    0x00, // type section: () -> ()
    0x05,
    memorySection.length,
    ...memorySection,
    0x07,
    exportSection.length,
    ...exportSection,
  ])
}

function memoryOf(bytes: Uint8Array): {buffer: ArrayBuffer; grow(pages: number): number} {
  const instance = new WebAssemblyApi.Instance(new WebAssemblyApi.Module(bytes))
  return instance.exports.memory as {buffer: ArrayBuffer; grow(pages: number): number}
}

describe('limitMemory', () => {
  it('adds a maximum to a memory that has none, and V8 enforces it', () => {
    const original = moduleWithMemory([0x00, 0x01]) // min 1 page, no max
    const {bytes, initialPages, declaredMaxPages, maxPages} = limitMemory(original, 4 * WASM_PAGE_BYTES)
    expect({initialPages, declaredMaxPages, maxPages}).toEqual({
      initialPages: 1,
      declaredMaxPages: undefined,
      maxPages: 4,
    })
    const memory = memoryOf(bytes)
    expect(memory.grow(3)).toBe(1)
    expect(() => memory.grow(1)).toThrow(RangeError)
    // Unchanged module: grows freely.
    expect(memoryOf(original).grow(10)).toBe(1)
  })

  it('lowers a larger declared maximum and keeps a smaller one', () => {
    const large = limitMemory(moduleWithMemory([0x01, 0x01, 0x80, 0x02]), 8 * WASM_PAGE_BYTES) // max 256 pages
    expect(large.maxPages).toBe(8)
    expect(large.declaredMaxPages).toBe(256)
    expect(() => memoryOf(large.bytes).grow(8)).toThrow(RangeError)
    const small = moduleWithMemory([0x01, 0x01, 0x02])
    const kept = limitMemory(small, 8 * WASM_PAGE_BYTES)
    expect(kept.bytes).toBe(small)
    expect(kept.maxPages).toBe(2)
  })

  it('refuses what it cannot cap', () => {
    expect(() => limitMemory(Buffer.from('hello world'), 1 << 20)).toThrow(WasmBinaryError)
    expect(() => limitMemory(moduleWithMemory([0x00, 0x20]), 16 * WASM_PAGE_BYTES)).toThrow(
      /needs 2048 KiB of memory at start/,
    )
    expect(() => limitMemory(moduleWithMemory([0x03, 0x01, 0x02]), 1 << 20)).toThrow(/shared memory/)
  })

  it('leaves a module without memory alone', () => {
    const none = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])
    expect(limitMemory(none, 1 << 20)).toEqual({
      bytes: none,
      initialPages: undefined,
      declaredMaxPages: undefined,
      maxPages: undefined,
    })
  })
})

describe('createRandomStream', () => {
  it('is SHA-256 in counter mode over the seed, consumed in order across reads', () => {
    const key = createHash('sha256').update('lilypad-wasm-random-v1:deal-1').digest()
    const block = (index: number): Buffer => {
      const counter = Buffer.alloc(8)
      counter.writeBigUInt64BE(BigInt(index))
      return createHash('sha256').update(key).update(counter).digest()
    }
    const expected = Buffer.concat([block(0), block(1), block(2)])
    const stream = createRandomStream('deal-1')
    const read = Buffer.concat([stream.read(5), stream.read(40), stream.read(0), stream.read(51)])
    expect(read).toEqual(expected.subarray(0, 96))
    expect(createRandomStream('deal-2').read(32)).not.toEqual(block(0))
  })
})

describe('sizes and limits', () => {
  it('reads Bacalhau sizes and CPU amounts', () => {
    expect(parseByteSize('100Mb')).toBe(100_000_000)
    expect(parseByteSize('16Gb')).toBe(16_000_000_000)
    expect(parseByteSize('512MiB')).toBe(512 * 2 ** 20)
    expect(parseByteSize('1.5 GB')).toBe(1_500_000_000)
    expect(parseByteSize('4096')).toBe(4096)
    expect(parseByteSize('')).toBeUndefined()
    expect(() => parseByteSize('lots')).toThrow(/is not a size/)
    expect(parseCpu('1')).toBe(1e9)
    expect(parseCpu('0.5')).toBe(5e8)
    expect(parseCpu('250m')).toBe(2.5e8)
    expect(() => parseCpu('two')).toThrow(/not a CPU amount/)
  })

  const module = (
    spec: Partial<ModuleSpec['job']['Spec']>,
    executionTimeoutSeconds?: number,
  ): ModuleSpec => ({
    machine: {},
    job: {Spec: spec},
    ...(executionTimeoutSeconds === undefined ? {} : {executionTimeoutSeconds}),
  })

  it('takes the module’s timeout and memory, lowered but never raised by the caller', () => {
    expect(resolveLimits(module({}))).toEqual(DEFAULT_LIMITS)
    expect(resolveLimits(module({Timeout: 30, Resources: {Memory: '100Mb'}}))).toMatchObject({
      timeoutMs: 30_000,
      memoryBytes: 100_000_000,
    })
    expect(resolveLimits(module({}, 45)).timeoutMs).toBe(45_000)
    expect(resolveLimits(module({Timeout: 0}, 45)).timeoutMs).toBe(45_000)
    expect(resolveLimits(module({Timeout: 30}), {timeoutMs: 1000}).timeoutMs).toBe(1000)
    expect(resolveLimits(module({Timeout: 30}), {timeoutMs: 90_000}).timeoutMs).toBe(30_000)
    expect(resolveLimits(module({}), {stdoutBytes: 10}).stdoutBytes).toBe(10)
  })
})

describe('environmentOf', () => {
  it('accepts the object map and the KEY=VALUE list, splitting at the first =', () => {
    expect(environmentOf({A: '1', B: 'x=y'}, 'env')).toEqual({A: '1', B: 'x=y'})
    expect(environmentOf(['A=1', 'B=x=y', 'C='], 'env')).toEqual({A: '1', B: 'x=y', C: ''})
    expect(environmentOf(null, 'env')).toEqual({})
    expect(() => environmentOf(['NOVALUE'], 'Spec.Docker.EnvironmentVariables')).toThrow(
      /"NOVALUE", which is not KEY=VALUE/,
    )
    expect(() => environmentOf(['=1'], 'env')).toThrow(/not KEY=VALUE/)
  })
})

describe('demultiplexLogs', () => {
  const frame = (stream: number, text: string): Buffer => {
    const payload = Buffer.from(text)
    const header = Buffer.alloc(8)
    header[0] = stream
    header.writeUInt32BE(payload.length, 4)
    return Buffer.concat([header, payload])
  }
  const capped = (limit: number): CappedStream => ({limit, chunks: [], kept: 0, truncated: false})

  it('splits frames however the bytes are chunked, and caps each stream', async () => {
    const all = Buffer.concat([
      frame(1, 'out one\n'),
      frame(2, 'err\n'),
      frame(0, 'stdin ignored'),
      frame(1, 'out two\n'),
    ])
    for (const size of [1, 3, 8, 9, all.length]) {
      const chunks: Buffer[] = []
      for (let offset = 0; offset < all.length; offset += size)
        chunks.push(all.subarray(offset, offset + size))
      const stdout = capped(100)
      const stderr = capped(2)
      await demultiplexLogs(Readable.from(chunks), stdout, stderr)
      expect(Buffer.concat(stdout.chunks).toString()).toBe('out one\nout two\n')
      expect(Buffer.concat(stderr.chunks).toString()).toBe('er')
      expect([stdout.truncated, stderr.truncated]).toEqual([false, true])
    }
  })
})

describe('isModuleFault', () => {
  const cannotRun = (reason?: string): LilypadError =>
    lilypadError('JOB_CANNOT_RUN', {message: 'x', details: reason === undefined ? {} : {reason}})

  it('blames the module for module-side reasons and MODULE_INVALID only', () => {
    for (const reason of MODULE_FAULT_REASONS) expect(isModuleFault(cannotRun(reason))).toBe(true)
    for (const reason of MACHINE_FAULT_REASONS) expect(isModuleFault(cannotRun(reason))).toBe(false)
    expect(isModuleFault(cannotRun())).toBe(false)
    expect(isModuleFault(cannotRun('something-new'))).toBe(false)
    expect(isModuleFault(lilypadError('MODULE_INVALID', {message: 'x'}))).toBe(true)
    expect(isModuleFault(lilypadError('JOB_TIMEOUT', {message: 'x', details: {reason: 'path-escape'}}))).toBe(
      false,
    )
    expect(isModuleFault(lilypadError('ENGINE_UNAVAILABLE', {message: 'x'}))).toBe(false)
    expect(isModuleFault(new Error('path-escape'))).toBe(false)
    expect(
      MODULE_FAULT_REASONS.filter((reason) => (MACHINE_FAULT_REASONS as readonly string[]).includes(reason)),
    ).toEqual([])
  })

  it('gives the job-spec reason to malformed environment variables and EngineSpec lists', () => {
    const thrown = (run: () => unknown): unknown => {
      try {
        run()
      } catch (error) {
        return error
      }
      throw new Error('expected a throw')
    }
    const env = thrown(() => environmentOf(['A'], 'Spec.Docker.EnvironmentVariables'))
    expect(isLilypadError(env, 'JOB_CANNOT_RUN') && env.details.reason).toBe('job-spec')
    expect(isModuleFault(env)).toBe(true)
    const module = {
      machine: {cpu: 1, ram: 1},
      job: {APIVersion: 'V1beta1', Spec: {EngineSpec: {Type: 'docker', Params: {Entrypoint: 'sh'}}}},
    } as unknown as ModuleSpec
    const list = thrown(() => dockerSpecOf(module))
    expect(isLilypadError(list, 'JOB_CANNOT_RUN') && list.details.reason).toBe('job-spec')
  })

  it('gives executeJob the engine-unsupported reason for a Noop job', async () => {
    const module = {
      machine: {cpu: 1, ram: 1},
      job: {APIVersion: 'V1beta1', Spec: {Engine: 'Noop'}},
    } as unknown as ModuleSpec
    const error = await executeJob({
      module,
      moduleDir: '/nonexistent',
      resultDir: '/nonexistent/r',
      seed: 's',
    }).catch((caught: unknown) => caught)
    expect(isLilypadError(error, 'JOB_CANNOT_RUN') && error.details.reason).toBe('engine-unsupported')
    expect(isModuleFault(error)).toBe(true)
  })
})
