import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag, passwordFileFlag} from '../../cli/flags.js'
import {type DealActionResult, disputeDeal} from '../../core/deals/deals.js'
import {formatDealAction} from '../../ui/render/deals.js'

export default class DealsDispute extends LilypadCommand<DealActionResult> {
  static override summary = "Dispute a deal's result: a mediator re-runs the job and rules."
  static override description =
    'Sends checkResult. Your judge collateral comes back, the mediation fee is locked, and the mediator drawn from the mediators of the deal accepts or rejects the result.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> QmDealId',
    '<%= config.bin %> <%= command.id %> QmDealId --json',
  ]
  static override hiddenAliases = ['deal:dispute']
  static override args = {id: Args.string({required: true, description: 'Deal ID, job offer ID or run ID.'})}
  static override flags = {'data-dir': dataDirFlag, 'password-file': passwordFileFlag}

  protected async execute(): Promise<DealActionResult> {
    const {args, flags} = await this.parse(DealsDispute)
    const config = await this.loadConfig(flags, {unlock: true})
    return disputeDeal(args.id, {config, signal: this.abortController.signal})
  }

  protected renderHuman(result: DealActionResult): string {
    return formatDealAction(result)
  }
}
