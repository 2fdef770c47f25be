// Wasm job overhead: the templates/wasm module run by the Wasm executor, from the call to the
// complete result directory (runner process start, compile, deterministic WASI, capture files,
// rename), against spawning `node -e 0` to its exit, the floor of any job in its own process.
// Runs the built library (npm run bench builds first).

import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {ROOT, fmt, median} from './lib.mjs'

const dist = (...path) => import(pathToFileURL(join(ROOT, 'dist', 'core', ...path)).href)
const {executeWasm} = await dist('executors', 'index.js')
const {compileModuleTemplate} = await dist('module', 'template', 'index.js')

function spawnNode() {
  const start = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], {stdio: 'ignore'})
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`node -e 0 exited ${code}`))
      else resolve(Number(process.hrtime.bigint() - start) / 1e6)
    })
  })
}

export async function benchWasmJob(runs = 10) {
  const base = mkdtempSync(join(tmpdir(), 'lilypad-bench-wasm-'))
  const template = readFileSync(join(ROOT, 'templates', 'wasm', 'lilypad_module.json.tmpl'), 'utf8')
  const {value: module} = compileModuleTemplate(template, {templateName: 'lilypad_module.json.tmpl'}).render({
    Message: 'hello lilypad',
  })
  const moduleDir = join(ROOT, 'templates', 'wasm')
  const job = async (i) => {
    const start = process.hrtime.bigint()
    const result = await executeWasm({module, moduleDir, resultDir: join(base, `r${i}`), seed: 'bench'})
    if (result.exitCode !== 0) throw new Error(`the wasm job exited ${result.exitCode}`)
    return Number(process.hrtime.bigint() - start) / 1e6
  }
  try {
    await job('warm')
    const samples = {'node -e 0': [], 'wasm job': []}
    for (let i = 0; i < runs; i += 1) {
      samples['node -e 0'].push(await spawnNode())
      samples['wasm job'].push(await job(i))
    }
    const m = Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
    const baseline = m['node -e 0']
    console.log(`Wasm job, templates/wasm, call to result directory (median of ${runs} runs)`)
    for (const [name, ms] of Object.entries(m))
      console.log(`  ${name.padEnd(20)} ${fmt(ms).padStart(10)}  ×${(ms / baseline).toFixed(2)} of node -e 0`)
    return m
  } finally {
    rmSync(base, {recursive: true, force: true})
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchWasmJob()
