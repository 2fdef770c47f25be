/**
 * What every part of the product knows about the local devnet (DESIGN §10): its chain, its
 * well-known accounts and the `state.json` through which a running devnet tells commands on the
 * `local` network where it listens. The devnet writes the state; core only reads it.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

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

/**
 * The first eleven accounts of {@link DEVNET_MNEMONIC} (m/44'/60'/0'/0/i), as anvil prints them at
 * start (the devnet asks anvil for 11: #10 is the on-chain job creator's service).
 * Written out so that reading the config never loads a key-derivation library; a test derives them
 * from the mnemonic.
 */
const WELL_KNOWN_ACCOUNTS: readonly (readonly [address: string, privateKey: string])[] = [
  [
    '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  ],
  [
    '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  ],
  [
    '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  ],
  [
    '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  ],
  [
    '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
    '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  ],
  [
    '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
    '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  ],
  [
    '0x976EA74026E726554dB657fA54763abd0C3a0aa9',
    '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  ],
  [
    '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955',
    '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  ],
  [
    '0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f',
    '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  ],
  [
    '0xa0Ee7A142d267C1f36714E4a8F75612F20a79720',
    '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
  ],
  [
    '0xBcd4042DE499D14e55001CcbB24a551F3b954096',
    '0xf214f2b2cd398c806f84e317254e0f0b801d0643303237d97a22a48e01628897',
  ],
]

/** Mnemonic index of the devnet's on-chain job-creator service (the contract's `service`). */
export const DEVNET_JOB_CREATOR_SERVICE_ACCOUNT = 10

/** Default ports; each is replaced by a free one when taken. */
export const DEVNET_DEFAULT_PORTS = Object.freeze({rpc: 8545, solver: 8081, git: 9418})

/** One process or in-process service of a running devnet. */
export interface DevnetService {
  name: string
  pid: number
  /** The process's start time (clock ticks since boot, `/proc/<pid>/stat` field 22): a reused PID differs. */
  startTime?: number | undefined
  state: 'running' | 'stopped' | 'failed'
  url?: string
}

/** `$DATA_DIR/devnet/state.json`. Holds nothing secret. */
export interface DevnetState {
  version: 1
  /** The supervisor process; the devnet runs while it lives. */
  supervisorPid: number
  /** The supervisor's start time, to tell it from a later process that got the same PID. */
  supervisorStartTime?: number | undefined
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

/** The on-chain job-creator service's own data directory (its state, journal and downloads). */
export function devnetJobCreatorDir(dataDir: string): string {
  return join(devnetDir(dataDir), 'jobcreator')
}

/** Path of the devnet's state file. */
export function devnetStatePath(dataDir: string): string {
  return join(devnetDir(dataDir), 'state.json')
}

function procStat(pid: number): {state: string; startTime: number} | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces and parentheses): state is field 3,
    // starttime field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return {state: fields[0] ?? '', startTime: Number(fields[19])}
  } catch {
    return undefined
  }
}

/** When the process with this PID started (clock ticks since boot), or `undefined` when unknown. */
export function processStartTime(pid: number): number | undefined {
  const startTime = procStat(pid)?.startTime
  return startTime === undefined || Number.isNaN(startTime) ? undefined : startTime
}

/**
 * True when a process with this PID runs: it exists, is not a zombie (exited, not yet reaped) and,
 * when `startTime` is given, is the very process that started then (not a later one with its PID).
 */
export function processAlive(pid: number, startTime?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const stat = procStat(pid)
  if (stat === undefined) return true
  if (stat.state === 'Z') return false
  return startTime === undefined || stat.startTime === startTime
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
  return state !== undefined && state.ready && processAlive(state.supervisorPid, state.supervisorStartTime)
    ? state
    : undefined
}

function account(which: DevnetRole | number): readonly [string, string] {
  const index = typeof which === 'number' ? which : DEVNET_ROLES.indexOf(which)
  const found = WELL_KNOWN_ACCOUNTS[index]
  if (found === undefined) throw new RangeError(`The devnet has no account ${String(which)}`)
  return found
}

/**
 * The private key of a devnet account: a role, or a mnemonic index 0–10 (extra providers use 6–9,
 * the on-chain job-creator service 10).
 * These keys are public; the CLI refuses to use them on any chain but the devnet's.
 */
export function devnetPrivateKey(which: DevnetRole | number): string {
  return account(which)[1]
}

/** The address of a devnet account. */
export function devnetAddress(which: DevnetRole | number): string {
  return account(which)[0]
}

const WELL_KNOWN_KEYS = new Set(WELL_KNOWN_ACCOUNTS.map(([, key]) => key.slice(2)))

/** True when `privateKey` (with or without 0x, any case) is one of the mnemonic's well-known keys. */
export function isWellKnownKey(privateKey: string): boolean {
  const key = privateKey.trim().toLowerCase()
  return WELL_KNOWN_KEYS.has(key.startsWith('0x') ? key.slice(2) : key)
}
