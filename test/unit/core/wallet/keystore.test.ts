/**
 * The keystore on real files: round trips, the file's mode and contents, the default account, wrong
 * passwords, an imported geth-style file, and the key precedence of resolveConfig.
 */
import {mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet, encryptKeystoreJson} from 'ethers'

import {devnetAddress, devnetPrivateKey, resolveConfig} from '../../../../src/core/config/index.js'
import {isLilypadError} from '../../../../src/core/errors/index.js'
import {
  createAccount,
  defaultAccount,
  importKeystore,
  importPrivateKey,
  keystoreDir,
  listAccounts,
  readPasswordFile,
  setDefaultAccount,
  unlockAccount,
  unlockConfig,
} from '../../../../src/core/wallet/index.js'

// Test-only scrypt cost: the default (2^17) is what users get.
const FAST = {scryptN: 16}
const PASSWORD = 'correct horse battery staple'
const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'

let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-keystore-'))
})

afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

async function fresh(): Promise<string> {
  return mkdtemp(join(root, 'config-'))
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isLilypadError(error)) return error.code
    throw error
  }
  throw new Error('expected a LilypadError')
}

describe('keystore files', () => {
  it('round-trips an imported key, 0600 in a 0700 directory, never in clear', async () => {
    const dir = keystoreDir(await fresh())
    const account = await importPrivateKey(dir, KEY, PASSWORD, FAST)
    expect(account.address).toBe(new Wallet(KEY).address)
    expect((await stat(account.path)).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    const text = await readFile(account.path, 'utf8')
    expect(text.toLowerCase()).not.toContain(KEY.slice(2).toLowerCase())
    expect(text).not.toContain(PASSWORD)
    // ethers writes `Crypto`, as geth once did; readers accept either spelling.
    expect(JSON.parse(text)).toMatchObject({version: 3, Crypto: {kdf: 'scrypt'}})
    expect(await unlockAccount(account, PASSWORD)).toBe(KEY)
    // No temporary file is left beside it.
    expect((await readdir(dir)).sort()).toEqual(['default', account.path.split('/').pop()].sort())
  })

  it('uses the standard scrypt cost unless told otherwise', async () => {
    const dir = keystoreDir(await fresh())
    const account = await createAccount(dir, PASSWORD)
    const json = JSON.parse(await readFile(account.path, 'utf8')) as {Crypto: {kdfparams: {n: number}}}
    expect(json.Crypto.kdfparams.n).toBe(131072)
  }, 60_000)

  it('refuses a wrong password with WALLET_PASSWORD_WRONG and an empty one', async () => {
    const dir = keystoreDir(await fresh())
    const account = await createAccount(dir, PASSWORD, FAST)
    expect(await codeOf(unlockAccount(account, 'not it'))).toBe('WALLET_PASSWORD_WRONG')
    expect(await codeOf(createAccount(dir, '', FAST))).toBe('WALLET_PASSWORD_REQUIRED')
  })

  it('rejects a malformed key and a second copy of an account', async () => {
    const dir = keystoreDir(await fresh())
    expect(await codeOf(importPrivateKey(dir, '0x1234', PASSWORD, FAST))).toBe('PRIVATE_KEY_INVALID')
    await importPrivateKey(dir, KEY, PASSWORD, FAST)
    expect(await codeOf(importPrivateKey(dir, KEY.slice(2), PASSWORD, FAST))).toBe('WALLET_EXISTS')
  })

  it('keeps the first account as default until another is chosen', async () => {
    const dir = keystoreDir(await fresh())
    expect(await defaultAccount(dir)).toBeUndefined()
    const first = await createAccount(dir, PASSWORD, FAST)
    const second = await createAccount(dir, PASSWORD, FAST)
    expect((await listAccounts(dir)).map((a) => a.address).sort()).toEqual(
      [first.address, second.address].sort(),
    )
    expect(await defaultAccount(dir)).toMatchObject({address: first.address, source: 'default-file'})
    await setDefaultAccount(dir, second.address.toLowerCase())
    expect((await defaultAccount(dir))?.address).toBe(second.address)
    expect(await codeOf(setDefaultAccount(dir, devnetAddress('admin')))).toBe('WALLET_NOT_FOUND')
  })

  it('imports a keystore written elsewhere under its own password', async () => {
    const dir = keystoreDir(await fresh())
    const other = new Wallet(devnetPrivateKey(7))
    const json = await encryptKeystoreJson({address: other.address, privateKey: other.privateKey}, 'theirs', {
      scrypt: {N: 16},
    })
    expect(await codeOf(importKeystore(dir, json, 'mine'))).toBe('WALLET_PASSWORD_WRONG')
    expect(await codeOf(importKeystore(dir, '{"not": "a keystore"}', 'theirs'))).toBe(
      'WALLET_KEYSTORE_INVALID',
    )
    const account = await importKeystore(dir, json, 'theirs')
    expect(await unlockAccount(account, 'theirs')).toBe(other.privateKey)
  })

  it('lists and makes default an imported keystore that carries no address', async () => {
    const dir = keystoreDir(await fresh())
    const other = Wallet.createRandom()
    const full = JSON.parse(
      await encryptKeystoreJson({address: other.address, privateKey: other.privateKey}, 'theirs', {
        scrypt: {N: 16},
      }),
    ) as Record<string, unknown>
    delete full.address
    const account = await importKeystore(dir, JSON.stringify(full), 'theirs', {makeDefault: true})
    expect(account.address).toBe(other.address)
    expect(await listAccounts(dir)).toEqual([account])
    expect(await defaultAccount(dir)).toMatchObject({address: other.address})
    await setDefaultAccount(dir, other.address)
    const stored = JSON.parse(await readFile(account.path, 'utf8')) as {address: string; crypto: unknown}
    expect([stored.address, stored.crypto]).toEqual([other.address.slice(2).toLowerCase(), full.crypto])
    expect(await unlockAccount(account, 'theirs')).toBe(other.privateKey)
  })

  it('reads the first line of a password file', async () => {
    const file = join(await fresh(), 'pw')
    await writeFile(file, `${PASSWORD}\nignored\n`)
    expect(await readPasswordFile(file)).toBe(PASSWORD)
    expect(await codeOf(readPasswordFile(join(root, 'missing')))).toBe('WALLET_PASSWORD_REQUIRED')
  })
})

describe('which key signs', () => {
  it('WEB3_PRIVATE_KEY, then the keystore default, then the devnet job creator on local only', async () => {
    const configDir = await fresh()
    const dataDir = await fresh()
    const env = {DATA_DIR: dataDir}
    const bare = await resolveConfig({env, configDir})
    expect(bare.keySource).toBe('devnet')
    expect(bare.privateKey).toBe(devnetPrivateKey('jobCreator'))
    const testnet = await resolveConfig({env, configDir, flags: {network: 'testnet'}})
    expect(testnet.keySource).toBeUndefined()
    expect(testnet.privateKey).toBeUndefined()

    const account = await importPrivateKey(keystoreDir(configDir), KEY, PASSWORD, FAST)
    const stored = await resolveConfig({env, configDir})
    expect(stored.keySource).toBe('keystore')
    expect(stored.keystoreAccount?.address).toBe(account.address)
    // The key stays locked until a command that signs unlocks it.
    expect(stored.privateKey).toBeUndefined()
    expect(await codeOf(unlockConfig(stored, 'wrong'))).toBe('WALLET_PASSWORD_WRONG')
    const unlocked = await unlockConfig(stored, PASSWORD)
    expect(unlocked.privateKey).toBe(KEY)
    expect(unlocked.secrets).toEqual(expect.arrayContaining([KEY, KEY.slice(2), PASSWORD]))

    const other = devnetPrivateKey(8)
    const fromEnv = await resolveConfig({env: {...env, WEB3_PRIVATE_KEY: other}, configDir})
    expect(fromEnv.keySource).toBe('env')
    expect(fromEnv.privateKey).toBe(other)
    expect(fromEnv.keystoreAccount).toBeUndefined()
  })
})
