import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag} from '../../cli/flags.js'
import type {ConfigSource, NetworkProfile} from '../../core/config/index.js'
import {redact} from '../../core/util/redact.js'
import {formatConfig} from '../../ui/render/config.js'

/** `--json` result of `config show`. */
export interface ConfigShowResult {
  network: NetworkProfile
  dataDir: string
  configFile: string | null
  sources: Record<'network' | 'dataDir' | 'moduleBase' | 'rpcUrls', ConfigSource>
}

export default class ConfigShow extends LilypadCommand<ConfigShowResult> {
  static override summary = 'Show the effective configuration and where each value comes from.'
  static override description =
    'Values are taken from the first place that sets them: flag, environment variable, user config file, network profile, built-in default.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --network testnet --json',
  ]
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<ConfigShowResult> {
    const {flags} = await this.parse(ConfigShow)
    const config = await this.loadConfig(flags)
    // RPC URLs often carry an API key: show them redacted, in both output modes.
    return {
      network: {...config.network, rpcUrls: config.network.rpcUrls.map((url) => redact(url))},
      dataDir: config.dataDir,
      configFile: config.configFile ?? null,
      sources: {...config.sources},
    }
  }

  protected renderHuman(result: ConfigShowResult): string {
    return formatConfig(result)
  }
}
