/**
 * The process that runs one Wasm job. `wasi.start` blocks its thread and node:wasi is not a
 * sandbox, so each job gets its own process, which the executor kills at the deadline. It reads a
 * RunnerRequest as JSON on stdin, writes the guest's stdout and stderr to the capture files, and
 * prints one RunnerReport as JSON on its own stdout. It ends itself when the executor's process
 * goes away (see watchParent), so a killed provider leaves no job running. Only Node built-ins and this directory's
 * modules are imported, so it runs from dist/ and, through tsx, from the sources.
 */
import {closeSync, openSync, readFileSync, writeSync} from 'node:fs'
import {basename} from 'node:path'
import {WASI} from 'node:wasi'
import {Worker} from 'node:worker_threads'

import {WASM_PAGE_BYTES, WasmBinaryError, limitMemory} from './binary.js'
import type {CannotRunReason} from '../faults.js'
import {type Capture, deterministicImports} from './deterministic-wasi.js'
import {type RunnerReport, type RunnerRequest, TRAP_EXIT_CODE} from './protocol.js'
import {type WasmInstance, type WasmMemory, type WasmModule, webAssembly} from './webassembly.js'

const WASI_MODULE = 'wasi_snapshot_preview1'
/** The fd of the pipe whose other end the executor holds open for as long as it waits for us. */
const PARENT_PIPE_FD = 3

/**
 * A thread that kills this process once the executor is gone. The executor's end of the pipe on
 * fd 3 is closed by the kernel when it exits, even by SIGKILL, so the read here ends. The watch
 * needs a thread of its own: `wasi.start` holds the main thread until the guest returns, which
 * an endless loop never does, and that guest must not outlive the process that would stop it.
 */
function watchParent(): void {
  const code = `
    const {Socket} = require('node:net')
    const gone = () => process.kill(process.pid, 'SIGKILL')
    new Socket({fd: ${PARENT_PIPE_FD}, readable: true, writable: false})
      .on('end', gone)
      .on('error', gone)
      .resume()
  `
  new Worker(code, {eval: true}).unref()
}

function report(value: RunnerReport): void {
  writeSync(1, `${JSON.stringify(value)}\n`)
}

function cannotRun(reason: CannotRunReason, message: string): RunnerReport {
  return {kind: 'cannot-run', reason, message}
}

function capture(path: string, limit: number): Capture {
  return {fd: openSync(path, 'w'), limit, written: 0, truncated: false, atLineStart: true}
}

function notice(stderr: Capture, line: string): void {
  writeSync(stderr.fd, `${stderr.atLineStart ? '' : '\n'}[lilypad] ${line}\n`)
  stderr.atLineStart = true
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MiB`
}

/** Whether a module that failed under its memory cap would pass without one: the cap was why. */
function overLimit(binary: Uint8Array): boolean {
  try {
    limitMemory(binary, Number.MAX_SAFE_INTEGER)
    return true
  } catch {
    return false
  }
}

function run(request: RunnerRequest): RunnerReport {
  let binary: Uint8Array
  try {
    binary = readFileSync(request.wasmPath)
  } catch (error) {
    return cannotRun(
      'module-unreadable',
      `cannot read the module file ${basename(request.wasmPath)}: ${String(error)}`,
    )
  }
  let limited: ReturnType<typeof limitMemory>
  try {
    limited = limitMemory(binary, request.memoryBytes)
  } catch (error) {
    if (!(error instanceof WasmBinaryError)) throw error
    return cannotRun(overLimit(binary) ? 'initial-memory-over-limit' : 'bad-binary', error.message)
  }
  let module: WasmModule
  try {
    module = new webAssembly.Module(limited.bytes)
  } catch (error) {
    return cannotRun('bad-binary', `the module does not compile: ${String(error)}`)
  }
  const foreign = webAssembly.Module.imports(module).filter(
    (entry) => entry.module !== WASI_MODULE || entry.kind !== 'function',
  )
  if (foreign.length > 0) {
    const names = foreign.map((entry) => `${entry.module}.${entry.name} (${entry.kind})`).join(', ')
    return cannotRun('foreign-imports', `the module imports what a WASI job does not have: ${names}`)
  }

  const preopens: Record<string, string> = {'/outputs': request.outputsDir}
  if (request.inputsDir !== undefined) preopens['/inputs'] = request.inputsDir
  const devNull = openSync('/dev/null', 'r+')
  const wasi = new WASI({
    version: 'preview1',
    args: [...request.args],
    env: {...request.env},
    preopens,
    returnOnExit: true,
    stdin: devNull,
    stdout: devNull,
    stderr: devNull,
  })
  const stdout = capture(request.stdoutPath, request.stdoutBytes)
  const stderr = capture(request.stderrPath, request.stderrBytes)
  const guest: {memory?: WasmMemory} = {}
  const imports = deterministicImports(wasi.wasiImport, {
    seed: request.seed,
    stdout,
    stderr,
    outputsBytes: request.outputsBytes,
    // Preopens take fds from 3 in the order given: /outputs is 3, /inputs 4.
    inputsFd: request.inputsDir === undefined ? undefined : 4,
    memory: () => {
      if (guest.memory === undefined) throw new Error('the module called WASI before its memory existed')
      return guest.memory
    },
  })
  let instance: WasmInstance
  try {
    instance = new webAssembly.Instance(module, {[WASI_MODULE]: imports})
  } catch (error) {
    return cannotRun('entry-module-invalid', `the module cannot be instantiated: ${String(error)}`)
  }
  const exported = instance.exports
  const exportedMemory = exported.memory
  const entry = exported[request.entryPoint]
  if (!(exportedMemory instanceof webAssembly.Memory)) {
    return cannotRun('entry-module-invalid', 'the module exports no memory named "memory", which WASI needs')
  }
  if (typeof entry !== 'function') {
    return cannotRun('entry-point-missing', `the module exports no function "${request.entryPoint}"`)
  }
  guest.memory = exportedMemory

  let exitCode: number
  let trapped = false
  try {
    // wasi.start wants the entry point under the name _start; any export name may be the entry.
    exitCode = wasi.start({exports: {memory: exportedMemory, _start: entry}})
  } catch (error) {
    trapped = true
    exitCode = TRAP_EXIT_CODE
    notice(stderr, `the module trapped: ${error instanceof Error ? error.message : String(error)}`)
  }
  // A failed memory.grow is invisible from outside; a job that ended badly with most of its capped
  // memory in use almost certainly hit the cap, and saying so saves its author a long search.
  const usedPages = exportedMemory.buffer.byteLength / WASM_PAGE_BYTES
  const memoryLimitReached =
    exitCode !== 0 &&
    limited.maxPages !== undefined &&
    limited.maxPages !== limited.declaredMaxPages &&
    usedPages * 2 > limited.maxPages
  if (memoryLimitReached) {
    notice(
      stderr,
      `the module stopped using ${mebibytes(usedPages * WASM_PAGE_BYTES)} of its ${mebibytes(request.memoryBytes)} memory limit: a memory.grow past the limit fails`,
    )
  }
  if (stdout.truncated)
    notice(stderr, `stdout was cut at ${request.stdoutBytes} bytes (the limit); the rest was dropped`)
  if (stderr.truncated)
    notice(stderr, `stderr was cut at ${request.stderrBytes} bytes (the limit); the rest was dropped`)
  closeSync(stdout.fd)
  closeSync(stderr.fd)
  return {
    kind: 'exited',
    exitCode,
    trapped,
    memoryLimitReached,
    truncated: {stdout: stdout.truncated, stderr: stderr.truncated},
  }
}

watchParent()
report(run(JSON.parse(readFileSync(0, 'utf8')) as RunnerRequest))
