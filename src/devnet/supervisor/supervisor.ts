/**
 * The devnet supervisor: one per data directory. It owns anvil and git daemon as child processes and
 * runs the solver, the resource provider(s) and the mediator in-process, each a separate Lilypad party
 * with its own key that reaches the others only over HTTP, websocket and the chain (DESIGN §10).
 */
import {createHash} from 'node:crypto'
import {mkdir, readFile, readdir, rename, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {JsonRpcProvider, Wallet, parseUnits} from 'ethers'
import pino, {type Logger} from 'pino'

import {
  BUILTIN_NETWORKS,
  DEVNET_CHAIN_ID,
  DEVNET_DEFAULT_PORTS,
  DEVNET_ROLES,
  type DevnetRole,
  type DevnetService,
  type DevnetState,
  childProcessEnv,
  processStartTime,
  devnetAddress,
  defineNetwork,
  devnetPrivateKey,
} from '../../core/config/index.js'
import {DEVNET_JOB_CREATOR_SERVICE_ACCOUNT} from '../../core/config/devnet.js'
import {deployContracts} from '../../core/chain/deploy.js'
import {lilypadError} from '../../core/errors/index.js'
import {LilypadToken__factory} from '../../core/chain/generated/factories/LilypadToken__factory.js'
import {SerialSigner} from '../../core/chain/signer.js'
import {startGitServer} from '../git/git-server.js'
import {MODULE_SOURCES_DIR, buildModuleRepos} from '../git/repos.js'
import {startAnvil} from './anvil.js'
import {type DevnetLayout, type DevnetSetup, devnetLayout} from './layout.js'
import {pickPort} from './processes.js'

/** LP each party of the devnet holds after the first start (the faucet keeps the rest for `fund`). */
const PARTY_LP = parseUnits('100000', 18)
const FAUCET_LP = parseUnits('100000000', 18)
/** Extra resource providers use the mnemonic's accounts from here on (6–9). */
const EXTRA_PROVIDER_ACCOUNT = 6
const MAX_PROVIDERS = 5

/** Options of {@link runSupervisor}. */
export interface SupervisorOptions {
  dataDir: string
  protocol?: 'onchain' | 'solver' | undefined
  providers?: number | undefined
  fault?: DevnetSetup['fault']
  signal?: AbortSignal | undefined
}

/** A running devnet, owned by this process. */
export interface RunningDevnet {
  state: DevnetState
  stop(): Promise<void>
}

/** Writes `path` atomically (temp file + rename), so readers never see half a file. */
export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  const temp = `${path}.${process.pid}.tmp`
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, {mode: 0o644})
  await rename(temp, path)
}

async function readSetup(layout: DevnetLayout): Promise<Partial<DevnetSetup>> {
  try {
    return JSON.parse(await readFile(layout.setup, 'utf8')) as Partial<DevnetSetup>
  } catch {
    return {}
  }
}

function fileLogger(layout: DevnetLayout, service: string): Logger {
  return pino(
    {base: {service}},
    pino.destination({dest: layout.log(service), append: true, sync: true, mkdir: true}),
  )
}

/** A digest of the example modules' sources: the repositories are rebuilt only when it changes. */
async function sourcesDigest(): Promise<string> {
  // The format version changes whenever repos.ts changes how repositories are written.
  const hash = createHash('sha256').update('repos-v1\0')
  const names = (await readdir(MODULE_SOURCES_DIR, {recursive: true, withFileTypes: true}))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
  for (const name of names)
    hash.update(`${name.slice(MODULE_SOURCES_DIR.length)}\0`).update(await readFile(name))
  return hash.digest('hex')
}

/** Builds the example module repositories unless the same sources were built there before. */
async function moduleRepos(dir: string, signal: AbortSignal | undefined): Promise<void> {
  const stamp = join(dir, '.sources.sha256')
  const digest = await sourcesDigest()
  const built = await readFile(stamp, 'utf8').catch(() => '')
  if (built === digest) return
  await buildModuleRepos(dir, {signal})
  await writeFile(stamp, digest)
}

/**
 * The services' code, loaded while the chain and the git server start (the import takes about as
 * long as they do, so a warm start overlaps the two).
 */
async function loadServices() {
  const [solver, provider, mediator, jobCreator, runner] = await Promise.all([
    import('../solver/index.js'),
    import('../provider/index.js'),
    import('../mediator/index.js'),
    import('../jobcreator/index.js'),
    import('../jobcreator/devnet-runner.js'),
  ])
  return {
    startSolver: solver.startSolver,
    startProvider: provider.startProvider,
    startMediator: mediator.startMediator,
    startJobCreatorService: jobCreator.startJobCreatorService,
    devnetJobRunner: runner.devnetJobRunner,
  }
}

/** Account index of resource provider `i`. */
function providerAccount(i: number): DevnetRole | number {
  return i === 0 ? 'resourceProvider' : EXTRA_PROVIDER_ACCOUNT + i - 1
}

/** anvil does not keep an `evm_increaseTime` offset across a restart: never let chain time go back. */
async function keepChainTimeMonotonic(provider: JsonRpcProvider): Promise<void> {
  const latest = await provider.getBlock('latest')
  const now = Math.floor(Date.now() / 1000)
  if (latest !== null && latest.timestamp >= now) {
    await provider.send('evm_increaseTime', [latest.timestamp - now + 1])
    await provider.send('evm_mine', [])
  }
}

async function deployAndFund(
  rpc: JsonRpcProvider,
  setup: Partial<DevnetSetup>,
  providers: number,
  log: Logger,
): Promise<NonNullable<DevnetSetup['deployment']>> {
  const admin = new SerialSigner(new Wallet(devnetPrivateKey('admin'), rpc))
  let deployment = setup.deployment
  if (deployment !== undefined && (await rpc.getCode(deployment.contracts.LilypadController)) === '0x') {
    log.warn('the chain lost the contracts (its state was reset): deploying again')
    deployment = undefined
  }
  // A devnet set up before the on-chain job creator existed (or whose job creator is gone) gets a
  // whole new deployment, and every party its LP again, rather than one contract wired to old ones.
  const jobCreator = deployment?.contracts.LilypadOnChainJobCreator
  if (deployment !== undefined && (jobCreator === undefined || (await rpc.getCode(jobCreator)) === '0x')) {
    log.warn('the deployment has no on-chain job creator: deploying every contract again')
    deployment = undefined
  }
  if (deployment === undefined) {
    const deployed = await deployContracts(admin, {
      timeoutMs: 30_000,
      jobCreatorService: devnetAddress(DEVNET_JOB_CREATOR_SERVICE_ACCOUNT),
    })
    deployment = {contracts: deployed.addresses, blockNumber: deployed.blockNumber, funded: []}
    log.info({contracts: deployed.addresses}, 'contracts deployed')
  }
  const token = LilypadToken__factory.connect(deployment.contracts.LilypadToken, admin)
  const parties = [
    devnetAddress('solver'),
    devnetAddress('mediator'),
    devnetAddress('jobCreator'),
    devnetAddress(DEVNET_JOB_CREATOR_SERVICE_ACCOUNT),
    ...Array.from({length: providers}, (_, i) => devnetAddress(providerAccount(i))),
  ]
  const faucet = devnetAddress('faucet')
  const funded = new Set(deployment.funded)
  const pending = []
  for (const account of [faucet, ...parties]) {
    if (funded.has(account)) continue
    pending.push(await token.transfer(account, account === faucet ? FAUCET_LP : PARTY_LP))
    funded.add(account)
  }
  await Promise.all(pending.map((tx) => tx.wait()))
  return {...deployment, funded: [...funded]}
}

/**
 * Starts a whole devnet in this process and returns once every service answers.
 *
 * @throws DEVNET_START_FAILED and whatever a service's start throws; everything started is stopped
 */
export async function runSupervisor(options: SupervisorOptions): Promise<RunningDevnet> {
  const layout = devnetLayout(options.dataDir)
  await mkdir(layout.logs, {recursive: true})
  const log = fileLogger(layout, 'supervisor')
  const previous = await readSetup(layout)
  const providers = Math.min(MAX_PROVIDERS, Math.max(1, options.providers ?? previous.providers ?? 1))
  const setup: DevnetSetup = {
    protocol: options.protocol ?? previous.protocol ?? 'onchain',
    providers,
    fault: options.fault,
    ports: {
      rpc: await pickPort(previous.ports?.rpc ?? DEVNET_DEFAULT_PORTS.rpc),
      solver: await pickPort(previous.ports?.solver ?? DEVNET_DEFAULT_PORTS.solver),
      git: await pickPort(previous.ports?.git ?? DEVNET_DEFAULT_PORTS.git),
    },
    ...(previous.deployment === undefined ? {} : {deployment: previous.deployment}),
  }
  const started = Date.now()
  const stops: (() => Promise<void>)[] = []
  const services: DevnetService[] = []
  const supervisorStartTime = processStartTime(process.pid)
  // Written at once and after each child starts, so `down` finds every PID even mid-start.
  const starting = (): Promise<void> =>
    writeJsonAtomically(layout.state, {
      version: 1,
      supervisorPid: process.pid,
      supervisorStartTime,
      ready: false,
      startedAt: new Date(started).toISOString(),
      services,
    })
  const phase = async (name: string): Promise<void> => {
    log.info({ms: Date.now() - started}, name)
    await starting()
    if (options.signal?.aborted === true)
      throw lilypadError('INTERRUPTED', {message: 'The devnet start was interrupted.'})
  }
  await starting()
  const servicesCode = loadServices()
  // Rejections surface where the code is awaited; never as an unhandled rejection meanwhile.
  servicesCode.catch(() => undefined)
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      try {
        await stop()
      } catch (error) {
        log.error({err: error}, 'a service did not stop cleanly')
      }
    }
    stops.length = 0
  }

  try {
    await mkdir(dirname(layout.chainState), {recursive: true})
    const gitLog = fileLogger(layout, 'git')
    const [anvilStart, gitStart] = await Promise.allSettled([
      startAnvil({
        port: setup.ports.rpc,
        stateFile: layout.chainState,
        logFile: layout.log('anvil'),
        signal: options.signal,
      }),
      moduleRepos(layout.git, options.signal).then(() =>
        startGitServer({
          baseDir: layout.git,
          port: setup.ports.git,
          signal: options.signal,
          onLog: (line) => {
            gitLog.info(line)
          },
        }),
      ),
    ])
    // Whichever started is stopped again if the other failed.
    if (anvilStart.status === 'fulfilled') {
      const {pid, url} = anvilStart.value
      stops.push(() => anvilStart.value.stop())
      services.push({name: 'anvil', pid, startTime: processStartTime(pid), state: 'running', url})
    }
    if (gitStart.status === 'fulfilled') {
      const {pid, url} = gitStart.value
      stops.push(() => gitStart.value.stop())
      services.push({name: 'git', pid, startTime: processStartTime(pid), state: 'running', url})
    }
    if (anvilStart.status === 'rejected') throw anvilStart.reason
    if (gitStart.status === 'rejected') throw gitStart.reason
    const anvil = anvilStart.value
    const git = gitStart.value
    await phase('chain and git server up')
    const rpc = new JsonRpcProvider(anvil.url, DEVNET_CHAIN_ID, {
      staticNetwork: true,
      cacheTimeout: -1,
      pollingInterval: 100,
    })
    stops.push(() => {
      rpc.destroy()
      return Promise.resolve()
    })
    await keepChainTimeMonotonic(rpc)
    const deployment = await deployAndFund(rpc, setup, providers, log)
    await phase('contracts ready')
    setup.deployment = deployment
    await writeJsonAtomically(layout.setup, setup)
    const {contracts} = deployment
    const chain = {rpcUrl: anvil.url, chainId: DEVNET_CHAIN_ID}
    const solverAddress = devnetAddress('solver')
    const mediatorAddress = devnetAddress('mediator')

    const {startSolver, startProvider, startMediator, startJobCreatorService, devnetJobRunner} =
      await servicesCode
    const solver = await startSolver({
      dataDir: layout.solver,
      port: setup.ports.solver,
      protocol: setup.protocol,
      solverAddress,
      chain: {
        ...chain,
        controller: contracts.LilypadController,
        users: contracts.LilypadUsers,
        privateKey: devnetPrivateKey('solver'),
        fromBlock: deployment.blockNumber,
      },
      logFile: layout.log('solver'),
    })
    stops.push(() => solver.stop())
    await phase('solver up')
    services.push({name: 'solver', pid: process.pid, state: 'running', url: solver.url})

    if (setup.protocol === 'onchain') {
      const mediator = await startMediator({
        solverUrl: solver.url,
        privateKey: devnetPrivateKey('mediator'),
        chain: {...chain, controller: contracts.LilypadController, fromBlock: deployment.blockNumber},
        dataDir: layout.mediator,
        logger: fileLogger(layout, 'mediator'),
      })
      stops.push(() => mediator.stop())
      await phase('mediator up')
      services.push({name: 'mediator', pid: process.pid, state: 'running'})
    }

    const providerAddresses: string[] = []
    for (let i = 0; i < providers; i += 1) {
      const name = providers === 1 ? 'resource-provider' : `resource-provider-${i}`
      const provider = await startProvider({
        solverUrl: solver.url,
        privateKey: devnetPrivateKey(providerAccount(i)),
        protocol: setup.protocol,
        chain: {...chain, controller: contracts.LilypadController, token: contracts.LilypadToken},
        dataDir: layout.provider(i),
        mediators: [mediatorAddress],
        solverAddress,
        fault: setup.fault,
        index: 0,
        logger: fileLogger(layout, name),
      })
      stops.push(() => provider.stop())
      providerAddresses.push(provider.address)
      services.push({name, pid: process.pid, state: 'running'})
    }

    await phase('providers up')

    // The on-chain job creator's service runs each contract's job as account #10, an ordinary job
    // creator on the `local` network, in its own data directory (journal, downloads, its state).
    const jobCreatorContract = contracts.LilypadOnChainJobCreator
    if (jobCreatorContract !== undefined) {
      const serviceKey = devnetPrivateKey(DEVNET_JOB_CREATOR_SERVICE_ACCOUNT)
      const local = BUILTIN_NETWORKS.local
      if (local === undefined) throw new Error('the built-in local network profile is missing')
      const network = defineNetwork({
        ...local,
        chainId: DEVNET_CHAIN_ID,
        rpcUrls: [anvil.url],
        moduleBase: git.url,
        solverUrl: solver.url,
        solverAddress,
        mediators: [mediatorAddress],
        protocol: setup.protocol,
        contracts: {
          token: contracts.LilypadToken,
          users: contracts.LilypadUsers,
          controller: contracts.LilypadController,
          jobCreator: jobCreatorContract,
        },
      })
      const jobCreatorService = await startJobCreatorService({
        rpcUrl: anvil.url,
        chainId: DEVNET_CHAIN_ID,
        jobCreatorContract,
        privateKey: serviceKey,
        dataDir: layout.jobCreator,
        lockDataDir: layout.jobCreator,
        fromBlock: deployment.blockNumber,
        runJob: devnetJobRunner({
          network,
          privateKey: serviceKey,
          dataDir: layout.jobCreator,
          env: childProcessEnv(),
        }),
        logger: fileLogger(layout, 'jobcreator'),
      })
      stops.push(() => jobCreatorService.stop())
      services.push({name: 'jobcreator', pid: process.pid, state: 'running'})
      await phase('job creator up')
    }
    const state: DevnetState = {
      version: 1,
      supervisorPid: process.pid,
      supervisorStartTime,
      ready: true,
      startedAt: new Date().toISOString(),
      chainId: DEVNET_CHAIN_ID,
      rpcUrl: anvil.url,
      solverUrl: solver.url,
      moduleBase: git.url,
      protocol: setup.protocol,
      contracts,
      deploymentBlock: deployment.blockNumber,
      accounts: Object.fromEntries(DEVNET_ROLES.map((role) => [role, devnetAddress(role)])) as Record<
        DevnetRole,
        string
      >,
      resourceProviders: providerAddresses,
      fault: setup.fault,
      services,
    }
    await writeJsonAtomically(layout.state, state)
    log.info({solverUrl: solver.url, rpcUrl: anvil.url, moduleBase: git.url}, 'devnet ready')
    return {
      state,
      stop: async () => {
        log.info('stopping')
        await stopAll()
        await writeJsonAtomically(layout.state, {
          ...state,
          ready: false,
          services: services.map((service) => ({...service, state: 'stopped'})),
        })
        log.info('stopped')
      },
    }
  } catch (error) {
    log.error({err: error}, 'the devnet did not start')
    await stopAll()
    throw error
  }
}
