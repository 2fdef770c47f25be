/**
 * The devnet's resource provider in the `solver` protocol (the current Lilypad testnet's): no chain
 * at all, deals start in DealAgreed, and the provider uploads, posts its Result and reports
 * `{"add_result":"0x"}` as the Go provider does. The real solver runs on 127.0.0.1; the test plays
 * the job creator with the solver client.
 */
import {cp, mkdir, readFile, writeFile} from 'node:fs/promises'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet} from 'ethers'
import {create as createTar} from 'tar'

import {computeDataId} from '../../../../src/core/results/data-id.js'
import {unpackResultTar} from '../../../../src/core/results/archive.js'
import {createSolverClient} from '../../../../src/core/solver/client.js'
import {buildJobOffer, moduleConfigFor} from '../../../../src/core/solver/offer.js'
import {GO_STATE} from '../../../../src/core/solver/states.js'
import type {Result} from '../../../../src/core/solver/types.js'
import {buildModuleRepos} from '../../../../src/devnet/git/repos.js'
import {
  type ProviderEvent,
  type RunningProvider,
  startProvider,
} from '../../../../src/devnet/provider/index.js'
import {type RunningSolver, startSolver} from '../../../../src/devnet/solver/index.js'
import {makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'

const gitEnv = {PATH: process.env.PATH ?? '/usr/bin:/bin'}
const solverWallet = Wallet.createRandom()
const mediatorAddress = Wallet.createRandom().address
const jobCreator = Wallet.createRandom()
const cleanups: (() => Promise<void>)[] = []
let root: string
let solver: RunningSolver
let provider: RunningProvider
const events: ProviderEvent[] = []
let repoUrl: (name: string) => string

beforeAll(async () => {
  root = await makeTempDir('lilypad-provider-solver-')
  cleanups.push(() => removeTempDir(root))
  const repos = await buildModuleRepos(join(root, 'git'), {env: gitEnv})
  repoUrl = (name) => pathToFileURL(repos[name]!.path).href
  solver = await startSolver({
    dataDir: join(root, 'solver'),
    solverAddress: solverWallet.address,
    protocol: 'solver',
  })
  cleanups.push(() => solver.stop())
  provider = await startProvider({
    solverUrl: solver.url,
    privateKey: Wallet.createRandom().privateKey,
    protocol: 'solver',
    dataDir: join(root, 'provider'),
    mediators: [mediatorAddress],
    solverAddress: solverWallet.address,
    gitEnv,
    moduleBase: pathToFileURL(join(root, 'git')).href,
    pollIntervalMs: 200,
    onEvent: (event) => events.push(event),
  })
  cleanups.push(() => provider.stop())
}, 60_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
}, 120_000)

const client = () => createSolverClient({url: solver.url, signer: jobCreator.privateKey})

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

async function submit(
  module: string,
  tag: string,
  inputs: Record<string, string>,
  inputsTar?: Uint8Array,
  executionTimeoutSeconds?: number,
): Promise<string> {
  const offer = buildJobOffer({
    jobCreator: jobCreator.address,
    module: moduleConfigFor(repoUrl(module), tag),
    rendered: {
      machine: {gpu: 0, cpu: 1000, ram: 100},
      ...(inputsTar === undefined ? {} : {inputFiles: {required: ['data.txt'], optional: null}}),
      ...(executionTimeoutSeconds === undefined ? {} : {executionTimeoutSeconds}),
    },
    inputs,
    services: {solver: solverWallet.address, mediators: [mediatorAddress]},
    target: provider.address,
  })
  const posted =
    inputsTar === undefined
      ? await client().postJobOffer(offer)
      : await client().postJobOfferWithFiles(offer, inputsTar)
  const deal = await eventually('the deal', async () =>
    (await client().getDeals({job_creator: jobCreator.address})).find(
      (found) => found.job_offer === posted.id,
    ),
  )
  return deal.id
}

async function resultOf(dealId: string): Promise<Result> {
  return eventually(`the result of ${dealId}`, async () =>
    client()
      .getResult(dealId)
      .catch(() => undefined),
  )
}

describe('resource provider (solver protocol)', () => {
  it('runs the job of a deal made in DealAgreed and reports add_result "0x"', async () => {
    const dealId = await submit('lilypad-module-cowsay', 'v0.0.3', {Message: 'no chain'})
    const result = await resultOf(dealId)
    expect(result.error).toBe('')
    expect((await client().getDeal(dealId)).state).toBe(GO_STATE.ResultsSubmitted)
    const target = join(root, 'downloaded-files', dealId)
    await unpackResultTar((await client().downloadResultFiles(dealId)).stream, target)
    expect(await computeDataId(target)).toBe(result.data_id)
    const deal = await eventually('the add_result report', async () => {
      const seen = await client().getDeal(dealId)
      return seen.transactions.resource_provider.add_result === '' ? undefined : seen
    })
    expect(deal.transactions.resource_provider).toMatchObject({agree: '', add_result: '0x'})
  }, 60_000)

  it('posts an error Result at once for a job whose template does not render', async () => {
    // cowsay v0.0.1 has no default: without Message its template renders `<no value>`, which is not JSON.
    const dealId = await submit('lilypad-module-cowsay', 'v0.0.1', {})
    const result = await resultOf(dealId)
    expect(result.data_id).toBe('')
    expect(result.error).toMatch(/^the job cannot run: /)
    // The event follows the post (once the state file has it).
    await eventually('the result.failed event', () =>
      Promise.resolve(events.find((event) => event.type === 'result.failed' && event.dealId === dealId)),
    )
    expect(events.filter((event) => event.type === 'job.finished' && event.dealId === dealId)).toEqual([])
  }, 60_000)

  it('fetches the input files of a job that declares them and unpacks them for the job', async () => {
    const source = join(root, 'inputs')
    await mkdir(source)
    await writeFile(join(source, 'data.txt'), 'input bytes')
    const tarFile = join(root, 'inputs.tar')
    await createTar({cwd: source, file: tarFile, portable: true}, ['data.txt'])
    const dealId = await submit(
      'lilypad-module-cowsay',
      'v0.0.3',
      {Message: 'with inputs'},
      await readFile(tarFile),
    )
    const result = await resultOf(dealId)
    expect(result.error).toBe('')
    expect(await readFile(join(root, 'provider', 'job-inputs', dealId, 'data.txt'), 'utf8')).toBe(
      'input bytes',
    )
  }, 60_000)

  it('stops a job at the solver’s execution timeout, not the module’s longer Timeout', async () => {
    // The module allows 600 s; the job offer gives the deal 4 s, so the 30 s sleep is cut short.
    const dealId = await submit('lilypad-module-sleep', 'v0.1.0', {Seconds: '30'}, undefined, 4)
    const result = await resultOf(dealId)
    expect(result.data_id).toBe('')
    expect(result.error).toMatch(/did not finish within its time limit of [0-3](\.\d+)? s/)
  }, 60_000)

  it('keeps exactly one unmatched offer at the solver after its deals', async () => {
    const open = await eventually('one open offer', async () => {
      const offers = await client().getResourceOffers({
        resource_provider: provider.address,
        not_matched: true,
      })
      return offers.length === 1 ? offers : undefined
    })
    expect(open[0]?.resource_offer.engines).toContain('wasm')
    expect(open[0]?.resource_offer.trusted_parties).toEqual({
      solver: solverWallet.address,
      mediator: [mediatorAddress],
      api_host: '',
    })
    expect(events.filter((event) => event.type === 'offer.posted').length).toBeGreaterThanOrEqual(4)
  })

  it('looks for Docker at the dockerHost it is given (DOCKER_HOST), not the local socket', async () => {
    // The outer edge: an engine that only answers the ping, which is all the executors ask at start.
    const pings: string[] = []
    const engine = createServer((request, response) => {
      pings.push(request.url ?? '')
      response.writeHead(request.url === '/_ping' ? 200 : 404).end('OK')
    })
    await new Promise<void>((resolve) => engine.listen(0, '127.0.0.1', resolve))
    let other: RunningProvider | undefined
    try {
      const {port} = engine.address() as AddressInfo
      other = await startProvider({
        solverUrl: solver.url,
        privateKey: Wallet.createRandom().privateKey,
        protocol: 'solver',
        dataDir: join(root, 'provider-docker-host'),
        mediators: [mediatorAddress],
        solverAddress: solverWallet.address,
        gitEnv,
        dockerHost: `tcp://127.0.0.1:${port}`,
      })
      const offers = await client().getResourceOffers({resource_provider: other.address, not_matched: true})
      expect(offers[0]?.resource_offer.engines).toEqual(['wasm', 'docker'])
      expect(pings).toContain('/_ping')
    } finally {
      await other?.stop()
      await new Promise((resolve) => engine.close(resolve))
    }
  })

  it('posts an error Result with the reason when the solver refuses its upload every time (413)', async () => {
    // A solver that stores no result above 100 bytes: every result tar is too large for it.
    const small = await startSolver({
      dataDir: join(root, 'solver-small'),
      solverAddress: solverWallet.address,
      protocol: 'solver',
      limits: {resultBytes: 100},
    })
    const seen: ProviderEvent[] = []
    let other: RunningProvider | undefined
    try {
      other = await startProvider({
        solverUrl: small.url,
        privateKey: Wallet.createRandom().privateKey,
        protocol: 'solver',
        dataDir: join(root, 'provider-small'),
        mediators: [mediatorAddress],
        solverAddress: solverWallet.address,
        gitEnv,
        moduleBase: pathToFileURL(join(root, 'git')).href,
        pollIntervalMs: 100,
        onEvent: (event) => seen.push(event),
      })
      const jc = createSolverClient({url: small.url, signer: jobCreator.privateKey})
      const posted = await jc.postJobOffer(
        buildJobOffer({
          jobCreator: jobCreator.address,
          module: moduleConfigFor(repoUrl('lilypad-module-cowsay'), 'v0.0.3'),
          rendered: {machine: {gpu: 0, cpu: 1000, ram: 100}},
          inputs: {Message: 'too big'},
          services: {solver: solverWallet.address, mediators: [mediatorAddress]},
          target: other.address,
        }),
      )
      const deal = await eventually('the deal', async () =>
        (await jc.getDeals({job_creator: jobCreator.address})).find((found) => found.job_offer === posted.id),
      )
      const result = await eventually('the error result', () => jc.getResult(deal.id).catch(() => undefined))
      expect(result.data_id).toBe('')
      expect(result.error).toMatch(/^gave up after 5 failed attempts: /)
      expect(result.error).toMatch(/413|too large/i)
      expect(seen).toContainEqual(expect.objectContaining({type: 'job.finished', dealId: deal.id}))
      expect(other.deals()[deal.id]?.phase).toBe('failed')
    } finally {
      await other?.stop()
      await small.stop()
    }
  }, 60_000)

  it('refuses a module from a file:// repository outside the module base, with an error Result', async () => {
    // A working copy of cowsay, but elsewhere on the provider's disk.
    const elsewhere = join(root, 'elsewhere', 'lilypad-module-cowsay')
    await cp(fileURLToPath(repoUrl('lilypad-module-cowsay')), elsewhere, {recursive: true})
    const posted = await client().postJobOffer(
      buildJobOffer({
        jobCreator: jobCreator.address,
        module: moduleConfigFor(pathToFileURL(elsewhere).href, 'v0.0.3'),
        rendered: {machine: {gpu: 0, cpu: 1000, ram: 100}},
        inputs: {Message: 'outside'},
        services: {solver: solverWallet.address, mediators: [mediatorAddress]},
        target: provider.address,
      }),
    )
    const deal = await eventually('the deal', async () =>
      (await client().getDeals({job_creator: jobCreator.address})).find(
        (found) => found.job_offer === posted.id,
      ),
    )
    const result = await resultOf(deal.id)
    expect(result.data_id).toBe('')
    expect(result.error).toBe(
      `the job cannot run: This machine does not fetch modules from ${pathToFileURL(elsewhere).href}.`,
    )
    expect(events.filter((event) => event.type === 'job.finished' && event.dealId === deal.id)).toEqual([])
  }, 60_000)

  it('polls only its open deals and keeps only the phase of finished ones in its state file', async () => {
    const finished = Object.entries(provider.deals())
    expect(finished.length).toBeGreaterThanOrEqual(4)
    expect(finished.every(([, record]) => record.phase === 'done' || record.phase === 'failed')).toBe(true)
    // Every deal it had is past DealAgreed at the solver: a poll lists none of them.
    const from = events.length
    const polled = await eventually('a poll', () =>
      Promise.resolve(events.slice(from).find((event) => event.type === 'deals.polled')),
    )
    expect(polled).toEqual({type: 'deals.polled', count: 0})
    const file = JSON.parse(await readFile(join(root, 'provider', 'provider-state.json'), 'utf8')) as {
      deals: Record<string, Record<string, unknown>>
    }
    for (const record of Object.values(file.deals))
      expect(Object.keys(record).sort()).toEqual(['phase', 'updatedAt'])
  })
})
