/**
 * The encrypted keystore: one Ethereum V3 keystore file (scrypt, as geth and ethers write them) per
 * account under `<config dir>/keystore/`, mode 0600 in a 0700 directory, each written to a temporary
 * file and renamed into place so a crash never leaves half a key. The default account's address
 * sits in `keystore/default`, beside the keys, so the config file stays free of key material and a
 * keystore directory can be copied to another machine whole.
 */
import {randomBytes} from 'node:crypto'
import {chmod, mkdir, open, readFile, readdir, rename, rm, stat} from 'node:fs/promises'
import {join} from 'node:path'

import {
  Wallet,
  decryptKeystoreJson,
  encryptKeystoreJson,
  getAddress,
  isHexString,
  isKeystoreJson,
} from 'ethers'

import {isLilypadError, lilypadError} from '../errors/index.js'

/** One account in the keystore. */
export interface KeystoreAccount {
  /** EIP-55 checksummed address. */
  address: string
  /** The keystore file. */
  path: string
}

/** The account that signs when no `WEB3_PRIVATE_KEY` is set, and why it is that one. */
export interface DefaultAccount extends KeystoreAccount {
  /** `default-file`: chosen with `wallet use` or at creation; `only-account`: the keystore holds one. */
  source: 'default-file' | 'only-account'
}

/** Options that tune encryption; the default is ethers' (and geth's) scrypt N = 2^17. */
export interface EncryptSettings {
  /** scrypt cost. Lower values are for tests only: they make the file easy to brute-force. */
  scryptN?: number | undefined
}

const DEFAULT_FILE = 'default'

/** The keystore directory under a config directory. */
export function keystoreDir(configDir: string): string {
  return join(configDir, 'keystore')
}

function fileFor(dir: string, address: string): string {
  return join(dir, `${getAddress(address).slice(2).toLowerCase()}.json`)
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, {recursive: true, mode: 0o700})
  // mkdir leaves an existing directory's mode alone; a keystore must not be listable by others.
  await chmod(dir, 0o700)
}

/** Writes `text` to `path` with mode 0600 through a temporary file and a rename. */
async function writePrivateFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temp, 'wx', 0o600)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temp, path)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
}

function keystoreFailed(action: string, dir: string, cause: unknown): Error {
  if (isLilypadError(cause)) return cause
  return lilypadError('WALLET_KEYSTORE_INVALID', {
    message: `Cannot ${action} in the keystore ${dir}: ${(cause as Error).message}`,
    hints: [`Check that ${dir} exists and belongs to you (mode 0700).`],
    details: {dir},
    cause,
  })
}

function addressOf(json: string): string | undefined {
  try {
    const value = JSON.parse(json) as {address?: unknown}
    if (typeof value.address !== 'string') return undefined
    const hex = value.address.startsWith('0x') ? value.address : `0x${value.address}`
    return isHexString(hex, 20) ? getAddress(hex) : undefined
  } catch {
    return undefined
  }
}

/**
 * Lists the keystore's accounts, sorted by address. Files that are not keystores are skipped.
 *
 * @param dir - the keystore directory ({@link keystoreDir})
 * @returns the accounts; empty when the directory does not exist
 * @throws WALLET_KEYSTORE_INVALID when the directory cannot be read
 * @example
 * const accounts = await listAccounts(keystoreDir(configDir))
 */
export async function listAccounts(dir: string): Promise<KeystoreAccount[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw keystoreFailed('list the accounts', dir, error)
  }
  const accounts: KeystoreAccount[] = []
  for (const name of names.filter((n) => /^[0-9a-f]{40}\.json$/.test(n)).sort()) {
    const path = join(dir, name)
    const address = addressOf(await readFile(path, 'utf8').catch(() => ''))
    if (address !== undefined) accounts.push({address, path})
  }
  return accounts
}

/**
 * Finds one account by address (any letter case).
 *
 * @throws WALLET_NOT_FOUND when the keystore does not hold it
 */
export async function findAccount(dir: string, address: string): Promise<KeystoreAccount> {
  const wanted = address.toLowerCase()
  const found = (await listAccounts(dir)).find((account) => account.address.toLowerCase() === wanted)
  if (found === undefined) {
    throw lilypadError('WALLET_NOT_FOUND', {
      message: `The keystore ${dir} holds no account ${address}.`,
      hints: [
        'List the accounts: lilypad wallet show.',
        'Add one: lilypad wallet create or lilypad wallet import.',
      ],
      details: {dir, address},
    })
  }
  return found
}

/**
 * The default account: the one named in `keystore/default`, else the only account.
 *
 * @returns the account, or `undefined` when there is none or several without a choice
 * @throws WALLET_NOT_FOUND when `default` names an account whose file is gone
 */
export async function defaultAccount(dir: string): Promise<DefaultAccount | undefined> {
  let chosen: string | undefined
  try {
    chosen = (await readFile(join(dir, DEFAULT_FILE), 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw keystoreFailed('read the default', dir, error)
  }
  if (chosen !== undefined && chosen !== '') {
    const name = chosen
    const account = await findAccount(dir, name).catch((error: unknown) => {
      if (isLilypadError(error)) {
        throw lilypadError('WALLET_NOT_FOUND', {
          message: `The default account ${name} has no keystore file in ${dir}.`,
          hints: [
            'Choose another: lilypad wallet use ADDRESS.',
            'Or import its key again: lilypad wallet import.',
          ],
          details: {dir, address: name},
        })
      }
      throw error
    })
    return {...account, source: 'default-file'}
  }
  const accounts = await listAccounts(dir)
  const only = accounts.length === 1 ? accounts[0] : undefined
  return only === undefined ? undefined : {...only, source: 'only-account'}
}

/**
 * Makes an account the default.
 *
 * @returns the account
 * @throws WALLET_NOT_FOUND when the keystore does not hold it
 * @example
 * await setDefaultAccount(dir, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
 */
export async function setDefaultAccount(dir: string, address: string): Promise<KeystoreAccount> {
  const account = await findAccount(dir, address)
  try {
    await ensureDir(dir)
    await writePrivateFile(join(dir, DEFAULT_FILE), `${account.address}\n`)
  } catch (error) {
    throw keystoreFailed('record the default account', dir, error)
  }
  return account
}

async function store(
  dir: string,
  address: string,
  json: string,
  options: {makeDefault?: boolean | undefined},
): Promise<KeystoreAccount> {
  const path = fileFor(dir, address)
  const exists = await stat(path).then(
    () => true,
    () => false,
  )
  if (exists) {
    throw lilypadError('WALLET_EXISTS', {
      message: `The keystore already holds ${address}.`,
      hints: [`Use it: lilypad wallet use ${address}.`],
      details: {address, path},
    })
  }
  try {
    await ensureDir(dir)
    await writePrivateFile(path, json)
  } catch (error) {
    throw keystoreFailed('store the account', dir, error)
  }
  const current = await defaultAccount(dir).catch(() => undefined)
  if (options.makeDefault === true || current?.source !== 'default-file')
    await setDefaultAccount(dir, address)
  return {address, path}
}

function checkPassword(password: string): void {
  if (password.length === 0) {
    throw lilypadError('WALLET_PASSWORD_REQUIRED', {
      message: 'The keystore password is empty.',
      hints: ['Choose a password; in scripts put it in a file and pass --password-file FILE.'],
    })
  }
}

/**
 * Encrypts `privateKey` with `password` and stores it. The first account stored (or one stored with
 * `makeDefault`) becomes the default.
 *
 * @param dir - the keystore directory
 * @param privateKey - 64 hex digits, optionally 0x-prefixed (never printed)
 * @returns the stored account
 * @throws PRIVATE_KEY_INVALID, WALLET_EXISTS, WALLET_PASSWORD_REQUIRED (empty password), WALLET_KEYSTORE_INVALID
 * @example
 * const {address} = await importPrivateKey(dir, key, password)
 */
export async function importPrivateKey(
  dir: string,
  privateKey: string,
  password: string,
  options: EncryptSettings & {makeDefault?: boolean} = {},
): Promise<KeystoreAccount> {
  checkPassword(password)
  const trimmed = privateKey.trim()
  const key = trimmed.startsWith('0x') ? trimmed : `0x${trimmed}`
  if (!isHexString(key, 32)) {
    throw lilypadError('PRIVATE_KEY_INVALID', {
      message: 'That is not a private key: expected 64 hex digits, optionally prefixed with 0x.',
      hints: ['Paste the key alone, on one line.'],
    })
  }
  let wallet: Wallet
  try {
    wallet = new Wallet(key)
  } catch (error) {
    throw lilypadError('PRIVATE_KEY_INVALID', {
      message: 'That is not a valid secp256k1 private key.',
      hints: ['Paste the key alone, on one line.'],
      cause: error,
    })
  }
  const json = await encryptKeystoreJson(
    {address: wallet.address, privateKey: wallet.privateKey},
    password,
    options.scryptN === undefined ? {} : {scrypt: {N: options.scryptN}},
  )
  return store(dir, wallet.address, json, options)
}

/**
 * Creates a new random account, encrypted with `password`.
 *
 * @returns the stored account (its key never leaves the file)
 * @throws WALLET_PASSWORD_REQUIRED, WALLET_KEYSTORE_INVALID
 * @example
 * const {address, path} = await createAccount(keystoreDir(configDir), password)
 */
export async function createAccount(
  dir: string,
  password: string,
  options: EncryptSettings & {makeDefault?: boolean} = {},
): Promise<KeystoreAccount> {
  return importPrivateKey(dir, Wallet.createRandom().privateKey, password, options)
}

/**
 * Adds an existing V3 keystore file (from geth, MetaMask's export, another machine) after checking
 * that `password` opens it. The file is stored as it is, still under its own password (with its
 * `address` filled in when it had none).
 *
 * @param json - the keystore file's text
 * @throws WALLET_KEYSTORE_INVALID when it is not a keystore; WALLET_PASSWORD_WRONG; WALLET_EXISTS
 */
export async function importKeystore(
  dir: string,
  json: string,
  password: string,
  options: {makeDefault?: boolean} = {},
): Promise<KeystoreAccount> {
  if (!isKeystoreJson(json)) {
    throw lilypadError('WALLET_KEYSTORE_INVALID', {
      message: 'The file is not an Ethereum V3 keystore (scrypt or pbkdf2 JSON).',
      hints: ['Export the account as a keystore JSON file, or import its private key instead.'],
    })
  }
  const account = await decrypt(json, password, 'the keystore file')
  const address = getAddress(account.address)
  // `address` is optional in V3 files, but listing reads it from there: store it, as geth writes it.
  const complete =
    addressOf(json) === undefined
      ? JSON.stringify({...(JSON.parse(json) as object), address: address.slice(2).toLowerCase()})
      : json
  return store(dir, address, complete, options)
}

async function decrypt(
  json: string,
  password: string,
  what: string,
): Promise<{address: string; privateKey: string}> {
  try {
    return await decryptKeystoreJson(json, password)
  } catch (error) {
    const wrong = /incorrect password/i.test((error as Error).message)
    throw lilypadError(wrong ? 'WALLET_PASSWORD_WRONG' : 'WALLET_KEYSTORE_INVALID', {
      message: wrong ? `Wrong password for ${what}.` : `Cannot decrypt ${what}: ${(error as Error).message}`,
      hints: wrong
        ? ['Type the password again, or check the file given to --password-file.']
        : ['The file may be damaged: import the key again.'],
      cause: error,
    })
  }
}

/**
 * Decrypts an account's key. The key is returned to the caller only: never print it.
 *
 * @returns the 0x-prefixed private key
 * @throws WALLET_PASSWORD_WRONG, WALLET_KEYSTORE_INVALID
 * @example
 * const key = await unlockAccount(account, password)
 */
export async function unlockAccount(account: KeystoreAccount, password: string): Promise<string> {
  let json: string
  try {
    json = await readFile(account.path, 'utf8')
  } catch (error) {
    throw keystoreFailed('read the account', account.path, error)
  }
  const decrypted = await decrypt(json, password, `the account ${account.address}`)
  if (getAddress(decrypted.address) !== getAddress(account.address)) {
    throw lilypadError('WALLET_KEYSTORE_INVALID', {
      message: `The keystore file ${account.path} does not hold the key of ${account.address}.`,
      details: {path: account.path},
    })
  }
  return decrypted.privateKey
}

/**
 * Reads a password file: its first line, without the line break.
 *
 * @throws WALLET_PASSWORD_REQUIRED when the file cannot be read or is empty
 */
export async function readPasswordFile(path: string): Promise<string> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw lilypadError('WALLET_PASSWORD_REQUIRED', {
      message: `Cannot read the password file ${path}.`,
      hints: ['Pass a readable file holding the password on its first line.'],
      details: {path},
      cause: error,
    })
  }
  const password = text.split(/\r?\n/)[0] ?? ''
  checkPassword(password)
  return password
}
