import {Args, Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag, passwordFileFlag} from '../../cli/flags.js'
import {type DealDownloadResult, downloadDeal} from '../../core/deals/deals.js'
import {formatDealDownload} from '../../ui/render/deals.js'

export default class DealsDownload extends LilypadCommand<DealDownloadResult> {
  static override summary = "Download a deal's result again and verify its data ID."
  static override description =
    'Fetches the result tar from the solver, unpacks it safely beside the directory and compares its data ID with the one on chain (or the solver’s, in the solver protocol) before moving it into place. Only the deal’s own directory is replaced; another existing --output directory is refused. A result that is not the committed one goes to <dir>.disputed and exits 6 (RESULT_MISMATCH).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> QmDealId',
    '<%= config.bin %> <%= command.id %> QmDealId --output ./result',
  ]
  static override hiddenAliases = ['deal:download']
  static override args = {id: Args.string({required: true, description: 'Deal ID, job offer ID or run ID.'})}
  static override flags = {
    output: Flags.string({
      char: 'o',
      summary: 'Directory for the result; default $DATA_DIR/downloaded-files/<deal ID>.',
    }),
    'data-dir': dataDirFlag,
    'password-file': passwordFileFlag,
  }

  protected async execute(): Promise<DealDownloadResult> {
    const {args, flags} = await this.parse(DealsDownload)
    const config = await this.loadConfig(flags, {unlock: true})
    return downloadDeal(args.id, {config, outputDir: flags.output, signal: this.abortController.signal})
  }

  protected renderHuman(result: DealDownloadResult): string {
    return formatDealDownload(result)
  }
}
