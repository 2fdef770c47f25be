import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from '@jest/globals'

import {BUILTIN_NETWORKS, DEFAULT_DATA_DIR, resolveConfig} from '../../../../src/core/config/index.js'
import {isLilypadError} from '../../../../src/core/errors/index.js'

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-config-'))
})

afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function writeConfig(value: unknown): Promise<void> {
  await writeFile(join(dir, 'config.json'), typeof value === 'string' ? value : JSON.stringify(value))
}

describe('resolveConfig', () => {
  it('defaults to the local network and the Go CLI data dir', async () => {
    const config = await resolveConfig({env: {}, configDir: dir})
    expect(config.network.name).toBe('local')
    expect(config.dataDir).toBe(DEFAULT_DATA_DIR)
    expect(config.sources).toEqual({
      network: 'default',
      dataDir: 'default',
      moduleBase: 'profile',
      rpcUrls: 'profile',
    })
    expect(config.configFile).toBeUndefined()
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('carries the real testnet values', async () => {
    const config = await resolveConfig({flags: {network: 'testnet'}, env: {}})
    expect(config.network.chainId).toBe(421614)
    expect(config.network.moduleBase).toBe('https://github.com/Lilypad-Tech')
    expect(config.network.contracts.controller).toBe('0x4a83270045FB4BCd1bdFe1bD6B00762A9D8bbF4E')
    expect(config.network.contracts.token).toBe('0x0352485f8a3cB6d305875FaC0C40ef01e0C06535')
    expect(config.network.solverAddress).toBe('0xe05e1b71955da4934938a6b16f97e1db9de6b764')
  })

  it('applies flag over env over config file over profile', async () => {
    await writeConfig({network: 'testnet', dataDir: '/from/config'})
    const fromFile = await resolveConfig({env: {}, configDir: dir})
    expect([
      fromFile.network.name,
      fromFile.sources.network,
      fromFile.dataDir,
      fromFile.sources.dataDir,
    ]).toEqual(['testnet', 'config', '/from/config', 'config'])
    const fromEnv = await resolveConfig({
      env: {LILYPAD_NETWORK: 'local', DATA_DIR: '/from/env'},
      configDir: dir,
    })
    expect([fromEnv.network.name, fromEnv.sources.network, fromEnv.dataDir, fromEnv.sources.dataDir]).toEqual(
      ['local', 'env', '/from/env', 'env'],
    )
    const fromFlag = await resolveConfig({
      flags: {network: 'testnet', dataDir: '/from/flag'},
      env: {LILYPAD_NETWORK: 'local', DATA_DIR: '/from/env'},
      configDir: dir,
    })
    expect([
      fromFlag.network.name,
      fromFlag.sources.network,
      fromFlag.dataDir,
      fromFlag.sources.dataDir,
    ]).toEqual(['testnet', 'flag', '/from/flag', 'flag'])
  })

  it('lets LILYPAD_MODULE_BASE and WEB3_RPC_URL override the profile', async () => {
    const config = await resolveConfig({
      env: {
        LILYPAD_MODULE_BASE: 'file:///srv/modules/',
        WEB3_RPC_URL: 'http://127.0.0.1:1, http://127.0.0.1:2',
      },
    })
    expect(config.network.moduleBase).toBe('file:///srv/modules')
    expect(config.sources.moduleBase).toBe('env')
    expect(config.network.rpcUrls).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2'])
    expect(config.sources.rpcUrls).toBe('env')
    // The built-in profile itself is untouched.
    expect(BUILTIN_NETWORKS.local?.moduleBase).toBe('git://127.0.0.1:9418')
  })

  it('reads user profiles that extend a built-in one', async () => {
    await writeConfig({
      networks: {mine: {extends: 'testnet', moduleBase: 'https://git.example.org/modules', chainId: 7}},
    })
    const config = await resolveConfig({flags: {network: 'mine'}, env: {}, configDir: dir})
    expect(config.network.name).toBe('mine')
    expect(config.network.chainId).toBe(7)
    expect(config.network.moduleBase).toBe('https://git.example.org/modules')
    expect(config.network.contracts.token).toBe(BUILTIN_NETWORKS.testnet?.contracts.token)
    expect(config.sources.moduleBase).toBe('config')
  })

  it('rejects an unknown network with the list of known ones', async () => {
    await writeConfig({networks: {mine: {extends: 'local'}}})
    const error = await resolveConfig({flags: {network: 'nope'}, env: {}, configDir: dir}).catch(
      (e: unknown) => e,
    )
    expect(isLilypadError(error, 'UNKNOWN_NETWORK')).toBe(true)
    expect((error as Error & {hints: string[]}).hints.join(' ')).toContain('local, testnet, mine')
  })

  it('rejects a config file that is not JSON or breaks the schema', async () => {
    await writeConfig('{not json')
    const notJson = await resolveConfig({env: {}, configDir: dir}).catch((e: unknown) => e)
    expect(isLilypadError(notJson, 'CONFIG_INVALID')).toBe(true)

    await writeConfig({networks: {mine: {chainId: 'seven'}}, colour: true})
    const invalid = await resolveConfig({env: {}, configDir: dir}).catch((e: unknown) => e)
    expect(isLilypadError(invalid, 'CONFIG_INVALID')).toBe(true)
    const problems = (invalid as {details: {problems: string[]}}).details.problems
    expect(problems).toEqual(
      expect.arrayContaining([
        '/networks/mine/chainId must be integer',
        '/ must NOT have additional properties',
      ]),
    )
  })

  it('rejects a user profile that extends something unknown', async () => {
    await writeConfig({networks: {mine: {extends: 'mainnet'}}})
    const error = await resolveConfig({flags: {network: 'mine'}, env: {}, configDir: dir}).catch(
      (e: unknown) => e,
    )
    expect(isLilypadError(error, 'CONFIG_INVALID')).toBe(true)
  })

  it('collects the private key, with and without 0x, as secrets', async () => {
    const key = 'ab'.repeat(32)
    const config = await resolveConfig({env: {WEB3_PRIVATE_KEY: key}})
    expect(config.secrets).toEqual([key, `0x${key}`])
  })
})
