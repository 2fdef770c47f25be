/**
 * Unlocking the signing account of a resolved configuration: the keystore's default account is
 * decrypted only by commands that sign, so reading the configuration never asks for a password.
 */
import type {ResolvedConfig} from '../config/index.js'
import {lilypadError} from '../errors/index.js'
import {unlockAccount} from './keystore.js'

/**
 * Returns `config` with the keystore account's key filled in and registered as a secret. A config
 * whose key does not come from the keystore is returned as it is.
 *
 * @param config - the resolved configuration
 * @param password - the keystore password (never printed)
 * @returns a frozen configuration holding the key
 * @throws WALLET_PASSWORD_WRONG, WALLET_KEYSTORE_INVALID
 * @example
 * const signing = await unlockConfig(config, await readPasswordFile(file))
 */
export async function unlockConfig(config: ResolvedConfig, password: string): Promise<ResolvedConfig> {
  const account = config.keystoreAccount
  if (config.keySource !== 'keystore' || config.privateKey !== undefined || account === undefined)
    return config
  const key = await unlockAccount(account, password)
  return Object.freeze({
    ...config,
    privateKey: key,
    secrets: Object.freeze([...config.secrets, key, key.slice(2), password]),
  })
}

/**
 * Whether a configuration still needs a password before it can sign.
 *
 * @example
 * if (needsPassword(config)) config = await unlockConfig(config, password)
 */
export function needsPassword(config: Pick<ResolvedConfig, 'keySource' | 'privateKey'>): boolean {
  return config.keySource === 'keystore' && config.privateKey === undefined
}

/**
 * The error for a locked account when no password can be asked for (no terminal, no file).
 *
 * @returns a WALLET_PASSWORD_REQUIRED error naming both ways to give one
 */
export function passwordRequired(config: Pick<ResolvedConfig, 'keystoreAccount'>): Error {
  const address = config.keystoreAccount?.address ?? 'the default account'
  return lilypadError('WALLET_PASSWORD_REQUIRED', {
    message: `The keystore account ${address} is locked and there is no terminal to ask for its password.`,
    hints: [
      'Pass --password-file FILE (the password on its first line), or set LILYPAD_PASSWORD_FILE.',
      'Or export WEB3_PRIVATE_KEY for this run.',
    ],
    details: {address},
  })
}
