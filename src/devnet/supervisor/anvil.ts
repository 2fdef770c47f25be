/**
 * The devnet's chain: anvil, spawned directly from the binary @foundry-rs/anvil ships, on
 * 127.0.0.1, automining, with its state in a file so `down` then `up` resumes the same chain.
 */
import {spawn} from 'node:child_process'
import {openSync, closeSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

import {DEVNET_CHAIN_ID, DEVNET_MNEMONIC} from '../../core/config/index.js'
import {lilypadError} from '../../core/errors/index.js'
import {exited, stopPid} from './processes.js'

const require = createRequire(import.meta.url)

/** Path of the anvil binary. */
export function anvilBinary(): string {
  return join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil')
}

/** Options of {@link startAnvil}. */
export interface StartAnvilOptions {
  port: number
  /** Chain state file: loaded when present, written every second and on exit. */
  stateFile?: string | undefined
  /** Where anvil's own output goes. */
  logFile?: string | undefined
  chainId?: number
  readyTimeoutMs?: number
  signal?: AbortSignal | undefined
}

/** A running anvil. */
export interface AnvilProcess {
  url: string
  port: number
  pid: number
  /** SIGTERM (anvil writes its state on exit), SIGKILL after a grace period. */
  stop(): Promise<void>
}

/** True when our chain answers at `url` (another server on the port would give another chain id). */
async function answers(url: string, chainId: number): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: []}),
      signal: AbortSignal.timeout(1_000),
    })
    const body = (await response.json()) as {result?: unknown}
    return typeof body.result === 'string' && Number(BigInt(body.result)) === chainId
  } catch {
    return false
  }
}

/**
 * Starts anvil and resolves once it answers JSON-RPC.
 *
 * @throws DEVNET_START_FAILED when anvil exits or does not answer in time
 */
export async function startAnvil(options: StartAnvilOptions): Promise<AnvilProcess> {
  const url = `http://127.0.0.1:${options.port}`
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--chain-id',
    String(options.chainId ?? DEVNET_CHAIN_ID),
    '--mnemonic',
    DEVNET_MNEMONIC,
    // Eleven accounts, each with anvil's default 10,000 ETH: #10 is the on-chain job-creator service.
    '--accounts',
    '11',
    // No banner: it lists the accounts' private keys, which never go into a log.
    '--silent',
  ]
  if (options.stateFile !== undefined) args.push('--state', options.stateFile, '--state-interval', '1')
  const log = options.logFile === undefined ? 'ignore' : openSync(options.logFile, 'a')
  const child = spawn(anvilBinary(), args, {stdio: ['ignore', log, log], detached: false})
  if (typeof log === 'number') closeSync(log)
  const pid = child.pid
  if (pid === undefined) throw lilypadError('DEVNET_START_FAILED', {message: 'anvil did not start.'})
  const gone = exited(child)
  const stop = async (): Promise<void> => {
    await stopPid(pid, 5_000)
    await gone
  }
  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000)
  while (!(await answers(url, options.chainId ?? DEVNET_CHAIN_ID))) {
    if (
      child.exitCode !== null ||
      child.signalCode !== null ||
      Date.now() > deadline ||
      options.signal?.aborted
    ) {
      await stop()
      throw lilypadError('DEVNET_START_FAILED', {
        message: `anvil on ${url} did not start (exit ${String(child.exitCode ?? child.signalCode)}).`,
        hints: options.logFile === undefined ? [] : [`See ${options.logFile}.`],
      })
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {url, port: options.port, pid, stop}
}
