// Shared bench helpers: timing child processes, medians, and a local module repository.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const CLI = join(ROOT, 'bin', 'run.js')

/** Milliseconds one run of `node args…` takes, failing loudly when the command fails. */
export function timeNode(args, env = {}) {
  const start = process.hrtime.bigint()
  const result = spawnSync(process.execPath, args, {env: {...process.env, ...env}, encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  return ms
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Runs each case `runs` times, interleaved so machine noise hits all cases alike. */
export function measure(cases, runs) {
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]))
  for (let i = 0; i < runs; i += 1) {
    for (const [name, fn] of Object.entries(cases)) samples[name].push(fn(i))
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
}

/** A bare repository holding the cowsay fixtures at tags v0.0.1–v0.0.4; returns its file:// URL. */
export function cowsayRepo(base) {
  const bare = join(base, 'lilypad-module-cowsay')
  const work = mkdtempSync(join(tmpdir(), 'lilypad-bench-work-'))
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@lilypad.invalid',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@lilypad.invalid',
  }
  const git = (cwd, ...args) => execFileSync('git', args, {cwd, env, stdio: 'pipe'})
  mkdirSync(base, {recursive: true})
  git(base, 'init', '--quiet', '--bare', bare)
  git(work, 'init', '--quiet', '--initial-branch=main')
  for (const tag of ['v0.0.1', 'v0.0.2', 'v0.0.3', 'v0.0.4']) {
    writeFileSync(
      join(work, 'lilypad_module.json.tmpl'),
      readFileSync(join(ROOT, 'test', 'fixtures', 'modules', `cowsay-${tag}.lilypad_module.json.tmpl`)),
    )
    git(work, 'add', '.')
    git(work, 'commit', '--quiet', '-m', tag)
    git(work, 'tag', tag)
  }
  git(work, 'push', '--quiet', '--tags', bare, 'main')
  rmSync(work, {recursive: true, force: true})
  return `file://${bare}`
}

export function fmt(ms) {
  return `${ms.toFixed(1)} ms`
}
