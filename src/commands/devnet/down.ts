import {LilypadCommand} from '../../cli/base-command.js'
import {type DevnetDownResult, devnetDown} from '../../cli/devnet.js'
import {dataDirFlag} from '../../cli/flags.js'

export default class DevnetDown extends LilypadCommand<DevnetDownResult> {
  static override summary = 'Stop every process of the local network, keeping its state.'
  static override description =
    'Each process is stopped by its PID. `lilypad devnet up` resumes the same chain, deals and files.'
  static override examples = ['<%= config.bin %> <%= command.id %>']
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<DevnetDownResult> {
    const {flags} = await this.parse(DevnetDown)
    const config = await this.loadConfig(flags)
    this.reporter.step('Stopping the devnet')
    return devnetDown({dataDir: config.dataDir})
  }

  protected renderHuman(result: DevnetDownResult): string {
    if (!result.wasRunning && result.stopped.length === 0) return 'The devnet was not running.'
    return `The devnet is stopped (${result.stopped.map((p) => `${p.name} ${p.pid}`).join(', ')}). Its state is kept: lilypad devnet up resumes it.`
  }
}
