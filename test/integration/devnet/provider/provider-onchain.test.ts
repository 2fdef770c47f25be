/**
 * The devnet's resource provider and mediator in the `onchain` protocol, as separate parties: a real
 * anvil chain with the protocol deployed, the real solver on 127.0.0.1, the devnet's example module
 * repositories served over file://, and the test playing the job creator with ethers and the solver
 * client. Every fault behaves as `devnet up --fault` promises, and disputes are ruled by re-running.
 */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet, parseEther} from 'ethers'

import {type ChainClient, connectChain} from '../../../../src/core/chain/client.js'
import {type Deployment, deployContracts} from '../../../../src/core/chain/deploy.js'
import {getResultAdded} from '../../../../src/core/chain/events.js'
import {LilypadController__factory} from '../../../../src/core/chain/generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from '../../../../src/core/chain/generated/factories/LilypadToken__factory.js'
import {stateName} from '../../../../src/core/chain/states.js'
import {computeDataId} from '../../../../src/core/results/data-id.js'
import {unpackResultTar} from '../../../../src/core/results/archive.js'
import {createSolverClient} from '../../../../src/core/solver/client.js'
import {buildJobOffer, dealTermsForChain, moduleConfigFor} from '../../../../src/core/solver/offer.js'
import {GO_STATE} from '../../../../src/core/solver/states.js'
import type {DealContainer, Result} from '../../../../src/core/solver/types.js'
import {buildModuleRepos} from '../../../../src/devnet/git/repos.js'
import {
  type MediatorEvent,
  type RunningMediator,
  startMediator,
} from '../../../../src/devnet/mediator/index.js'
import {
  type ProviderEvent,
  type ProviderFault,
  type RunningProvider,
  startProvider,
} from '../../../../src/devnet/provider/index.js'
import {type RunningSolver, startSolver} from '../../../../src/devnet/solver/index.js'
import {type Anvil, increaseTime, startAnvil} from '../../../helpers/anvil.js'
import {makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'

const CHAIN_ID = 31337
const gitEnv = {PATH: process.env.PATH ?? '/usr/bin:/bin'}

let anvil: Anvil
let root: string
let admin: ChainClient
let deployment: Deployment
let solver: RunningSolver
let mediator: RunningMediator
const mediatorEvents: MediatorEvent[] = []
let repoUrl: (name: string) => string
let solverWallet: Wallet
let mediatorWallet: Wallet
let jobCreator: Wallet
/** Dev accounts free for providers, one per provider started. */
let spareAccounts: Wallet[]
const running = new Set<RunningProvider>()
const cleanups: (() => Promise<void>)[] = []

beforeAll(async () => {
  anvil = await startAnvil()
  cleanups.push(() => anvil.stop())
  root = await makeTempDir('lilypad-provider-onchain-')
  cleanups.push(() => removeTempDir(root))
  const [deployer, solverAccount, mediatorAccount, jc] = anvil.accounts as [Wallet, Wallet, Wallet, Wallet]
  solverWallet = solverAccount
  mediatorWallet = mediatorAccount
  jobCreator = jc
  // One fresh account per provider, so no two share a nonce or an offer.
  spareAccounts = Array.from({length: 13}, () => new Wallet(Wallet.createRandom().privateKey, anvil.provider))
  admin = await connectChain({
    rpcUrl: anvil.url,
    chainId: CHAIN_ID,
    privateKey: deployer.privateKey,
    pollingIntervalMs: 50,
  })
  cleanups.push(() => {
    admin.destroy()
    return Promise.resolve()
  })
  deployment = await deployContracts(admin.signer!)
  const token = LilypadToken__factory.connect(deployment.addresses.LilypadToken, admin.signer)
  for (const wallet of [jobCreator, mediatorWallet, ...spareAccounts]) {
    await (await token.transfer(wallet.address, parseEther('1000'))).wait()
  }
  for (const wallet of spareAccounts) {
    await (await admin.signer!.sendTransaction({to: wallet.address, value: parseEther('10')})).wait()
  }
  const repos = await buildModuleRepos(join(root, 'git'), {env: gitEnv})
  repoUrl = (name) => pathToFileURL(repos[name]!.path).href

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
  mediator = await startMediator({
    solverUrl: solver.url,
    privateKey: mediatorWallet.privateKey,
    chain: {
      rpcUrl: anvil.url,
      chainId: CHAIN_ID,
      controller: deployment.addresses.LilypadController,
      fromBlock: deployment.blockNumber,
    },
    dataDir: join(root, 'mediator'),
    gitEnv,
    pollIntervalMs: 50,
    onEvent: (event) => mediatorEvents.push(event),
  })
  cleanups.push(() => mediator.stop())
}, 120_000)

afterAll(async () => {
  for (const provider of running) await provider.stop()
  // In reverse order of start; whatever beforeAll got to is stopped even when it failed halfway.
  for (const cleanup of cleanups.reverse()) await cleanup()
}, 120_000)

interface TestProvider {
  provider: RunningProvider
  events: ProviderEvent[]
  dataDir: string
  key: string
}

async function launch(
  options: {fault?: ProviderFault; dataDir?: string; key?: string; mediators?: string[]} = {},
): Promise<TestProvider> {
  const key = options.key ?? spareAccounts.shift()!.privateKey
  const dataDir = options.dataDir ?? (await makeTempDir('lilypad-provider-'))
  const events: ProviderEvent[] = []
  const provider = await startProvider({
    solverUrl: solver.url,
    privateKey: key,
    protocol: 'onchain',
    chain: {
      rpcUrl: anvil.url,
      chainId: CHAIN_ID,
      controller: deployment.addresses.LilypadController,
      token: deployment.addresses.LilypadToken,
    },
    dataDir,
    mediators: options.mediators ?? [mediatorWallet.address],
    solverAddress: solverWallet.address,
    fault: options.fault,
    gitEnv,
    moduleBase: pathToFileURL(join(root, 'git')).href,
    pollIntervalMs: 200,
    onEvent: (event) => events.push(event),
  })
  running.add(provider)
  return {provider, events, dataDir, key}
}

async function stopProvider(provider: RunningProvider): Promise<void> {
  await provider.stop()
  running.delete(provider)
}

const jcSolver = () => createSolverClient({url: solver.url, signer: jobCreator.privateKey})
const controllerAs = (wallet: Wallet) =>
  LilypadController__factory.connect(deployment.addresses.LilypadController, wallet.connect(anvil.provider))

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

/** {@link eventually} for a condition on what the services reported. */
function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  return eventually(what, () => Promise.resolve(probe()))
}

/**
 * Posts a job offer aimed at `target`, waits for its deal and (unless `jcAgrees` is false) agrees to it
 * as the job creator.
 */
async function submitJob(
  target: string,
  module: string,
  tag: string,
  inputs: Record<string, string>,
  options: {jcAgrees?: boolean; mediators?: string[]} = {},
): Promise<string> {
  const client = jcSolver()
  const offer = buildJobOffer({
    jobCreator: jobCreator.address,
    module: moduleConfigFor(repoUrl(module), tag),
    rendered: {machine: {gpu: 0, cpu: 1000, ram: 100}},
    inputs,
    services: {solver: solverWallet.address, mediators: options.mediators ?? [mediatorWallet.address]},
    target,
  })
  const posted = await client.postJobOffer(offer)
  const deal = await eventually('the deal', async () => {
    const deals = await client.getDeals({job_creator: jobCreator.address})
    return deals.find((candidate) => candidate.job_offer === posted.id)
  })
  if (options.jcAgrees === false) return deal.id
  await agreeAsJobCreator(deal)
  return deal.id
}

/** The job creator's `agree`, reported to the solver. */
async function agreeAsJobCreator(deal: DealContainer): Promise<void> {
  const client = jcSolver()
  const terms = dealTermsForChain(deal.deal)
  const token = LilypadToken__factory.connect(
    deployment.addresses.LilypadToken,
    jobCreator.connect(anvil.provider),
  )
  await (
    await token.approve(
      deployment.addresses.LilypadController,
      terms[3].paymentCollateral + terms[2].judgeResults.collateral,
    )
  ).wait()
  const tx = await controllerAs(jobCreator).agree(...terms)
  await tx.wait()
  await client.postJobCreatorTxs(deal.id, {agree: tx.hash})
}

async function resultOf(dealId: string): Promise<Result> {
  return eventually(`the result of ${dealId}`, async () => {
    try {
      return await jcSolver().getResult(dealId)
    } catch {
      return undefined
    }
  })
}

async function chainState(dealId: string): Promise<string> {
  return stateName(Number((await controllerAs(jobCreator).getAgreement(dealId)).state))
}

async function downloadedDataId(dealId: string): Promise<string> {
  const target = join(root, 'downloaded-files', dealId)
  await unpackResultTar((await jcSolver().downloadResultFiles(dealId)).stream, target)
  return computeDataId(target)
}

describe('resource provider (onchain)', () => {
  it('agrees, runs a Wasm job, uploads it, and its on-chain data ID is the CID of the files; the mediator accepts it', async () => {
    const {provider, events} = await launch()
    const dealId = await submitJob(provider.address, 'lilypad-module-cowsay', 'v0.0.3', {Message: 'moo'})
    const result = await resultOf(dealId)
    expect(result.error).toBe('')
    const onChain = await getResultAdded(anvil.provider, deployment.addresses.LilypadController, dealId)
    expect(onChain?.dataId).toBe(result.data_id)
    const downloaded = await downloadedDataId(dealId)
    expect(downloaded).toBe(onChain?.dataId)
    expect(await readFile(join(root, 'downloaded-files', dealId, 'stdout'), 'utf8')).toContain('moo')
    expect(await chainState(dealId)).toBe('ResultsSubmitted')

    const deal = await jcSolver().getDeal(dealId)
    expect(deal.transactions.resource_provider.agree).toMatch(/^0x[0-9a-f]{64}$/)
    expect(deal.transactions.resource_provider.add_result).toMatch(/^0x[0-9a-f]{64}$/)
    expect(events.filter((event) => event.type === 'job.started')).toHaveLength(1)
    // A fresh offer replaces the one the deal took.
    await eventually('a fresh offer', async () => {
      const open = await jcSolver().getResourceOffers({
        resource_provider: provider.address,
        not_matched: true,
      })
      return open.length === 1 ? open : undefined
    })

    // The job creator disputes an honest result: the mediator re-runs it, gets the same CID and accepts.
    await (await controllerAs(jobCreator).checkResult(dealId, {gasLimit: 250_000n})).wait()
    const ruled = await until('the ruling', () =>
      mediatorEvents.find((event) => event.type === 'dispute.ruled' && event.dealId === dealId),
    )
    expect(ruled).toMatchObject({ruling: 'accepted'})
    expect(await chainState(dealId)).toBe('MediationAccepted')
  }, 90_000)

  it('lying: reports a data ID that is not the uploaded files’ CID, and the mediator rejects it', async () => {
    const {provider} = await launch({fault: 'lying'})
    const dealId = await submitJob(provider.address, 'lilypad-module-cowsay', 'v0.0.3', {Message: 'lies'})
    const result = await resultOf(dealId)
    const onChain = await getResultAdded(anvil.provider, deployment.addresses.LilypadController, dealId)
    expect(onChain?.dataId).toBe(result.data_id)
    expect(await downloadedDataId(dealId)).not.toBe(onChain?.dataId)

    await (await controllerAs(jobCreator).checkResult(dealId, {gasLimit: 250_000n})).wait()
    const ruled = await until('the ruling', () =>
      mediatorEvents.find((event) => event.type === 'dispute.ruled' && event.dealId === dealId),
    )
    expect(ruled).toMatchObject({ruling: 'rejected'})
    expect(await chainState(dealId)).toBe('MediationRejected')
    const deal = await jcSolver().getDeal(dealId)
    expect(deal.transactions.mediator.mediation_reject_result).toBe(
      ruled.type === 'dispute.ruled' ? ruled.txHash : '',
    )
  }, 90_000)

  it('posts an error Result at once, with no files and no addResult, when the module does not resolve', async () => {
    const {provider, events} = await launch()
    const dealId = await submitJob(provider.address, 'lilypad-module-cowsay', 'v7.7.7', {})
    const result = await resultOf(dealId)
    expect(result.data_id).toBe('')
    expect(result.error).toMatch(/cannot run/)
    expect(result.error).toMatch(/v7\.7\.7/)
    expect(await chainState(dealId)).toBe('DealAgreed')
    // The event follows the post (once the state file has it).
    await until('the result.failed event', () =>
      events.find((event) => event.type === 'result.failed' && event.dealId === dealId),
    )
  }, 60_000)

  it('failing: agrees, then posts an error Result for the job', async () => {
    const {provider} = await launch({fault: 'failing'})
    const dealId = await submitJob(provider.address, 'lilypad-module-cowsay', 'v0.0.3', {Message: 'x'})
    const result = await resultOf(dealId)
    expect(result.error).toMatch(/fault "failing"/)
    const agreement = await controllerAs(jobCreator).getAgreement(dealId)
    expect(agreement.resourceProviderAgreed).toBe(true)
    expect(stateName(Number(agreement.state))).toBe('DealAgreed')
  }, 60_000)

  it('stalling: agrees and never finishes, so the job creator claims the submit timeout', async () => {
    const {provider, events} = await launch({fault: 'stalling'})
    const dealId = await submitJob(provider.address, 'lilypad-module-cowsay', 'v0.0.3', {Message: 'x'})
    await until('the stall', () =>
      events.some((event) => event.type === 'fault' && event.dealId === dealId) ? true : undefined,
    )
    await eventually('DealAgreed', async () =>
      (await chainState(dealId)) === 'DealAgreed' ? true : undefined,
    )
    expect(events.some((event) => event.type === 'job.started')).toBe(false)
    expect(provider.deals()[dealId]?.phase).toBe('stalled')
    await increaseTime(anvil.provider, 3601)
    await (await controllerAs(jobCreator).timeoutSubmitResult(dealId)).wait()
    expect(await chainState(dealId)).toBe('TimeoutSubmitResults')
  }, 60_000)

  it('vanishing: agrees, then goes silent: no result, no new offer', async () => {
    const {provider, events} = await launch({fault: 'vanishing'})
    const dealId = await submitJob(provider.address, 'lilypad-module-cowsay', 'v0.0.3', {Message: 'x'})
    await until('the vanishing', () =>
      events.some((event) => event.type === 'fault' && event.dealId === dealId) ? true : undefined,
    )
    await eventually('DealAgreed', async () =>
      (await chainState(dealId)) === 'DealAgreed' ? true : undefined,
    )
    const deal: DealContainer = await eventually('the solver to see DealAgreed', async () => {
      const seen = await jcSolver().getDeal(dealId)
      return seen.state === GO_STATE.DealAgreed ? seen : undefined
    })
    expect(deal.transactions.resource_provider.add_result).toBe('')
    expect(
      await jcSolver().getResourceOffers({resource_provider: provider.address, not_matched: true}),
    ).toEqual([])
    expect(events.filter((event) => event.type === 'offer.posted')).toHaveLength(1)
  }, 60_000)

  it('a restart mid-job finishes the job once, and a restart after it runs nothing', async () => {
    const first = await launch()
    const dealId = await submitJob(first.provider.address, 'lilypad-module-sleep', 'v0.1.0', {Seconds: '2'})
    await until('the job to start', () =>
      first.events.some((event) => event.type === 'job.started' && event.dealId === dealId)
        ? true
        : undefined,
    )
    await stopProvider(first.provider)
    expect(first.events.some((event) => event.type === 'job.finished')).toBe(false)
    expect(first.provider.deals()[dealId]?.phase).toBe('running')

    const second = await launch({dataDir: first.dataDir, key: first.key})
    const result = await resultOf(dealId)
    expect(result.error).toBe('')
    // Posted, and still watching: the job creator has not judged the result yet.
    await until('posted', () => (second.provider.deals()[dealId]?.phase === 'posted' ? true : undefined))
    expect(
      second.events.filter((event) => event.type === 'job.started' && event.dealId === dealId),
    ).toHaveLength(1)
    expect(
      second.events.filter((event) => event.type === 'result.posted' && event.dealId === dealId),
    ).toHaveLength(1)
    await stopProvider(second.provider)

    const third = await launch({dataDir: first.dataDir, key: first.key})
    // Two polls later it has certainly looked at the deal.
    await until('two polls', () =>
      third.events.filter((event) => event.type === 'deals.polled').length >= 2 ? true : undefined,
    )
    await third.provider.stop()
    expect(third.events.filter((event) => event.type === 'job.started')).toEqual([])
    expect(third.events.filter((event) => event.type === 'result.posted')).toEqual([])
    expect(third.provider.deals()[dealId]?.phase).toBe('posted')
    expect(
      (await getResultAdded(anvil.provider, deployment.addresses.LilypadController, dealId))?.dataId,
    ).toBe(result.data_id)
  }, 90_000)

  it('stops a job at the deal’s submit deadline on chain, not at the module’s longer Timeout', async () => {
    const first = await launch()
    const dealId = await submitJob(
      first.provider.address,
      'lilypad-module-sleep',
      'v0.1.0',
      {Seconds: '60'},
      {
        jcAgrees: false,
      },
    )
    await until('the agree', () =>
      first.events.find((event) => event.type === 'deal.agreed' && event.dealId === dealId),
    )
    await stopProvider(first.provider)
    await agreeAsJobCreator(await jcSolver().getDeal(dealId))
    expect(await chainState(dealId)).toBe('DealAgreed')
    // 6 s of chain time left before the submit deadline (3600 s after DealAgreed); the module allows 600 s.
    await increaseTime(anvil.provider, 3594)
    const second = await launch({dataDir: first.dataDir, key: first.key})
    const result = await resultOf(dealId)
    expect(result.data_id).toBe('')
    expect(result.error).toMatch(/did not finish within its time limit of [0-5](\.\d+)? s/)
    expect(second.events).toContainEqual(expect.objectContaining({type: 'job.started', dealId}))
  }, 60_000)

  describe('claims the timeouts the job creator or the mediator leaves it', () => {
    const lp = (address: string): Promise<bigint> =>
      LilypadToken__factory.connect(deployment.addresses.LilypadToken, anvil.provider).balanceOf(address)
    const claimOf = (events: ProviderEvent[], dealId: string) =>
      until('the timeout claim', () =>
        events.find((event) => event.type === 'timeout.claimed' && event.dealId === dealId),
      )
    const reported = (
      dealId: string,
      field: 'timeout_agree' | 'timeout_judge_result' | 'timeout_mediate_result',
    ) =>
      eventually(`the solver to record ${field}`, async () => {
        const value = (await jcSolver().getDeal(dealId)).transactions.resource_provider[field]
        return value === '' ? undefined : value
      })

    it('timeoutAgree when the job creator never agrees: its submit collateral S comes back', async () => {
      const {provider, events} = await launch()
      const before = await lp(provider.address)
      const dealId = await submitJob(
        provider.address,
        'lilypad-module-cowsay',
        'v0.0.3',
        {Message: 'x'},
        {jcAgrees: false},
      )
      await until('the agree', () =>
        events.find((event) => event.type === 'deal.agreed' && event.dealId === dealId),
      )
      expect(await lp(provider.address)).toBe(before - parseEther('1'))
      expect(await chainState(dealId)).toBe('DealNegotiating')
      await increaseTime(anvil.provider, 3601)
      const claimed = await claimOf(events, dealId)
      expect(claimed).toMatchObject({timeout: 'timeout_agree'})
      expect(await chainState(dealId)).toBe('TimeoutAgree')
      expect(await lp(provider.address)).toBe(before)
      expect(provider.deals()[dealId]).toMatchObject({
        phase: 'done',
        timeout: 'timeout_agree',
        closedAs: 'TimeoutAgree',
      })
      expect(await reported(dealId, 'timeout_agree')).toBe(
        claimed.type === 'timeout.claimed' ? claimed.txHash : '',
      )
    }, 60_000)

    it('timeoutJudgeResult when the job creator never judges: paid, with R back and J slashed to it', async () => {
      const {provider, events} = await launch()
      const before = await lp(provider.address)
      const jcBefore = await lp(jobCreator.address)
      const dealId = await submitJob(provider.address, 'lilypad-module-cowsay', 'v0.0.3', {
        Message: 'judge me',
      })
      await until('the result', () =>
        events.find((event) => event.type === 'result.posted' && event.dealId === dealId),
      )
      expect(provider.deals()[dealId]?.phase).toBe('posted')
      // R = 2 locked by addResult (S = 1 of it already locked at agree).
      expect(await lp(provider.address)).toBe(before - parseEther('2'))
      await increaseTime(anvil.provider, 3601)
      const claimed = await claimOf(events, dealId)
      expect(claimed).toMatchObject({timeout: 'timeout_judge_result'})
      expect(await chainState(dealId)).toBe('TimeoutJudgeResults')
      // Net over the deal: provider +pay + J = +2, job creator −pay − J = −2 (contracts/README.md).
      expect(await lp(provider.address)).toBe(before + parseEther('2'))
      expect(await lp(jobCreator.address)).toBe(jcBefore - parseEther('2'))
      expect(await reported(dealId, 'timeout_judge_result')).toBe(
        claimed.type === 'timeout.claimed' ? claimed.txHash : '',
      )
    }, 60_000)

    it('timeoutMediateResult when the drawn mediator never rules: both get everything back', async () => {
      const silent = Wallet.createRandom().address
      const {provider, events} = await launch({mediators: [silent]})
      const before = await lp(provider.address)
      const jcBefore = await lp(jobCreator.address)
      const dealId = await submitJob(
        provider.address,
        'lilypad-module-cowsay',
        'v0.0.3',
        {Message: 'mediate me'},
        {
          mediators: [silent],
        },
      )
      await until('the result', () =>
        events.find((event) => event.type === 'result.posted' && event.dealId === dealId),
      )
      await (await controllerAs(jobCreator).checkResult(dealId, {gasLimit: 250_000n})).wait()
      expect(await chainState(dealId)).toBe('ResultsChecked')
      await increaseTime(anvil.provider, 3601)
      const claimed = await claimOf(events, dealId)
      expect(claimed).toMatchObject({timeout: 'timeout_mediate_result'})
      expect(await chainState(dealId)).toBe('TimeoutMediateResults')
      // Nobody is slashed: provider gets R back, job creator P + F (net 0 / 0).
      expect(await lp(provider.address)).toBe(before)
      expect(await lp(jobCreator.address)).toBe(jcBefore)
      expect(await reported(dealId, 'timeout_mediate_result')).toBe(
        claimed.type === 'timeout.claimed' ? claimed.txHash : '',
      )
    }, 60_000)
  })
})
