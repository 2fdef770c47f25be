import {LilypadCommand} from '../../cli/base-command.js'
import {passwordFileFlag} from '../../cli/flags.js'
import {newPassword} from '../../cli/password.js'
import {createAccount, keystoreDir} from '../../core/wallet/index.js'

/** `--json` result of `wallet create`. */
export interface WalletCreateResult {
  address: string
  path: string
}

export default class WalletCreate extends LilypadCommand<WalletCreateResult> {
  static override summary = 'Create a new account in the encrypted keystore and print its address.'
  static override description =
    'The key is generated here, encrypted with your password (scrypt, Ethereum V3 keystore) and stored under <config dir>/keystore with mode 0600; it is never printed. The first account becomes the default. The password is asked twice on a terminal; scripts pass --password-file.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --password-file ~/.lilypad-password --json',
  ]
  static override flags = {'password-file': passwordFileFlag}

  protected async execute(): Promise<WalletCreateResult> {
    const {flags} = await this.parse(WalletCreate)
    const password = await newPassword(flags['password-file'])
    this.addSecrets(password)
    return createAccount(keystoreDir(this.config.configDir), password)
  }

  protected renderHuman(result: WalletCreateResult): string {
    return `${result.address}\nStored encrypted in ${result.path}. Fund it, then check with: lilypad wallet balance`
  }
}
