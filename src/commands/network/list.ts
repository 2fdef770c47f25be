import {LilypadCommand} from '../../cli/base-command.js'
import {BUILTIN_NETWORKS, networkNames, readConfigFile, resolveConfig} from '../../core/config/index.js'
import {formatNetworkList} from '../../ui/render/config.js'

/** One row of `network list`. */
export interface NetworkListEntry {
  name: string
  description: string
  chainId: number
  builtin: boolean
  current: boolean
}

/** `--json` result of `network list`. */
export interface NetworkListResult {
  networks: NetworkListEntry[]
}

export default class NetworkList extends LilypadCommand<NetworkListResult> {
  static override summary = 'List the network profiles: built-in ones and those from your config file.'
  static override examples = ['<%= config.bin %> <%= command.id %>']
  static override hiddenAliases = ['networks:list']

  protected async execute(): Promise<NetworkListResult> {
    const {flags} = await this.parse(NetworkList)
    const current = await this.loadConfig(flags)
    const file = current.configFile === undefined ? undefined : await readConfigFile(current.configFile)
    const networks: NetworkListEntry[] = []
    for (const name of networkNames(file)) {
      const config = await resolveConfig({flags: {network: name}, configDir: this.config.configDir})
      networks.push({
        name,
        description: config.network.description,
        chainId: config.network.chainId,
        builtin: name in BUILTIN_NETWORKS,
        current: name === current.network.name,
      })
    }
    return {networks}
  }

  protected renderHuman(result: NetworkListResult): string {
    return formatNetworkList(result.networks)
  }
}
