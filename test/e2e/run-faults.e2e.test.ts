/**
 * `lilypad run` against misbehaving providers and the other protocol, one devnet at a time (each
 * started with the built CLI and stopped by `devnet down`): a lying provider is disputed, the
 * mediator rejects, the files are not presented and the payment collateral comes back; a
 * vanishing provider's deal is refunded by `deals refund` once chain time passes its deadline; a
 * failing provider's error is shown at once; the solver protocol runs with no transaction. The
 * devnet's keys are refused on another chain without any network access.
 */
import {mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from '@jest/globals'
import {JsonRpcProvider} from 'ethers'

import {getResultAdded} from '../../src/core/chain/events.js'
import {LilypadToken__factory} from '../../src/core/chain/generated/factories/LilypadToken__factory.js'
import {type DevnetState, devnetPrivateKey, processAlive} from '../../src/core/config/index.js'
import {spawnCli} from '../helpers/run-cli.js'

const LP = 10n ** 18n
const dirs: string[] = []

interface Devnet {
  dataDir: string
  state: DevnetState
  provider: JsonRpcProvider
  cli: (
    args: string[],
    timeoutMs?: number,
  ) => Promise<{status: number | null; stdout: string; stderr: string}>
  lp: (address: string) => Promise<bigint>
  down: () => Promise<void>
}

async function startDevnet(flags: string[]): Promise<Devnet> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lilypad-run-faults-'))
  dirs.push(dataDir)
  const cli: Devnet['cli'] = async (args, timeoutMs = 60_000) =>
    spawnCli([...args, '--data-dir', dataDir], {}, {timeoutMs})
  const up = await cli(['devnet', 'up', ...flags, '--json'], 90_000)
  expect(up.status).toBe(0)
  const state = (JSON.parse((await cli(['devnet', 'status', '--json'])).stdout) as {result: DevnetState})
    .result
  const provider = new JsonRpcProvider(state.rpcUrl, undefined, {staticNetwork: true, cacheTimeout: -1})
  return {
    dataDir,
    state,
    provider,
    cli,
    lp: async (address) =>
      LilypadToken__factory.connect(state.contracts.LilypadToken, provider).balanceOf(address),
    down: async () => {
      provider.destroy()
      await cli(['devnet', 'down'])
      for (const service of state.services) expect(processAlive(service.pid)).toBe(false)
    },
  }
}

afterAll(async () => {
  for (const dir of dirs) {
    await spawnCli(['devnet', 'down', '--data-dir', dir], {}, {timeoutMs: 30_000})
    await rm(dir, {recursive: true, force: true})
  }
}, 120_000)

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

describe('a lying provider', () => {
  it('is disputed: the mediator rejects, the payment collateral comes back, nothing is presented', async () => {
    const net = await startDevnet(['--fault', 'lying'])
    try {
      const jc = net.state.accounts.jobCreator
      const [before, escrow] = await Promise.all([net.lp(jc), net.lp(net.state.contracts.LilypadController)])
      const run = await net.cli(['run', 'cowsay:v0.0.3', '-i', 'Message=hi', '--json'], 120_000)
      expect(run.status).toBe(6)
      const {error} = JSON.parse(run.stdout) as {error: {code: string; details: Record<string, string>}}
      expect(error.code).toBe('JOB_DISPUTED')
      expect(error.details.ruling).toBe('rejected')
      const dir = join(net.dataDir, 'downloaded-files', error.details.dealId ?? '')
      expect(await exists(dir)).toBe(false)
      expect(await exists(`${dir}.disputed`)).toBe(true)
      expect(await exists(`${dir}.receipt.json`)).toBe(false)
      // The dispute has its receipt beside the set-aside files: a mismatch, and the ruling.
      const receipt = JSON.parse(await readFile(`${dir}.disputed.receipt.json`, 'utf8')) as Record<
        string,
        unknown
      >
      expect(receipt).toMatchObject({
        dealId: error.details.dealId,
        verification: 'mismatch',
        ruling: 'rejected',
      })
      // deals download into a directory of the user's: the lie never replaces it, exit 6.
      const mine = join(net.dataDir, 'mine')
      await mkdir(mine)
      await writeFile(join(mine, 'keep.txt'), 'mine\n')
      const again = await net.cli([
        'deals',
        'download',
        error.details.dealId ?? '',
        '--output',
        mine,
        '--json',
      ])
      expect(again.status).toBe(2)
      expect((JSON.parse(again.stdout) as {error: {code: string}}).error.code).toBe('RESULT_DIR_EXISTS')
      await rm(mine, {recursive: true})
      const fresh = await net.cli([
        'deals',
        'download',
        error.details.dealId ?? '',
        '--output',
        mine,
        '--json',
      ])
      expect(fresh.status).toBe(6)
      expect((JSON.parse(fresh.stdout) as {error: {code: string}}).error.code).toBe('RESULT_MISMATCH')
      expect(await exists(mine)).toBe(false)
      expect(await exists(`${mine}.disputed`)).toBe(true)
      // Disputed outside a run (deals dispute), deals wait follows the deal on chain to its ruling.
      const detached = await net.cli(['run', 'cowsay:v0.0.3', '-i', 'Message=again', '--detach', '--json'])
      const second = (JSON.parse(detached.stdout) as {result: {dealId: string}}).result.dealId
      for (let i = 0; i < 200; i += 1) {
        if ((await getResultAdded(net.provider, net.state.contracts.LilypadController, second)) !== undefined)
          break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect((await net.cli(['deals', 'dispute', second, '--json'])).status).toBe(0)
      const followed = await net.cli(['deals', 'wait', second, '--json'], 90_000)
      expect(followed.status).toBe(6)
      const ruled = (JSON.parse(followed.stdout) as {error: {code: string; details: Record<string, string>}})
        .error
      expect(ruled).toMatchObject({code: 'JOB_DISPUTED', details: {dealId: second, ruling: 'rejected'}})
      // Both rejected: each time the job creator gets its payment collateral back and pays the 1 LP
      // mediation fee.
      expect(await net.lp(jc)).toBe(before - 2n * LP)
      expect(await net.lp(net.state.contracts.LilypadController)).toBe(escrow)
    } finally {
      await net.down()
    }
  }, 180_000)
})

describe('a vanishing provider', () => {
  it('leaves a deal that deals refund claims once chain time passes its deadline: LP back, and more', async () => {
    const net = await startDevnet(['--fault', 'vanishing'])
    try {
      const jc = net.state.accounts.jobCreator
      const before = await net.lp(jc)
      const run = await net.cli(['run', 'cowsay:v0.0.3', '-i', 'Message=hi', '--detach', '--json'])
      expect(run.status).toBe(0)
      const {dealId} = (JSON.parse(run.stdout) as {result: {dealId: string}}).result
      const early = await net.cli(['deals', 'refund', dealId, '--json'])
      expect(early.status).toBe(0)
      const earlyResult = (
        JSON.parse(early.stdout) as {result: {tx?: string; note: string; availableAt: number}}
      ).result
      expect(earlyResult.tx).toBeUndefined()
      expect(earlyResult.note).toContain('can claim it after')
      expect(await net.lp(jc)).toBe(before - 3n * LP)
      expect((await net.cli(['devnet', 'advance', '3601'])).status).toBe(0)
      const refund = await net.cli(['deals', 'refund', dealId, '--json'])
      expect(refund.status).toBe(0)
      const result = (JSON.parse(refund.stdout) as {result: {tx: string; action: string; state: string}})
        .result
      expect(result).toMatchObject({action: 'timeout_submit_result', state: 'TimeoutSubmitResults'})
      // P + J back, plus the provider's slashed submit collateral S.
      expect(await net.lp(jc)).toBe(before + LP)
      const show = await net.cli(['deals', 'show', dealId])
      expect(show.stdout).toContain('Nobody: the deal has ended.')
    } finally {
      await net.down()
    }
  }, 180_000)
})

describe('a stalling provider', () => {
  it('times the run out on chain time once its deadline passes, then deals refund returns the LP', async () => {
    const net = await startDevnet(['--fault', 'stalling'])
    try {
      const jc = net.state.accounts.jobCreator
      const before = await net.lp(jc)
      const running = net.cli(['run', 'cowsay:v0.0.3', '-i', 'Message=hi', '--json'], 90_000)
      // Wait until the run has agreed (its LP is locked), then move chain time past the deadline.
      for (let i = 0; i < 100 && (await net.lp(jc)) === before; i += 1)
        await new Promise((r) => setTimeout(r, 100))
      expect(await net.lp(jc)).toBe(before - 3n * LP)
      expect((await net.cli(['devnet', 'advance', '3601'])).status).toBe(0)
      const run = await running
      expect(run.status).toBe(6)
      const {error} = JSON.parse(run.stdout) as {
        error: {code: string; hints: string[]; details: {dealId: string}}
      }
      expect(error.code).toBe('JOB_TIMED_OUT')
      expect(error.hints.join(' ')).toContain(`lilypad deals refund ${error.details.dealId}`)
      expect((await net.cli(['deals', 'refund', error.details.dealId])).status).toBe(0)
      expect(await net.lp(jc)).toBe(before + LP)
    } finally {
      await net.down()
    }
  }, 180_000)
})

describe('a failing provider', () => {
  it("shows the provider's error at once, exit 6, not a timeout", async () => {
    const net = await startDevnet(['--fault', 'failing'])
    try {
      const run = await net.cli(['run', 'cowsay:v0.0.3', '-i', 'Message=hi'], 60_000)
      expect(run.status).toBe(6)
      expect(run.stderr).toContain('[JOB_FAILED]')
      expect(run.stderr).toContain('configured to fail every job')
      expect(run.stderr).toContain('lilypad deals refund')
    } finally {
      await net.down()
    }
  }, 120_000)
})

describe('the solver protocol', () => {
  it('runs cowsay with no transaction and moves no LP', async () => {
    const net = await startDevnet(['--protocol', 'solver'])
    try {
      const before = await net.lp(net.state.accounts.jobCreator)
      const run = await net.cli(['run', 'cowsay:v0.0.3', '-i', 'Message=hi', '--json'], 90_000)
      expect(run.status).toBe(0)
      const {result} = JSON.parse(run.stdout) as {
        result: {verified: boolean; txs: Record<string, string>; outputDir: string}
      }
      expect(result.verified).toBe(true)
      expect(result.txs).toEqual({accept_result: '0x'})
      expect(await readFile(join(result.outputDir, 'stdout'), 'utf8')).toContain('< hi >')
      expect(await net.lp(net.state.accounts.jobCreator)).toBe(before)
    } finally {
      await net.down()
    }
  }, 150_000)
})

describe('the devnet keys elsewhere', () => {
  it('are refused before anything is sent (WELL_KNOWN_KEY, exit 3)', async () => {
    const configDir = await mkdtemp(join(tmpdir(), 'lilypad-run-keys-'))
    dirs.push(configDir)
    await writeFile(
      join(configDir, 'config.json'),
      JSON.stringify({networks: {elsewhere: {extends: 'testnet', solverUrl: 'http://127.0.0.1:9'}}}),
    )
    const run = await spawnCli(
      [
        'run',
        'cowsay:v0.0.3',
        '-i',
        'Message=hi',
        '--network',
        'elsewhere',
        '--json',
        '--data-dir',
        configDir,
      ],
      {WEB3_PRIVATE_KEY: devnetPrivateKey('jobCreator'), LILYPAD_CONFIG_DIR: configDir},
    )
    expect(run.status).toBe(3)
    expect((JSON.parse(run.stdout) as {error: {code: string}}).error.code).toBe('WELL_KNOWN_KEY')
    expect(run.stdout + run.stderr).not.toContain(devnetPrivateKey('jobCreator').slice(2))
  }, 30_000)
})

describe('--dry-run with the chain down', () => {
  it('previews the cost without the balance, with a warning, and exits 0', async () => {
    const work = await mkdtemp(join(tmpdir(), 'lilypad-run-dry-'))
    dirs.push(work)
    expect((await spawnCli(['module', 'init', join(work, 'm'), '--template', 'wasm', '--yes'])).status).toBe(
      0,
    )
    await writeFile(
      join(work, 'config.json'),
      JSON.stringify({networks: {offline: {extends: 'local', rpcUrls: ['http://127.0.0.1:9']}}}),
    )
    const run = await spawnCli(
      [
        'run',
        `file://${join(work, 'm')}:v0.1.0`,
        '-i',
        'Message=hi',
        '--dry-run',
        '--network',
        'offline',
        '--json',
        '--data-dir',
        join(work, 'data'),
      ],
      {WEB3_PRIVATE_KEY: `0x${'5a'.repeat(32)}`, LILYPAD_CONFIG_DIR: work},
    )
    expect(run.status).toBe(0)
    const out = JSON.parse(run.stdout) as {
      result: {cost: {lock: string}; balance?: string}
      warnings: string[]
    }
    expect(out.result.cost.lock).toBe((3n * LP).toString())
    expect(out.result.balance).toBeUndefined()
    expect(out.warnings.join(' ')).toContain('leaves out your LP balance')
  }, 60_000)
})
