// Data ID (UnixFS CID, kubo's `ipfs add -Qrn`) throughput and peak memory on a 256 MiB file, against
// sha256 alone over the same file (the floor: the importer hashes every byte once, plus its nodes).
// Each run is a fresh process, so its peak RSS is that run's own. Prints medians; asserts nothing.
import {spawnSync} from 'node:child_process'
import {createCipheriv, createHash} from 'node:crypto'
import {mkdtempSync, openSync, rmSync, writeSync, closeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {ROOT, median} from './lib.mjs'

const SIZE = 256 * 1024 * 1024

const CHILD = `
const [moduleUrl, kind, path] = process.argv.slice(1)
const start = process.hrtime.bigint()
let out
if (kind === 'cid') {
  const {computeDataId} = await import(moduleUrl)
  out = await computeDataId(path)
} else {
  const {createHash} = await import('node:crypto')
  const {createReadStream} = await import('node:fs')
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, {highWaterMark: 1 << 20})) hash.update(chunk)
  out = hash.digest('hex')
}
const ms = Number(process.hrtime.bigint() - start) / 1e6
console.log(JSON.stringify({ms, maxRssKiB: process.resourceUsage().maxRSS, out}))
`

function writeFile(path) {
  const key = createHash('sha256').update('lilypad-bench-cid').digest()
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(1 << 20)
  const fd = openSync(path, 'w')
  try {
    for (let written = 0; written < SIZE; written += zeros.length) writeSync(fd, cipher.update(zeros))
  } finally {
    closeSync(fd)
  }
}

function runChild(moduleUrl, kind, path) {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, moduleUrl, kind, path], {
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(`${kind} run exited ${result.status}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

export function benchCid(
  runs = 3,
  moduleUrl = pathToFileURL(join(ROOT, 'dist', 'core', 'results', 'data-id.js')).href,
) {
  const base = mkdtempSync(join(tmpdir(), 'lilypad-bench-cid-'))
  try {
    const path = join(base, 'result.bin')
    writeFile(path)
    const samples = {cid: [], sha256: []}
    for (let i = 0; i < runs; i += 1) {
      samples.cid.push(runChild(moduleUrl, 'cid', path))
      samples.sha256.push(runChild(moduleUrl, 'sha256', path))
    }
    const mib = SIZE / (1024 * 1024)
    const figures = Object.fromEntries(
      Object.entries(samples).map(([name, list]) => {
        const ms = median(list.map((s) => s.ms))
        return [
          name,
          {ms, mbPerS: SIZE / 1e6 / (ms / 1000), peakRssMiB: median(list.map((s) => s.maxRssKiB)) / 1024},
        ]
      }),
    )
    console.log(`data ID of a ${mib} MiB file (median of ${runs} runs, each in a fresh process)`)
    for (const [name, f] of Object.entries(figures)) {
      console.log(
        `  ${name.padEnd(8)} ${f.ms.toFixed(0).padStart(6)} ms  ${f.mbPerS.toFixed(0).padStart(5)} MB/s  peak RSS ${f.peakRssMiB.toFixed(0)} MiB  ×${(f.ms / figures.sha256.ms).toFixed(2)} of sha256 alone`,
      )
    }
    console.log(`  CID ${samples.cid[0].out}`)
    return figures
  } finally {
    rmSync(base, {recursive: true, force: true})
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) benchCid()
