import {LilypadCommand} from '../../cli/base-command.js'
import {devnetStatus} from '../../cli/devnet.js'
import {dataDirFlag} from '../../cli/flags.js'
import type {DevnetService} from '../../core/config/index.js'
import {formatDevnetStatus} from '../../ui/render/devnet.js'

/** `--json` result of `devnet status`. Nothing secret. */
export interface DevnetStatusResult {
  running: boolean
  chainId: number | null
  rpcUrl: string | null
  solverUrl: string | null
  moduleBase: string | null
  protocol: string | null
  dataDir: string
  contracts: Record<string, string>
  accounts: Record<string, string>
  resourceProviders: string[]
  services: DevnetService[]
}

export default class DevnetStatus extends LilypadCommand<DevnetStatusResult> {
  static override summary =
    'Show whether the local network runs, its endpoints, contracts, accounts and services.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
  ]
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<DevnetStatusResult> {
    const {flags} = await this.parse(DevnetStatus)
    const config = await this.loadConfig(flags)
    const status = devnetStatus({dataDir: config.dataDir})
    const state = status.state
    return {
      running: status.running,
      chainId: state?.chainId ?? null,
      rpcUrl: state?.rpcUrl ?? null,
      solverUrl: state?.solverUrl ?? null,
      moduleBase: state?.moduleBase ?? null,
      protocol: state?.protocol ?? null,
      dataDir: config.dataDir,
      contracts: state?.contracts ?? {},
      accounts: state?.accounts ?? {},
      resourceProviders: state?.resourceProviders ?? [],
      services: status.services,
    }
  }

  protected renderHuman(result: DevnetStatusResult): string {
    return formatDevnetStatus({
      running: result.running,
      chainId: result.chainId ?? undefined,
      rpcUrl: result.rpcUrl ?? undefined,
      solverUrl: result.solverUrl ?? undefined,
      moduleBase: result.moduleBase ?? undefined,
      protocol: result.protocol ?? undefined,
      dataDir: result.dataDir,
      contracts: result.contracts,
      accounts: result.accounts,
      services: result.services,
    })
  }
}
