import {Args} from '@oclif/core'
import {Wallet} from 'ethers'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag} from '../../cli/flags.js'
import {connectNetwork} from '../../core/chain/client.js'
import {readDevnetState} from '../../core/config/index.js'
import {lilypadError} from '../../core/errors/index.js'
import {accountBalance} from '../../core/wallet/index.js'
import {formatWalletBalance} from '../../ui/render/wallet.js'

/** `--json` result of `wallet balance`. Amounts are decimal strings of wei. */
export interface WalletBalanceResult {
  address: string
  network: string
  chainId: number
  eth: string
  lp: string
  allowance: string
  locked: string
  deals: {dealId: string; role: string; state: string; amount: string}[]
  token: string
  controller: string
}

export default class WalletBalance extends LilypadCommand<WalletBalanceResult> {
  static override summary = "An account's ETH, LP, allowance and the LP locked in its open deals."
  static override description =
    'Without ADDRESS, the signing account (see lilypad wallet show). The allowance is what the controller may take; locked LP sits in deals that have not ended (it is not part of the LP balance).'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --network testnet --json',
  ]
  static override args = {
    address: Args.string({description: 'The account to look at; default the signing account.'}),
  }
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<WalletBalanceResult> {
    const {args, flags} = await this.parse(WalletBalance)
    const config = await this.loadConfig(flags)
    let address = args.address ?? config.keystoreAccount?.address
    if (address === undefined && config.privateKey !== undefined)
      address = new Wallet(config.privateKey).address
    if (address === undefined) {
      throw lilypadError('PRIVATE_KEY_MISSING', {
        message: `No account to look at on "${config.network.name}".`,
        hints: ['Pass an ADDRESS, or create an account: lilypad wallet create.'],
      })
    }
    if (config.network.devnet && config.devnet !== 'running') {
      throw lilypadError('DEVNET_NOT_RUNNING', {
        message: 'The devnet is not running.',
        hints: ['Start it: lilypad devnet up.'],
      })
    }
    const client = await connectNetwork(config.network)
    try {
      const fromBlock = config.network.devnet ? readDevnetState(config.dataDir)?.deploymentBlock : undefined
      const funds = await accountBalance(client, config.network, address, {
        fromBlock,
        signal: this.abortController.signal,
      })
      return {
        ...funds,
        eth: funds.eth.toString(),
        lp: funds.lp.toString(),
        allowance: funds.allowance.toString(),
        locked: funds.locked.toString(),
        deals: funds.deals.map((deal) => ({...deal, amount: deal.amount.toString()})),
      }
    } finally {
      client.destroy()
    }
  }

  protected renderHuman(result: WalletBalanceResult): string {
    return formatWalletBalance(result)
  }
}
