/**
 * `doctor`: every check a run depends on, each with a status and, when it fails, the exact fix
 * (peers.md §4.2: nothing should fail halfway through a paid run). Checks run in a fixed order;
 * a check whose prerequisite failed is skipped rather than failed twice, so the first failure is
 * the one to fix first. {@link preflight} runs the cheap subset before `run` sends anything.
 */
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {access, constants, mkdir, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {Wallet, formatEther} from 'ethers'

import {
  type ChainClient,
  connectNetwork,
  createChainClient,
  parsePrivateKey,
  probeChain,
} from '../chain/client.js'
import {LilypadToken__factory} from '../chain/generated/factories/LilypadToken__factory.js'
import {
  DEVNET_CHAIN_ID,
  type ResolvedConfig,
  childProcessEnv,
  devnetAddress,
  isWellKnownKey,
  processAlive,
  readDevnetState,
} from '../config/index.js'
import {formatLp, lpToWei} from '../deals/cost.js'
import {
  type ErrorCategory,
  type ErrorCode,
  type LilypadError,
  isLilypadError,
  lilypadError,
} from '../errors/index.js'
import {findSolverUrl} from '../solver/solver-url.js'
import {redact} from '../util/redact.js'

/** The solver rejects job offers whose `created_at` is further than this from its clock (§4). */
export const CLOCK_TOLERANCE_MS = 30_000

/** Gas of a job creator's whole path (permit + agree, then accept), the contracts' budget. */
export const RUN_GAS = 250_000n

/** Headroom over the current gas price: prices move between the check and the run. */
const GAS_PRICE_HEADROOM = 2n

/** The oldest Node the CLI supports (package.json `engines`). */
export const MINIMUM_NODE = [20, 19] as const

/** The oldest git the module cache is tested with. */
export const MINIMUM_GIT = [2, 20] as const

/** Faucets of Lilypad's testnet (Arbitrum Sepolia), protocol §5.4. */
export const TESTNET_FAUCETS = {
  lp: 'https://faucet-testnet.lilypad.tech/',
  eth: 'an Arbitrum Sepolia ETH faucet (see https://docs.arbitrum.io/for-devs/dev-tools-and-resources/chain-info#faucets)',
} as const

/** A check's identity, in the order checks run. */
export type CheckId =
  | 'node'
  | 'git'
  | 'config'
  | 'data-dir'
  | 'devnet'
  | 'rpc'
  | 'solver'
  | 'solver-version'
  | 'clock'
  | 'key'
  | 'eth'
  | 'lp'
  | 'allowance'
  | 'module-cache'

/** The outcome of one check. `warn` and `skip` do not fail the doctor. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

/** One check's result. */
export interface DoctorCheck {
  id: CheckId
  title: string
  status: CheckStatus
  /** What was found (never a secret). */
  detail: string
  /** What to do, when the check did not pass. */
  fix: string[]
  /** The error code a failure maps to; its category sets the exit code. */
  code?: ErrorCode
}

/** What {@link runDoctor} returns. */
export interface DoctorReport {
  network: string | undefined
  account: string | undefined
  checks: DoctorCheck[]
  ok: boolean
  /** The first failed check, when any. */
  firstFailure: DoctorCheck | undefined
}

/** A progress event: one check finished. */
export interface DoctorEvent {
  type: 'doctor.check'
  check: DoctorCheck
}

/** Options of {@link runDoctor} and {@link preflight}. */
export interface DoctorOptions {
  /** Time-out of each network request (ms). Default 5,000. */
  timeoutMs?: number | undefined
  /** The local clock, for tests of the skew check. */
  now?: (() => number) | undefined
  /** The git program. Default `git` on PATH. */
  git?: string | undefined
  signal?: AbortSignal | undefined
  onEvent?: ((event: DoctorEvent) => void) | undefined
}

type Config = Pick<
  ResolvedConfig,
  'network' | 'dataDir' | 'configFile' | 'privateKey' | 'keySource' | 'keystoreAccount' | 'devnet'
>

const TITLES: Record<CheckId, string> = {
  node: 'Node.js version',
  git: 'git installed',
  config: 'config file valid',
  'data-dir': 'data directory writable',
  devnet: 'devnet services',
  rpc: 'RPC reachable, on the chain ID',
  solver: 'solver reachable',
  'solver-version': 'solver accepts this version',
  clock: 'clock within 30 s of the solver',
  key: 'a key to sign with',
  eth: 'ETH for gas',
  lp: 'LP for the maximum price',
  allowance: 'allowance or permit',
  'module-cache': 'module cache healthy',
}

function check(
  id: CheckId,
  status: CheckStatus,
  detail: string,
  fix: string[] = [],
  code?: ErrorCode,
): DoctorCheck {
  return {id, title: TITLES[id], status, detail, fix, ...(code === undefined ? {} : {code})}
}

function failFrom(id: CheckId, error: unknown, extraFix: string[] = []): DoctorCheck {
  const err = isLilypadError(error) ? error : undefined
  const message = err?.message ?? (error instanceof Error ? error.message : String(error))
  return check(
    id,
    'fail',
    redact(message),
    [...extraFix, ...(err?.hints ?? [])],
    (err?.code as ErrorCode | undefined) ?? 'INTERNAL',
  )
}

function versionAtLeast(actual: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i += 1) {
    const a = actual[i] ?? 0
    const m = minimum[i] ?? 0
    if (a !== m) return a > m
  }
  return true
}

function checkNode(): DoctorCheck {
  const version = process.versions.node
  const parts = version.split('.').map(Number)
  return versionAtLeast(parts, MINIMUM_NODE)
    ? check('node', 'pass', `Node ${version}`)
    : check(
        'node',
        'fail',
        `Node ${version} is older than ${MINIMUM_NODE.join('.')}.`,
        [`Install Node ${MINIMUM_NODE.join('.')} or newer (https://nodejs.org/, or: nvm install 22).`],
        'NODE_UNSUPPORTED',
      )
}

async function checkGit(git: string): Promise<DoctorCheck> {
  const install = 'Install git 2.20 or newer (apt install git, brew install git, https://git-scm.com/).'
  try {
    const {stdout} = await promisify(execFile)(git, ['--version'], {env: childProcessEnv(), timeout: 10_000})
    const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(stdout)
    if (match === null)
      return check(
        'git',
        'fail',
        `Cannot read the git version from "${stdout.trim()}".`,
        [install],
        'GIT_UNAVAILABLE',
      )
    const parts = match.slice(1, 3).map(Number)
    return versionAtLeast(parts, MINIMUM_GIT)
      ? check('git', 'pass', `git ${match[0]}`)
      : check(
          'git',
          'fail',
          `git ${match[0]} is older than ${MINIMUM_GIT.join('.')}.`,
          [install],
          'GIT_UNAVAILABLE',
        )
  } catch {
    return check(
      'git',
      'fail',
      `git (${git}) cannot be run: modules are fetched with git.`,
      [install],
      'GIT_UNAVAILABLE',
    )
  }
}

async function checkDataDir(dataDir: string): Promise<DoctorCheck> {
  const probe = join(dataDir, `.doctor-${randomBytes(4).toString('hex')}`)
  try {
    await mkdir(dataDir, {recursive: true})
    await writeFile(probe, 'ok', {flag: 'wx'})
    await rm(probe, {force: true})
    return check('data-dir', 'pass', dataDir)
  } catch (error) {
    return check(
      'data-dir',
      'fail',
      `Cannot write to ${dataDir}: ${(error as Error).message}`,
      [`Make ${dataDir} writable, or choose another: --data-dir DIR or DATA_DIR=DIR.`],
      'DATA_DIR_NOT_WRITABLE',
    )
  }
}

function checkDevnet(config: Config): DoctorCheck {
  const state = readDevnetState(config.dataDir)
  const up = 'Start it: lilypad devnet up (or let lilypad run start it).'
  if (state === undefined || config.devnet !== 'running') {
    return check(
      'devnet',
      'fail',
      `The devnet is not running on ${config.dataDir}.`,
      [up],
      'DEVNET_NOT_RUNNING',
    )
  }
  const down = state.services.filter((service) => service.state === 'running' && !processAlive(service.pid))
  if (down.length > 0) {
    return check(
      'devnet',
      'fail',
      `The devnet runs but these services stopped: ${down.map((s) => s.name).join(', ')}.`,
      ['Restart it: lilypad devnet down && lilypad devnet up.', 'See why: lilypad devnet logs.'],
      'DEVNET_NOT_RUNNING',
    )
  }
  return check(
    'devnet',
    'pass',
    `${state.services.length} services running (chain ${state.chainId}, ${state.rpcUrl})`,
  )
}

function rpcFix(config: Config): string[] {
  if (config.network.devnet) return ['Restart the devnet: lilypad devnet down && lilypad devnet up.']
  return [
    `Set WEB3_RPC_URL to an HTTP endpoint of chain ${config.network.chainId}, or fix rpcUrls of "${config.network.name}" in your config file.`,
  ]
}

/** Connects as `connectNetwork` does, keeping the block number its probe already read. */
async function connectForCheck(
  network: Config['network'],
  timeoutMs: number,
): Promise<ChainClient & {blockNumber: number}> {
  const rpcUrl = network.rpcUrls[0]
  if (rpcUrl === undefined) {
    const client = await connectNetwork(network, {timeoutMs, pollingIntervalMs: 1000})
    return Object.assign(client, {blockNumber: await client.provider.getBlockNumber()})
  }
  const client = createChainClient({rpcUrl, chainId: network.chainId, timeoutMs, pollingIntervalMs: 1000})
  try {
    return Object.assign(client, await probeChain(client))
  } catch (error) {
    client.destroy()
    throw error
  }
}

async function checkRpc(
  config: Config,
  timeoutMs: number,
): Promise<{check: DoctorCheck; client?: ChainClient}> {
  try {
    const client = await connectForCheck(config.network, timeoutMs)
    const block = client.blockNumber
    return {
      check: check('rpc', 'pass', `chain ${client.chainId} at block ${block} (${redact(client.rpcUrl)})`),
      client,
    }
  } catch (error) {
    if (isLilypadError(error) && error.code === 'WRONG_CHAIN') {
      const actual = JSON.stringify(error.details.actual ?? null)
      return {
        check: check(
          'rpc',
          'fail',
          `${redact(config.network.rpcUrls[0] ?? '')} serves chain ${actual}, but the network "${config.network.name}" is chain ${config.network.chainId}.`,
          [
            `Point WEB3_RPC_URL at chain ${config.network.chainId}, or set "chainId": ${actual} on "${config.network.name}" in your config file if that chain is the right one.`,
          ],
          'WRONG_CHAIN',
        ),
      }
    }
    return {check: failFrom('rpc', error, rpcFix(config))}
  }
}

interface SolverProbe {
  checks: DoctorCheck[]
  /** Solver clock minus ours, in ms, when it could be read. */
  skewMs?: number
}

async function resolveSolverUrl(
  config: Config,
  client: ChainClient | undefined,
): Promise<string | undefined> {
  const network = config.network
  if (network.solverUrl !== undefined) return network.solverUrl
  if (client === undefined || network.contracts.users === undefined || network.solverAddress === undefined) {
    return undefined
  }
  return findSolverUrl({
    provider: client.provider,
    usersAddress: network.contracts.users,
    solverAddress: network.solverAddress,
  })
}

async function probeSolver(
  config: Config,
  client: ChainClient | undefined,
  options: {timeoutMs: number; now: () => number; signal?: AbortSignal | undefined},
): Promise<SolverProbe> {
  const skipRest = (why: string): DoctorCheck[] => [
    check('solver-version', 'skip', why),
    check('clock', 'skip', why),
  ]
  let url: string | undefined
  try {
    url = await resolveSolverUrl(config, client)
  } catch (error) {
    return {checks: [failFrom('solver', error), ...skipRest('the solver could not be found')]}
  }
  if (url === undefined) {
    return {
      checks: [
        check(
          'solver',
          'fail',
          `The network "${config.network.name}" names no solver URL, and the chain could not be asked for it.`,
          ['Add solverUrl to the network in your config file, or fix the RPC check above.'],
          'CONFIG_INVALID',
        ),
        ...skipRest('no solver URL'),
      ],
    }
  }
  const endpoint = `${url.replace(/\/+$/, '')}/api/v1/resource_offers?active=true&not_matched=true`
  const started = options.now()
  let response: Response
  try {
    const signals = [
      AbortSignal.timeout(options.timeoutMs),
      ...(options.signal === undefined ? [] : [options.signal]),
    ]
    response = await fetch(endpoint, {signal: AbortSignal.any(signals)})
  } catch (error) {
    return {
      checks: [
        check(
          'solver',
          'fail',
          `The solver at ${redact(url)} did not answer: ${(error as Error).message}`,
          config.network.devnet
            ? ['Restart the devnet: lilypad devnet down && lilypad devnet up.']
            : ['Check your connection, or the solverUrl of the network in your config file.'],
          'SOLVER_UNREACHABLE',
        ),
        ...skipRest('the solver did not answer'),
      ],
    }
  }
  const finished = options.now()
  const body = await response.text().catch(() => '')
  const checks: DoctorCheck[] = []
  if (response.ok) {
    let offers = ''
    try {
      const list = JSON.parse(body) as unknown
      if (Array.isArray(list)) offers = `, ${list.length} resource offer${list.length === 1 ? '' : 's'} open`
    } catch {
      // A solver that is not Lilypad's still answers; the count is only informative.
    }
    checks.push(check('solver', 'pass', `${redact(url)} (HTTP ${response.status}${offers})`))
  } else {
    checks.push(
      check(
        'solver',
        'fail',
        `The solver at ${redact(url)} answered HTTP ${response.status}: ${body.slice(0, 200).trim()}`,
        ['Try again later; if it persists, check the solverUrl of the network.'],
        response.status === 429 || response.status === 503 ? 'SOLVER_BUSY' : 'SOLVER_ERROR',
      ),
    )
  }
  const version = response.headers.get('x-lilypad-version')
  checks.push(
    version === null || version === ''
      ? check(
          'solver-version',
          'skip',
          'The solver does not announce its version; it checks this client’s when a job offer is posted.',
        )
      : check('solver-version', 'pass', `solver ${version}`),
  )
  const date = response.headers.get('date')
  const solverMs = date === null ? Number.NaN : Date.parse(date)
  if (Number.isNaN(solverMs)) {
    checks.push(check('clock', 'warn', 'The solver sent no Date header; the clock could not be compared.'))
    return {checks}
  }
  // HTTP dates have whole seconds: the solver's clock was somewhere in [date, date + 1 s).
  const skewMs = solverMs + 500 - (started + finished) / 2
  const seconds = Math.round(skewMs / 1000)
  const ahead = seconds >= 0 ? `${seconds} s ahead of` : `${-seconds} s behind`
  checks.push(
    Math.abs(skewMs) <= CLOCK_TOLERANCE_MS
      ? check('clock', 'pass', `the solver's clock is ${ahead} this computer's`)
      : check(
          'clock',
          'fail',
          `The solver's clock is ${ahead} this computer's; it rejects job offers more than 30 s off.`,
          [
            "Synchronise this computer's clock: sudo timedatectl set-ntp true (Linux), or turn on 'Set time automatically' (macOS, Windows).",
          ],
          'SOLVER_CLOCK_SKEW',
        ),
  )
  return {checks, skewMs}
}

/** The chain is not needed: a solver-protocol network with its solver URL in the profile. */
function chainless(config: Config): boolean {
  return config.network.protocol === 'solver' && config.network.solverUrl !== undefined
}

/** Why the balance checks are skipped on a solver-protocol network, or undefined when they run. */
function noFundsNeeded(config: Config): string | undefined {
  return config.network.protocol === 'solver'
    ? `the solver protocol of "${config.network.name}" moves no ETH or LP`
    : undefined
}

/** Lower-case addresses of the public development keys (`devnetAddress` throws past the last one). */
function wellKnownAddresses(): Set<string> {
  const found = new Set<string>()
  for (let index = 0; ; index += 1) {
    try {
      found.add(devnetAddress(index).toLowerCase())
    } catch {
      return found
    }
  }
}

function onDevnetChain(config: Config): boolean {
  return config.network.devnet && config.network.chainId === DEVNET_CHAIN_ID
}

function keyFix(config: Config): string[] {
  return [
    'Create an encrypted account: lilypad wallet create (or import one: lilypad wallet import).',
    ...(config.network.devnet ? [] : ['Or export WEB3_PRIVATE_KEY=<64 hex digits> for one session.']),
  ]
}

function checkKey(config: Config): {check: DoctorCheck; account?: string} {
  switch (config.keySource) {
    case 'env': {
      let key: string
      try {
        key = parsePrivateKey(config.privateKey ?? '')
      } catch (error) {
        return {check: failFrom('key', error)}
      }
      if (!onDevnetChain(config) && isWellKnownKey(key)) {
        return {
          check: check(
            'key',
            'fail',
            `WEB3_PRIVATE_KEY is a public development key; it is refused on "${config.network.name}".`,
            keyFix(config),
            'WELL_KNOWN_KEY',
          ),
        }
      }
      const account = new Wallet(key).address
      return {check: check('key', 'pass', `${account} from WEB3_PRIVATE_KEY`), account}
    }
    case 'keystore': {
      const stored = config.keystoreAccount
      if (stored === undefined)
        return {
          check: check('key', 'fail', 'The keystore account is missing.', keyFix(config), 'WALLET_NOT_FOUND'),
        }
      // Importing a development key into the keystore does not make it private.
      if (!onDevnetChain(config) && wellKnownAddresses().has(stored.address.toLowerCase())) {
        return {
          check: check(
            'key',
            'fail',
            `The keystore account ${stored.address} has a public development key; it is refused on "${config.network.name}".`,
            ['Choose another account: lilypad wallet use <address>, or create one: lilypad wallet create.'],
            'WELL_KNOWN_KEY',
          ),
        }
      }
      return {
        check: check('key', 'pass', `${stored.address} from the keystore (${stored.path})`),
        account: stored.address,
      }
    }
    case 'devnet': {
      const account = devnetAddress('jobCreator')
      return {check: check('key', 'pass', `${account}, the devnet's job creator`), account}
    }
    case undefined:
      return {
        check: check(
          'key',
          'fail',
          `No key to sign with on "${config.network.name}".`,
          keyFix(config),
          'PRIVATE_KEY_MISSING',
        ),
      }
  }
}

function fundFix(config: Config, account: string, what: 'eth' | 'lp'): string[] {
  if (config.network.devnet) return [`lilypad devnet fund ${account}`]
  if (config.network.name === 'testnet' || config.network.chainId === 421614) {
    return what === 'lp'
      ? [`Get testnet LP for ${account} from ${TESTNET_FAUCETS.lp}`]
      : [`Get Arbitrum Sepolia ETH for ${account} from ${TESTNET_FAUCETS.eth}.`]
  }
  return [`Send ${what === 'lp' ? 'LP' : 'ETH'} to ${account} on chain ${config.network.chainId}.`]
}

/** ETH for a run's gas at the current price, twice over. */
async function checkEth(config: Config, client: ChainClient, account: string): Promise<DoctorCheck> {
  try {
    const [fees, eth] = await Promise.all([client.provider.getFeeData(), client.provider.getBalance(account)])
    const price = fees.maxFeePerGas ?? fees.gasPrice ?? 0n
    const needed = RUN_GAS * price * GAS_PRICE_HEADROOM
    return eth >= needed && eth > 0n
      ? check(
          'eth',
          'pass',
          `${formatEther(eth)} ETH; a run needs about ${formatEther(needed)} ETH at the current gas price`,
        )
      : check(
          'eth',
          'fail',
          `${account} has ${formatEther(eth)} ETH; a run needs about ${formatEther(needed > 0n ? needed : 1n)} ETH for gas (${RUN_GAS} gas at ${formatEther(price)} ETH, twice over).`,
          fundFix(config, account, 'eth'),
          'INSUFFICIENT_FUNDS',
        )
  } catch (error) {
    return failFrom('eth', error)
  }
}

async function checkFunds(config: Config, client: ChainClient, account: string): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [await checkEth(config, client, account)]
  const {token, controller} = config.network.contracts
  if (token === undefined || controller === undefined) {
    const why = `The network "${config.network.name}" names no LP token or controller.`
    out.push(
      check(
        'lp',
        'fail',
        why,
        ['Add contracts.token and contracts.controller to the network in your config file.'],
        'CONFIG_INVALID',
      ),
    )
    out.push(check('allowance', 'skip', why))
    return out
  }
  const erc20 = LilypadToken__factory.connect(token, client.provider)
  const maxPrice = lpToWei(config.network.maxPrice)
  try {
    const [lp, allowance] = await Promise.all([
      erc20.balanceOf(account),
      erc20.allowance(account, controller),
    ])
    out.push(
      lp >= maxPrice
        ? check('lp', 'pass', `${formatLp(lp)}; the maximum price is ${formatLp(maxPrice)}`)
        : check(
            'lp',
            'fail',
            `${account} has ${formatLp(lp)}, less than the maximum price of ${formatLp(maxPrice)}.`,
            [
              ...fundFix(config, account, 'lp'),
              'Or lower the cap: --max-price, or maxPrice on the network profile.',
            ],
            'LP_BALANCE_TOO_LOW',
          ),
    )
    if (allowance >= maxPrice) {
      out.push(check('allowance', 'pass', `the controller may take ${formatLp(allowance)}`))
    } else {
      const permit = await Promise.all([erc20.DOMAIN_SEPARATOR(), erc20.nonces(account)]).then(
        () => true,
        () => false,
      )
      out.push(
        permit
          ? check(
              'allowance',
              'pass',
              'the token takes EIP-2612 permits: run signs one instead of an approval',
            )
          : check(
              'allowance',
              'fail',
              `The controller may take ${formatLp(allowance)} of ${account}'s LP and the token takes no permits.`,
              [
                `Approve the controller ${controller} for at least ${formatLp(maxPrice)} on the token ${token}.`,
              ],
              'LP_ALLOWANCE_TOO_LOW',
            ),
      )
    }
  } catch (error) {
    out.push(failFrom('lp', error))
    out.push(check('allowance', 'skip', 'the LP token could not be read'))
  }
  return out
}

/** A cache lock older than this was left by a process that died. */
const STALE_LOCK_MS = 10 * 60_000

async function checkModuleCache(dataDir: string, now: () => number): Promise<DoctorCheck> {
  const dir = join(dataDir, 'repos')
  let names: string[]
  try {
    names = await readdir(dir, {recursive: true})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return check('module-cache', 'pass', `${dir} (empty: filled on first use)`)
    return check(
      'module-cache',
      'fail',
      `Cannot read ${dir}: ${(error as Error).message}`,
      [`Remove ${dir}; it is rebuilt on demand.`],
      'MODULE_CACHE_FAILED',
    )
  }
  try {
    await access(dir, constants.W_OK)
  } catch {
    return check(
      'module-cache',
      'fail',
      `${dir} is not writable.`,
      [`Make ${dir} writable, or remove it.`],
      'MODULE_CACHE_FAILED',
    )
  }
  const stale: string[] = []
  for (const name of names.filter(
    (n) => n.endsWith('.lock') && !n.includes('/.git/') && !n.startsWith('.git/'),
  )) {
    const info = await stat(join(dir, name)).catch(() => undefined)
    if (info !== undefined && now() - info.mtimeMs > STALE_LOCK_MS) stale.push(join(dir, name))
  }
  if (stale.length > 0) {
    return check(
      'module-cache',
      'warn',
      `${stale.length} download lock${stale.length === 1 ? '' : 's'} left by a stopped process (taken over on next use).`,
      stale.map((path) => `rm -r ${path}`),
    )
  }
  return check('module-cache', 'pass', dir)
}

/**
 * Runs every check. Never throws for a failed check: each is reported with its fix.
 *
 * @param config - the resolved configuration, or the error resolving it threw (then only the
 *   checks that need no configuration run)
 * @param options - time-out, clock, git program, signal, progress
 * @returns the report; `ok` is false when any check failed
 * @throws INTERRUPTED when `signal` aborts
 * @example
 * const report = await runDoctor(config)
 * if (!report.ok) console.error(report.firstFailure?.fix.join('\n'))
 */
export async function runDoctor(
  config: Config | LilypadError,
  options: DoctorOptions = {},
): Promise<DoctorReport> {
  const checks: DoctorCheck[] = []
  const add = (...items: DoctorCheck[]): void => {
    for (const item of items) {
      if (options.signal?.aborted === true) throw lilypadError('INTERRUPTED', {message: 'Interrupted.'})
      checks.push(item)
      options.onEvent?.({type: 'doctor.check', check: item})
    }
  }
  const now = options.now ?? Date.now
  const timeoutMs = options.timeoutMs ?? 5_000
  add(checkNode(), await checkGit(options.git ?? 'git'))
  if (isLilypadError(config)) {
    add(failFrom('config', config))
    return report(undefined, undefined, checks)
  }
  add(check('config', 'pass', config.configFile ?? 'no config file (built-in profiles)'))
  add(await checkDataDir(config.dataDir))
  let account: string | undefined
  let client: ChainClient | undefined
  try {
    const devnetDown = config.network.devnet && config.devnet !== 'running'
    if (config.network.devnet) add(checkDevnet(config))
    const rest = 'the devnet is not running'
    if (devnetDown) {
      add(
        check('rpc', 'skip', rest),
        check('solver', 'skip', rest),
        check('solver-version', 'skip', rest),
        check('clock', 'skip', rest),
      )
    } else {
      if (chainless(config)) {
        add(check('rpc', 'skip', `the solver protocol of "${config.network.name}" needs no chain`))
      } else {
        const rpc = await checkRpc(config, timeoutMs)
        client = rpc.client
        add(rpc.check)
      }
      add(...(await probeSolver(config, client, {timeoutMs, now, signal: options.signal})).checks)
    }
    const key = checkKey(config)
    account = key.account
    add(key.check)
    const fundsSkipped = noFundsNeeded(config)
    if (fundsSkipped !== undefined) {
      add(
        check('eth', 'skip', fundsSkipped),
        check('lp', 'skip', fundsSkipped),
        check('allowance', 'skip', fundsSkipped),
      )
    } else if (client !== undefined && account !== undefined) {
      add(...(await checkFunds(config, client, account)))
    } else {
      const why = account === undefined ? 'no key' : 'the chain could not be reached'
      add(check('eth', 'skip', why), check('lp', 'skip', why), check('allowance', 'skip', why))
    }
    add(await checkModuleCache(config.dataDir, now))
  } finally {
    client?.destroy()
  }
  return report(config.network.name, account, checks)
}

function report(
  network: string | undefined,
  account: string | undefined,
  checks: DoctorCheck[],
): DoctorReport {
  const firstFailure = checks.find((item) => item.status === 'fail')
  return {network, account, checks, ok: firstFailure === undefined, firstFailure}
}

/**
 * Converts a failed check into the error it stands for (its code, so its exit code).
 *
 * @returns a LilypadError whose hints are the check's fix
 */
export function checkError(failed: DoctorCheck, checks: readonly DoctorCheck[] = [failed]): LilypadError {
  const failures = checks.filter((item) => item.status === 'fail')
  return lilypadError(failed.code ?? 'INTERNAL', {
    message:
      failures.length > 1
        ? `${failed.title}: ${failed.detail} (${failures.length - 1} more check${failures.length === 2 ? '' : 's'} failed)`
        : `${failed.title}: ${failed.detail}`,
    hints: failed.fix,
    details: {
      check: failed.id,
      failed: failures.map((item) => item.id),
      checks: checks.map((item) => ({
        id: item.id,
        title: item.title,
        status: item.status,
        detail: item.detail,
        fix: [...item.fix],
        ...(item.code === undefined ? {} : {code: item.code}),
      })),
    },
  })
}

/** The error category of a report's first failure, for the exit code. */
export function failureCategory(doctor: DoctorReport): ErrorCategory | undefined {
  const failed = doctor.firstFailure
  return failed === undefined ? undefined : checkError(failed).category
}

/**
 * The cheap checks `run` makes before it sends anything: a key, the devnet (on `local`), the RPC on
 * the right chain, the solver reachable with its clock within 30 s, and ETH for the gas. LP is left to
 * the run, which knows the deal's real price. On a solver-protocol network nothing moves on chain: no
 * ETH check, and no RPC check either when the profile names the solver's URL.
 *
 * @param config - the resolved configuration
 * @returns the checks that passed (or were skipped)
 * @throws the first failure as its own code with the fix as hints: PRIVATE_KEY_MISSING,
 *   WELL_KNOWN_KEY, DEVNET_NOT_RUNNING, RPC_UNREACHABLE, WRONG_CHAIN, SOLVER_UNREACHABLE,
 *   SOLVER_CLOCK_SKEW, INSUFFICIENT_FUNDS
 * @example
 * await preflight(config, {signal})
 */
export async function preflight(config: Config, options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  const add = (item: DoctorCheck): void => {
    checks.push(item)
    options.onEvent?.({type: 'doctor.check', check: item})
    if (item.status === 'fail') throw checkError(item)
  }
  const key = checkKey(config)
  add(key.check)
  if (config.network.devnet) add(checkDevnet(config))
  const timeoutMs = options.timeoutMs ?? 5_000
  const probeOptions = {timeoutMs, now: options.now ?? Date.now, signal: options.signal}
  // The checks are independent round trips: all start at once (the solver waits for the chain only
  // when the chain must name its URL); they are reported, and fail, in their fixed order.
  const rpcPending: Promise<{check: DoctorCheck; client?: ChainClient}> = chainless(config)
    ? Promise.resolve({
        check: check('rpc', 'skip', `the solver protocol of "${config.network.name}" needs no chain`),
      })
    : checkRpc(config, timeoutMs)
  const solverPending =
    config.network.solverUrl === undefined
      ? rpcPending.then(async (rpc) => probeSolver(config, rpc.client, probeOptions))
      : probeSolver(config, undefined, probeOptions)
  const account = key.account
  const ethPending = rpcPending.then(async (rpc) =>
    rpc.client === undefined || account === undefined || noFundsNeeded(config) !== undefined
      ? undefined
      : checkEth(config, rpc.client, account),
  )
  try {
    add((await rpcPending).check)
    for (const item of (await solverPending).checks) add(item)
    const eth = await ethPending
    if (eth !== undefined) add(eth)
  } finally {
    await Promise.allSettled([solverPending, ethPending])
    ;(await rpcPending).client?.destroy()
  }
  return checks
}
