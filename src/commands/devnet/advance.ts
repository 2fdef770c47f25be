import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {devnetAdvance} from '../../cli/devnet.js'
import {dataDirFlag} from '../../cli/flags.js'
import {lilypadError} from '../../core/errors/index.js'

/** `--json` result of `devnet advance`. */
export interface DevnetAdvanceResult {
  seconds: number
  blockNumber: number
  timestamp: number
}

export default class DevnetAdvance extends LilypadCommand<DevnetAdvanceResult> {
  static override summary =
    "Move the local chain's clock forward and mine a block, so deal timeouts can be claimed."
  static override examples = ['<%= config.bin %> <%= command.id %> 3601']
  static override args = {seconds: Args.string({description: 'Seconds to move forward.', required: true})}
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<DevnetAdvanceResult> {
    const {args, flags} = await this.parse(DevnetAdvance)
    const config = await this.loadConfig(flags)
    const seconds = Number(args.seconds)
    if (!/^\d+$/.test(args.seconds) || seconds <= 0) {
      throw lilypadError('USAGE', {
        message: `"${args.seconds}" is not a number of seconds.`,
        hints: ['lilypad devnet advance 3601'],
      })
    }
    return {seconds, ...(await devnetAdvance({dataDir: config.dataDir, seconds}))}
  }

  protected renderHuman(result: DevnetAdvanceResult): string {
    return `Chain time moved ${result.seconds} s forward: block ${result.blockNumber} at ${new Date(result.timestamp * 1000).toISOString()}.`
  }
}
