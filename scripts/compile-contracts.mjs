#!/usr/bin/env node
// Compiles contracts/*.sol offline with solc-js (the compiler ships inside the npm package) and writes
// dist/contracts/<ContractName>.json = {contractName, abi, bytecode, deployedBytecode} for every deployable
// contract. Any compiler error fails the build; warnings are printed.
import {mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const require = createRequire(import.meta.url)
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Compiler settings; part of the artifacts' identity, so change them deliberately. */
export const SOLC_SETTINGS = {
  optimizer: {enabled: true, runs: 10_000},
  viaIR: true,
  evmVersion: 'cancun',
  outputSelection: {
    '*': {'*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'], '': ['ast']},
  },
}

/** Resolves `@openzeppelin/...` (and any other package path) from node_modules. */
function findImports(path) {
  try {
    return {contents: readFileSync(require.resolve(path), 'utf8')}
  } catch {
    return {error: `import not found: ${path}`}
  }
}

/** Names of the contracts in one source's AST that can be deployed (not interfaces, libraries or abstract). */
function deployableNames(ast) {
  return ast.nodes
    .filter(
      (node) => node.nodeType === 'ContractDefinition' && node.contractKind === 'contract' && !node.abstract,
    )
    .map((node) => node.name)
}

/**
 * Compiles every `contracts/*.sol` and writes one artifact per deployable contract.
 * @param {{root?: string, outDir?: string, log?: (line: string) => void}} [options]
 * @returns {Record<string, {contractName: string, abi: unknown[], bytecode: string, deployedBytecode: string}>}
 */
export function compileContracts({
  root = ROOT,
  outDir = join(root, 'dist', 'contracts'),
  log = console.error,
} = {}) {
  const solc = require('solc')
  const dir = join(root, 'contracts')
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.sol'))
    .sort()
  const sources = Object.fromEntries(
    files.map((name) => [`contracts/${name}`, {content: readFileSync(join(dir, name), 'utf8')}]),
  )
  const input = {language: 'Solidity', sources, settings: SOLC_SETTINGS}
  const output = JSON.parse(solc.compile(JSON.stringify(input), {import: findImports}))

  const diagnostics = output.errors ?? []
  for (const d of diagnostics) log(d.formattedMessage ?? d.message)
  const errors = diagnostics.filter((d) => d.severity === 'error')
  if (errors.length > 0) throw new Error(`solc: ${errors.length} error(s) compiling contracts/`)

  mkdirSync(outDir, {recursive: true})
  const artifacts = {}
  for (const sourceName of Object.keys(sources)) {
    for (const contractName of deployableNames(output.sources[sourceName].ast)) {
      const compiled = output.contracts[sourceName][contractName]
      const artifact = {
        contractName,
        abi: compiled.abi,
        bytecode: `0x${compiled.evm.bytecode.object}`,
        deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
      }
      // Written to a temporary name and renamed, so a concurrent reader never sees half a file.
      const file = join(outDir, `${contractName}.json`)
      writeFileSync(`${file}.${process.pid}.tmp`, `${JSON.stringify(artifact, null, 2)}\n`)
      renameSync(`${file}.${process.pid}.tmp`, file)
      artifacts[contractName] = artifact
    }
  }
  log(`compiled ${Object.keys(artifacts).join(', ')} with solc ${solc.version()} → ${outDir}`)
  return artifacts
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    compileContracts()
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  }
}
