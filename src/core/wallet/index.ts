export {
  createAccount,
  type DefaultAccount,
  defaultAccount,
  type EncryptSettings,
  findAccount,
  importKeystore,
  importPrivateKey,
  type KeystoreAccount,
  keystoreDir,
  listAccounts,
  readPasswordFile,
  setDefaultAccount,
  unlockAccount,
} from './keystore.js'
export {needsPassword, passwordRequired, unlockConfig} from './unlock.js'
export {type AccountBalance, type BalanceOptions, type LockedDeal, accountBalance} from './balance.js'
