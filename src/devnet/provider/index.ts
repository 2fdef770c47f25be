/**
 * The devnet's resource provider: a separate Lilypad party that talks to the solver over HTTP and
 * websocket and to the chain, exactly as a provider on another machine would (DESIGN §2 steps 4–8,
 * §10; lilypad-protocol.md §7).
 *
 * It keeps one unmatched resource offer at the solver, follows its deals (websocket events, with
 * polling `GET /deals?resource_provider=<me>` as the fallback), agrees on chain in the `onchain`
 * protocol, runs each job once through the same path the mediator re-runs it on, uploads the
 * result, reports the data ID on chain and to the solver, and posts an error Result at once when a
 * job cannot run. What it did for each deal is persisted under its data directory, so a restart
 * neither runs a finished job again nor forgets one in flight.
 */
import {mkdir} from 'node:fs/promises'
import {join, resolve} from 'node:path'

import {Wallet} from 'ethers'

import {type ChainClient, connectChain, parsePrivateKey} from '../../core/chain/client.js'
import {LilypadController__factory} from '../../core/chain/generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from '../../core/chain/generated/factories/LilypadToken__factory.js'
import {lilypadError} from '../../core/errors/index.js'
import {type Executors, createExecutors} from '../../core/executors/index.js'
import {type GitEnvironment} from '../../core/module/git.js'
import {createSolverClient, subscribeEvents} from '../../core/solver/client.js'
import type {
  DealContainer,
  DealPricing,
  MachineSpec,
  ProtocolMode,
  ResourceOffer,
} from '../../core/solver/types.js'
import {type DealRecord, type ProviderEvent, type ProviderState, createDealHandler} from './deal-handler.js'
import {type ServiceLogger, messageOf, toLog} from '../shared/log.js'
import {moduleRepoPolicy} from './repo-policy.js'
import {DEFAULT_PROVIDER_PRICING, machineSpec} from './spec.js'
import {openStateFile} from '../shared/state-file.js'

export {moduleRepoPolicy} from './repo-policy.js'
export type {DealPhase, DealRecord, ProviderEvent, TimeoutClaim} from './deal-handler.js'
export type {LogFields, LogFunction, LogLevel, PinoLikeLogger, ServiceLogger} from '../shared/log.js'

/** How a faulty provider misbehaves (`devnet up --fault`). */
export type ProviderFault = 'lying' | 'stalling' | 'vanishing' | 'failing'

/** The chain the `onchain` protocol runs on. */
export interface ProviderChainOptions {
  rpcUrl: string
  chainId: number
  /** LilypadController address. */
  controller: string
  /** LilypadToken address. */
  token: string
}

/** Options of {@link startProvider}. */
export interface ProviderOptions {
  /** The solver's base URL, e.g. `http://127.0.0.1:8081`. */
  solverUrl: string
  /** The provider's key (hex). */
  privateKey: string
  protocol: ProtocolMode
  /** Required in the `onchain` protocol. */
  chain?: ProviderChainOptions | undefined
  /** Its own directory: state file, module cache, results. */
  dataDir: string
  /** What it offers; default: this machine ({@link machineSpec}). */
  spec?: MachineSpec | undefined
  /** Engines it runs; default: what the executors find on this machine. */
  engines?: string[] | undefined
  /** Default pricing of its offers (FixedPrice); default: the Go provider's. */
  pricing?: DealPricing | undefined
  /** Mediator addresses it trusts. */
  mediators: string[]
  /** The solver's address (trusted party of its offers). */
  solverAddress: string
  fault?: ProviderFault | undefined
  /** The offer's `index` (several providers on one machine). Default 0. */
  index?: number | undefined
  logger?: ServiceLogger | undefined
  /** The executors to run jobs on; default: what this machine has (`createExecutors({dockerHost})`). */
  executors?: Executors | undefined
  /** The Docker engine to look for when `executors` is not given (`DOCKER_HOST`); default: the local socket. */
  dockerHost?: string | undefined
  /**
   * The network's module base URL: given, `file://` and loopback `http://` repositories are fetched
   * only under it (see {@link moduleRepoPolicy}), `https://` and `git://` remotes always. Not given
   * (and no `allowedRepo`): any repository the module ref parser accepts, as a one-user devnet running
   * `lilypad run file://…` from its own disk needs.
   */
  moduleBase?: string | undefined
  /** Replaces that rule: which repository URLs a job offer may make it fetch. */
  allowedRepo?: ((repoUrl: string) => boolean) | undefined
  /** Environment for git when it resolves modules (default: this process's PATH). */
  gitEnv?: GitEnvironment | undefined
  /**
   * Milliseconds between polls of its open deals at the solver (by state: negotiating, agreed and,
   * onchain, awaiting judgement or mediation), beside the websocket. Default 5000.
   */
  pollIntervalMs?: number | undefined
  /** Observes what the provider does (tests, the supervisor's status). */
  onEvent?: ((event: ProviderEvent) => void) | undefined
  /** Stops the provider, like {@link RunningProvider.stop}. */
  signal?: AbortSignal | undefined
}

/** A running provider. */
export interface RunningProvider {
  /** Its EIP-55 address. */
  address: string
  /** The deals it has handled, as persisted. */
  deals(): Readonly<Record<string, DealRecord>>
  /** Stops following deals, aborts running jobs and closes its connections. */
  stop(): Promise<void>
}

const STATE_FILE = 'provider-state.json'
/** Go state names a provider's poll asks for: agree, run, or (onchain) claim a timeout. */
const ONCHAIN_OPEN_STATES = ['DealNegotiating', 'DealAgreed', 'ResultsSubmitted', 'ResultsChecked']
const SOLVER_OPEN_STATES = ['DealAgreed']

/**
 * Starts a resource provider.
 *
 * @param options - solver, key, protocol, chain, data directory, offer, fault, logger
 * @returns its address and `stop()`
 * @throws PRIVATE_KEY_INVALID, CONFIG_INVALID (onchain without `chain`, a `dockerHost` it cannot reach),
 *   RPC_UNREACHABLE, WRONG_CHAIN,
 *   and the solver client's errors when its first offer cannot be posted
 * @example
 * const provider = await startProvider({solverUrl, privateKey, protocol: 'onchain', chain, dataDir,
 *   mediators: [mediator], solverAddress})
 * await provider.stop()
 */
export async function startProvider(options: ProviderOptions): Promise<RunningProvider> {
  const privateKey = parsePrivateKey(options.privateKey)
  const address = new Wallet(privateKey).address
  const log = toLog(options.logger, {service: 'resource-provider', address})
  const dataDir = resolve(options.dataDir)
  await mkdir(dataDir, {recursive: true, mode: 0o700})

  if (options.protocol === 'onchain' && options.chain === undefined) {
    throw lilypadError('CONFIG_INVALID', {
      message:
        'The resource provider needs a chain (rpcUrl, chainId, controller, token) in the onchain protocol.',
    })
  }

  const stopping = new AbortController()
  // Once started, an outer abort stops the service exactly as stop() does (connections closed too).
  let stop: (() => Promise<void>) | undefined
  const onOuterAbort = (): void => {
    if (stop === undefined) stopping.abort()
    else void stop()
  }
  options.signal?.addEventListener('abort', onOuterAbort, {once: true})
  // "vanishing" closes this one: no more events, no more polls, nothing posted.
  const listening = new AbortController()
  stopping.signal.addEventListener('abort', () => {
    listening.abort()
  })

  let chainClient: ChainClient | undefined
  const solver = createSolverClient({url: options.solverUrl, signer: privateKey})
  try {
    const executors = options.executors ?? (await createExecutors({dockerHost: options.dockerHost}))
    const engines = options.engines ?? [...executors.engines]
    const spec = options.spec ?? (await machineSpec(dataDir))
    const pricing = options.pricing ?? DEFAULT_PROVIDER_PRICING
    const state = await openStateFile<ProviderState>(join(dataDir, STATE_FILE), () => ({
      version: 1,
      deals: {},
    }))

    let chain
    if (options.protocol === 'onchain' && options.chain !== undefined) {
      chainClient = await connectChain({
        rpcUrl: options.chain.rpcUrl,
        chainId: options.chain.chainId,
        privateKey,
        pollingIntervalMs: 100,
      })
      const signer = chainClient.signer
      if (signer === undefined) throw new Error('the chain client has no signer')
      chain = {
        controller: LilypadController__factory.connect(options.chain.controller, signer),
        provider: chainClient.provider,
        token: LilypadToken__factory.connect(options.chain.token, signer),
        controllerAddress: options.chain.controller,
      }
    }

    const buildOffer = (): ResourceOffer => ({
      id: '',
      created_at: Date.now(),
      resource_provider: address,
      index: options.index ?? 0,
      spec,
      modules: [],
      mode: 'FixedPrice',
      default_pricing: {...pricing},
      module_pricing: {},
      trusted_parties: {solver: options.solverAddress, mediator: [...options.mediators], api_host: ''},
      engines: [...engines],
    })

    // One unmatched offer at a time, as the Go provider keeps: post only when the solver has none.
    let offerQueue: Promise<unknown> = Promise.resolve()
    const ensureOffer = (reason: string): Promise<void> => {
      const run = async (): Promise<void> => {
        if (listening.signal.aborted) return
        const open = await solver.getResourceOffers(
          {resource_provider: address, not_matched: true},
          {signal: listening.signal},
        )
        if (open.length > 0) return
        const posted = await solver.postResourceOffer(buildOffer(), {signal: listening.signal})
        log('info', 'posted a resource offer', {offerId: posted?.id, reason})
        options.onEvent?.({type: 'offer.posted', offerId: posted?.id ?? '', reason})
      }
      const result = offerQueue.then(run, run)
      offerQueue = result.catch(() => undefined)
      return result
    }

    const handler = createDealHandler({
      address,
      protocol: options.protocol,
      solver,
      chain,
      dataDir,
      executors,
      allowedRepo:
        options.allowedRepo ??
        (options.moduleBase === undefined ? () => true : moduleRepoPolicy(options.moduleBase)),
      fault: options.fault,
      // git's allowlist filters this; only PATH matters here.
      gitEnv: options.gitEnv ?? {PATH: process.env.PATH},
      state,
      log,
      emit: (event) => options.onEvent?.(event),
      signal: stopping.signal,
      onNewDeal: (dealId) => {
        if (options.fault === 'vanishing') return
        ensureOffer(`after deal ${dealId}`).catch((error: unknown) => {
          log('warn', 'could not post a fresh resource offer', {dealId, error: messageOf(error)})
        })
      },
      vanish: () => {
        listening.abort()
      },
    })

    await ensureOffer('start')

    const pollIntervalMs = options.pollIntervalMs ?? 5000
    const mine = (deal: DealContainer | null | undefined): deal is DealContainer =>
      deal !== null && deal !== undefined && deal.resource_provider === address
    // Only deals that may still need it: to agree, to run, or to claim a timeout on (onchain).
    const openStates = options.protocol === 'onchain' ? ONCHAIN_OPEN_STATES : SOLVER_OPEN_STATES
    const poll = async (): Promise<void> => {
      const call = {signal: listening.signal}
      const lists = await Promise.all(
        openStates.map((state) => solver.getDeals({resource_provider: address, state}, call)),
      )
      const deals = lists.flat().filter(mine)
      for (const deal of deals) handler.schedule(deal)
      // A deal it still works on that the solver already counts as ended gets one look of its own.
      const listed = new Set(deals.map((deal) => deal.id))
      for (const dealId of handler.openDealIds()) {
        if (listed.has(dealId)) continue
        const deal = await solver.getDeal(dealId, call)
        if (mine(deal)) handler.schedule(deal)
      }
      options.onEvent?.({type: 'deals.polled', count: deals.length})
    }
    const subscription = subscribeEvents({
      url: options.solverUrl,
      type: 'ResourceProvider',
      address,
      signal: listening.signal,
      pollIntervalMs,
      filter: (event) => mine(event.deal),
      onEvent: (event) => {
        if (mine(event.deal)) handler.schedule(event.deal)
      },
      poll,
      onStatus: (status) => {
        if (status.state === 'disconnected') log('warn', 'lost the solver websocket', {reason: status.reason})
        if (status.state === 'poll-failed')
          log('warn', 'polling the solver failed', {error: messageOf(status.error)})
      },
    })
    // The Go provider polls its deals whatever the websocket says; so does this one, less often.
    const poller = setInterval(() => {
      poll().catch((error: unknown) => {
        if (!listening.signal.aborted) log('warn', 'polling the solver failed', {error: messageOf(error)})
      })
    }, pollIntervalMs)
    listening.signal.addEventListener('abort', () => {
      clearInterval(poller)
    })
    log('info', 'resource provider started', {
      protocol: options.protocol,
      engines,
      fault: options.fault ?? 'none',
    })

    let stopped: Promise<void> | undefined
    stop = () => {
      stopped ??= (async () => {
        options.signal?.removeEventListener('abort', onOuterAbort)
        stopping.abort()
        await Promise.allSettled([subscription, handler.idle(), offerQueue])
        chainClient?.destroy()
        log('info', 'resource provider stopped')
      })()
      return stopped
    }
    if (options.signal?.aborted === true) void stop()
    return {
      address,
      deals: () => state.value.deals,
      stop,
    }
  } catch (error) {
    stopping.abort()
    chainClient?.destroy()
    throw error
  }
}
