#!/usr/bin/env node
// The build, in order: the Solidity contracts compiled offline into dist/contracts, typed bindings
// generated from those ABIs into src/core/chain/generated (never written by hand), a clean TypeScript
// compile into dist/, then the oclif manifest regenerated from it, so the committed manifest can never
// silently hide a command (a test compares the two).
import {execFileSync} from 'node:child_process'
import {cpSync, readdirSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {compileContracts} from './compile-contracts.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
const run = (cmd, args) => execFileSync(cmd, args, {cwd: root, stdio: 'inherit'})

rmSync(join(root, 'dist'), {recursive: true, force: true})
const artifacts = join(root, 'dist', 'contracts')
compileContracts({root, outDir: artifacts})

const generated = join(root, 'src', 'core', 'chain', 'generated')
rmSync(generated, {recursive: true, force: true})
const files = readdirSync(artifacts)
  .filter((name) => name.endsWith('.json'))
  .map((name) => join(artifacts, name))
execFileSync(
  bin('typechain'),
  ['--target', 'ethers-v6', '--node16-modules', '--out-dir', generated, ...files],
  {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  },
)

run(bin('tsc'), ['-p', 'tsconfig.json'])
// The devnet's example module repositories are built at runtime from these files (sources and wasm).
cpSync(join(root, 'src', 'devnet', 'git', 'modules'), join(root, 'dist', 'devnet', 'git', 'modules'), {
  recursive: true,
})
run(bin('oclif'), ['manifest'])
