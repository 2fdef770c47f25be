import {Args, Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {devnetLogs} from '../../cli/devnet.js'
import {dataDirFlag} from '../../cli/flags.js'
import {writeStdout} from '../../ui/errors.js'
import {formatLogLine} from '../../ui/render/devnet.js'

/** `--json` result of `devnet logs`. */
export interface DevnetLogsResult {
  lines: {
    service: string
    time: number | null
    level: string
    message: string
    fields: Record<string, unknown>
  }[]
}

export default class DevnetLogs extends LilypadCommand<DevnetLogsResult> {
  static override summary = "Print the local network's logs: every service, or one."
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> solver -f',
  ]
  static override args = {
    service: Args.string({description: 'anvil, git, solver, resource-provider, mediator or supervisor.'}),
  }
  static override flags = {
    'data-dir': dataDirFlag,
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new lines until Ctrl-C.'}),
  }

  protected async execute(): Promise<DevnetLogsResult> {
    const {args, flags} = await this.parse(DevnetLogs)
    const config = await this.loadConfig(flags)
    const lines: DevnetLogsResult['lines'] = []
    const json = this.jsonEnabled()
    await devnetLogs({
      dataDir: config.dataDir,
      service: args.service,
      follow: flags.follow && !json,
      signal: this.abortController.signal,
      onLine: (line) => {
        if (json) lines.push({...line, time: line.time ?? null})
        else writeStdout(formatLogLine(line, 17))
      },
    })
    return {lines}
  }

  protected renderHuman(): undefined {
    return undefined
  }
}
