import {Args, Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag, passwordFileFlag} from '../../cli/flags.js'
import {childProcessEnv} from '../../core/config/index.js'
import {lpToWei} from '../../core/deals/cost.js'
import {waitDeal} from '../../core/deals/deals.js'
import type {RunEvent} from '../../core/deals/events.js'
import type {RunOutcome} from '../../core/deals/follow.js'
import {formatRunCompleted} from '../../ui/render/run.js'
import {createRunProgress} from '../../ui/run-progress.js'

export default class DealsWait extends LilypadCommand<RunOutcome> {
  static override summary = 'Finish a run: wait for the result, verify it, accept or dispute, download.'
  static override description =
    'Resumes a run that was interrupted (Ctrl-C) or detached (--detach), from the journal or from the solver, and ends exactly as lilypad run would.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> QmDealId',
    '<%= config.bin %> <%= command.id %> QmDealId --json',
  ]
  static override hiddenAliases = ['deal:wait']
  static override args = {id: Args.string({required: true, description: 'Deal ID, job offer ID or run ID.'})}
  static override flags = {
    'max-price': Flags.string({summary: 'Most LP the deal may lock, if it still needs your agreement.'}),
    output: Flags.string({
      char: 'o',
      summary: 'Directory for the result; default $DATA_DIR/downloaded-files/<deal ID>.',
    }),
    verify: Flags.string({
      summary: 'How to check the result before paying: cid, reexecute (Wasm), none.',
      options: ['cid', 'reexecute', 'none'],
      default: 'cid',
    }),
    'data-dir': dataDirFlag,
    'password-file': passwordFileFlag,
  }

  protected async execute(): Promise<RunOutcome> {
    const {args, flags} = await this.parse(DealsWait)
    const config = await this.loadConfig(flags, {unlock: true})
    const progress = createRunProgress({
      json: this.jsonEnabled(),
      warn: (message) => {
        this.addWarning(message)
      },
    })
    try {
      return await waitDeal(args.id, {
        config,
        env: childProcessEnv(),
        maxPrice: lpToWei(flags['max-price'] ?? config.network.maxPrice),
        outputDir: flags.output,
        verify: flags.verify as 'cid' | 'reexecute' | 'none',
        signal: this.abortController.signal,
        onEvent: (event: RunEvent) => {
          progress.onEvent(event)
        },
      })
    } finally {
      progress.stop()
    }
  }

  protected renderHuman(result: RunOutcome): string | undefined {
    if (result.dataId === undefined || result.outputDir === undefined) return undefined
    return formatRunCompleted({dataId: result.dataId, outputDir: result.outputDir})
  }
}
