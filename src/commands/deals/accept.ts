import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag, passwordFileFlag} from '../../cli/flags.js'
import {type DealActionResult, acceptDeal} from '../../core/deals/deals.js'
import {formatDealAction} from '../../ui/render/deals.js'

export default class DealsAccept extends LilypadCommand<DealActionResult> {
  static override summary = "Accept a deal's result without verifying it (lilypad deals wait verifies first)."
  static override description =
    'Sends acceptResult (or tells the solver, in the solver protocol): the provider is paid and your remaining collateral comes back.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> QmDealId',
    '<%= config.bin %> <%= command.id %> QmDealId --json',
  ]
  static override hiddenAliases = ['deal:accept']
  static override args = {id: Args.string({required: true, description: 'Deal ID, job offer ID or run ID.'})}
  static override flags = {'data-dir': dataDirFlag, 'password-file': passwordFileFlag}

  protected async execute(): Promise<DealActionResult> {
    const {args, flags} = await this.parse(DealsAccept)
    const config = await this.loadConfig(flags, {unlock: true})
    return acceptDeal(args.id, {config, signal: this.abortController.signal})
  }

  protected renderHuman(result: DealActionResult): string {
    return formatDealAction(result)
  }
}
