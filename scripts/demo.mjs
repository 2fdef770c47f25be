#!/usr/bin/env node
// The most complete thing that works end to end today: serves the real cowsay module (tags v0.0.1 to
// v0.0.4, templates byte-identical to the published ones) from a local git repository and renders
// `cowsay:v0.0.3 -i Message=hi` through the CLI, exactly as `lilypad run` will before submitting it.
// Everything stays on this machine.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const fixtures = join(root, 'test', 'fixtures', 'modules')
const base = join(tmpdir(), 'lilypad-demo')
const bare = join(base, 'modules', 'lilypad-module-cowsay')
const dataDir = join(base, 'data')

function git(cwd, ...args) {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'lilypad demo',
      GIT_AUTHOR_EMAIL: 'demo@lilypad.invalid',
      GIT_COMMITTER_NAME: 'lilypad demo',
      GIT_COMMITTER_EMAIL: 'demo@lilypad.invalid',
    },
  }).trim()
}

rmSync(base, {recursive: true, force: true})
mkdirSync(dirname(bare), {recursive: true})
git(dirname(bare), 'init', '--quiet', '--bare', '--initial-branch=main', bare)
const work = mkdtempSync(join(tmpdir(), 'lilypad-demo-work-'))
git(work, 'init', '--quiet', '--initial-branch=main')
for (const [i, tag] of ['v0.0.1', 'v0.0.2', 'v0.0.3', 'v0.0.4'].entries()) {
  writeFileSync(
    join(work, 'lilypad_module.json.tmpl'),
    readFileSync(join(fixtures, `cowsay-${tag}.lilypad_module.json.tmpl`)),
  )
  git(work, 'add', 'lilypad_module.json.tmpl')
  const date = `2024-0${i + 1}-01T00:00:00Z`
  execFileSync('git', ['commit', '--quiet', '-m', `cowsay ${tag}`], {
    cwd: work,
    env: {
      ...process.env,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
      GIT_AUTHOR_NAME: 'lilypad demo',
      GIT_AUTHOR_EMAIL: 'demo@lilypad.invalid',
      GIT_COMMITTER_NAME: 'lilypad demo',
      GIT_COMMITTER_EMAIL: 'demo@lilypad.invalid',
    },
  })
  git(work, 'tag', tag)
}
git(work, 'push', '--quiet', '--tags', bare, 'main')
rmSync(work, {recursive: true, force: true})

const moduleBase = `file://${dirname(bare)}`
const argv = ['module', 'render', 'cowsay:v0.0.3', '-i', 'Message=hi', ...process.argv.slice(2)]
process.stderr.write(`$ LILYPAD_MODULE_BASE=${moduleBase} DATA_DIR=${dataDir} lilypad ${argv.join(' ')}\n`)
const result = spawnSync(process.execPath, [join(root, 'bin', 'run.js'), ...argv], {
  stdio: 'inherit',
  env: {...process.env, LILYPAD_MODULE_BASE: moduleBase, DATA_DIR: dataDir},
})
process.exitCode = result.status ?? 1
