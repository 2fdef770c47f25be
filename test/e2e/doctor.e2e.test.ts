/**
 * `doctor`, `wallet balance` and the keystore against a devnet started with the built CLI: all checks
 * pass on a running devnet, and a stopped devnet, an unfunded account, a wrong chain ID and a solver
 * whose clock is off each fail with their own exit code and fix. No output holds a key or password.
 */
import {type Server, createServer} from 'node:http'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet} from 'ethers'

import {type DevnetState, processAlive} from '../../src/core/config/index.js'
import {spawnCli} from '../helpers/run-cli.js'

interface Check {
  id: string
  status: string
  detail: string
  fix: string[]
}
interface Envelope {
  ok: boolean
  result?: {checks: Check[]; ok: boolean} & Record<string, unknown>
  error?: {code: string; message: string; hints: string[]; details: {checks: Check[]; check: string}}
}

const PASSWORD = 'doctor-e2e-password'
const fresh = Wallet.createRandom()
const outputs: string[] = []

let root: string
let dataDir: string
let state: DevnetState
let skewed: Server | undefined

async function cli(
  args: string[],
  options: {configDir?: string; env?: Record<string, string>; dataDir?: string} = {},
): Promise<{status: number | null; stdout: string; stderr: string; json: Envelope}> {
  const configDir = options.configDir ?? join(root, 'config-empty')
  const out = await spawnCli(
    // The keystore commands take no data directory: keys live under the config directory.
    args[0] === 'wallet' && ['create', 'import', 'use'].includes(args[1] ?? '')
      ? args
      : [...args, '--data-dir', options.dataDir ?? dataDir],
    {LILYPAD_CONFIG_DIR: configDir, ...options.env},
    {timeoutMs: 60_000},
  )
  outputs.push(out.stdout, out.stderr)
  let json: Envelope = {ok: false}
  try {
    json = JSON.parse(out.stdout) as Envelope
  } catch {
    // human output
  }
  return {...out, json}
}

function byId(checks: readonly Check[]): Record<string, Check> {
  return Object.fromEntries(checks.map((check) => [check.id, check]))
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-doctor-e2e-'))
  dataDir = join(root, 'data')
  await mkdir(join(root, 'config-empty'), {recursive: true})
  await writeFile(join(root, 'pw'), `${PASSWORD}\n`)
  const up = await cli(['devnet', 'up', '--json'])
  expect(up.status).toBe(0)
  state = JSON.parse(await readFile(join(dataDir, 'devnet', 'state.json'), 'utf8')) as DevnetState
}, 120_000)

afterAll(async () => {
  await new Promise<void>((resolve) => {
    if (skewed === undefined) resolve()
    else
      skewed.close(() => {
        resolve()
      })
  })
  const before = JSON.parse(await readFile(join(dataDir, 'devnet', 'state.json'), 'utf8')) as DevnetState
  await cli(['devnet', 'down'])
  expect(processAlive(before.supervisorPid)).toBe(false)
  for (const service of before.services) expect(processAlive(service.pid)).toBe(false)
  await rm(root, {recursive: true, force: true})
}, 60_000)

describe('doctor on the devnet', () => {
  it('passes every check on a running devnet with the devnet job creator', async () => {
    const out = await cli(['doctor', '--json'])
    expect(out.json.ok).toBe(true)
    expect(out.status).toBe(0)
    const checks = byId(out.json.result?.checks ?? [])
    for (const id of [
      'node',
      'git',
      'config',
      'data-dir',
      'devnet',
      'rpc',
      'solver',
      'clock',
      'key',
      'eth',
      'lp',
      'allowance',
      'module-cache',
    ]) {
      expect([id, checks[id]?.status]).toEqual([id, 'pass'])
    }
    const human = await cli(['doctor'])
    expect(human.status).toBe(0)
    expect(human.stdout).toContain('All checks passed.')
  })

  it('fails on a stopped devnet with exit 4 and says how to start it', async () => {
    const out = await cli(['doctor', '--json'], {dataDir: join(root, 'no-devnet')})
    expect(out.status).toBe(4)
    expect(out.json.error?.code).toBe('DEVNET_NOT_RUNNING')
    expect(out.json.error?.hints.join(' ')).toContain('lilypad devnet up')
    expect(byId(out.json.error?.details.checks ?? []).rpc?.status).toBe('skip')
  })

  it('fails for an unfunded account with exit 5 and names devnet fund', async () => {
    const out = await cli(['doctor', '--json'], {env: {WEB3_PRIVATE_KEY: fresh.privateKey}})
    expect(out.status).toBe(5)
    expect(out.json.error?.code).toBe('INSUFFICIENT_FUNDS')
    expect(out.json.error?.hints).toEqual([`lilypad devnet fund ${fresh.address}`])
    const checks = byId(out.json.error?.details.checks ?? [])
    expect(checks.lp?.status).toBe('fail')
    expect(checks.lp?.fix[0]).toBe(`lilypad devnet fund ${fresh.address}`)
    const human = await cli(['doctor'], {env: {WEB3_PRIVATE_KEY: fresh.privateKey}})
    expect(human.status).toBe(5)
    expect(human.stdout).toMatch(/FAIL\s+ETH for gas/)
    expect(human.stderr).toContain(`lilypad devnet fund ${fresh.address}`)
  })

  it('fails on a wrong chain ID with exit 5 and names the chain to point at', async () => {
    const configDir = join(root, 'config-wrong-chain')
    await mkdir(configDir, {recursive: true})
    await writeFile(
      join(configDir, 'config.json'),
      JSON.stringify({networks: {wrong: {extends: 'testnet', chainId: 1, rpcUrls: [state.rpcUrl]}}}),
    )
    const out = await cli(['doctor', '--json', '--network', 'wrong'], {configDir})
    expect(out.status).toBe(5)
    expect(out.json.error?.code).toBe('WRONG_CHAIN')
    expect(out.json.error?.message).toContain(`serves chain ${state.chainId}`)
    expect(out.json.error?.hints[0]).toContain('chain 1')
  })

  it("fails when the solver's clock is off with exit 3 and says to synchronise the clock", async () => {
    skewed = createServer((_request, response) => {
      response.setHeader('Date', new Date(Date.now() + 120_000).toUTCString())
      response.setHeader('Content-Type', 'application/json')
      response.end('[]')
    })
    await new Promise<void>((resolve) => skewed?.listen(0, '127.0.0.1', resolve))
    const address = skewed.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    const configDir = join(root, 'config-skew')
    await mkdir(configDir, {recursive: true})
    await writeFile(
      join(configDir, 'config.json'),
      JSON.stringify({
        networks: {
          skewed: {
            extends: 'testnet',
            chainId: state.chainId,
            rpcUrls: [state.rpcUrl],
            solverUrl: `http://127.0.0.1:${port}`,
            contracts: {token: state.contracts.LilypadToken, controller: state.contracts.LilypadController},
          },
        },
      }),
    )
    const out = await cli(['doctor', '--json', '--network', 'skewed'], {configDir})
    expect(out.status).toBe(3)
    expect(out.json.error?.code).toBe('SOLVER_CLOCK_SKEW')
    expect(out.json.error?.message).toMatch(/1[12]\d s ahead of/)
    expect(out.json.error?.hints.join(' ')).toMatch(/clock/)
    expect(byId(out.json.error?.details.checks ?? []).solver?.status).toBe('pass')
  })
})

describe('a keystore account on the devnet', () => {
  const configDir = (): string => join(root, 'config-wallet')

  it('is created, funded with devnet fund, and passes doctor; balance shows its ETH and LP', async () => {
    const created = await cli(['wallet', 'create', '--password-file', join(root, 'pw'), '--json'], {
      configDir: configDir(),
    })
    expect(created.status).toBe(0)
    const address = (created.json.result as unknown as {address: string}).address
    const before = await cli(['doctor', '--json'], {configDir: configDir()})
    expect(before.json.error?.code).toBe('INSUFFICIENT_FUNDS')
    expect(before.json.error?.hints).toEqual([`lilypad devnet fund ${address}`])
    const fund = await cli(['devnet', 'fund', address, '--eth', '1', '--lp', '20'])
    expect(fund.status).toBe(0)
    const after = await cli(['doctor', '--json'], {configDir: configDir()})
    expect(after.status).toBe(0)
    expect(byId(after.json.result?.checks ?? []).key?.detail).toContain(`${address} from the keystore`)
    const balance = await cli(['wallet', 'balance', '--json'], {configDir: configDir()})
    expect(balance.status).toBe(0)
    expect(balance.json.result).toMatchObject({
      address,
      eth: '1000000000000000000',
      lp: '20000000000000000000',
      allowance: '0',
      locked: '0',
      deals: [],
    })
    const human = await cli(['wallet', 'balance'], {configDir: configDir()})
    expect(human.stdout).toContain('20 LP')
  })

  it('printed no key and no password anywhere', () => {
    const all = outputs.join('\n').toLowerCase()
    expect(all).not.toContain(fresh.privateKey.slice(2).toLowerCase())
    expect(all).not.toContain(PASSWORD)
  })
})
