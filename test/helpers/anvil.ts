/**
 * A private anvil chain on 127.0.0.1 for one test file: `startAnvil()` in beforeAll, `stop()` in afterAll.
 * The process is spawned directly (no npx wrapper), so the PID we kill is anvil itself.
 */
import {spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

import {HDNodeWallet, JsonRpcProvider, Mnemonic, Wallet} from 'ethers'
import {freePort} from './net.js'

const require = createRequire(import.meta.url)

/** Anvil's (and Hardhat's) well-known development mnemonic. Its keys are public: local use only. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'

/** Path of the anvil binary shipped by @foundry-rs/anvil. */
export function anvilBinary(): string {
  return join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil')
}

export interface Anvil {
  url: string
  pid: number
  provider: JsonRpcProvider
  /** The first 10 dev accounts (10,000 ETH each), connected to `provider`. */
  accounts: Wallet[]
  /** Kills anvil by PID and waits until it has exited. */
  stop: () => Promise<void>
}

export interface AnvilOptions {
  /** Extra command-line arguments, e.g. `['--hardfork', 'cancun']`. */
  args?: string[]
  /** How long to wait for the RPC to answer (ms). */
  readyTimeoutMs?: number
}

/** The dev accounts m/44'/60'/0'/0/i for i < count, as wallets connected to `provider`. */
export function devAccounts(provider: JsonRpcProvider, count = 10): Wallet[] {
  const mnemonic = Mnemonic.fromPhrase(DEV_MNEMONIC)
  return Array.from({length: count}, (_, i) => {
    const node = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`)
    return new Wallet(node.privateKey, provider)
  })
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: []}),
    })
    return response.ok
  } catch {
    return false
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else
      child.once('exit', () => {
        resolve()
      })
  })
}

/** Starts anvil on a free loopback port and resolves once it answers `eth_chainId`. A port taken by
 * someone else between probing and binding makes anvil exit at once; then another port is tried. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startAnvilOnce(options)
    } catch (error) {
      if (!(error instanceof AnvilExited) || attempt >= 3) throw error
    }
  }
}

class AnvilExited extends Error {}

async function startAnvilOnce(options: AnvilOptions): Promise<Anvil> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const args = ['--host', '127.0.0.1', '--port', String(port), '--silent', ...(options.args ?? [])]
  const child = spawn(anvilBinary(), args, {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const pid = child.pid
  if (pid === undefined) throw new Error('anvil did not start')
  const exited = waitForExit(child)

  // No response cache (stale reverts after evm_increaseTime), no network re-detection, and no request
  // batching: a batch waits `batchStallTime` (10 ms) before it is sent, which dominates on a local chain.
  const provider = new JsonRpcProvider(url, undefined, {
    cacheTimeout: -1,
    staticNetwork: true,
    batchMaxCount: 1,
    pollingInterval: 10,
  })
  const stop = async (): Promise<void> => {
    provider.destroy()
    if (child.exitCode !== null || child.signalCode !== null) return
    process.kill(pid, 'SIGTERM')
    // anvil exits on SIGTERM within milliseconds; SIGKILL only if it has not after 5 s.
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL')
    }, 5_000)
    await exited
    clearTimeout(timer)
  }

  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000)
  while (!(await rpcAnswers(url))) {
    if (child.exitCode !== null) {
      await stop()
      throw new AnvilExited(`anvil on ${url} exited with ${String(child.exitCode)}: ${stderr}`)
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`anvil on ${url} did not become ready: ${stderr}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {url, pid, provider, accounts: devAccounts(provider), stop}
}

/** Moves the chain clock forward by `seconds` and mines a block at the new time. */
export async function increaseTime(provider: JsonRpcProvider, seconds: number): Promise<void> {
  await provider.send('evm_increaseTime', [seconds])
  await provider.send('evm_mine', [])
}

/** Takes a chain snapshot; pass the returned ID to `revert`. */
export async function snapshot(provider: JsonRpcProvider): Promise<string> {
  return (await provider.send('evm_snapshot', [])) as string
}

/** Reverts to a snapshot (snapshots are single-use: take a new one afterwards). */
export async function revert(provider: JsonRpcProvider, id: string): Promise<void> {
  const ok = (await provider.send('evm_revert', [id])) as boolean
  if (!ok) throw new Error(`evm_revert ${id} failed`)
}

export {freePort}
