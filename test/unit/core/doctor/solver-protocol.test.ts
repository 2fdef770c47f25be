/**
 * `preflight` and `runDoctor` on a solver-protocol network whose profile names its solver: nothing
 * there needs the chain, so an unreachable RPC and an account without ETH pass, against a small HTTP
 * server on 127.0.0.1 that answers the resource-offer listing as a solver does. A keystore account
 * holding a public development key is refused off the devnet.
 */
import {type Server, createServer} from 'node:http'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet} from 'ethers'

import {devnetAddress, resolveConfig} from '../../../../src/core/config/index.js'
import type {ResolvedConfig} from '../../../../src/core/config/index.js'
import {preflight, runDoctor} from '../../../../src/core/doctor/index.js'
import {freePort} from '../../../helpers/net.js'

let dir: string
let solver: Server
let solverUrl: string
let requests: string[]

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doctor-solver-protocol-'))
  requests = []
  solver = createServer((request, response) => {
    requests.push(request.url ?? '')
    response.writeHead(200, {'content-type': 'application/json'})
    response.end('[]')
  })
  await new Promise<void>((resolve) => solver.listen(0, '127.0.0.1', resolve))
  solverUrl = `http://127.0.0.1:${(solver.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) =>
    solver.close(() => {
      resolve()
    }),
  )
  await rm(dir, {recursive: true, force: true})
})

/** The testnet profile with this test's solver and an RPC nobody listens on. */
async function solverProfile(protocol: 'solver' | 'onchain'): Promise<ResolvedConfig> {
  const rpc = `http://127.0.0.1:${await freePort()}`
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({networks: {mine: {extends: 'testnet', solverUrl, rpcUrls: [rpc], protocol}}}),
  )
  return resolveConfig({
    flags: {network: 'mine', dataDir: join(dir, 'data')},
    env: {WEB3_PRIVATE_KEY: Wallet.createRandom().privateKey},
    configDir: dir,
  })
}

describe('the solver protocol with a solver URL', () => {
  it('preflight passes with the RPC unreachable, asking the solver only', async () => {
    const config = await solverProfile('solver')
    const checks = await preflight(config, {timeoutMs: 2_000})
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['key', 'pass'],
      ['rpc', 'skip'],
      ['solver', 'pass'],
      ['solver-version', 'skip'],
      ['clock', 'pass'],
    ])
    expect(requests.at(-1)).toBe('/api/v1/resource_offers?active=true&not_matched=true')
  })

  it('doctor skips the RPC and the ETH, LP and allowance checks and reports no failure', async () => {
    const config = await solverProfile('solver')
    const report = await runDoctor(config, {timeoutMs: 2_000})
    const status = Object.fromEntries(report.checks.map((c) => [c.id, c.status]))
    expect([status.rpc, status.solver, status.key, status.eth, status.lp, status.allowance]).toEqual([
      'skip',
      'pass',
      'pass',
      'skip',
      'skip',
      'skip',
    ])
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([])
  })

  it('the onchain protocol still needs the RPC', async () => {
    const config = await solverProfile('onchain')
    await expect(preflight(config, {timeoutMs: 2_000})).rejects.toMatchObject({code: 'RPC_UNREACHABLE'})
  })
})

describe('a development key in the keystore', () => {
  it('is refused off the devnet', async () => {
    const config = await solverProfile('solver')
    const stored = {
      address: devnetAddress(1),
      path: join(dir, 'keystore', 'dev.json'),
      source: 'only-account' as const,
    }
    const keystore = {
      ...config,
      keySource: 'keystore' as const,
      privateKey: undefined,
      keystoreAccount: stored,
    }
    await expect(preflight(keystore, {timeoutMs: 2_000})).rejects.toMatchObject({code: 'WELL_KNOWN_KEY'})
    const report = await runDoctor(keystore, {timeoutMs: 2_000})
    expect(report.checks.find((c) => c.id === 'key')).toMatchObject({status: 'fail', code: 'WELL_KNOWN_KEY'})
  })
})
