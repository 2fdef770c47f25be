/**
 * Runs a WASI module with plain node:wasi in a child process (wasi.start blocks its thread), once
 * per case, and returns what each run wrote. Independent of the project's executor on purpose.
 */
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'

const run = promisify(execFile)

/** One run of the module. */
export interface WasiCase {
  /** Arguments after the program name. */
  readonly args: readonly string[]
  /** Host directory to preopen as /outputs. */
  readonly outputs?: string
}

/** What one run did. */
export interface WasiResult {
  readonly stdout: Buffer
  readonly stderr: Buffer
  readonly exitCode: number
  readonly elapsedMs: number
}

const RUNNER = `
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {WASI} from 'node:wasi'
const module = new WebAssembly.Module(readFileSync(process.argv[1]))
const cases = JSON.parse(readFileSync(0, 'utf8'))
const dir = mkdtempSync(join(tmpdir(), 'lilypad-wasi-run-'))
const results = []
for (const [index, c] of cases.entries()) {
  const out = join(dir, index + '.out')
  const err = join(dir, index + '.err')
  const stdout = openSync(out, 'w')
  const stderr = openSync(err, 'w')
  const wasi = new WASI({version: 'preview1', args: ['module', ...c.args], env: {}, stdout, stderr,
    preopens: c.outputs ? {'/outputs': c.outputs} : {}, returnOnExit: true})
  const instance = new WebAssembly.Instance(module, wasi.getImportObject())
  const started = performance.now()
  const exitCode = wasi.start(instance)
  const elapsedMs = performance.now() - started
  closeSync(stdout)
  closeSync(stderr)
  results.push({stdout: readFileSync(out).toString('base64'), stderr: readFileSync(err).toString('base64'), exitCode, elapsedMs})
}
rmSync(dir, {recursive: true, force: true})
process.stdout.write(JSON.stringify(results))
`

/** Runs `wasm` once per case, in order, in one child process. */
export async function runWasi(wasm: string, cases: readonly WasiCase[]): Promise<WasiResult[]> {
  const child = run(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', RUNNER, wasm],
    {timeout: 60_000, maxBuffer: 64 * 1024 * 1024},
  )
  child.child.stdin?.end(JSON.stringify(cases))
  const {stdout} = await child
  const results = JSON.parse(stdout) as {
    stdout: string
    stderr: string
    exitCode: number
    elapsedMs: number
  }[]
  return results.map((result) => ({
    stdout: Buffer.from(result.stdout, 'base64'),
    stderr: Buffer.from(result.stderr, 'base64'),
    exitCode: result.exitCode,
    elapsedMs: result.elapsedMs,
  }))
}
