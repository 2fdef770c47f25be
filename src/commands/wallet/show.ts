import {Wallet} from 'ethers'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag} from '../../cli/flags.js'
import {defaultAccount, keystoreDir, listAccounts} from '../../core/wallet/index.js'
import {formatWalletShow} from '../../ui/render/wallet.js'

/** Where the signing account comes from. */
export type SignerSource = 'env' | 'keystore' | 'devnet' | 'none'

/** `--json` result of `wallet show`. */
export interface WalletShowResult {
  network: string
  signer: {address: string | null; source: SignerSource; detail: string}
  keystore: string
  accounts: {address: string; path: string; default: boolean}[]
}

export default class WalletShow extends LilypadCommand<WalletShowResult> {
  static override summary = 'Show the keystore accounts and which account signs, and why.'
  static override description =
    'The signing account is the first of: WEB3_PRIVATE_KEY, the keystore default account, and on the local network the devnet job creator. Nothing secret is printed.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ]
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<WalletShowResult> {
    const {flags} = await this.parse(WalletShow)
    const config = await this.loadConfig(flags)
    const dir = keystoreDir(this.config.configDir)
    const chosen = await defaultAccount(dir).catch(() => undefined)
    const accounts = (await listAccounts(dir)).map((account) => ({
      ...account,
      default: account.address === chosen?.address,
    }))
    let signer: WalletShowResult['signer']
    switch (config.keySource) {
      case 'env': {
        let address: string | null = null
        try {
          address = new Wallet(config.privateKey ?? '').address
        } catch {
          // An unparsable key is reported by the commands that sign; show where it comes from.
        }
        signer = {address, source: 'env', detail: 'WEB3_PRIVATE_KEY is set'}
        break
      }
      case 'keystore':
        signer = {
          address: config.keystoreAccount?.address ?? null,
          source: 'keystore',
          detail:
            config.keystoreAccount?.source === 'only-account'
              ? 'the only keystore account'
              : 'the keystore default account (lilypad wallet use)',
        }
        break
      case 'devnet':
        signer = {
          address: new Wallet(config.privateKey ?? '').address,
          source: 'devnet',
          detail: `the devnet job creator: no WEB3_PRIVATE_KEY and no keystore account, network "${config.network.name}"`,
        }
        break
      case undefined:
        signer = {
          address: null,
          source: 'none',
          detail: 'no WEB3_PRIVATE_KEY and no keystore account; create one: lilypad wallet create',
        }
    }
    return {network: config.network.name, signer, keystore: dir, accounts}
  }

  protected renderHuman(result: WalletShowResult): string {
    return formatWalletShow(result)
  }
}
