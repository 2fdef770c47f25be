import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from '@jest/globals'
import {HDNodeWallet, Mnemonic, Wallet} from 'ethers'

import {
  DEVNET_MNEMONIC,
  type DevnetState,
  devnetAddress,
  devnetPrivateKey,
  devnetStatePath,
  isWellKnownKey,
  resolveConfig,
} from '../../../../src/core/config/index.js'

let dataDir: string

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lilypad-devnet-config-'))
})

afterEach(async () => {
  await rm(dataDir, {recursive: true, force: true})
})

function state(overrides: Partial<DevnetState> = {}): DevnetState {
  return {
    version: 1,
    supervisorPid: process.pid,
    ready: true,
    startedAt: '2026-12-01T00:00:00.000Z',
    chainId: 412346,
    rpcUrl: 'http://127.0.0.1:18545',
    solverUrl: 'http://127.0.0.1:18081',
    moduleBase: 'git://127.0.0.1:19418',
    protocol: 'solver',
    contracts: {
      LilypadToken: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      LilypadUsers: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
      LilypadController: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
    },
    deploymentBlock: 3,
    accounts: {
      admin: devnetAddress('admin'),
      faucet: devnetAddress('faucet'),
      solver: devnetAddress('solver'),
      mediator: devnetAddress('mediator'),
      resourceProvider: devnetAddress('resourceProvider'),
      jobCreator: devnetAddress('jobCreator'),
    },
    resourceProviders: [devnetAddress('resourceProvider')],
    services: [],
    ...overrides,
  }
}

async function writeState(value: DevnetState): Promise<void> {
  await mkdir(join(dataDir, 'devnet'), {recursive: true})
  await writeFile(devnetStatePath(dataDir), JSON.stringify(value))
}

describe('the devnet accounts', () => {
  it('are the first eleven accounts of the public mnemonic', () => {
    const mnemonic = Mnemonic.fromPhrase(DEVNET_MNEMONIC)
    for (let i = 0; i <= 10; i += 1) {
      const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`)
      expect(devnetAddress(i)).toBe(wallet.address)
      expect(devnetPrivateKey(i)).toBe(wallet.privateKey)
      expect(isWellKnownKey(wallet.privateKey.toUpperCase().replace('0X', '0x'))).toBe(true)
    }
    expect(() => devnetAddress(11)).toThrow(RangeError)
  })

  it('follow the order of the Lilypad dev stack on the public mnemonic', () => {
    expect(devnetAddress('admin')).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
    expect(devnetAddress('solver')).toBe('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC')
    expect(devnetAddress('mediator')).toBe('0x90F79bf6EB2c4f870365E785982E1f101E93b906')
    expect(devnetAddress('jobCreator')).toBe('0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc')
    expect(new Wallet(devnetPrivateKey('resourceProvider')).address).toBe(devnetAddress('resourceProvider'))
  })

  it('knows the well-known keys, with or without 0x, and nothing else', () => {
    const key = devnetPrivateKey(9)
    expect(isWellKnownKey(key)).toBe(true)
    expect(isWellKnownKey(key.slice(2))).toBe(true)
    expect(isWellKnownKey(Wallet.createRandom().privateKey)).toBe(false)
    expect(isWellKnownKey('not a key')).toBe(false)
  })
})

describe('the local profile', () => {
  it('keeps its defaults and uses the devnet job creator key while no devnet runs', async () => {
    const config = await resolveConfig({env: {DATA_DIR: dataDir}})
    expect(config.devnet).toBe('stopped')
    expect(config.network.rpcUrls).toEqual(['http://127.0.0.1:8545'])
    expect(config.keySource).toBe('devnet')
    expect(config.privateKey).toBe(devnetPrivateKey('jobCreator'))
  })

  it('is completed from the running devnet state', async () => {
    await writeState(state())
    const config = await resolveConfig({env: {DATA_DIR: dataDir}})
    expect(config.devnet).toBe('running')
    expect(config.network.rpcUrls).toEqual(['http://127.0.0.1:18545'])
    expect(config.network.solverUrl).toBe('http://127.0.0.1:18081')
    expect(config.network.moduleBase).toBe('git://127.0.0.1:19418')
    expect(config.network.protocol).toBe('solver')
    expect(config.network.solverAddress).toBe(devnetAddress('solver'))
    expect(config.network.mediators).toEqual([devnetAddress('mediator')])
    expect(config.network.contracts.controller).toBe('0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0')
  })

  it('ignores the state of a devnet whose supervisor is gone or not ready', async () => {
    await writeState(state({supervisorPid: 2 ** 22 + 12345}))
    expect((await resolveConfig({env: {DATA_DIR: dataDir}})).devnet).toBe('stopped')
    await writeState(state({ready: false}))
    expect((await resolveConfig({env: {DATA_DIR: dataDir}})).network.rpcUrls).toEqual([
      'http://127.0.0.1:8545',
    ])
  })

  it('lets the environment win over the devnet state', async () => {
    await writeState(state())
    const key = Wallet.createRandom().privateKey
    const config = await resolveConfig({
      env: {
        DATA_DIR: dataDir,
        WEB3_RPC_URL: 'http://127.0.0.1:1',
        LILYPAD_MODULE_BASE: 'file:///m',
        WEB3_PRIVATE_KEY: key,
      },
    })
    expect(config.network.rpcUrls).toEqual(['http://127.0.0.1:1'])
    expect(config.network.moduleBase).toBe('file:///m')
    expect(config.keySource).toBe('env')
    expect(config.privateKey).toBe(key)
  })

  it('is not used on testnet, which has no devnet key', async () => {
    await writeState(state())
    const config = await resolveConfig({flags: {network: 'testnet'}, env: {DATA_DIR: dataDir}})
    expect(config.devnet).toBeUndefined()
    expect(config.privateKey).toBeUndefined()
    expect(config.network.protocol).toBe('solver')
  })
})
