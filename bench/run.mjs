// `lilypad run cowsay:v0.0.3 -i Message=hi` on a running devnet (warm: module cached, devnet up),
// beside `lilypad --version` measured in the same run; ten concurrent runs with one key (wall
// time); `lilypad deals list` with 10,000 runs in the journal (journal only, and merged with the
// solver's and the chain's view).

import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {CLI, ROOT, fmt, measure, timeNode} from './lib.mjs'

function runAsync(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: {...process.env, ...env},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}: ${stderr}`))))
  })
}

async function fillJournal(dataDir, count) {
  const {openJournal} = await import(pathToFileURL(join(ROOT, 'dist', 'core', 'deals', 'journal.js')).href)
  const journal = openJournal(dataDir)
  try {
    const now = Date.now()
    for (let i = 0; i < count; i += 1) {
      journal.insert({
        id: `bench-${i}`,
        network: 'local',
        chainId: 412346,
        protocol: 'onchain',
        jobCreator: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
        module: {repo: 'git://127.0.0.1:9418/lilypad-module-cowsay', ref: 'v0.0.3', commit: 'a'.repeat(40)},
        inputs: {Message: `m${i}`},
        specHash: 'sha256:00',
        jobOfferId: `QmBenchOffer${i}`,
        dealId: `QmBenchDeal${i}`,
        state: 'ResultsAccepted',
        provider: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
        txs: {agree: '0x01', accept_result: '0x02'},
        source: 'run',
        createdAt: now - i * 1000,
        updatedAt: now,
      })
    }
  } finally {
    journal.close()
  }
}

export async function benchRun(runs = 5, {warmOnly = false} = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'lilypad-bench-run-'))
  const env = {DATA_DIR: dataDir}
  try {
    timeNode([CLI, 'devnet', 'up'], env)
    const run = [CLI, 'run', 'cowsay:v0.0.3', '-i', 'Message=hi']
    timeNode(run, env)
    const m = measure(
      {
        'lilypad --version': () => timeNode([CLI, '--version']),
        'lilypad run, warm': () => timeNode(run, env),
      },
      runs,
    )
    const baseline = m['lilypad --version']
    console.log(`lilypad run cowsay:v0.0.3 -i Message=hi on a running devnet (median of ${runs} runs)`)
    for (const [name, ms] of Object.entries(m))
      console.log(
        `  ${name.padEnd(24)} ${fmt(ms).padStart(10)}  ×${(ms / baseline).toFixed(2)} of lilypad --version`,
      )
    if (warmOnly) return m

    const start = process.hrtime.bigint()
    await Promise.all(
      Array.from({length: 10}, (_, i) => runAsync([CLI, 'run', 'cowsay:v0.0.3', '-i', `Message=c${i}`], env)),
    )
    const concurrent = Number(process.hrtime.bigint() - start) / 1e6
    console.log(`  ${'10 concurrent runs'.padEnd(24)} ${fmt(concurrent).padStart(10)}  wall time, one key`)

    await fillJournal(dataDir, 10_000)
    const list = measure(
      {
        'deals list, journal only': () => timeNode([CLI, 'deals', 'list', '--offline', '--json'], env),
        'deals list, merged': () => timeNode([CLI, 'deals', 'list', '--json'], env),
      },
      runs,
    )
    for (const [name, ms] of Object.entries(list))
      console.log(
        `  ${`${name} (10,000)`.padEnd(24)} ${fmt(ms).padStart(10)}  ×${(ms / baseline).toFixed(2)} of lilypad --version`,
      )
    return {...m, concurrent, ...list}
  } finally {
    try {
      timeNode([CLI, 'devnet', 'down'], env)
    } finally {
      rmSync(dataDir, {recursive: true, force: true})
    }
  }
}

// `node bench/run.mjs [runs] [--warm-only]`: the warm run alone is enough to compare one change.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2)
  const runs = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 5)
  await benchRun(runs, {warmOnly: args.includes('--warm-only')})
}
