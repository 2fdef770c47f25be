/**
 * `lilypad run` and `lilypad deals` end to end with the built CLI against one devnet (onchain
 * protocol): cowsay as the README's first command, the outputs module, the failing module, a cap
 * below the deal's cost, ten concurrent runs with one key, --detach then `deals wait`, Ctrl-C then
 * `deals wait`, --dry-run. Every scenario checks the job creator's LP: exactly the job's pay leaves
 * the account, nothing stays in escrow for a finished deal.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, readFile, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {JsonRpcProvider} from 'ethers'

import {getResultAdded} from '../../src/core/chain/events.js'
import {LilypadToken__factory} from '../../src/core/chain/generated/factories/LilypadToken__factory.js'
import {type DevnetState, processAlive} from '../../src/core/config/index.js'
import {computeDataId} from '../../src/core/results/data-id.js'
import {ROOT, spawnCli} from '../helpers/run-cli.js'

const LP = 10n ** 18n
const COW_HI = [
  ' ____',
  '< hi >',
  ' ----',
  '        \\   ^__^',
  '         \\  (oo)\\_______',
  '            (__)\\       )\\/\\',
  '                ||----w |',
  '                ||     ||',
  '',
].join('\n')

let dataDir: string
let state: DevnetState
let provider: JsonRpcProvider

async function cli(
  args: string[],
  timeoutMs = 60_000,
): Promise<{status: number | null; stdout: string; stderr: string}> {
  return spawnCli([...args, '--data-dir', dataDir], {}, {timeoutMs})
}

async function lpOf(address: string): Promise<bigint> {
  return LilypadToken__factory.connect(state.contracts.LilypadToken, provider).balanceOf(address)
}

/** The directory named by the `open ` line, as js-cli-wrapper scrapes it. */
function openDir(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.includes('open /'))
  const dir = line?.trim().split(/\s+/)[1]
  if (dir === undefined) throw new Error(`no open line in ${stdout}`)
  return dir
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-run-e2e-'))
  const up = await cli(['devnet', 'up', '--json'], 90_000)
  expect(up.status).toBe(0)
  state = (JSON.parse((await cli(['devnet', 'status', '--json'])).stdout) as {result: DevnetState}).result
  provider = new JsonRpcProvider(state.rpcUrl, undefined, {staticNetwork: true, cacheTimeout: -1})
}, 120_000)

afterAll(async () => {
  provider.destroy()
  const before = JSON.parse(await readFile(join(dataDir, 'devnet', 'state.json'), 'utf8')) as DevnetState
  await cli(['devnet', 'down'])
  for (const service of before.services) expect(processAlive(service.pid)).toBe(false)
  await rm(dataDir, {recursive: true, force: true})
}, 60_000)

describe('lilypad run', () => {
  it('runs cowsay: the Go tail on stdout, the cow in stdout, the CID equal to the chain, a verified receipt, 1 LP paid', async () => {
    const jc = state.accounts.jobCreator
    const [before, escrowBefore] = await Promise.all([lpOf(jc), lpOf(state.contracts.LilypadController)])
    const run = await cli(['run', 'cowsay:v0.0.3', '-i', 'Message=hi'])
    expect(run.stderr).toContain('🌟  Lilypad submitting job')
    expect(run.stderr).toContain('💌  Deal agreed. Running job...')
    expect(run.stderr).toContain('✅  Results accepted. Downloading result...')
    expect(run.status).toBe(0)
    const dir = openDir(run.stdout)
    const dealId = dir.split('/').at(-1) ?? ''
    expect(dir).toBe(join(dataDir, 'downloaded-files', dealId))
    const lines = run.stdout.split('\n')
    expect(lines[0]).toMatch(/^🆔 {2}Data ID: Qm\w{44}$/)
    expect(lines.slice(1)).toEqual([
      '',
      '🍂 Lilypad job completed, try 👇',
      `    open ${dir}`,
      `    cat ${dir}/stdout`,
      `    cat ${dir}/stderr`,
      '',
    ])
    expect(await readFile(join(dir, 'stdout'), 'utf8')).toBe(COW_HI)
    const onChain = await getResultAdded(provider, state.contracts.LilypadController, dealId)
    const dataId = await computeDataId(dir)
    expect(onChain?.dataId).toBe(dataId)
    expect(lines[0]).toBe(`🆔  Data ID: ${dataId}`)
    const receipt = JSON.parse(await readFile(`${dir}.receipt.json`, 'utf8')) as Record<string, unknown>
    expect(receipt).toMatchObject({dealId, dataId, verification: 'verified', inputs: {Message: 'hi'}})
    expect(await readdir(dir)).not.toContain(expect.stringContaining('receipt'))
    expect(await lpOf(jc)).toBe(before - LP)
    expect(await lpOf(state.contracts.LilypadController)).toBe(escrowBefore)

    const list = await cli(['deals', 'list', '--json'])
    const deals = (JSON.parse(list.stdout) as {result: {deals: {id: string; state: string}[]}}).result.deals
    expect(deals.find((deal) => deal.id === dealId)?.state).toBe('ResultsAccepted')
  }, 90_000)

  it('gives the --json envelope with the deal, transactions, cost and module', async () => {
    const run = await cli(['run', 'outputs:v0.1.0', '--json'])
    expect(run.status).toBe(0)
    const {ok, result} = JSON.parse(run.stdout) as {ok: boolean; result: Record<string, unknown>}
    expect(ok).toBe(true)
    expect(result).toMatchObject({
      verified: true,
      state: 'ResultsAccepted',
      provider: state.accounts.resourceProvider,
      cost: {lock: (3n * LP).toString(), pay: LP.toString()},
      module: {
        repo: expect.stringContaining('lilypad-module-outputs'),
        commit: expect.stringMatching(/^[0-9a-f]{40}$/),
      },
      txs: {agree: expect.stringMatching(/^0x/), accept_result: expect.stringMatching(/^0x/)},
    })
    const outputs = await readdir(join(result.outputDir as string, 'outputs'))
    expect(outputs.length).toBeGreaterThan(0)
  }, 90_000)

  it('runs a module made by module init --template wasm from a file:// repository, re-executed here before paying', async () => {
    const work = await mkdtemp(join(tmpdir(), 'lilypad-run-init-'))
    try {
      const dir = join(work, 'my-module')
      expect((await spawnCli(['module', 'init', dir, '--template', 'wasm', '--yes'])).status).toBe(0)
      const run = await cli(
        ['run', `file://${dir}:v0.1.0`, '-i', 'Message=hello', '--verify', 'reexecute', '--json'],
        90_000,
      )
      expect(run.status).toBe(0)
      const {result} = JSON.parse(run.stdout) as {
        result: {verification: string; dataId: string; outputDir: string}
      }
      expect(result.verification).toBe('reexecuted')
      expect(await computeDataId(result.outputDir)).toBe(result.dataId)
    } finally {
      await rm(work, {recursive: true, force: true})
    }
  }, 120_000)

  it('refuses --verify reexecute for a Docker module before anything is sent (USAGE)', async () => {
    const work = await mkdtemp(join(tmpdir(), 'lilypad-run-docker-'))
    try {
      const dir = join(work, 'my-module')
      expect((await spawnCli(['module', 'init', dir, '--template', 'docker', '--yes'])).status).toBe(0)
      const before = await lpOf(state.accounts.jobCreator)
      const run = await cli(['run', `file://${dir}:v0.1.0`, '--verify', 'reexecute', '--json'])
      expect(run.status).toBe(2)
      const {error} = JSON.parse(run.stdout) as {error: {code: string; message: string}}
      expect(error.code).toBe('USAGE')
      expect(error.message).toContain('Wasm modules only')
      expect(await lpOf(state.accounts.jobCreator)).toBe(before)
    } finally {
      await rm(work, {recursive: true, force: true})
    }
  }, 60_000)

  it('warns that --verify none accepts without checking', async () => {
    const run = await cli(['run', 'cowsay:v0.0.3', '-i', 'Message=trust', '--verify', 'none', '--json'])
    expect(run.status).toBe(0)
    const {result, warnings} = JSON.parse(run.stdout) as {result: {verification: string}; warnings: string[]}
    expect(result.verification).toBe('skipped')
    expect(warnings.join('\n')).toContain('--verify none')
  }, 90_000)

  it('shows a failing job with its stderr and exits 6', async () => {
    const run = await cli(['run', 'fail:v0.1.0', '-i', 'ExitCode=7'])
    expect(run.status).toBe(6)
    expect(run.stderr).toContain('[JOB_FAILED]')
    expect(run.stderr).toContain('exited with code 7')
  }, 90_000)

  it('refuses a deal above --max-price before any transaction: no LP moves', async () => {
    const before = await lpOf(state.accounts.jobCreator)
    const run = await cli(['run', 'cowsay:v0.0.3', '-i', 'Message=cap', '--max-price', '2', '--json'])
    expect(run.status).toBe(5)
    const {error} = JSON.parse(run.stdout) as {error: {code: string; message: string}}
    expect(error.code).toBe('MAX_PRICE_EXCEEDED')
    expect(error.message).toContain('lock 3 LP')
    expect(await lpOf(state.accounts.jobCreator)).toBe(before)
  }, 60_000)

  it('previews the cost with --dry-run and sends nothing', async () => {
    const before = await lpOf(state.accounts.jobCreator)
    const run = await cli(['run', 'cowsay:v0.0.3', '-i', 'Message=dry', '--dry-run'])
    expect(run.status).toBe(0)
    expect(run.stdout).toContain('Locks up to 3 LP')
    expect(run.stdout).toContain('Nothing was sent')
    expect(await lpOf(state.accounts.jobCreator)).toBe(before)
  }, 60_000)

  it('runs ten jobs at once with one key: no nonce collides, each pays 1 LP', async () => {
    const before = await lpOf(state.accounts.jobCreator)
    const runs = await Promise.all(
      Array.from({length: 10}, (_, i) =>
        cli(['run', 'cowsay:v0.0.3', '-i', `Message=n${i}`, '--json'], 150_000),
      ),
    )
    for (const run of runs)
      expect({status: run.status, err: run.status === 0 ? '' : run.stdout + run.stderr}).toEqual({
        status: 0,
        err: '',
      })
    const ids = runs.map((run) => (JSON.parse(run.stdout) as {result: {dealId: string}}).result.dealId)
    expect(new Set(ids).size).toBe(10)
    expect(await lpOf(state.accounts.jobCreator)).toBe(before - 10n * LP)
  }, 180_000)

  it('detaches after agreeing, and deals wait finishes the run', async () => {
    const run = await cli(['run', 'cowsay:v0.0.3', '-i', 'Message=hi', '--detach', '--json'])
    expect(run.status).toBe(0)
    const {result} = JSON.parse(run.stdout) as {
      result: {dealId: string; detached: boolean; txs: {agree?: string}}
    }
    expect(result.detached).toBe(true)
    expect(result.txs.agree).toMatch(/^0x/)
    const wait = await cli(['deals', 'wait', result.dealId])
    expect(wait.status).toBe(0)
    expect(await readFile(join(openDir(wait.stdout), 'stdout'), 'utf8')).toBe(COW_HI)
    const show = await cli(['deals', 'show', result.dealId, '--json'])
    expect((JSON.parse(show.stdout) as {result: {chain: {state: string}}}).result.chain.state).toBe(
      'ResultsAccepted',
    )
  }, 120_000)

  it('finishes with deals wait a deal already accepted by deals accept: downloaded, verified, no second accept', async () => {
    const run = await cli(['run', 'cowsay:v0.0.3', '-i', 'Message=hi', '--detach', '--json'])
    expect(run.status).toBe(0)
    const {dealId} = (JSON.parse(run.stdout) as {result: {dealId: string}}).result
    for (let i = 0; i < 200; i += 1) {
      if ((await getResultAdded(provider, state.contracts.LilypadController, dealId)) !== undefined) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const accept = await cli(['deals', 'accept', dealId, '--json'])
    expect(accept.status).toBe(0)
    const wait = await cli(['deals', 'wait', dealId, '--json'], 60_000)
    expect(wait.status).toBe(0)
    const {result} = JSON.parse(wait.stdout) as {result: {verified: boolean; outputDir: string}}
    expect(result.verified).toBe(true)
    expect(await readFile(join(result.outputDir, 'stdout'), 'utf8')).toBe(COW_HI)
  }, 120_000)

  it('refuses an empty ID in deals wait (USAGE, exit 2)', async () => {
    const wait = await cli(['deals', 'wait', '', '--json'])
    expect((JSON.parse(wait.stdout) as {error: {code: string}}).error.code).toBe('USAGE')
  }, 30_000)

  it('stops on Ctrl-C with exit 130 and the deals wait hint; deals wait then completes it', async () => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'run.js'), 'run', 'sleep:v0.1.0', '-i', 'Seconds=4', '--data-dir', dataDir],
      {
        env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ''},
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    const agreed = new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        if (stderr.includes('💌')) resolve()
      })
    })
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    try {
      await agreed
      child.kill('SIGINT')
      expect(await exited).toBe(130)
    } finally {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL')
    }
    const hint = /lilypad deals wait (Qm\w+)/.exec(stderr)
    expect(hint).not.toBeNull()
    const wait = await cli(['deals', 'wait', hint?.[1] ?? ''], 90_000)
    expect(wait.stderr).not.toContain('Error')
    expect(wait.status).toBe(0)
  }, 120_000)

  it('stops on Ctrl-C while posting with the deals wait hint, and deals wait finds the offer', async () => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'run.js'), 'run', 'cowsay:v0.0.3', '-i', 'Message=hi', '--data-dir', dataDir],
      {
        env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? ''},
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    const submitting = new Promise<void>((resolve) => {
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
        if (stderr.includes('submitting job')) resolve()
      })
    })
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    try {
      await submitting
      child.kill('SIGINT')
      expect(await exited).toBe(130)
    } finally {
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL')
    }
    const hint = /lilypad deals wait (\S+)/.exec(stderr)
    expect(hint).not.toBeNull()
    const wait = await cli(['deals', 'wait', hint?.[1] ?? ''], 90_000)
    expect(wait.status).toBe(0)
    expect(await readFile(join(openDir(wait.stdout), 'stdout'), 'utf8')).toBe(COW_HI)
  }, 120_000)

  it('finishes a keystore account’s detached run with deals wait --password-file', async () => {
    const configDir = await mkdtemp(join(tmpdir(), 'lilypad-run-keystore-'))
    try {
      const passwordFile = join(configDir, 'password')
      await writeFile(passwordFile, 'correct horse battery staple\n')
      const as = async (args: string[]): Promise<{status: number | null; stdout: string; stderr: string}> =>
        spawnCli(args, {LILYPAD_CONFIG_DIR: configDir, DATA_DIR: dataDir}, {timeoutMs: 90_000})
      expect((await as(['wallet', 'create', '--password-file', passwordFile, '--json'])).status).toBe(0)
      const shown = await as(['wallet', 'show', '--json'])
      const address = /0x[0-9a-fA-F]{40}/.exec(shown.stdout)?.[0] ?? ''
      expect((await as(['devnet', 'fund', address, '--eth', '1', '--lp', '20'])).status).toBe(0)
      const run = await as([
        'run',
        'cowsay:v0.0.3',
        '-i',
        'Message=hi',
        '--detach',
        '--password-file',
        passwordFile,
        '--json',
      ])
      expect(run.status).toBe(0)
      const {dealId} = (JSON.parse(run.stdout) as {result: {dealId: string}}).result
      const wait = await as(['deals', 'wait', dealId, '--password-file', passwordFile, '--json'])
      expect(wait.status).toBe(0)
      expect((JSON.parse(wait.stdout) as {result: {verified: boolean}}).result.verified).toBe(true)
      expect(await lpOf(address)).toBe(19n * LP)
    } finally {
      await rm(configDir, {recursive: true, force: true})
    }
  }, 120_000)

  it('rebuilds a lost journal from the solver: deals list still shows every deal', async () => {
    const before = (
      JSON.parse((await cli(['deals', 'list', '--offline', '--limit', '100', '--json'])).stdout) as {
        result: {deals: {id: string}[]}
      }
    ).result.deals
    expect(before.length).toBeGreaterThan(0)
    for (const suffix of ['', '-wal', '-shm']) await rm(join(dataDir, `journal.db${suffix}`), {force: true})
    const list = await cli(['deals', 'list', '--limit', '100', '--json'])
    expect(list.status).toBe(0)
    const after = (JSON.parse(list.stdout) as {result: {deals: {id: string; source: string}[]}}).result.deals
    const settled = before.filter((deal) => deal.id.startsWith('Qm')).map((deal) => deal.id)
    expect(after.map((deal) => deal.id)).toEqual(expect.arrayContaining(settled))
    expect(new Set(after.map((deal) => deal.source))).toEqual(new Set(['solver']))
  }, 60_000)
})
