import {LilypadCommand} from '../../cli/base-command.js'
import {type DevnetDownResult, devnetReset} from '../../cli/devnet.js'
import {dataDirFlag} from '../../cli/flags.js'

export default class DevnetReset extends LilypadCommand<DevnetDownResult> {
  static override summary = 'Stop the local network and delete its state: the next `up` starts a new chain.'
  static override examples = ['<%= config.bin %> <%= command.id %>']
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<DevnetDownResult> {
    const {flags} = await this.parse(DevnetReset)
    const config = await this.loadConfig(flags)
    return devnetReset({dataDir: config.dataDir})
  }

  protected renderHuman(): string {
    return 'The devnet is stopped and its state deleted.'
  }
}
