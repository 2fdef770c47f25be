import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag} from '../../cli/flags.js'
import {type DealDetails, showDeal} from '../../core/deals/deals.js'
import {formatDealDetails} from '../../ui/render/deals.js'

export default class DealsShow extends LilypadCommand<DealDetails> {
  static override summary =
    'Show a deal: terms, transactions, result, verification, deadlines and who can act next.'
  static override description =
    "Combines the run journal, the solver's deal and the chain's agreement. Deadlines are on chain time, which is what the contracts enforce."
  static override examples = [
    '<%= config.bin %> <%= command.id %> QmDealId',
    '<%= config.bin %> <%= command.id %> QmDealId --json',
  ]
  static override hiddenAliases = ['deal:show']
  static override args = {id: Args.string({required: true, description: 'Deal ID, job offer ID or run ID.'})}
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<DealDetails> {
    const {args, flags} = await this.parse(DealsShow)
    const config = await this.loadConfig(flags)
    return showDeal(args.id, {config, signal: this.abortController.signal})
  }

  protected renderHuman(result: DealDetails): string {
    return formatDealDetails(result)
  }
}
