import {Args, Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {type DevnetFundResult, devnetFund} from '../../cli/devnet.js'
import {dataDirFlag} from '../../cli/flags.js'

export default class DevnetFund extends LilypadCommand<DevnetFundResult> {
  static override summary = "Send ETH and LP to an account from the local network's faucet."
  static override examples = [
    '<%= config.bin %> <%= command.id %> 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --eth 1 --lp 100',
  ]
  static override args = {address: Args.string({description: 'The account to fund.', required: true})}
  static override flags = {
    'data-dir': dataDirFlag,
    eth: Flags.string({summary: 'ETH to send (for gas), in whole ETH.', default: '1'}),
    lp: Flags.string({summary: 'LP to send, in whole LP.', default: '100'}),
  }

  protected async execute(): Promise<DevnetFundResult> {
    const {args, flags} = await this.parse(DevnetFund)
    const config = await this.loadConfig(flags)
    return devnetFund({dataDir: config.dataDir, address: args.address, eth: flags.eth, lp: flags.lp})
  }

  protected renderHuman(result: DevnetFundResult): string {
    return `Sent ${result.eth} ETH and ${result.lp} LP to ${result.address}.`
  }
}
