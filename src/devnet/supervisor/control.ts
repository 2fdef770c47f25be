/**
 * The devnet seen from a command: start it (detached or in this process), stop it by its PIDs, ask
 * its state, read its logs, fund an account, move chain time. Everything is found through
 * `$DATA_DIR/devnet/state.json`.
 */
import {spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {mkdir, open, readFile, readdir, rm, stat} from 'node:fs/promises'
import {basename} from 'node:path'
import {fileURLToPath} from 'node:url'

import {JsonRpcProvider, Wallet, getAddress, parseEther, parseUnits} from 'ethers'
import lockfile from 'proper-lockfile'

import {
  DEVNET_CHAIN_ID,
  type DevnetService,
  type DevnetState,
  devnetPrivateKey,
  processAlive,
  readDevnetState,
  runningDevnet,
} from '../../core/config/index.js'
import {LilypadToken__factory} from '../../core/chain/generated/factories/LilypadToken__factory.js'
import {toChainError} from '../../core/chain/errors.js'
import {lilypadError} from '../../core/errors/index.js'
import {devnetLayout, type DevnetSetup} from './layout.js'
import {stopPid} from './processes.js'

/** Progress of the devnet commands. */
export type DevnetEvent =
  | {type: 'devnet.starting'; dataDir: string}
  | {type: 'devnet.ready'; state: DevnetState; ms: number}
  | {type: 'devnet.stopping'; pid: number}

/** Options of {@link devnetUp}. */
export interface DevnetUpOptions {
  dataDir: string
  protocol?: 'onchain' | 'solver' | undefined
  providers?: number | undefined
  fault?: DevnetSetup['fault']
  /** How long to wait for a detached supervisor to be ready (default 60 s). */
  timeoutMs?: number | undefined
  onEvent?: ((event: DevnetEvent) => void) | undefined
  signal?: AbortSignal | undefined
}

/** What {@link devnetUp} did. */
export interface DevnetUpResult {
  state: DevnetState
  /** True when a devnet was already running: nothing was changed. */
  alreadyRunning: boolean
}

function supervisorEntry(): {args: string[]} {
  const url = new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './main.js', import.meta.url)
  // From sources (tests) the entry is TypeScript: let tsx load it.
  return {
    args: import.meta.url.endsWith('.ts') ? ['--import', 'tsx', fileURLToPath(url)] : [fileURLToPath(url)],
  }
}

async function tail(path: string, bytes = 2_000): Promise<string> {
  try {
    const text = await readFile(path, 'utf8')
    return text.slice(-bytes).trim()
  } catch {
    return ''
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function lockDevnet(layout: ReturnType<typeof devnetLayout>): Promise<() => Promise<void>> {
  await mkdir(layout.logs, {recursive: true})
  return lockfile.lock(layout.root, {
    lockfilePath: layout.lock,
    retries: {retries: 900, minTimeout: 100, maxTimeout: 100},
    stale: 120_000,
  })
}

/** Sends SIGKILL to a whole process group, if it still has members. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // no such group any more
  }
}

async function stopDevnet(dataDir: string): Promise<DevnetDownResult> {
  const state = readDevnetState(dataDir)
  if (state === undefined) return {wasRunning: false, stopped: []}
  const wasRunning = processAlive(state.supervisorPid, state.supervisorStartTime)
  const stopped: DevnetDownResult['stopped'] = []
  if (wasRunning) {
    const killed = await stopPid(state.supervisorPid, 15_000)
    // A supervisor that had to be killed could not stop its children: its group (anvil, Wasm jobs) goes too.
    if (killed) killGroup(state.supervisorPid)
    stopped.push({name: 'supervisor', pid: state.supervisorPid, killed})
  }
  for (const service of state.services) {
    if (service.pid === state.supervisorPid || !processAlive(service.pid, service.startTime)) continue
    const killed = await stopPid(service.pid, 5_000)
    if (killed) killGroup(service.pid)
    stopped.push({name: service.name, pid: service.pid, killed})
  }
  return {wasRunning, stopped}
}

/**
 * Starts the devnet in a detached supervisor process and returns once every service answers. A
 * devnet already running on this data directory is left as it is.
 *
 * @throws DEVNET_START_FAILED with the supervisor's last words; INTERRUPTED
 * @example
 * const {state} = await devnetUp({dataDir: '/tmp/lilypad/data'})
 */
export async function devnetUp(options: DevnetUpOptions): Promise<DevnetUpResult> {
  const layout = devnetLayout(options.dataDir)
  const running = runningDevnet(options.dataDir)
  if (running !== undefined) return {state: running, alreadyRunning: true}
  // One `up` (or `down`) at a time per data directory: a second one waits, then finds the devnet running.
  const release = await lockDevnet(layout)
  try {
    const again = runningDevnet(options.dataDir)
    if (again !== undefined) return {state: again, alreadyRunning: true}
    // A supervisor that never became ready (or a half-stopped devnet) is cleared away first.
    await stopDevnet(options.dataDir)
    options.onEvent?.({type: 'devnet.starting', dataDir: options.dataDir})
    const started = Date.now()
    const out = layout.log('supervisor.out')
    const fd = openSync(out, 'a')
    const {args} = supervisorEntry()
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        ...args,
        JSON.stringify({
          dataDir: options.dataDir,
          protocol: options.protocol,
          providers: options.providers,
          fault: options.fault,
        }),
      ],
      {detached: true, stdio: ['ignore', fd, fd]},
    )
    closeSync(fd)
    child.unref()
    const pid = child.pid
    if (pid === undefined)
      throw lilypadError('DEVNET_START_FAILED', {message: 'The devnet supervisor did not start.'})
    const exit = {code: undefined as number | undefined}
    child.once('exit', (code) => {
      exit.code = code ?? -1
    })
    const deadline = Date.now() + (options.timeoutMs ?? 60_000)
    for (;;) {
      const state = readDevnetState(options.dataDir)
      if (state !== undefined && state.supervisorPid === pid && state.ready) {
        options.onEvent?.({type: 'devnet.ready', state, ms: Date.now() - started})
        return {state, alreadyRunning: false}
      }
      if (exit.code !== undefined || !processAlive(pid)) {
        const why = await tail(out)
        throw lilypadError('DEVNET_START_FAILED', {
          message: `The devnet did not start${why === '' ? '.' : `: ${why.split('\n').slice(-3).join(' ')}`}`,
          hints: [
            `See the logs: lilypad devnet logs (files under ${layout.logs}).`,
            'Try again after lilypad devnet down.',
          ],
        })
      }
      if (options.signal?.aborted === true || Date.now() > deadline) {
        await stopPid(pid, 10_000)
        if (options.signal?.aborted === true) throw lilypadError('INTERRUPTED', {message: 'Interrupted.'})
        throw lilypadError('DEVNET_START_FAILED', {
          message: 'The devnet did not become ready in time.',
          hints: [`See the logs under ${layout.logs}.`],
        })
      }
      await sleep(50)
    }
  } finally {
    await release()
  }
}

/**
 * Runs the devnet in this process (`up --foreground`) until `signal` aborts, then stops it.
 *
 * @param onReady - called once every service answers
 */
export async function devnetForeground(
  options: DevnetUpOptions & {onReady?: (state: DevnetState) => void},
): Promise<DevnetState> {
  if (runningDevnet(options.dataDir) !== undefined) {
    throw lilypadError('USAGE', {
      message: 'A devnet is already running on this data directory.',
      hints: ['Stop it first: lilypad devnet down.'],
    })
  }
  const started = Date.now()
  // The services' code loads only here: the other devnet commands stay light.
  const {runSupervisor} = await import('./supervisor.js')
  const release = await lockDevnet(devnetLayout(options.dataDir))
  let devnet: Awaited<ReturnType<typeof runSupervisor>>
  try {
    if (runningDevnet(options.dataDir) !== undefined) {
      throw lilypadError('USAGE', {
        message: 'A devnet is already running on this data directory.',
        hints: ['Stop it first: lilypad devnet down.'],
      })
    }
    devnet = await runSupervisor(options)
  } finally {
    await release()
  }
  options.onEvent?.({type: 'devnet.ready', state: devnet.state, ms: Date.now() - started})
  options.onReady?.(devnet.state)
  await new Promise<void>((resolve) => {
    if (options.signal === undefined || options.signal.aborted) resolve()
    else
      options.signal.addEventListener(
        'abort',
        () => {
          resolve()
        },
        {once: true},
      )
  })
  await devnet.stop()
  return devnet.state
}

/** What {@link devnetDown} stopped. */
export interface DevnetDownResult {
  wasRunning: boolean
  stopped: {name: string; pid: number; killed: boolean}[]
}

/**
 * Stops every process of the devnet by its PID and keeps its state (`up` resumes it).
 */
export async function devnetDown(options: {
  dataDir: string
  onEvent?: (event: DevnetEvent) => void
}): Promise<DevnetDownResult> {
  const state = readDevnetState(options.dataDir)
  if (state === undefined) return {wasRunning: false, stopped: []}
  // Waits for an `up` in progress, so a starting supervisor is not missed.
  const release = await lockDevnet(devnetLayout(options.dataDir))
  try {
    const current = readDevnetState(options.dataDir) ?? state
    if (processAlive(current.supervisorPid, current.supervisorStartTime)) {
      options.onEvent?.({type: 'devnet.stopping', pid: current.supervisorPid})
    }
    return await stopDevnet(options.dataDir)
  } finally {
    await release()
  }
}

/** The devnet's state with each service's liveness checked now. */
export interface DevnetStatus {
  running: boolean
  dataDir: string
  state: DevnetState | undefined
  services: DevnetService[]
}

/** Reads the state and checks each PID. Nothing secret is in it. */
export function devnetStatus(options: {dataDir: string}): DevnetStatus {
  const state = readDevnetState(options.dataDir)
  const running =
    state !== undefined && state.ready && processAlive(state.supervisorPid, state.supervisorStartTime)
  const services = (state?.services ?? []).map((service) => ({
    ...service,
    state:
      processAlive(service.pid, service.startTime) && running ? ('running' as const) : ('stopped' as const),
  }))
  return {running, dataDir: options.dataDir, state, services}
}

/** Stops the devnet and deletes its state: the next `up` starts a new chain. */
export async function devnetReset(options: {dataDir: string}): Promise<DevnetDownResult> {
  const down = await devnetDown(options)
  await rm(devnetLayout(options.dataDir).root, {recursive: true, force: true})
  return down
}

function requireRunning(dataDir: string): DevnetState {
  const state = runningDevnet(dataDir)
  if (state === undefined) {
    throw lilypadError('DEVNET_NOT_RUNNING', {
      message: 'The devnet is not running.',
      hints: ['Start it: lilypad devnet up.'],
    })
  }
  return state
}

function rpcOf(state: DevnetState): JsonRpcProvider {
  return new JsonRpcProvider(state.rpcUrl, DEVNET_CHAIN_ID, {
    staticNetwork: true,
    cacheTimeout: -1,
    pollingInterval: 50,
  })
}

/** What {@link devnetFund} sent. */
export interface DevnetFundResult {
  address: string
  eth: string
  lp: string
  txs: string[]
}

/**
 * Sends ETH and LP from the devnet's faucet account.
 *
 * @param eth - whole ETH, as a decimal string
 * @param lp - whole LP, as a decimal string
 * @throws USAGE for a bad address or amount; DEVNET_NOT_RUNNING
 */
export async function devnetFund(options: {
  dataDir: string
  address: string
  eth: string
  lp: string
}): Promise<DevnetFundResult> {
  const given: string = options.address
  if (!/^0x[0-9a-fA-F]{40}$/.test(given)) {
    throw lilypadError('USAGE', {
      message: `${given} is not an address.`,
      hints: ['Pass a 0x-prefixed address of 40 hex digits.'],
    })
  }
  let amounts: {eth: bigint; lp: bigint}
  try {
    amounts = {eth: parseEther(options.eth), lp: parseUnits(options.lp, 18)}
  } catch {
    throw lilypadError('USAGE', {
      message: 'Amounts must be decimal numbers of ETH and LP, e.g. --eth 1 --lp 100.',
    })
  }
  if (amounts.eth < 0n || amounts.lp < 0n)
    throw lilypadError('USAGE', {message: 'Amounts cannot be negative.'})
  const state = requireRunning(options.dataDir)
  const address = getAddress(options.address)
  const provider = rpcOf(state)
  const faucet = new Wallet(devnetPrivateKey('faucet'), provider)
  const txs: string[] = []
  try {
    if (amounts.eth > 0n) {
      const tx = await faucet.sendTransaction({to: address, value: amounts.eth})
      await tx.wait()
      txs.push(tx.hash)
    }
    if (amounts.lp > 0n) {
      const token = LilypadToken__factory.connect(state.contracts.LilypadToken, faucet)
      const tx = await token.transfer(address, amounts.lp)
      await tx.wait()
      txs.push(tx.hash)
    }
  } catch (error) {
    throw toChainError(error, {action: `fund ${address}`, account: faucet.address, network: 'local'})
  } finally {
    provider.destroy()
  }
  return {address, eth: options.eth, lp: options.lp, txs}
}

/**
 * Moves chain time forward and mines a block at the new time.
 *
 * @returns the new block's number and timestamp
 */
export async function devnetAdvance(options: {
  dataDir: string
  seconds: number
}): Promise<{blockNumber: number; timestamp: number}> {
  if (!Number.isInteger(options.seconds) || options.seconds <= 0) {
    throw lilypadError('USAGE', {
      message: 'SECONDS must be a whole number above 0.',
      hints: ['lilypad devnet advance 3600'],
    })
  }
  const state = requireRunning(options.dataDir)
  const provider = rpcOf(state)
  try {
    await provider.send('evm_increaseTime', [options.seconds])
    await provider.send('evm_mine', [])
    const block = await provider.getBlock('latest')
    return {blockNumber: block?.number ?? 0, timestamp: block?.timestamp ?? 0}
  } finally {
    provider.destroy()
  }
}

/** One log line of a service. */
export interface DevnetLogLine {
  service: string
  time: number | undefined
  level: string
  message: string
  fields: Record<string, unknown>
}

const PINO_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
}

function parseLine(service: string, line: string): DevnetLogLine {
  try {
    const value = JSON.parse(line) as Record<string, unknown>
    const {time, level, msg, ...rest} = value
    const fields = Object.fromEntries(
      Object.entries(rest).filter(([key]) => key !== 'service' && key !== 'pid' && key !== 'hostname'),
    )
    return {
      service,
      time: typeof time === 'number' ? time : undefined,
      level:
        typeof level === 'number'
          ? (PINO_LEVELS[level] ?? String(level))
          : typeof level === 'string'
            ? level
            : 'info',
      message: typeof msg === 'string' ? msg : '',
      fields,
    }
  } catch {
    return {service, time: undefined, level: 'info', message: line, fields: {}}
  }
}

/** The services that have a log. */
export async function devnetLogServices(dataDir: string): Promise<string[]> {
  try {
    const names = await readdir(devnetLayout(dataDir).logs)
    return names
      .filter((name) => name.endsWith('.log'))
      .map((name) => basename(name, '.log'))
      .sort()
  } catch {
    return []
  }
}

/**
 * Reads the devnet's logs (one service or all), and with `follow` keeps reading until `signal` aborts.
 *
 * @throws USAGE for an unknown service
 */
export async function devnetLogs(options: {
  dataDir: string
  service?: string | undefined
  follow?: boolean | undefined
  onLine: (line: DevnetLogLine) => void
  signal?: AbortSignal | undefined
}): Promise<void> {
  const known = await devnetLogServices(options.dataDir)
  if (options.service !== undefined && !known.includes(options.service)) {
    throw lilypadError('USAGE', {
      message: `There is no log for "${options.service}".`,
      hints: [
        known.length === 0 ? 'Start the devnet first: lilypad devnet up.' : `Services: ${known.join(', ')}.`,
      ],
    })
  }
  const layout = devnetLayout(options.dataDir)
  const services = options.service === undefined ? known : [options.service]
  const offsets = new Map<string, number>()
  const partial = new Map<string, string>()
  const readNew = async (): Promise<void> => {
    for (const service of services) {
      const path = layout.log(service)
      let size: number
      try {
        size = (await stat(path)).size
      } catch {
        continue
      }
      const from = offsets.get(service) ?? 0
      if (size <= from) continue
      const handle = await open(path, 'r')
      try {
        const buffer = Buffer.alloc(size - from)
        await handle.read(buffer, 0, buffer.length, from)
        offsets.set(service, size)
        const text = (partial.get(service) ?? '') + buffer.toString('utf8')
        const lines = text.split('\n')
        partial.set(service, lines.pop() ?? '')
        for (const line of lines) if (line.trim() !== '') options.onLine(parseLine(service, line))
      } finally {
        await handle.close()
      }
    }
  }
  await readNew()
  while (options.follow === true && options.signal?.aborted !== true) {
    await sleep(250)
    await readNew()
  }
}

/**
 * The devnet of this data directory, started when it is not running (what `lilypad run` on
 * `local` does first).
 */
export async function ensureDevnet(options: DevnetUpOptions): Promise<DevnetUpResult> {
  return devnetUp(options)
}
