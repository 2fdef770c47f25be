// `lilypad module render` of a module served from a local repository: uncached (fresh data dir:
// ls-remote + shallow fetch + checkout + render) against cached (ls-remote + render), with the
// start-up of `lilypad --version` as the baseline measured in the same run.

import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {CLI, cowsayRepo, fmt, measure, timeNode} from './lib.mjs'

export function benchRender(runs = 10) {
  const base = mkdtempSync(join(tmpdir(), 'lilypad-bench-'))
  try {
    const url = cowsayRepo(join(base, 'repos'))
    const args = [CLI, 'module', 'render', `${url}:v0.0.3`, '-i', 'Message=hi', '--json']
    const cachedDir = join(base, 'cached')
    timeNode(args, {DATA_DIR: cachedDir})
    const m = measure(
      {
        'lilypad --version': () => timeNode([CLI, '--version']),
        'render, cached': () => timeNode(args, {DATA_DIR: cachedDir}),
        'render, uncached': (i) => timeNode(args, {DATA_DIR: join(base, `fresh-${i}`)}),
      },
      runs,
    )
    const baseline = m['lilypad --version']
    console.log(`module render cowsay:v0.0.3 from a local repository (median of ${runs} runs)`)
    for (const [name, ms] of Object.entries(m))
      console.log(
        `  ${name.padEnd(20)} ${fmt(ms).padStart(10)}  ×${(ms / baseline).toFixed(2)} of lilypad --version`,
      )
    return m
  } finally {
    rmSync(base, {recursive: true, force: true})
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) benchRender()
