#!/usr/bin/env node
// The build: a clean TypeScript compile into dist/, then the oclif manifest regenerated from it, so
// the committed manifest can never silently hide a command (a test compares the two).
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
const run = (cmd, args) =>
  execFileSync(cmd, args, {cwd: root, stdio: 'inherit', env: {...process.env, OCLIF_SKIP_UPDATE_CHECK: '1'}})

rmSync(join(root, 'dist'), {recursive: true, force: true})
run(bin('tsc'), ['-p', 'tsconfig.json'])
run(bin('oclif'), ['manifest'])
