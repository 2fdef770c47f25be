/**
 * The devnet's mediator on its own: the test plays the job creator and a resource provider that
 * claims whatever data ID it likes (agree and addResult by hand), on a real anvil chain with the
 * real solver. Covers the rulings that need no honest provider: a module that cannot run anywhere
 * is rejected, a job this machine cannot run (Docker, here absent) is left to the mediation timeout,
 * a true claim is accepted, and a restart neither forgets nor repeats a ruling.
 */
import {mkdtemp, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet, parseEther} from 'ethers'

import {type ChainClient, connectChain} from '../../../../src/core/chain/client.js'
import {type Deployment, deployContracts} from '../../../../src/core/chain/deploy.js'
import {LilypadController__factory} from '../../../../src/core/chain/generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from '../../../../src/core/chain/generated/factories/LilypadToken__factory.js'
import {stateName} from '../../../../src/core/chain/states.js'
import {lilypadError} from '../../../../src/core/errors/index.js'
import type {Executor, Executors} from '../../../../src/core/executors/index.js'
import {startResult} from '../../../../src/core/executors/result-dir.js'
import {computeDataId} from '../../../../src/core/results/data-id.js'
import {createWasmExecutor} from '../../../../src/core/executors/index.js'
import {runModuleJob} from '../../../../src/core/executors/module-job.js'
import {createSolverClient} from '../../../../src/core/solver/client.js'
import {buildJobOffer, dealTermsForChain, moduleConfigFor} from '../../../../src/core/solver/offer.js'
import type {ModuleConfig, ResourceOffer} from '../../../../src/core/solver/types.js'
import {buildModuleRepos} from '../../../../src/devnet/git/repos.js'
import {
  type MediatorEvent,
  type RunningMediator,
  startMediator,
} from '../../../../src/devnet/mediator/index.js'
import {type RunningSolver, startSolver} from '../../../../src/devnet/solver/index.js'
import {type Anvil, increaseTime, startAnvil} from '../../../helpers/anvil.js'
import {createModuleRepo, makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'

const CHAIN_ID = 31337
const gitEnv = {PATH: process.env.PATH ?? '/usr/bin:/bin'}
/**
 * The mediator's executors. Wasm is the real executor, except for jobs whose parameters say
 * `crash-the-runner`: those fail as a Wasm runner process killed on this machine (out of memory) fails,
 * something no module can be blamed for. Docker is a stand-in for the engine this machine lacks: it
 * "runs" every job to a fixed result, so a provider can claim exactly what a re-run would give.
 */
const realWasm = createWasmExecutor()
const dockerStandIn: Executor = {
  engine: 'docker',
  available: () => Promise.resolve(true),
  async execute(job) {
    const pending = await startResult(job.resultDir)
    await writeFile(pending.stdoutPath, 'hi\n')
    await pending.commit(0)
    return {
      engine: 'docker',
      exitCode: 0,
      resultDir: job.resultDir,
      durationMs: 1,
      truncated: {stdout: false, stderr: false},
    }
  },
}
const mediatorExecutors: Executors = {
  engines: ['wasm', 'docker'],
  get: (engine) => {
    if (engine === 'docker') return dockerStandIn
    return {
      ...realWasm,
      execute: (job) => {
        if (!JSON.stringify(job.module.job.Spec.Wasm ?? {}).includes('crash-the-runner'))
          return realWasm.execute(job)
        return Promise.reject(
          lilypadError('JOB_CANNOT_RUN', {
            message: 'The Wasm runner process stopped (signal SIGKILL) before the job finished',
            details: {engine: 'wasm', reason: 'runner-crashed'},
          }),
        )
      },
    }
  },
}
const wasmOnly: Executors = {engines: ['wasm'], get: (engine) => (engine === 'wasm' ? realWasm : undefined)}

const cleanups: (() => Promise<void>)[] = []
let anvil: Anvil
let root: string
let admin: ChainClient
let deployment: Deployment
let solver: RunningSolver
let mediator: RunningMediator
const mediatorEvents: MediatorEvent[] = []
let solverWallet: Wallet
let mediatorWallet: Wallet
let jobCreator: Wallet
let provider: Wallet
let cowsay: string
let sleep: string
let dockerRepo: string
let noWasmRepo: string

async function launchMediator(events: MediatorEvent[], solverUrl = solver.url): Promise<RunningMediator> {
  const started = await startMediator({
    solverUrl,
    privateKey: mediatorWallet.privateKey,
    chain: {
      rpcUrl: anvil.url,
      chainId: CHAIN_ID,
      controller: deployment.addresses.LilypadController,
      fromBlock: deployment.blockNumber,
    },
    dataDir: join(root, 'mediator'),
    gitEnv,
    executors: mediatorExecutors,
    pollIntervalMs: 50,
    judgeRetryMs: 200,
    onEvent: (event) => events.push(event),
  })
  return started
}

beforeAll(async () => {
  anvil = await startAnvil()
  cleanups.push(() => anvil.stop())
  root = await makeTempDir('lilypad-mediator-')
  cleanups.push(() => removeTempDir(root))
  const [deployer, solverAccount, mediatorAccount, jc, rp] = anvil.accounts as [
    Wallet,
    Wallet,
    Wallet,
    Wallet,
    Wallet,
  ]
  ;[solverWallet, mediatorWallet, jobCreator, provider] = [solverAccount, mediatorAccount, jc, rp]
  admin = await connectChain({rpcUrl: anvil.url, chainId: CHAIN_ID, privateKey: deployer.privateKey})
  cleanups.push(() => {
    admin.destroy()
    return Promise.resolve()
  })
  deployment = await deployContracts(admin.signer!)
  const token = LilypadToken__factory.connect(deployment.addresses.LilypadToken, admin.signer)
  for (const wallet of [jobCreator, provider])
    await (await token.transfer(wallet.address, parseEther('1000'))).wait()

  const repos = await buildModuleRepos(join(root, 'git'), {env: gitEnv})
  cowsay = pathToFileURL(repos['lilypad-module-cowsay']!.path).href
  sleep = pathToFileURL(repos['lilypad-module-sleep']!.path).href
  const docker = await createModuleRepo({
    root,
    name: 'lilypad-module-docker',
    versions: [
      {
        tag: 'v1',
        files: {
          'lilypad_module.json.tmpl': JSON.stringify({
            machine: {gpu: 0, cpu: 1000, ram: 100},
            job: {
              APIVersion: 'V1beta1',
              Spec: {Engine: 'Docker', Docker: {Image: 'alpine:3', Entrypoint: ['echo', 'hi']}, Timeout: 60},
            },
          }),
        },
      },
    ],
  })
  dockerRepo = docker.url
  const noWasm = await createModuleRepo({
    root,
    name: 'lilypad-module-no-wasm',
    versions: [
      {
        tag: 'v1',
        files: {
          'lilypad_module.json.tmpl': JSON.stringify({
            machine: {gpu: 0, cpu: 1000, ram: 100},
            job: {
              APIVersion: 'V1beta1',
              Spec: {
                Engine: 'Wasm',
                Wasm: {
                  EntryModule: {StorageSource: 'repoClone', Path: 'build/module.wasm'},
                  EntryPoint: '_start',
                },
                Timeout: 60,
              },
            },
          }),
        },
      },
    ],
  })
  noWasmRepo = noWasm.url

  solver = await startSolver({
    dataDir: join(root, 'solver'),
    solverAddress: solverWallet.address,
    protocol: 'onchain',
    chain: {
      rpcUrl: anvil.url,
      chainId: CHAIN_ID,
      controller: deployment.addresses.LilypadController,
      fromBlock: deployment.blockNumber,
      pollIntervalMs: 50,
    },
  })
  cleanups.push(() => solver.stop())
  mediator = await launchMediator(mediatorEvents)
  cleanups.push(() => mediator.stop())
}, 120_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
}, 120_000)

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  return eventually(what, () => Promise.resolve(probe()))
}

const controllerAs = (wallet: Wallet) =>
  LilypadController__factory.connect(deployment.addresses.LilypadController, wallet.connect(anvil.provider))
const tokenAs = (wallet: Wallet) =>
  LilypadToken__factory.connect(deployment.addresses.LilypadToken, wallet.connect(anvil.provider))
const chainState = async (dealId: string): Promise<string> =>
  stateName(Number((await controllerAs(jobCreator).getAgreement(dealId)).state))

/**
 * Makes a deal for `module` with the test's provider, has both parties agree, lets the provider claim
 * the data ID `claim` gives for the deal on chain and the job creator dispute it. Returns the deal ID.
 */
async function disputedDeal(
  module: ModuleConfig,
  inputs: Record<string, string>,
  claim: (dealId: string) => Promise<string>,
): Promise<string> {
  const rp = createSolverClient({url: solver.url, signer: provider.privateKey})
  const jc = createSolverClient({url: solver.url, signer: jobCreator.privateKey})
  const resourceOffer: ResourceOffer = {
    id: '',
    created_at: Date.now(),
    resource_provider: provider.address,
    index: 0,
    spec: {gpu: 0, gpus: [], cpu: 8000, ram: 8000, disk: 8000},
    modules: [],
    mode: 'FixedPrice',
    default_pricing: {
      instruction_price: 1,
      payment_collateral: 2,
      results_collateral_multiple: 2,
      mediation_fee: 1,
    },
    module_pricing: {},
    trusted_parties: {solver: solverWallet.address, mediator: [mediatorWallet.address], api_host: ''},
    engines: ['wasm', 'docker'],
  }
  await rp.postResourceOffer(resourceOffer)
  const posted = await jc.postJobOffer(
    buildJobOffer({
      jobCreator: jobCreator.address,
      module,
      rendered: {machine: {gpu: 0, cpu: 1000, ram: 100}},
      inputs,
      services: {solver: solverWallet.address, mediators: [mediatorWallet.address]},
      target: provider.address,
    }),
  )
  const deal = await eventually('the deal', async () =>
    (await jc.getDeals({job_creator: jobCreator.address})).find((found) => found.job_offer === posted.id),
  )
  const terms = dealTermsForChain(deal.deal)
  const [, , timeouts, pricing] = terms
  const controller = deployment.addresses.LilypadController
  await (await tokenAs(provider).approve(controller, timeouts.submitResults.collateral)).wait()
  await (await controllerAs(provider).agree(...terms)).wait()
  await (
    await tokenAs(jobCreator).approve(
      controller,
      pricing.paymentCollateral + timeouts.judgeResults.collateral,
    )
  ).wait()
  await (await controllerAs(jobCreator).agree(...terms)).wait()
  await (
    await tokenAs(provider).approve(controller, pricing.resultsCollateralMultiple * pricing.instructionPrice)
  ).wait()
  await (await controllerAs(provider).addResult(deal.id, '', await claim(deal.id), 1n)).wait()
  await (await controllerAs(jobCreator).checkResult(deal.id, {gasLimit: 250_000n})).wait()
  return deal.id
}

const ruling = (dealId: string) =>
  until('the ruling', () =>
    mediatorEvents.find((event) => event.type === 'dispute.ruled' && event.dealId === dealId),
  )

const bogus = (): Promise<string> => Promise.resolve('QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR')

describe('mediator', () => {
  it('accepts a claim equal to its re-run: the data ID a provider computes for the deal', async () => {
    const module = moduleConfigFor(cowsay, 'v0.0.3')
    const inputs = {Message: 'honest'}
    const truth = async (dealId: string): Promise<string> => {
      const job = await runModuleJob({
        module,
        inputs,
        dataDir: join(root, 'truth'),
        resultDir: join(root, 'truth-results', dealId),
        seed: dealId,
        executors: wasmOnly,
        env: gitEnv,
      })
      return job.dataId
    }
    const dealId = await disputedDeal(module, inputs, truth)
    const ruled = await ruling(dealId)
    expect(ruled).toMatchObject({ruling: 'accepted'})
    expect(await chainState(dealId)).toBe('MediationAccepted')
    expect(mediator.disputes()[dealId]).toMatchObject({phase: 'ruled', ruling: 'accepted'})
    const deal = await createSolverClient({url: solver.url}).getDeal(dealId)
    expect(deal.transactions.mediator.mediation_accept_result).toMatch(/^0x[0-9a-f]{64}$/)
  }, 60_000)

  it('rejects a result for a module that cannot run anywhere (its template does not render)', async () => {
    // cowsay v0.0.1 without Message renders `<no value>` where JSON needs a value.
    const dealId = await disputedDeal(moduleConfigFor(cowsay, 'v0.0.1'), {}, bogus)
    const ruled = await ruling(dealId)
    expect(ruled).toMatchObject({ruling: 'rejected'})
    expect(ruled.type === 'dispute.ruled' ? ruled.reason : '').toMatch(/^the module cannot run: /)
    expect(await chainState(dealId)).toBe('MediationRejected')
  }, 60_000)

  it('rejects a Wasm job whose module has no entry file at its commit (a module-side reason)', async () => {
    const dealId = await disputedDeal(moduleConfigFor(noWasmRepo, 'v1'), {}, bogus)
    const ruled = await ruling(dealId)
    expect(ruled).toMatchObject({ruling: 'rejected'})
    expect(ruled.type === 'dispute.ruled' ? ruled.reason : '').toMatch(/build\/module\.wasm/)
    expect(await chainState(dealId)).toBe('MediationRejected')
  }, 60_000)

  it('rules nothing when its own Wasm runner crashes: JOB_CANNOT_RUN of this machine condemns no one', async () => {
    const dealId = await disputedDeal(moduleConfigFor(cowsay, 'v0.0.3'), {Message: 'crash-the-runner'}, bogus)
    const ruled = await ruling(dealId)
    expect(ruled).toMatchObject({ruling: 'abstained'})
    expect(ruled.type === 'dispute.ruled' ? ruled.reason : '').toMatch(/runner process stopped/)
    expect(await chainState(dealId)).toBe('ResultsChecked')
  }, 60_000)

  it('never re-runs a Docker job, even one it could run, and leaves it to the mediation timeout', async () => {
    // The claim is what the Docker stand-in gives: comparing would accept it; Docker runs prove nothing.
    const scratch = await mkdtemp(join(root, 'docker-claim-'))
    await dockerStandIn.execute({
      module: {} as never,
      moduleDir: scratch,
      resultDir: join(scratch, 'result'),
      seed: 'x',
    })
    const claim = await computeDataId(join(scratch, 'result'))
    const dealId = await disputedDeal(moduleConfigFor(dockerRepo, 'v1'), {}, () => Promise.resolve(claim))
    const ruled = await ruling(dealId)
    expect(ruled).toMatchObject({ruling: 'abstained'})
    expect(ruled.type === 'dispute.ruled' ? ruled.reason : '').toMatch(
      /Docker, whose runs are not deterministic/,
    )
    expect(await chainState(dealId)).toBe('ResultsChecked')
    const provider0 = await tokenAs(provider).balanceOf(provider.address)
    const jc0 = await tokenAs(jobCreator).balanceOf(jobCreator.address)
    await increaseTime(anvil.provider, 3601)
    await (await controllerAs(jobCreator).timeoutMediateResult(dealId)).wait()
    expect(await chainState(dealId)).toBe('TimeoutMediateResults')
    // Nobody is slashed: the job creator gets P + F back, the provider R (contracts/README.md).
    expect((await tokenAs(jobCreator).balanceOf(jobCreator.address)) - jc0).toBe(parseEther('3'))
    expect((await tokenAs(provider).balanceOf(provider.address)) - provider0).toBe(parseEther('2'))
  }, 60_000)

  it('after a restart keeps its rulings and its cursor, and rules no dispute twice', async () => {
    const before = {...mediator.disputes()}
    const cursor = mediator.cursor()
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(5)
    expect(cursor).not.toBeNull()
    await mediator.stop()
    const events: MediatorEvent[] = []
    mediator = await launchMediator(events)
    expect(mediator.disputes()).toEqual(before)
    // A new block moves the cursor on only once the restarted follower has read past the old disputes.
    await increaseTime(anvil.provider, 1)
    const head = await anvil.provider.getBlockNumber()
    await until('the cursor to reach the head', () => ((mediator.cursor() ?? 0) >= head ? true : undefined))
    expect(events).toEqual([])
  }, 60_000)

  describe('behind a solver that sometimes says a deal does not exist', () => {
    /** Deal IDs whose next `GET /deals/<id>` the proxy answers 404, as a solver that lost them would. */
    const refuseNext = new Map<string, number>()
    let proxyUrl: string
    let events: MediatorEvent[]

    beforeAll(async () => {
      // Plain forwarding over 127.0.0.1; only the refusals are made up.
      const proxy = createServer((request, response) => {
        const dealId = /\/deals\/([^/?]+)$/.exec(request.url ?? '')?.[1]
        const refusals = dealId === undefined ? 0 : (refuseNext.get(dealId) ?? 0)
        if (dealId !== undefined && request.method === 'GET' && refusals > 0) {
          refuseNext.set(dealId, refusals - 1)
          response.writeHead(404, {'content-type': 'text/plain'}).end('deal not found')
          return
        }
        const target = new URL(request.url ?? '/', solver.url)
        void (async () => {
          const chunks: Buffer[] = []
          for await (const chunk of request) chunks.push(chunk as Buffer)
          const headers = Object.fromEntries(
            Object.entries(request.headers).filter(
              (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host',
            ),
          )
          const answer = await fetch(target, {
            method: request.method ?? 'GET',
            headers,
            ...(chunks.length === 0 ? {} : {body: Buffer.concat(chunks)}),
          })
          response.writeHead(answer.status, Object.fromEntries(answer.headers))
          response.end(Buffer.from(await answer.arrayBuffer()))
        })().catch(() => response.destroy())
      })
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
      cleanups.push(
        () =>
          new Promise((resolve) =>
            proxy.close(() => {
              resolve()
            }),
          ),
      )
      proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
      await mediator.stop()
      events = []
      mediator = await launchMediator(events, proxyUrl)
    })

    it('judges again with back-off when an attempt fails, instead of leaving the dispute judging', async () => {
      const module = moduleConfigFor(cowsay, 'v0.0.3')
      // The solver cannot find the deal the first two times the mediator asks.
      const dealId = await disputedDeal(module, {Message: 'flaky solver'}, (id) => {
        refuseNext.set(id, 2)
        return bogus()
      })
      const ruled = await until('the ruling', () =>
        events.find((event) => event.type === 'dispute.ruled' && event.dealId === dealId),
      )
      expect(ruled).toMatchObject({ruling: 'rejected'})
      expect(events.filter((event) => event.type === 'dispute.failed' && event.dealId === dealId)).toEqual([
        expect.objectContaining({attempts: 1, retryInMs: 200}),
        expect.objectContaining({attempts: 2, retryInMs: 400}),
      ])
      expect(mediator.disputes()[dealId]).toMatchObject({phase: 'ruled', ruling: 'rejected', attempts: 2})
      expect(await chainState(dealId)).toBe('MediationRejected')
    }, 60_000)

    it('gives up after a bounded number of attempts and leaves the deal to the mediation timeout', async () => {
      const dealId = await disputedDeal(moduleConfigFor(cowsay, 'v0.0.3'), {Message: 'lost deal'}, (id) => {
        refuseNext.set(id, 100)
        return bogus()
      })
      const ruled = await until('giving up', () =>
        events.find((event) => event.type === 'dispute.ruled' && event.dealId === dealId),
      )
      expect(ruled).toMatchObject({ruling: 'abstained'})
      expect(ruled.type === 'dispute.ruled' ? ruled.reason : '').toMatch(/^gave up after 5 failed attempts: /)
      expect(
        events.filter((event) => event.type === 'dispute.failed' && event.dealId === dealId),
      ).toHaveLength(4)
      expect(await chainState(dealId)).toBe('ResultsChecked')
      refuseNext.delete(dealId)
    }, 60_000)

    it('a dispute waiting behind a running re-run survives a restart and is ruled after it', async () => {
      // The first re-run takes seconds; the second dispute arrives meanwhile and only waits in line.
      const slow = await disputedDeal(moduleConfigFor(sleep, 'v0.1.0'), {Seconds: '4'}, bogus)
      await until('the slow re-run to start', () =>
        mediator.disputes()[slow]?.phase === 'judging' ? true : undefined,
      )
      const waiting = await disputedDeal(moduleConfigFor(cowsay, 'v0.0.3'), {Message: 'in line'}, bogus)
      const head = await anvil.provider.getBlockNumber()
      // The follower has moved its cursor past the second dispute's event.
      await until('the cursor to pass the dispute', () =>
        (mediator.cursor() ?? 0) >= head ? true : undefined,
      )
      expect(events.some((event) => event.type === 'dispute.ruled' && event.dealId === waiting)).toBe(false)
      await mediator.stop()
      expect(mediator.disputes()[waiting]?.phase).toBe('queued')

      const after: MediatorEvent[] = []
      mediator = await launchMediator(after, proxyUrl)
      for (const dealId of [slow, waiting]) {
        const ruled = await until('the ruling after the restart', () =>
          after.find((event) => event.type === 'dispute.ruled' && event.dealId === dealId),
        )
        expect(ruled).toMatchObject({ruling: 'rejected'})
        expect(await chainState(dealId)).toBe('MediationRejected')
      }
    }, 90_000)
  })
})
