/**
 * `lilypad contracts deploy` against a fresh anvil, then whole deals driven by a plain ethers script
 * that uses only dist/contracts/*.json and the printed addresses (test/fixtures/scripts).
 */
import {execFile} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {parseEther} from 'ethers'

import {type Anvil, startAnvil} from '../helpers/anvil.js'
import {ROOT, spawnCli} from '../helpers/run-cli.js'

const run = promisify(execFile)
let anvil: Anvil
let dir: string
let addressesFile: string
let keys: Record<string, string>
let deployed: {
  ok: boolean
  result: {chainId: number; deployer: string; treasury: string; addresses: Record<string, string>}
}

beforeAll(async () => {
  anvil = await startAnvil()
  dir = await mkdtemp(join(tmpdir(), 'lilypad-deploy-'))
  const [deployer, jc, rp, mediator] = anvil.accounts
  keys = {
    FUNDER_KEY: deployer!.privateKey,
    JC_KEY: jc!.privateKey,
    RP_KEY: rp!.privateKey,
    MEDIATOR_KEY: mediator!.privateKey,
  }
  const cli = await spawnCli(['contracts', 'deploy', '--rpc-url', anvil.url, '--json'], {
    WEB3_PRIVATE_KEY: deployer!.privateKey,
    LILYPAD_CONFIG_DIR: join(dir, 'config'),
  })
  expect(cli.status).toBe(0)
  deployed = JSON.parse(cli.stdout) as typeof deployed
  addressesFile = join(dir, 'deployment.json')
  await writeFile(addressesFile, JSON.stringify(deployed.result))
}, 60_000)

afterAll(async () => {
  await anvil.stop()
  await rm(dir, {recursive: true, force: true})
})

async function deal(scenario: string): Promise<{deltas: Record<string, string>; state: number}> {
  const {stdout} = await run(
    process.execPath,
    [join(ROOT, 'test', 'fixtures', 'scripts', 'plain-ethers-deal.mjs'), anvil.url, addressesFile, scenario],
    {
      env: {PATH: process.env.PATH ?? '', ...keys},
      timeout: 60_000,
    },
  )
  return JSON.parse(stdout) as {deltas: Record<string, string>; state: number}
}

const lp = (n: number): string => (n < 0 ? -parseEther(String(-n)) : parseEther(String(n))).toString()

describe('lilypad contracts deploy', () => {
  it('prints the addresses keyed by contract name', () => {
    expect(deployed.ok).toBe(true)
    expect(deployed.result.chainId).toBe(31337)
    expect(Object.keys(deployed.result.addresses).sort()).toEqual([
      'LilypadController',
      'LilypadOnChainJobCreator',
      'LilypadToken',
      'LilypadUsers',
    ])
    for (const address of Object.values(deployed.result.addresses))
      expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/)
    expect(deployed.result.treasury).toBe(deployed.result.deployer)
  })

  it('fails with exit 3 and a hint when WEB3_PRIVATE_KEY is missing', async () => {
    const cli = await spawnCli(['contracts', 'deploy', '--rpc-url', anvil.url, '--json'], {
      LILYPAD_CONFIG_DIR: join(dir, 'config'),
    })
    expect(cli.status).toBe(3)
    expect((JSON.parse(cli.stdout) as {error: {code: string}}).error.code).toBe('PRIVATE_KEY_MISSING')
  })

  it('fails with exit 4 when the RPC endpoint does not answer', async () => {
    const cli = await spawnCli(['contracts', 'deploy', '--rpc-url', 'http://127.0.0.1:9', '--json'], {
      WEB3_PRIVATE_KEY: keys.FUNDER_KEY!,
      LILYPAD_CONFIG_DIR: join(dir, 'config'),
    })
    expect(cli.status).toBe(4)
    expect(cli.stdout + cli.stderr).not.toContain(keys.FUNDER_KEY!.slice(2))
  })
})

describe('a plain ethers script on the deployed protocol (payouts of contracts/README.md)', () => {
  it('accept: the provider earns the job cost, everything else is refunded', async () => {
    const {deltas, state} = await deal('accept')
    expect(state).toBe(3)
    expect(deltas).toEqual({
      jobCreator: lp(-1),
      resourceProvider: lp(1),
      mediator: lp(0),
      treasury: lp(0),
      escrow: lp(0),
    })
  })

  it('dispute, mediator accepts: the provider is paid, the mediator gets its fee from the job creator', async () => {
    const {deltas, state} = await deal('dispute-accept')
    expect(state).toBe(5)
    expect(deltas).toEqual({
      jobCreator: lp(-2),
      resourceProvider: lp(1),
      mediator: lp(1),
      treasury: lp(0),
      escrow: lp(0),
    })
  })

  it('dispute, mediator rejects: the job creator is refunded, the provider’s results collateral goes to the treasury', async () => {
    const {deltas, state} = await deal('dispute-reject')
    expect(state).toBe(6)
    expect(deltas).toEqual({
      jobCreator: lp(-1),
      resourceProvider: lp(-2),
      mediator: lp(1),
      treasury: lp(2),
      escrow: lp(0),
    })
  })

  it('submit timeout: the job creator is refunded and receives the provider’s slashed timeout collateral', async () => {
    const {deltas, state} = await deal('submit-timeout')
    expect(state).toBe(8)
    expect(deltas).toEqual({
      jobCreator: lp(1),
      resourceProvider: lp(-1),
      mediator: lp(0),
      treasury: lp(0),
      escrow: lp(0),
    })
  })
})
