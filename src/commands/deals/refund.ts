import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag, passwordFileFlag} from '../../cli/flags.js'
import {type DealActionResult, refundDeal} from '../../core/deals/deals.js'
import {formatDealAction} from '../../ui/render/deals.js'

export default class DealsRefund extends LilypadCommand<DealActionResult> {
  static override summary = 'Claim your LP back from a deal whose deadline passed.'
  static override description =
    'Claims whichever timeout applies to you (timeoutAgree, timeoutSubmitResult, timeoutMediateResult) once its deadline has passed on chain time; otherwise says when you can.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> QmDealId',
    '<%= config.bin %> <%= command.id %> QmDealId --json',
  ]
  static override hiddenAliases = ['deal:refund']
  static override args = {id: Args.string({required: true, description: 'Deal ID, job offer ID or run ID.'})}
  static override flags = {'data-dir': dataDirFlag, 'password-file': passwordFileFlag}

  protected async execute(): Promise<DealActionResult> {
    const {args, flags} = await this.parse(DealsRefund)
    const config = await this.loadConfig(flags, {unlock: true})
    return refundDeal(args.id, {config, signal: this.abortController.signal})
  }

  protected renderHuman(result: DealActionResult): string {
    return formatDealAction(result)
  }
}
