/**
 * The whole devnet, started with the built CLI: a cowsay job sent through core/solver as the job
 * creator is agreed on chain, run by the devnet's provider, and its downloaded result's data ID equals
 * the on-chain `dataId`; its stdout is what Debian's cowsay prints. `down` leaves no process.
 */
import {mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {JsonRpcProvider, Wallet} from 'ethers'

import {
  BUILTIN_NETWORKS,
  type DevnetState,
  defineNetwork,
  devnetPrivateKey,
  processAlive,
} from '../../src/core/config/index.js'
import {getResultAdded, waitForDealState} from '../../src/core/chain/events.js'
import {LilypadController__factory} from '../../src/core/chain/generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from '../../src/core/chain/generated/factories/LilypadToken__factory.js'
import {renderModule} from '../../src/core/module/render-module.js'
import {computeDataId} from '../../src/core/results/data-id.js'
import {unpackResultTar} from '../../src/core/results/archive.js'
import {
  GO_STATE,
  buildJobOffer,
  createSolverClient,
  dealTermsForChain,
  moduleConfigFor,
  type DealContainer,
} from '../../src/core/solver/index.js'
import {spawnCli} from '../helpers/run-cli.js'

interface CowsayCase {
  message: string
  stdoutBase64: string
}

let dataDir: string
let work: string
let state: DevnetState
let provider: JsonRpcProvider

async function cli(args: string[]): Promise<{status: number | null; stdout: string; stderr: string}> {
  return spawnCli([...args, '--data-dir', dataDir], {})
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-devnet-e2e-'))
  work = await mkdtemp(join(tmpdir(), 'lilypad-devnet-jc-'))
  const up = await cli(['devnet', 'up', '--json'])
  expect(up.stderr).toBe('')
  expect(up.status).toBe(0)
  const status = await cli(['devnet', 'status', '--json'])
  expect(status.status).toBe(0)
  state = JSON.parse(status.stdout).result as DevnetState
  provider = new JsonRpcProvider(state.rpcUrl, undefined, {
    staticNetwork: true,
    cacheTimeout: -1,
    pollingInterval: 50,
  })
}, 90_000)

afterAll(async () => {
  provider.destroy()
  if (process.env.KEEP_DEVNET_LOGS !== undefined) console.log(`devnet data kept in ${dataDir}`)
  const before = JSON.parse(await readFile(join(dataDir, 'devnet', 'state.json'), 'utf8')) as DevnetState
  await cli(['devnet', 'down'])
  for (const service of before.services) expect(processAlive(service.pid)).toBe(false)
  if (process.env.KEEP_DEVNET_LOGS === undefined) await rm(dataDir, {recursive: true, force: true})
  await rm(work, {recursive: true, force: true})
}, 60_000)

describe('lilypad devnet', () => {
  it('reports its endpoints, contracts, accounts and services, and nothing secret', async () => {
    const status = await cli(['devnet', 'status', '--json'])
    const result = JSON.parse(status.stdout).result as Record<string, unknown>
    expect(result.running).toBe(true)
    expect(result.chainId).toBe(412346)
    expect(Object.keys(result.contracts as object).sort()).toEqual(
      expect.arrayContaining(['LilypadController', 'LilypadToken', 'LilypadUsers']),
    )
    expect(Object.keys(result.accounts as object).sort()).toEqual(
      ['admin', 'faucet', 'jobCreator', 'mediator', 'resourceProvider', 'solver'].sort(),
    )
    expect((result.services as {name: string; state: string}[]).map((s) => [s.name, s.state])).toEqual(
      expect.arrayContaining([
        ['anvil', 'running'],
        ['git', 'running'],
        ['solver', 'running'],
        ['resource-provider', 'running'],
        ['mediator', 'running'],
      ]),
    )
    for (const role of ['admin', 'faucet', 'solver', 'mediator', 'resourceProvider', 'jobCreator'] as const) {
      expect(status.stdout).not.toContain(devnetPrivateKey(role).slice(2))
    }
  })

  it('says so when it is already running, and changes nothing', async () => {
    const again = await cli(['devnet', 'up', '--json'])
    expect(again.status).toBe(0)
    const envelope = JSON.parse(again.stdout) as {result: {alreadyRunning: boolean; state: DevnetState}}
    expect(envelope.result.alreadyRunning).toBe(true)
    const onDisk = JSON.parse(await readFile(join(dataDir, 'devnet', 'state.json'), 'utf8')) as DevnetState
    expect(envelope.result.state.supervisorPid).toBe(onDisk.supervisorPid)
    expect(envelope.result.state.startedAt).toBe(onDisk.startedAt)
  })

  it('runs a cowsay job end to end: agreed on chain, and the downloaded CID is the on-chain dataId', async () => {
    const config = {
      dataDir: work,
      network: defineNetwork({...BUILTIN_NETWORKS.local!, moduleBase: state.moduleBase}),
    }
    const {module, ref} = await renderModule('cowsay:v0.0.3', {Message: 'hi'}, {config})
    const jobCreator = new Wallet(devnetPrivateKey('jobCreator'), provider)
    const solver = createSolverClient({url: state.solverUrl, signer: jobCreator.privateKey})
    const offer = buildJobOffer({
      jobCreator: jobCreator.address,
      module: moduleConfigFor(ref.repoUrl, ref.ref),
      rendered: module,
      inputs: {Message: 'hi'},
      services: {solver: state.accounts.solver, mediators: [state.accounts.mediator]},
    })
    const posted = await solver.postJobOffer(offer)

    let deal: DealContainer | undefined
    for (let i = 0; i < 200 && deal === undefined; i += 1) {
      deal = (await solver.getDeals({job_creator: jobCreator.address})).find((d) => d.job_offer === posted.id)
      if (deal === undefined) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(deal).toBeDefined()
    if (deal === undefined) return
    expect(deal.state).toBe(GO_STATE.DealNegotiating)
    expect(deal.deal.timeouts).toBeDefined()

    const controller = LilypadController__factory.connect(state.contracts.LilypadController, jobCreator)
    const token = LilypadToken__factory.connect(state.contracts.LilypadToken, jobCreator)
    const terms = dealTermsForChain(deal.deal)
    const lock = terms[3].paymentCollateral + terms[2].judgeResults.collateral
    await (await token.approve(state.contracts.LilypadController, lock)).wait()
    // The provider may agree between our estimate and our send, and a second agree costs more gas.
    const agree = await controller.agree(...terms, {gasLimit: 400_000})
    await agree.wait()
    await solver.postJobCreatorTxs(deal.id, {agree: agree.hash})

    // The provider agrees, runs the job and posts its result on chain.
    await waitForDealState(provider, state.contracts.LilypadController, deal.id, (a) => a.state >= 2, {
      timeoutMs: 60_000,
      pollIntervalMs: 100,
    })
    const onChain = await getResultAdded(provider, state.contracts.LilypadController, deal.id)
    expect(onChain?.dataId).toMatch(/^Qm/)
    for (let i = 0; i < 200; i += 1) {
      if ((await solver.getDeal(deal.id)).state === GO_STATE.ResultsSubmitted) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }

    const download = await solver.downloadResultFiles(deal.id)
    const outputDir = join(work, 'downloaded-files', deal.id)
    await unpackResultTar(download.stream, outputDir)
    expect(await computeDataId(outputDir)).toBe(onChain?.dataId)
    const corpus = JSON.parse(await readFile(join('test', 'fixtures', 'cowsay', 'corpus.json'), 'utf8')) as {
      cases: CowsayCase[]
    }
    const hi = corpus.cases.find((c) => c.message === 'hi')
    expect(await readFile(join(outputDir, 'stdout'))).toEqual(Buffer.from(hi?.stdoutBase64 ?? '', 'base64'))
    expect(await readFile(join(outputDir, 'exitCode'), 'utf8')).toBe('0')

    await (await controller.acceptResult(deal.id)).wait()
    await waitForDealState(provider, state.contracts.LilypadController, deal.id, (a) => a.state === 3, {
      timeoutMs: 10_000,
      pollIntervalMs: 50,
    })
    for (let i = 0; i < 200; i += 1) {
      if ((await solver.getDeal(deal.id)).state === GO_STATE.ResultsAccepted) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect((await solver.getDeal(deal.id)).state).toBe(GO_STATE.ResultsAccepted)
  }, 120_000)

  it('resumes the same chain, contracts and deals after down and up', async () => {
    const solver = createSolverClient({url: state.solverUrl})
    const deals = await solver.getDeals()
    expect(deals.length).toBeGreaterThan(0)
    const block = await provider.getBlockNumber()
    const before = JSON.parse(await readFile(join(dataDir, 'devnet', 'state.json'), 'utf8')) as DevnetState
    expect((await cli(['devnet', 'down'])).status).toBe(0)
    for (const service of before.services) expect(processAlive(service.pid)).toBe(false)
    expect(JSON.parse((await cli(['devnet', 'status', '--json'])).stdout).result.running).toBe(false)
    expect((await cli(['devnet', 'up'])).status).toBe(0)
    const after = JSON.parse((await cli(['devnet', 'status', '--json'])).stdout).result as DevnetState
    expect(after.contracts).toEqual(state.contracts)
    provider.destroy()
    provider = new JsonRpcProvider(after.rpcUrl, undefined, {
      staticNetwork: true,
      cacheTimeout: -1,
      pollingInterval: 50,
    })
    expect(await provider.getBlockNumber()).toBeGreaterThanOrEqual(block)
    const again = await createSolverClient({url: after.solverUrl}).getDeals()
    expect(again.map((deal) => [deal.id, deal.state])).toEqual(deals.map((deal) => [deal.id, deal.state]))
    state = after
  }, 90_000)

  it('runs a job with a keystore account funded by devnet fund, printing neither key nor password', async () => {
    const configDir = join(work, 'config')
    const passwordFile = join(work, 'password')
    await writeFile(passwordFile, 'correct horse battery staple\n')
    const env = {LILYPAD_CONFIG_DIR: configDir}
    const outputs: string[] = []
    const lilypad = async (args: string[]): Promise<{status: number | null; stdout: string}> => {
      const result = await spawnCli(args, {...env, DATA_DIR: dataDir}, {timeoutMs: 120_000})
      outputs.push(result.stdout, result.stderr)
      return result
    }
    expect((await lilypad(['wallet', 'create', '--password-file', passwordFile, '--json'])).status).toBe(0)
    const shown = JSON.parse((await lilypad(['wallet', 'show', '--json'])).stdout) as {result: unknown}
    const address = /0x[0-9a-fA-F]{40}/.exec(JSON.stringify(shown.result))?.[0] ?? ''
    expect((await lilypad(['devnet', 'fund', address, '--eth', '1', '--lp', '20'])).status).toBe(0)
    const run = await lilypad([
      'run',
      'cowsay:v0.0.3',
      '-i',
      'Message=from a keystore',
      '--password-file',
      passwordFile,
      '--json',
    ])
    expect(run.status).toBe(0)
    const result = (JSON.parse(run.stdout) as {result: {verified: boolean; state: string}}).result
    expect(result).toMatchObject({verified: true, state: 'ResultsAccepted'})
    const token = LilypadToken__factory.connect(state.contracts.LilypadToken, provider)
    expect(await token.balanceOf(address)).toBe(19n * 10n ** 18n)

    const keystore = join(configDir, 'keystore')
    const file = (await readdir(keystore)).find((name) => name.endsWith('.json')) ?? ''
    const json = await readFile(join(keystore, file), 'utf8')
    const key = (await Wallet.fromEncryptedJson(json, 'correct horse battery staple')).privateKey
    expect(json).not.toContain(key.slice(2))
    expect((await stat(join(keystore, file))).mode & 0o777).toBe(0o600)
    for (const text of outputs) {
      expect(text).not.toContain(key.slice(2))
      expect(text).not.toContain('correct horse battery staple')
    }
  }, 180_000)

  it('moves chain time forward', async () => {
    const before = (await provider.getBlock('latest'))?.timestamp ?? 0
    const advanced = await cli(['devnet', 'advance', '3601', '--json'])
    expect(advanced.status).toBe(0)
    const result = JSON.parse(advanced.stdout).result as {timestamp: number}
    expect(result.timestamp).toBeGreaterThanOrEqual(before + 3601)
  })

  it('funds an account from the faucet', async () => {
    const fresh = Wallet.createRandom().address
    const funded = await cli(['devnet', 'fund', fresh, '--eth', '2', '--lp', '50', '--json'])
    expect(funded.status).toBe(0)
    expect(await provider.getBalance(fresh)).toBe(2n * 10n ** 18n)
    const token = LilypadToken__factory.connect(state.contracts.LilypadToken, provider)
    expect(await token.balanceOf(fresh)).toBe(50n * 10n ** 18n)
    const bad = await cli(['devnet', 'fund', 'nope', '--json'])
    expect(bad.status).toBe(2)
  })
})
