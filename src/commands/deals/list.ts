import {Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag} from '../../cli/flags.js'
import {type DealSummary, listDeals} from '../../core/deals/deals.js'
import {formatDealsTable} from '../../ui/render/deals.js'

/** `--json` result of `deals list`. */
export interface DealsListResult {
  deals: DealSummary[]
}

export default class DealsList extends LilypadCommand<DealsListResult> {
  static override summary =
    'List your deals: this machine’s runs, merged with the solver’s and the chain’s view.'
  static override description =
    'Reads the run journal ($DATA_DIR/journal.db), adds the deals the solver or the chain know for your account that the journal lacks, and refreshes their states. Newest first.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --state ResultsAccepted --limit 5',
    '<%= config.bin %> <%= command.id %> --json',
    '<%= config.bin %> <%= command.id %> --all',
  ]
  static override hiddenAliases = ['deal:list']
  static override flags = {
    state: Flags.string({
      summary: 'Only deals in this state (a Go state name, e.g. DealAgreed, ResultsAccepted).',
    }),
    limit: Flags.integer({summary: 'Show at most this many deals.', default: 50, min: 1}),
    offline: Flags.boolean({summary: 'Read the journal only; do not ask the solver or the chain.'}),
    all: Flags.boolean({
      summary:
        "Every account's runs in the journal; on local also the jobs contracts requested (job ID, contract).",
    }),
    'data-dir': dataDirFlag,
  }

  protected async execute(): Promise<DealsListResult> {
    const {flags} = await this.parse(DealsList)
    const config = await this.loadConfig(flags)
    const {deals, warnings} = await listDeals({
      config,
      state: flags.state,
      limit: flags.limit,
      offline: flags.offline,
      all: flags.all,
      signal: this.abortController.signal,
    })
    for (const warning of warnings) this.addWarning(warning)
    return {deals}
  }

  protected renderHuman(result: DealsListResult): string {
    const table = formatDealsTable(result.deals)
    const requested = result.deals.filter((deal) => deal.jobId !== undefined)
    if (requested.length === 0) return table
    return [
      table,
      '',
      'Requested by contracts:',
      ...requested.map((deal) => `  ${deal.id}  job ${deal.jobId ?? ''}  by ${deal.requestedBy ?? ''}`),
    ].join('\n')
  }
}
