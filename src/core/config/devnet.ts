/**
 * What every part of the product knows about the local devnet (DESIGN §10): its chain, its
 * well-known accounts and the `state.json` through which a running devnet tells commands on the
 * `local` network where it listens. The devnet writes the state; core only reads it.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {HDNodeWallet, Mnemonic, Wallet} from 'ethers'

/** Lilypad's dev chain id, used by the devnet's anvil. */
export const DEVNET_CHAIN_ID = 412346

/** Anvil's (and Hardhat's) public development mnemonic. Its keys are known to everyone: local use only. */
export const DEVNET_MNEMONIC = 'test test test test test test test test test test test junk'

/** The devnet's roles, in the account order of Lilypad's dev stack (#0 … #5). */
export const DEVNET_ROLES = [
  'admin',
  'faucet',
  'solver',
  'mediator',
  'resourceProvider',
  'jobCreator',
] as const

/** A devnet role. */
export type DevnetRole = (typeof DEVNET_ROLES)[number]

/** Accounts of the mnemonic that count as well known (anvil prints ten). */
const WELL_KNOWN_COUNT = 10

/** Default ports; each is replaced by a free one when taken. */
export const DEVNET_DEFAULT_PORTS = Object.freeze({rpc: 8545, solver: 8081, git: 9418})

/** One process or in-process service of a running devnet. */
export interface DevnetService {
  name: string
  pid: number
  state: 'running' | 'stopped' | 'failed'
  url?: string
}

/** `$DATA_DIR/devnet/state.json`. Holds nothing secret. */
export interface DevnetState {
  version: 1
  /** The supervisor process; the devnet runs while it lives. */
  supervisorPid: number
  /** True once every service answered; false while starting or after `down`. */
  ready: boolean
  startedAt: string
  chainId: number
  rpcUrl: string
  solverUrl: string
  moduleBase: string
  protocol: 'onchain' | 'solver'
  contracts: {
    LilypadToken: string
    LilypadUsers: string
    LilypadController: string
    /** Absent on a devnet whose contracts were deployed before the on-chain job creator existed. */
    LilypadOnChainJobCreator?: string
  }
  /** The controller's deployment block: where log searches start. */
  deploymentBlock: number
  accounts: Record<DevnetRole, string>
  /** Addresses of every resource provider (the first is `accounts.resourceProvider`). */
  resourceProviders: string[]
  fault?: string | undefined
  services: DevnetService[]
  /** Why the last start failed, when it did. */
  error?: string | undefined
}

/** The devnet's directory under a data directory. */
export function devnetDir(dataDir: string): string {
  return join(dataDir, 'devnet')
}

/** Path of the devnet's state file. */
export function devnetStatePath(dataDir: string): string {
  return join(devnetDir(dataDir), 'state.json')
}

/** True when a process with this PID runs (exists and is not a zombie). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  // A zombie (exited, not yet reaped by its parent or init) still answers signal 0: it is gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true
  }
}

/**
 * Reads the devnet's state file.
 *
 * @param dataDir - the data directory
 * @returns the state, or `undefined` when there is none or it cannot be read
 */
export function readDevnetState(dataDir: string): DevnetState | undefined {
  try {
    const value = JSON.parse(readFileSync(devnetStatePath(dataDir), 'utf8')) as {version?: unknown}
    return value.version === 1 ? (value as DevnetState) : undefined
  } catch {
    return undefined
  }
}

/**
 * The state of a devnet that is running and ready on this data directory.
 *
 * @returns the state, or `undefined` when no devnet runs there
 */
export function runningDevnet(dataDir: string): DevnetState | undefined {
  const state = readDevnetState(dataDir)
  return state !== undefined && state.ready && processAlive(state.supervisorPid) ? state : undefined
}

/** The wallet of account `index` of the devnet mnemonic. */
function devnetWallet(index: number): HDNodeWallet {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEVNET_MNEMONIC), `m/44'/60'/0'/0/${index}`)
}

/**
 * The private key of a devnet account: a role, or a mnemonic index (extra providers use 6–9).
 * These keys are public; the CLI refuses to use them on any chain but the devnet's.
 */
export function devnetPrivateKey(account: DevnetRole | number): string {
  return devnetWallet(typeof account === 'number' ? account : DEVNET_ROLES.indexOf(account)).privateKey
}

/** The address of a devnet account. */
export function devnetAddress(account: DevnetRole | number): string {
  return devnetWallet(typeof account === 'number' ? account : DEVNET_ROLES.indexOf(account)).address
}

let wellKnown: Set<string> | undefined

/** True when `privateKey` is one of the mnemonic's well-known keys. */
export function isWellKnownKey(privateKey: string): boolean {
  wellKnown ??= new Set(Array.from({length: WELL_KNOWN_COUNT}, (_, i) => devnetWallet(i).address))
  try {
    const key = privateKey.startsWith('0x') ? privateKey : `0x${privateKey}`
    return wellKnown.has(new Wallet(key).address)
  } catch {
    return false
  }
}
