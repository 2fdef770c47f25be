import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {keystoreDir, setDefaultAccount} from '../../core/wallet/index.js'

/** `--json` result of `wallet use`. */
export interface WalletUseResult {
  address: string
  path: string
}

export default class WalletUse extends LilypadCommand<WalletUseResult> {
  static override summary = 'Make a keystore account the default signing account.'
  static override description =
    'The default account signs whenever WEB3_PRIVATE_KEY is not set. The choice is kept in <config dir>/keystore/default.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> 0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  ]
  static override args = {
    address: Args.string({required: true, description: 'Address of an account in the keystore.'}),
  }

  protected async execute(): Promise<WalletUseResult> {
    const {args} = await this.parse(WalletUse)
    return setDefaultAccount(keystoreDir(this.config.configDir), args.address)
  }

  protected renderHuman(result: WalletUseResult): string {
    return `${result.address} is now the default account.`
  }
}
