/**
 * `runJob`: one `lilypad run`, end to end (DESIGN §2). Render and validate the module, check that
 * some provider can take it, sign and post the job offer, then follow it (`follow.ts`): agree on
 * chain within the spending cap, wait on chain time, download, verify, accept or dispute, and
 * leave a receipt beside the result. Also `previewRun` (`--dry-run`).
 */
import {Wallet} from 'ethers'
import {nanoid} from 'nanoid'

import {type ChainClient, connectNetwork, parsePrivateKey} from '../chain/client.js'
import {LilypadToken__factory} from '../chain/generated/factories/LilypadToken__factory.js'
import type {NetworkProfile, ResolvedConfig} from '../config/index.js'
import {lilypadError} from '../errors/index.js'
import {WASM_PROVIDERS_NOTE, engineOf} from '../module/validate.js'
import type {ModuleInputs} from '../module/inputs.js'
import {type RenderedModule, renderModule} from '../module/render-module.js'
import type {ModuleSpec} from '../module/validate.js'
import {type SolverClient, createSolverClient} from '../solver/client.js'
import {jobOfferId} from '../solver/ids.js'
import {DEFAULT_DEAL_TIMEOUTS, buildJobOffer, moduleConfigFor} from '../solver/offer.js'
import {findSolverUrl} from '../solver/solver-url.js'
import type {JobOffer, MachineSpec, ResourceOfferContainer} from '../solver/types.js'
import {type DealCost, dealCost, lpToWei} from './cost.js'
import type {RunEventHandler} from './events.js'
import {type RunChain, type RunOutcome, type VerifyMode, costRecord, followRun} from './follow.js'
import {type Journal, type RunCost, type RunRecord, openJournal} from './journal.js'
import {assertKeyAllowed} from './keys.js'
import {specHash} from './receipt.js'
import {ProcessLockedSigner} from './tx-lock.js'

/** Options of {@link runJob} and {@link previewRun}. */
export interface RunJobOptions {
  /** The module ref as typed: `cowsay:v0.0.3`, `github.com/owner/repo:v1`, `file:///dir:main`. */
  module: string
  inputs: ModuleInputs
  config: Pick<ResolvedConfig, 'dataDir' | 'network' | 'privateKey'>
  /** Environment for git (secrets removed). */
  env?: Readonly<Record<string, string>> | undefined
  /** Spending cap in LP wei; default the profile's `maxPrice`. */
  maxPrice?: bigint | undefined
  /** Result directory; default `<dataDir>/downloaded-files/<dealId>`. */
  outputDir?: string | undefined
  /** Default `cid`: the data ID is recomputed and compared before anything is paid. */
  verify?: VerifyMode | undefined
  /** A resource provider's address: only that provider may take the job. */
  target?: string | undefined
  /** Return once the deal is agreed (onchain) or matched (solver). */
  detach?: boolean | undefined
  /** How often to re-read the solver and the chain when no event arrives (ms). */
  pollIntervalMs?: number | undefined
  /**
   * Checks that must pass before anything is sent (`lilypad run` passes doctor's preflight). They
   * run while the module renders and the chain connects; their failure wins over those steps'.
   */
  preflight?: (() => Promise<unknown>) | undefined
  /** A solver client to use instead of one built from the profile (tests, embedding). */
  solver?: SolverClient | undefined
  signal?: AbortSignal | undefined
  onEvent?: RunEventHandler | undefined
}

/** What {@link runJob} returns. */
export type RunJobResult = RunOutcome

/** What {@link previewRun} returns (`--dry-run`). Amounts in LP wei. */
export interface RunPreview {
  module: {repo: string; ref: string; commit: string}
  specHash: string
  jobOffer: JobOffer
  cost: RunCost
  maxPrice: string
  withinCap: boolean
  account: string
  /** LP balance, when the chain could be read. */
  balance?: string
}

function requireKey(config: RunJobOptions['config']): string {
  if (config.privateKey === undefined) {
    throw lilypadError('PRIVATE_KEY_MISSING', {
      message: `No key to pay for the job on "${config.network.name}".`,
      hints: ['export WEB3_PRIVATE_KEY=<64 hex digits> (never pass it as a flag).'],
    })
  }
  return parsePrivateKey(config.privateKey)
}

function defaultPoll(network: NetworkProfile, given: number | undefined): number {
  return given ?? (network.devnet ? 500 : 5_000)
}

/** Whether an offer's machine can hold the job's: every dimension at least as large. */
function specFits(offer: MachineSpec, job: MachineSpec): boolean {
  const vram = (spec: MachineSpec): number => Math.max(0, ...(spec.gpus ?? []).map((gpu) => gpu.vram))
  return (
    offer.cpu >= job.cpu &&
    offer.gpu >= job.gpu &&
    offer.ram >= job.ram &&
    offer.disk >= job.disk &&
    (job.gpus === null || job.gpus.length === 0 || vram(offer) >= vram(job))
  )
}

/**
 * Fails at once when no live resource offer can run the job: its engine (offers that list no
 * engines, like the real network's, count as able to run any) and its machine spec.
 *
 * @throws NO_PROVIDER naming what is missing
 */
export function checkProviders(
  offers: readonly ResourceOfferContainer[],
  module: ModuleSpec,
  job: MachineSpec,
  network: string,
): void {
  const engine = engineOf(module)
  const byEngine = offers.filter((o) => {
    const engines = o.resource_offer.engines
    return engines === undefined || engines.length === 0 || engines.includes(engine)
  })
  if (byEngine.length === 0) {
    throw lilypadError('NO_PROVIDER', {
      message:
        offers.length === 0
          ? `No provider on "${network}" offers any resources right now.`
          : `No provider on "${network}" runs ${engine === 'docker' ? 'Docker' : engine === 'wasm' ? 'Wasm' : engine} jobs.`,
      hints: [
        engine === 'docker'
          ? 'Use a Wasm module (lilypad module init --template wasm), or a network whose providers run Docker.'
          : 'Try again later, or another --network.',
      ],
      details: {engine, offers: offers.length},
    })
  }
  if (!byEngine.some((o) => specFits(o.resource_offer.spec, job))) {
    throw lilypadError('NO_PROVIDER', {
      message: `No provider on "${network}" has a machine this large (cpu ${job.cpu}, ram ${job.ram} MB, gpu ${job.gpu}, disk ${job.disk} MB).`,
      hints: ["Lower the module's machine requirements, or try another --network."],
      details: {engine, offers: offers.length, cpu: job.cpu, ram: job.ram, gpu: job.gpu, disk: job.disk},
    })
  }
}

interface Prepared {
  key: string
  account: string
  chain: RunChain | undefined
  chainClient: ChainClient | undefined
  chainId: number
  rendered: RenderedModule
  offer: JobOffer
  solverUrl: string | undefined
}

async function prepare(options: RunJobOptions, forPreview: boolean): Promise<Prepared> {
  const {config} = options
  const network = config.network
  const key = requireKey(config)
  const account = new Wallet(key).address
  const emit = options.onEvent ?? (() => undefined)
  let chainClient: ChainClient | undefined
  const needsChain = network.protocol === 'onchain' || network.solverUrl === undefined
  try {
    // Without a chain to ask, the profile's chain id decides, before anything leaves the machine.
    if (!needsChain) assertKeyAllowed(key, network, network.chainId)
    // Connecting to the chain and rendering the module do not depend on each other.
    const [connected, renderedResult] = await Promise.allSettled([
      needsChain
        ? connectNetwork(network, {pollingIntervalMs: network.devnet ? 50 : 1000})
        : Promise.resolve(undefined),
      renderModule(options.module, options.inputs, {
        config,
        ...(options.env === undefined ? {} : {env: options.env}),
        ...(options.signal === undefined ? {} : {signal: options.signal}),
        onEvent: (event) => {
          emit({type: 'module', event})
        },
      }),
    ])
    if (connected.status === 'fulfilled') chainClient = connected.value
    if (renderedResult.status === 'rejected') throw renderedResult.reason
    if (connected.status === 'rejected') {
      // A preview sends nothing: without the chain it only leaves the balance out.
      if (!forPreview) throw connected.reason
      emit({
        type: 'run.warning',
        message: `The chain did not answer, so the preview leaves out your LP balance: ${connected.reason instanceof Error ? connected.reason.message : String(connected.reason)}`,
      })
    }
    const rendered = renderedResult.value
    const chainId = chainClient?.chainId ?? network.chainId
    assertKeyAllowed(key, network, chainId)
    for (const warning of rendered.warnings) {
      // Which providers run the engine is checked below against the network's own offers.
      if (warning.message === WASM_PROVIDERS_NOTE) continue
      emit({type: 'run.warning', message: `${warning.pointer}: ${warning.message}`})
    }
    const offer = buildJobOffer({
      jobCreator: account,
      module: moduleConfigFor(rendered.ref.repoUrl, rendered.ref.ref),
      rendered: rendered.module,
      inputs: options.inputs,
      services: {solver: network.solverAddress ?? '', mediators: network.mediators},
      ...(options.target === undefined ? {} : {target: options.target}),
    })
    let solverUrl = network.solverUrl
    if (solverUrl === undefined && !forPreview) {
      if (
        chainClient === undefined ||
        network.contracts.users === undefined ||
        network.solverAddress === undefined
      ) {
        throw lilypadError('CONFIG_INVALID', {
          message: `The network "${network.name}" names neither a solver URL nor a solver address and users contract.`,
          hints: ['Add solverUrl (or solverAddress and contracts.users) to the network in your config file.'],
        })
      }
      solverUrl = await findSolverUrl({
        provider: chainClient.provider,
        usersAddress: network.contracts.users,
        solverAddress: network.solverAddress,
      })
    }
    let chain: RunChain | undefined
    if (network.protocol === 'onchain' && chainClient !== undefined) {
      const {controller, token} = network.contracts
      if (controller === undefined || token === undefined) {
        throw lilypadError('CONFIG_INVALID', {
          message: `The network "${network.name}" has no controller or token contract address.`,
          hints: network.devnet
            ? ['Start the local network: lilypad devnet up.']
            : ['Add contracts.controller and contracts.token to the network in your config file.'],
        })
      }
      chain = {
        client: chainClient,
        signer: new ProcessLockedSigner(new Wallet(key, chainClient.provider), {
          dataDir: config.dataDir,
          chainId,
        }),
        controller,
        token,
      }
    }
    return {key, account, chain, chainClient, chainId, rendered, offer, solverUrl}
  } catch (error) {
    chainClient?.destroy()
    throw error
  }
}

/**
 * Renders the module and previews what the job would cost, sending nothing (`--dry-run`): the
 * job offer's own pricing (payment collateral + judge collateral is the most it can lock; the
 * instruction price is what it pays), against the cap and, when the chain answers, the balance.
 *
 * @throws PRIVATE_KEY_MISSING, WELL_KNOWN_KEY, the module errors of renderModule (an unreachable
 *   chain is only a warning: the balance is left out)
 * @example
 * const preview = await previewRun({module: 'cowsay:v0.0.3', inputs: {Message: 'hi'}, config})
 */
export async function previewRun(options: RunJobOptions): Promise<RunPreview> {
  const prepared = await prepare(options, true)
  try {
    const timeouts = options.config.network.protocol === 'onchain' ? DEFAULT_DEAL_TIMEOUTS : undefined
    const cost: DealCost = dealCost(prepared.offer.pricing, timeouts)
    const maxPrice = options.maxPrice ?? lpToWei(options.config.network.maxPrice)
    let balance: bigint | undefined
    if (prepared.chain !== undefined) {
      try {
        balance = await LilypadToken__factory.connect(
          prepared.chain.token,
          prepared.chain.client.provider,
        ).balanceOf(prepared.account)
      } catch (error) {
        options.onEvent?.({
          type: 'run.warning',
          message: `Could not read your LP balance, so the preview leaves it out: ${error instanceof Error ? error.message : String(error)}`,
        })
      }
    }
    return {
      module: {
        repo: prepared.rendered.ref.repoUrl,
        ref: prepared.rendered.ref.ref,
        commit: prepared.rendered.commit,
      },
      specHash: specHash(prepared.rendered.rendered),
      jobOffer: prepared.offer,
      cost: costRecord(cost),
      maxPrice: maxPrice.toString(),
      withinCap: cost.lock <= maxPrice,
      account: prepared.account,
      ...(balance === undefined ? {} : {balance: balance.toString()}),
    }
  } finally {
    prepared.chainClient?.destroy()
  }
}

/**
 * Runs a module on the network end to end.
 *
 * @param options - module, inputs, config (network, data dir, key), cap, output, verification, signal, events
 * @returns the accepted result (data ID, output directory, receipt, deal, transactions, cost), or
 *   the deal when detached
 * @throws PRIVATE_KEY_MISSING, WELL_KNOWN_KEY, module errors, USAGE (--verify reexecute of a
 *   non-Wasm module), NO_PROVIDER, SOLVER_* errors,
 *   MAX_PRICE_EXCEEDED, LP_BALANCE_TOO_LOW (nothing sent), chain errors, JOB_FAILED (the provider's
 *   error text), JOB_TIMED_OUT, JOB_CANCELLED, JOB_DISPUTED, RESULT_MISMATCH, INTERRUPTED (the run
 *   stays in the journal: `lilypad deals wait <id>` resumes it)
 * @example
 * const result = await runJob({module: 'cowsay:v0.0.3', inputs: {Message: 'hi'}, config, signal})
 * console.log(result.dataId, result.outputDir)
 */
export async function runJob(options: RunJobOptions): Promise<RunJobResult> {
  const {config} = options
  const network = config.network
  const signal = options.signal ?? new AbortController().signal
  const emit = options.onEvent ?? (() => undefined)
  const [checked, preparing] = await Promise.allSettled([options.preflight?.(), prepare(options, false)])
  if (checked.status === 'rejected') {
    if (preparing.status === 'fulfilled') preparing.value.chainClient?.destroy()
    throw checked.reason
  }
  if (preparing.status === 'rejected') throw preparing.reason
  const prepared = preparing.value
  let journal: Journal | undefined
  try {
    const engine = engineOf(prepared.rendered.module)
    if (options.verify === 'reexecute' && engine !== 'wasm') {
      throw lilypadError('USAGE', {
        message: `--verify reexecute re-runs Wasm modules only; ${options.module} is a ${engine} module.`,
        hints: ['Use --verify cid (the default): the data ID is still checked before anything is paid.'],
        details: {engine},
      })
    }
    const solver = options.solver ?? createSolverClient({url: prepared.solverUrl ?? '', signer: prepared.key})
    if (options.target === undefined) {
      const offers = await solver.getResourceOffers({active: true}, {signal})
      checkProviders(offers, prepared.rendered.module, prepared.offer.spec, network.name)
    }
    journal = openJournal(config.dataDir)
    const now = Date.now()
    const record: RunRecord = {
      id: nanoid(),
      network: network.name,
      chainId: prepared.chainId,
      protocol: network.protocol,
      jobCreator: prepared.account,
      module: {
        repo: prepared.rendered.ref.repoUrl,
        ref: prepared.rendered.ref.ref,
        commit: prepared.rendered.commit,
      },
      inputs: {...options.inputs},
      specHash: specHash(prepared.rendered.rendered),
      state: 'Created',
      txs: {},
      source: 'run',
      createdAt: now,
      updatedAt: now,
      ...(options.outputDir === undefined ? {} : {outputDir: options.outputDir}),
    }
    journal.insert(record)
    emit({type: 'run.submitting', module: options.module})
    // The offer's ID is its CID: journalled before the POST, so a run stopped while posting can
    // still be found and resumed with deals wait.
    journal.update(record.id, {jobOfferId: jobOfferId(prepared.offer)})
    // Ctrl-C does not cut the POST short (the client's own time-out bounds it): the solver may
    // already hold the offer. followRun honours the abort right after, with the deals wait hint.
    const posted = await solver.postJobOffer(prepared.offer)
    const updated = journal.update(record.id, {jobOfferId: posted.id, state: 'DealNegotiating'})
    emit({type: 'run.posted', jobOfferId: posted.id, runId: record.id})
    return await followRun({
      journal,
      record: updated,
      offer: prepared.offer,
      solver,
      chain: prepared.chain,
      dataDir: config.dataDir,
      maxPrice: options.maxPrice ?? lpToWei(network.maxPrice),
      verify: options.verify ?? 'cid',
      outputDir: options.outputDir,
      detach: options.detach === true,
      pollIntervalMs: defaultPoll(network, options.pollIntervalMs),
      env: options.env,
      signal,
      emit,
    })
  } finally {
    journal?.close()
    prepared.chainClient?.destroy()
  }
}
