/**
 * The job-creator service against LilypadOnChainJobCreator and ExampleClient on anvil. The `runJob`
 * callback is the outer edge here (the real run through the solver and a provider is tested end to end
 * on the devnet): a fixed result, a throw, a run that never ends, and a service stopped mid-job and
 * started again on the same data directory, which must settle the job exactly once.
 */
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import type {Wallet} from 'ethers'
import {MaxUint256} from 'ethers'

import {deployContracts} from '../../../../src/core/chain/deploy.js'
import type {ExampleClient} from '../../../../src/core/chain/generated/ExampleClient.js'
import type {LilypadOnChainJobCreator} from '../../../../src/core/chain/generated/LilypadOnChainJobCreator.js'
import type {LilypadToken} from '../../../../src/core/chain/generated/LilypadToken.js'
import {ExampleClient__factory} from '../../../../src/core/chain/generated/factories/ExampleClient__factory.js'
import {LilypadOnChainJobCreator__factory} from '../../../../src/core/chain/generated/factories/LilypadOnChainJobCreator__factory.js'
import {LilypadToken__factory} from '../../../../src/core/chain/generated/factories/LilypadToken__factory.js'
import {
  type JobCreatorEvent,
  type JobCreatorServiceOptions,
  type JobRecord,
  type JobRequest,
  type RunningJobCreatorService,
  startJobCreatorService,
} from '../../../../src/devnet/jobcreator/index.js'
import {type Anvil, startAnvil} from '../../../helpers/anvil.js'
import {LP, as, mined} from '../../../helpers/contracts.js'
import {makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'

const DEAL_ID = 'QmDeal0000000000000000000000000000000000000042'
const DATA_ID = 'QmData0000000000000000000000000000000000000042'
const ResultState = {None: 0n, Pending: 1n, Completed: 2n, Failed: 3n} as const

let chain: Anvil
let deployer: Wallet
let service: Wallet
let alice: Wallet
let token: LilypadToken
let creator: LilypadOnChainJobCreator
let client: ExampleClient
let creatorAddress: string
let deploymentBlock: number
const dirs: string[] = []
const running: RunningJobCreatorService[] = []

/** Alice, the service and the job creator: the only holders the service's work moves LP between. */
const holdings = async (): Promise<bigint[]> =>
  Promise.all([alice.address, service.address, creatorAddress].map((a) => token.balanceOf(a)))

async function newDir(): Promise<string> {
  const dir = await makeTempDir('lilypad-jobcreator-')
  dirs.push(dir)
  return dir
}

async function start(
  overrides: Partial<JobCreatorServiceOptions> & Pick<JobCreatorServiceOptions, 'runJob' | 'dataDir'>,
): Promise<RunningJobCreatorService> {
  const started = await startJobCreatorService({
    rpcUrl: chain.url,
    chainId: 31337,
    jobCreatorContract: creatorAddress,
    privateKey: service.privateKey,
    pollIntervalMs: 20,
    fromBlock: deploymentBlock,
    ...overrides,
  })
  running.push(started)
  return started
}

/** Polls `check` until it returns a value; fails after 30 s (a deadline for a broken run, not a timing). */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Alice runs cowsay through the example client; returns the job ID. */
async function request(inputs = ['Message=hi']): Promise<bigint> {
  await mined(as(client, alice).run('cowsay:v0.0.3', inputs))
  return creator.lastJobId()
}

const resultOf = async (jobId: bigint): Promise<{dealId: string; dataId: string; state: bigint}> => {
  const [dealId, dataId, state] = await client.getResult(jobId)
  return {dealId, dataId, state}
}

const settledResult = (jobId: bigint) =>
  until(`job ${jobId} to settle in the client`, async () => {
    const result = await resultOf(jobId)
    return result.state === ResultState.Pending ? undefined : result
  })

/** How many settlements (ResultsSubmitted + JobFailed) the chain holds for `jobId`. */
async function settlements(jobId: bigint): Promise<number> {
  const submitted = await creator.queryFilter(creator.filters.ResultsSubmitted(jobId), deploymentBlock)
  const failed = await creator.queryFilter(creator.filters.JobFailed(jobId), deploymentBlock)
  return submitted.length + failed.length
}

beforeAll(async () => {
  chain = await startAnvil()
  ;[deployer, alice] = chain.accounts as [Wallet, Wallet]
  service = chain.accounts[7] as Wallet
  const deployment = await deployContracts(deployer, {jobCreatorService: service.address, timeoutMs: 30_000})
  deploymentBlock = deployment.blockNumber
  creatorAddress = deployment.addresses.LilypadOnChainJobCreator
  token = LilypadToken__factory.connect(deployment.addresses.LilypadToken, deployer)
  creator = LilypadOnChainJobCreator__factory.connect(creatorAddress, chain.provider)
  const factory = new ExampleClient__factory(deployer)
  const deployed = await factory.deploy(creatorAddress)
  await mined(Promise.resolve(deployed.deploymentTransaction()!))
  client = ExampleClient__factory.connect(await deployed.getAddress(), chain.provider)
  await mined(token.transfer(alice.address, LP(100)))
  await mined(as(token, alice).approve(creatorAddress, MaxUint256))
  await mined(as(creator, alice).approveClient(await client.getAddress(), MaxUint256))
}, 120_000)

afterAll(async () => {
  await Promise.allSettled(running.map((s) => s.stop()))
  await chain.stop()
  await Promise.all(dirs.map(removeTempDir))
})

describe('job-creator service', () => {
  it('runs a requested job and submits its verified data ID; the deposit pays the service', async () => {
    const requests: JobRequest[] = []
    const dataDir = await newDir()
    const svc = await start({
      dataDir,
      runJob: (req) => {
        requests.push(req)
        return Promise.resolve({dealId: DEAL_ID, dataId: DATA_ID})
      },
    })
    expect(svc.address).toBe(service.address)
    const before = await holdings()
    const jobId = await request()
    expect(await settledResult(jobId)).toEqual({
      dealId: DEAL_ID,
      dataId: DATA_ID,
      state: ResultState.Completed,
    })
    const after = await holdings()
    expect(after.map((b, i) => b - before[i]!)).toEqual([-LP(2), LP(2), 0n])
    expect(requests.map((r) => [r.jobId, r.module, r.inputs, r.callingContract, r.payee, r.attempt])).toEqual(
      [[jobId, 'cowsay:v0.0.3', {Message: 'hi'}, await client.getAddress(), alice.address, 1]],
    )
    const record = await until('the record', () =>
      svc.jobs()[jobId.toString()]?.phase === 'submitted' ? svc.jobs()[jobId.toString()] : undefined,
    )
    expect(record).toMatchObject({dealId: DEAL_ID, dataId: DATA_ID, attempts: 1, inputs: ['Message=hi']})
    expect(record.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    await svc.stop()
    // What it persisted is what it reported.
    const persisted = JSON.parse(await readFile(join(dataDir, 'jobcreator-state.json'), 'utf8')) as {
      cursor: number
      jobs: Record<string, JobRecord>
    }
    expect(persisted.jobs[jobId.toString()]?.phase).toBe('submitted')
    expect(persisted.cursor).toBeGreaterThanOrEqual(record.blockNumber)
    expect(await settlements(jobId)).toBe(1)
  })

  it('fails a job whose run throws, with the reason, and the payee gets the deposit back', async () => {
    const svc = await start({
      dataDir: await newDir(),
      fromBlock: (await chain.provider.getBlockNumber()) + 1,
      runJob: () => Promise.reject(new Error('the module exited with status 1')),
    })
    const before = await holdings()
    const jobId = await request()
    expect((await settledResult(jobId)).state).toBe(ResultState.Failed)
    expect(await holdings()).toEqual(before)
    const failures = await client.queryFilter(client.filters.JobFailed(), deploymentBlock)
    const last = failures.at(-1)
    expect([last?.args.jobId, last?.args.reason]).toEqual([jobId, 'the module exited with status 1'])
    await until('the record', () => (svc.jobs()[jobId.toString()]?.phase === 'failed' ? true : undefined))
    await svc.stop()
  })

  it('fails a job whose run outlasts the job timeout, and aborts the run', async () => {
    let aborted = false
    const svc = await start({
      dataDir: await newDir(),
      fromBlock: (await chain.provider.getBlockNumber()) + 1,
      jobTimeoutMs: 300,
      runJob: (req) =>
        new Promise((_resolve, reject) => {
          req.signal.addEventListener('abort', () => {
            aborted = true
            reject(new Error('aborted'))
          })
        }),
    })
    const before = await holdings()
    const jobId = await request()
    expect((await settledResult(jobId)).state).toBe(ResultState.Failed)
    expect(aborted).toBe(true)
    expect(svc.jobs()[jobId.toString()]?.reason).toBe('timed out: the job did not finish within 0.3 s')
    expect(await holdings()).toEqual(before)
    await svc.stop()
  })

  it('fails a job whose inputs repeat a key instead of dropping one', async () => {
    const calls: JobRequest[] = []
    const svc = await start({
      dataDir: await newDir(),
      fromBlock: (await chain.provider.getBlockNumber()) + 1,
      runJob: (req) => {
        calls.push(req)
        return Promise.resolve({dealId: DEAL_ID, dataId: DATA_ID})
      },
    })
    const jobId = await request(['Message=hi', 'Message=again'])
    expect((await settledResult(jobId)).state).toBe(ResultState.Failed)
    expect(calls).toEqual([])
    expect(await until('the reason', () => svc.jobs()[jobId.toString()]?.reason)).toBe(
      'input Message is given more than once',
    )
    await svc.stop()
  })

  it('stopped while a run is pending and started again on the same directory, settles the job exactly once', async () => {
    const dataDir = await newDir()
    const first: JobRequest[] = []
    const a = await start({
      dataDir,
      runJob: async (req) => {
        first.push(req)
        await req.onDeal('QmInterruptedDeal')
        return new Promise((_resolve, reject) => {
          req.signal.addEventListener('abort', () => {
            reject(new Error('stopped'))
          })
        })
      },
    })
    const before = await holdings()
    const jobId = await request()
    const key = jobId.toString()
    await until('the first run', () => (first.length === 1 ? true : undefined))
    await until('the deal to be recorded', () => a.jobs()[key]?.dealId)
    await a.stop()
    expect((await creator.getJob(jobId)).state).toBe(1n)
    expect(a.jobs()[key]?.phase).toBe('running')

    const second: JobRequest[] = []
    const b = await start({
      dataDir,
      runJob: (req) => {
        second.push(req)
        return Promise.resolve({dealId: 'QmInterruptedDeal', dataId: DATA_ID})
      },
    })
    expect(await settledResult(jobId)).toEqual({
      dealId: 'QmInterruptedDeal',
      dataId: DATA_ID,
      state: ResultState.Completed,
    })
    // Resumed, not restarted from nothing; the jobs of the earlier tests were never run again.
    expect(second.map((r) => [r.jobId, r.attempt, r.resumeDealId])).toEqual([[jobId, 2, 'QmInterruptedDeal']])
    await until('the record', () => (b.jobs()[key]?.phase === 'submitted' ? true : undefined))
    await b.stop()
    expect(await settlements(jobId)).toBe(1)
    const after = await holdings()
    expect(after.map((x, i) => x - before[i]!)).toEqual([-LP(2), LP(2), 0n])

    // A third start on the same directory finds nothing to do.
    const third: JobRequest[] = []
    const c = await start({
      dataDir,
      runJob: (req) => {
        third.push(req)
        return Promise.resolve({dealId: DEAL_ID, dataId: DATA_ID})
      },
    })
    const cursor = b.cursor() ?? 0
    await until('the cursor to move on', async () =>
      (c.cursor() ?? 0) >= (await chain.provider.getBlockNumber()) ? true : undefined,
    )
    expect(c.cursor()).toBeGreaterThanOrEqual(cursor)
    await c.stop()
    expect(third).toEqual([])
  })

  it('sees a job settled by a transaction whose record was never written, and sends nothing', async () => {
    const dataDir = await newDir()
    const a = await start({
      dataDir,
      fromBlock: (await chain.provider.getBlockNumber()) + 1,
      runJob: (req) =>
        new Promise((_resolve, reject) => {
          req.signal.addEventListener('abort', () => {
            reject(new Error('stopped'))
          })
        }),
    })
    const jobId = await request()
    const key = jobId.toString()
    await until('the run', () => (a.jobs()[key]?.phase === 'running' ? true : undefined))
    await a.stop()
    // As if the service had persisted its result, sent submitResults, and died before recording it.
    const file = join(dataDir, 'jobcreator-state.json')
    const state = JSON.parse(await readFile(file, 'utf8')) as {jobs: Record<string, JobRecord>}
    state.jobs[key] = {...state.jobs[key]!, phase: 'submitting', dealId: DEAL_ID, dataId: DATA_ID}
    await writeFile(file, JSON.stringify(state))
    await mined(as(creator, service).submitResults(jobId, DEAL_ID, DATA_ID))
    const nonce = await chain.provider.getTransactionCount(service.address)

    const calls: JobRequest[] = []
    const b = await start({
      dataDir,
      runJob: (req) => {
        calls.push(req)
        return Promise.resolve({dealId: DEAL_ID, dataId: DATA_ID})
      },
    })
    const record = await until('the record', () =>
      b.jobs()[key]?.phase === 'submitted' ? b.jobs()[key] : undefined,
    )
    await b.stop()
    expect(record.settledOnChain).toBe('Completed')
    expect(calls).toEqual([])
    expect(await chain.provider.getTransactionCount(service.address)).toBe(nonce)
    expect(await settlements(jobId)).toBe(1)
  })
  it('stopped after posting its offer but before any deal, resumes that run and never posts again', async () => {
    const dataDir = await newDir()
    const first: JobRequest[] = []
    const a = await start({
      dataDir,
      runJob: async (req) => {
        first.push(req)
        await req.onPosted('run-posted-not-matched')
        return new Promise((_resolve, reject) => {
          req.signal.addEventListener('abort', () => {
            reject(new Error('stopped'))
          })
        })
      },
    })
    const jobId = await request()
    const key = jobId.toString()
    await until('the run to be recorded', () => a.jobs()[key]?.runId)
    await a.stop()
    expect(a.jobs()[key]).toMatchObject({phase: 'running', runId: 'run-posted-not-matched'})
    expect(a.jobs()[key]?.dealId).toBeUndefined()

    const second: JobRequest[] = []
    const b = await start({
      dataDir,
      runJob: (req) => {
        second.push(req)
        return Promise.resolve({dealId: DEAL_ID, dataId: DATA_ID})
      },
    })
    expect((await settledResult(jobId)).state).toBe(ResultState.Completed)
    const resumed = second.filter((r) => r.jobId === jobId)
    expect(resumed.map((r) => [r.attempt, r.resumeRunId, r.resumeDealId])).toEqual([
      [2, 'run-posted-not-matched', undefined],
    ])
    await b.stop()
    expect(await settlements(jobId)).toBe(1)
  })

  /** Runs `body` with the service's account out of ETH until `refuel()` is called (always refuelled). */
  async function withoutGas(body: (refuel: () => Promise<void>) => Promise<void>): Promise<void> {
    const balance = await chain.provider.getBalance(service.address)
    const refuel = async (): Promise<void> => {
      await chain.provider.send('anvil_setBalance', [service.address, `0x${balance.toString(16)}`])
    }
    await chain.provider.send('anvil_setBalance', [service.address, '0x0'])
    try {
      await body(refuel)
    } finally {
      await refuel()
    }
  }

  it('takes a job up again with back-off when settling it throws, and settles it once that works', async () => {
    await withoutGas(async (refuel) => {
      const retries: JobCreatorEvent[] = []
      const svc = await start({
        dataDir: await newDir(),
        retryDelayMs: 50,
        runJob: () => Promise.resolve({dealId: DEAL_ID, dataId: DATA_ID}),
        onEvent: (event) => {
          if (event.type === 'job.retrying') retries.push(event)
        },
      })
      const jobId = await request()
      await until('a retry', () => (retries.length > 0 ? true : undefined))
      expect(retries[0]).toMatchObject({type: 'job.retrying', jobId, failures: 1, delayMs: 50})
      expect(svc.jobs()[jobId.toString()]?.phase).toBe('submitting')
      await refuel()
      expect(await settledResult(jobId)).toEqual({
        dealId: DEAL_ID,
        dataId: DATA_ID,
        state: ResultState.Completed,
      })
      await svc.stop()
      expect(await settlements(jobId)).toBe(1)
    })
  })

  it('fails a job on chain with the reason once its handling threw maxHandleFailures times', async () => {
    await withoutGas(async (refuel) => {
      const retries: JobCreatorEvent[] = []
      const svc = await start({
        dataDir: await newDir(),
        retryDelayMs: 50,
        maxHandleFailures: 1,
        runJob: () => Promise.resolve({dealId: DEAL_ID, dataId: DATA_ID}),
        onEvent: (event) => {
          if (event.type === 'job.retrying') retries.push(event)
        },
      })
      const before = await holdings()
      const jobId = await request()
      await until('a retry', () => (retries.length > 0 ? true : undefined))
      const record = svc.jobs()[jobId.toString()]
      expect(record?.phase).toBe('failing')
      expect(record?.reason).toMatch(/^the service could not handle the job: /)
      await refuel()
      expect((await settledResult(jobId)).state).toBe(ResultState.Failed)
      const [failed] = await creator.queryFilter(creator.filters.JobFailed(jobId), deploymentBlock)
      expect(failed?.args.reason).toBe(record?.reason)
      await svc.stop()
      // The payee got its deposit back.
      expect((await holdings())[0]).toBe(before[0])
    })
  })
})
