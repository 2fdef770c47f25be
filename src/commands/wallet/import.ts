import {readFile} from 'node:fs/promises'

import {Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {passwordFileFlag} from '../../cli/flags.js'
import {newPassword, withPassword} from '../../cli/password.js'
import {lilypadError} from '../../core/errors/index.js'
import {importKeystore, importPrivateKey, keystoreDir} from '../../core/wallet/index.js'
import {canPrompt, promptSecret} from '../../ui/prompt.js'

/** `--json` result of `wallet import`. */
export interface WalletImportResult {
  address: string
  path: string
}

async function readStdin(): Promise<string> {
  let text = ''
  for await (const chunk of process.stdin) text += String(chunk)
  return text
}

export default class WalletImport extends LilypadCommand<WalletImportResult> {
  static override summary =
    'Import an account: a private key from stdin or a hidden prompt, or a keystore file.'
  static override description =
    'A private key is never taken from the command line (it would show in ps and the shell history): pipe it on stdin or type it at the hidden prompt. It is encrypted with a new password (asked twice, or --password-file). With --keystore, an existing V3 keystore file is checked with its own password and stored as it is.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    'pass show lilypad/key | <%= config.bin %> <%= command.id %> --password-file ~/.lilypad-password',
    '<%= config.bin %> <%= command.id %> --keystore ~/UTC--2024-01-01--0x70997970.json',
  ]
  static override flags = {
    keystore: Flags.string({
      summary: 'An existing Ethereum V3 keystore file to add (geth, MetaMask export).',
    }),
    'password-file': passwordFileFlag,
  }

  protected async execute(): Promise<WalletImportResult> {
    const {flags} = await this.parse(WalletImport)
    const dir = keystoreDir(this.config.configDir)
    if (flags.keystore !== undefined) {
      const json = await readFile(flags.keystore, 'utf8').catch((error: unknown) => {
        throw lilypadError('WALLET_KEYSTORE_INVALID', {
          message: `Cannot read the keystore file ${flags.keystore ?? ''}.`,
          details: {path: flags.keystore ?? ''},
          cause: error,
        })
      })
      return withPassword(flags['password-file'], 'Password of the keystore file: ', async (password) => {
        this.addSecrets(password)
        return importKeystore(dir, json, password)
      })
    }
    const key = canPrompt() ? await promptSecret('Private key (hidden): ') : await readStdin()
    this.addSecrets(key.trim(), key.trim().replace(/^0x/, ''))
    if (key.trim() === '') {
      throw lilypadError('PRIVATE_KEY_MISSING', {
        message: 'No private key was given.',
        hints: ['Pipe it on stdin: … | lilypad wallet import --password-file FILE, or run on a terminal.'],
      })
    }
    const password = await newPassword(flags['password-file'])
    this.addSecrets(password)
    return importPrivateKey(dir, key, password)
  }

  protected renderHuman(result: WalletImportResult): string {
    return `${result.address}\nStored encrypted in ${result.path}.`
  }
}
