import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {setDefaultNetwork} from '../../core/config/index.js'

/** `--json` result of `network use`. */
export interface NetworkUseResult {
  network: string
  configFile: string
}

export default class NetworkUse extends LilypadCommand<NetworkUseResult> {
  static override summary = 'Make a network profile the default (written to your config file).'
  static override description =
    'Sets "network" in <config dir>/config.json, keeping the rest of the file; the file is validated and replaced atomically. --network and LILYPAD_NETWORK still win for one command.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> testnet',
    '<%= config.bin %> <%= command.id %> local',
  ]
  static override args = {
    name: Args.string({
      required: true,
      description: 'A built-in network (local, testnet) or one from your config file.',
    }),
  }

  protected async execute(): Promise<NetworkUseResult> {
    const {args} = await this.parse(NetworkUse)
    const configFile = await setDefaultNetwork(this.config.configDir, args.name)
    return {network: args.name, configFile}
  }

  protected renderHuman(result: NetworkUseResult): string {
    return `The default network is now "${result.network}" (${result.configFile}).`
  }
}
