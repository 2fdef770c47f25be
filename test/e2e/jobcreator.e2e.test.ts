/**
 * A smart contract runs a module, end to end on one devnet started with the built CLI: a plain
 * ethers script (test/fixtures/scripts/example-client.mjs, only dist/contracts/*.json and the
 * addresses `devnet status --json` prints) deploys ExampleClient, approves the deposit, authorizes
 * the client and calls it (a client it never authorized is refused); the devnet's job-creator service (#10) runs the job as an ordinary `lilypad run` and answers
 * on chain. Cowsay's data ID is checked against the files `deals download` fetches, a failing
 * module refunds the payee, a bad input reverts with its index, a job interrupted by `devnet down`
 * is finished once after `devnet up`, and LP is conserved across every account involved.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {JsonRpcProvider, Wallet} from 'ethers'

import {LilypadOnChainJobCreator__factory} from '../../src/core/chain/generated/factories/LilypadOnChainJobCreator__factory.js'
import {LilypadToken__factory} from '../../src/core/chain/generated/factories/LilypadToken__factory.js'
import {type DevnetState, devnetAddress, processAlive} from '../../src/core/config/index.js'
import {computeDataId} from '../../src/core/results/data-id.js'
import {ROOT, spawnCli} from '../helpers/run-cli.js'

const SCRIPT = join(ROOT, 'test', 'fixtures', 'scripts', 'example-client.mjs')
const COW_HI = ' ____\n< hi >\n ----\n'

let dataDir: string
let state: DevnetState
let provider: JsonRpcProvider
let payee: Wallet
let client: string
let deposit: bigint
const clients: string[] = []
let lpBefore: bigint
let payeeBefore: bigint
const seenPids = new Set<number>()

async function cli(args: string[], timeoutMs = 60_000): Promise<{status: number | null; stdout: string}> {
  return spawnCli([...args, '--data-dir', dataDir], {}, {timeoutMs})
}

async function readStatus(): Promise<DevnetState> {
  const status = await cli(['devnet', 'status', '--json'])
  const result = (JSON.parse(status.stdout) as {result: DevnetState}).result
  for (const service of result.services) seenPids.add(service.pid)
  return result
}

/** Runs the plain ethers script; its child is killed by PID when it overruns. */
async function script(args: string[], timeoutMs = 90_000): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [SCRIPT, state.rpcUrl, jobCreatorAddress(), ...args], {
    env: {PATH: process.env.PATH ?? '', PAYEE_KEY: payee.privateKey},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
  }, timeoutMs)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`example-client ${args[0] ?? ''} exited ${String(code)}: ${stderr}`)
  return JSON.parse(stdout) as Record<string, unknown>
}

function jobCreatorAddress(): string {
  const address = state.contracts.LilypadOnChainJobCreator
  if (address === undefined) throw new Error('devnet status lists no LilypadOnChainJobCreator')
  return address
}

async function lpOf(address: string): Promise<bigint> {
  return LilypadToken__factory.connect(state.contracts.LilypadToken, provider).balanceOf(address)
}

/** Every account LP could move between: the devnet's eleven, the payee, the clients, both escrows. */
async function lpOfEveryone(): Promise<bigint> {
  const accounts = [
    ...Array.from({length: 11}, (_, i) => devnetAddress(i)),
    payee.address,
    ...clients,
    jobCreatorAddress(),
    state.contracts.LilypadController,
  ]
  const balances = await Promise.all(accounts.map(lpOf))
  return balances.reduce((sum, value) => sum + value, 0n)
}

async function requestJob(module: string, inputs: string[]): Promise<{jobId: string; blockNumber: number}> {
  const requested = await script(['run', client, module, ...inputs])
  expect(requested.reverted).toBeUndefined()
  return {jobId: String(requested.jobId), blockNumber: Number(requested.blockNumber)}
}

async function waitJob(jobId: string, fromBlock: number): Promise<Record<string, unknown>> {
  return script(['wait', client, jobId, String(fromBlock), '60000'])
}

function connect(): void {
  provider = new JsonRpcProvider(state.rpcUrl, undefined, {staticNetwork: true, cacheTimeout: -1})
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-jobcreator-e2e-'))
  const up = await cli(['devnet', 'up', '--json'], 90_000)
  expect(up.status).toBe(0)
  state = await readStatus()
  connect()
  payee = new Wallet(Wallet.createRandom().privateKey)
  expect((await cli(['devnet', 'fund', payee.address, '--lp', '50'])).status).toBe(0)
  const deployed = await script(['deploy', '10'])
  client = String(deployed.client)
  clients.push(client)
  deposit = BigInt(String(deployed.deposit))
  lpBefore = await lpOfEveryone()
  payeeBefore = await lpOf(payee.address)
}, 180_000)

afterAll(async () => {
  provider.destroy()
  const last = JSON.parse(await readFile(join(dataDir, 'devnet', 'state.json'), 'utf8')) as DevnetState
  for (const service of last.services) seenPids.add(service.pid)
  await cli(['devnet', 'down'])
  for (const pid of seenPids) expect(processAlive(pid)).toBe(false)
  await rm(dataDir, {recursive: true, force: true})
}, 60_000)

describe('a contract runs a module through the devnet job creator', () => {
  it('devnet status lists the job creator contract and its service', () => {
    expect(state.contracts.LilypadOnChainJobCreator).toMatch(/^0x[0-9a-fA-F]{40}$/)
    expect(state.services.map((service) => service.name)).toContain('jobcreator')
  })

  it('cowsay:v0.0.3 with Message=hi ends with JobCompleted whose data ID is that of the downloaded cow', async () => {
    const {jobId, blockNumber} = await requestJob('cowsay:v0.0.3', ['Message=hi'])
    const done = await waitJob(jobId, blockNumber)
    expect(done.event).toBe('JobCompleted')
    expect(done.completedEvents).toBe(1)
    const stored = done.stored as {dealId: string; dataId: string; state: string}
    expect(stored).toEqual({dealId: done.dealId, dataId: done.dataId, state: '2'})

    const listed = await cli(['deals', 'list', '--all', '--json'])
    expect(listed.status).toBe(0)
    const deals = (JSON.parse(listed.stdout) as {result: {deals: Record<string, unknown>[]}}).result.deals
    const row = deals.find((deal) => deal.id === done.dealId)
    expect(row).toMatchObject({jobId, requestedBy: client, state: 'ResultsAccepted'})
    // Without --all, the user's own deals only: the contract's job is not theirs.
    const own = await cli(['deals', 'list', '--json'])
    const ownDeals = (JSON.parse(own.stdout) as {result: {deals: {id: string}[]}}).result.deals
    expect(ownDeals.map((deal) => deal.id)).not.toContain(done.dealId)

    const output = join(dataDir, 'contract-cow')
    const download = await cli(['deals', 'download', String(done.dealId), '--output', output, '--json'])
    expect(download.status).toBe(0)
    const downloaded = (JSON.parse(download.stdout) as {result: {dataId: string; verified: boolean}}).result
    expect(downloaded).toMatchObject({dataId: done.dataId, verified: true})
    expect(await computeDataId(output)).toBe(done.dataId)
    expect(await readFile(join(output, 'stdout'), 'utf8')).toContain(COW_HI)
  }, 120_000)

  it('a failing module gives JobFailed with the reason, and the deposit back', async () => {
    const before = await lpOf(payee.address)
    const {jobId, blockNumber} = await requestJob('fail:v0.1.0', [])
    expect(await lpOf(payee.address)).toBe(before - deposit)
    const done = await waitJob(jobId, blockNumber)
    expect(done.event).toBe('JobFailed')
    expect(String(done.reason)).not.toBe('')
    expect(await lpOf(payee.address)).toBe(before)
  }, 120_000)

  it('a client the payee never authorized cannot spend its allowance', async () => {
    const other = String((await script(['deploy', '0'])).client)
    clients.push(other)
    const before = await lpOf(payee.address)
    const reverted = await script(['run', other, 'cowsay:v0.0.3', 'Message=hi'])
    expect(reverted).toEqual({reverted: true, error: 'ClientNotApproved', args: [payee.address, other]})
    expect(await lpOf(payee.address)).toBe(before)
  }, 60_000)

  it('an input without "=" reverts naming its index, and nothing is taken', async () => {
    const before = await lpOf(payee.address)
    const reverted = await script(['run', client, 'cowsay:v0.0.3', 'Message=hi', 'Message'])
    expect(reverted).toEqual({reverted: true, error: 'InvalidInput', args: ['1']})
    expect(await lpOf(payee.address)).toBe(before)
  }, 60_000)

  it('a job interrupted by devnet down is finished exactly once after devnet up', async () => {
    const {jobId, blockNumber} = await requestJob('sleep:v0.1.0', ['Seconds=4'])
    const stateFile = join(dataDir, 'devnet', 'jobcreator', 'jobcreator-state.json')
    const phaseOf = async (): Promise<{phase?: string; dealId?: string} | undefined> => {
      const text = await readFile(stateFile, 'utf8').catch(() => '{}')
      return (JSON.parse(text) as {jobs?: Record<string, {phase?: string; dealId?: string}>}).jobs?.[jobId]
    }
    // Wait until the job runs under a deal, then stop the whole devnet mid-job.
    for (let i = 0; i < 600; i += 1) {
      const record = await phaseOf()
      if (record?.phase === 'running' && record.dealId !== undefined) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(await phaseOf()).toMatchObject({phase: 'running'})
    provider.destroy()
    expect((await cli(['devnet', 'down'])).status).toBe(0)
    expect((await phaseOf())?.phase).toBe('running')

    expect((await cli(['devnet', 'up', '--json'], 90_000)).status).toBe(0)
    state = await readStatus()
    connect()
    const done = await waitJob(jobId, blockNumber)
    expect(done.event).toBe('JobCompleted')
    expect(done.completedEvents).toBe(1)
    const creator = LilypadOnChainJobCreator__factory.connect(jobCreatorAddress(), provider)
    const submitted = await creator.queryFilter(creator.filters.ResultsSubmitted(BigInt(jobId)), blockNumber)
    expect(submitted).toHaveLength(1)
    expect(await phaseOf()).toMatchObject({phase: 'submitted', attempts: 2})
  }, 240_000)

  it('conserves LP: everything the payee paid is the deposits of its completed jobs', async () => {
    const creator = LilypadOnChainJobCreator__factory.connect(jobCreatorAddress(), provider)
    const completed = await creator.queryFilter(creator.filters.ResultsSubmitted())
    expect(completed).toHaveLength(2)
    expect(await lpOf(jobCreatorAddress())).toBe(0n)
    expect(await lpOf(payee.address)).toBe(payeeBefore - 2n * deposit)
    expect(await lpOfEveryone()).toBe(lpBefore)
  }, 60_000)

  it('a saved deployment without the job creator is deployed again whole, the service funded', async () => {
    provider.destroy()
    expect((await cli(['devnet', 'down'])).status).toBe(0)
    const setupFile = join(dataDir, 'devnet', 'setup.json')
    const setup = JSON.parse(await readFile(setupFile, 'utf8')) as {
      deployment: {contracts: Record<string, string>}
    }
    const oldController = setup.deployment.contracts.LilypadController
    delete setup.deployment.contracts.LilypadOnChainJobCreator
    await writeFile(setupFile, JSON.stringify(setup))
    expect((await cli(['devnet', 'up', '--json'], 90_000)).status).toBe(0)
    state = await readStatus()
    connect()
    expect(state.contracts.LilypadController).not.toBe(oldController)
    expect(await provider.getCode(jobCreatorAddress())).not.toBe('0x')
    expect(await lpOf(devnetAddress(10))).toBe(100_000n * 10n ** 18n)
  }, 120_000)
})
