import {Wallet} from 'ethers'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag} from '../../cli/flags.js'
import type {ConfigSource, NetworkProfile, ResolvedConfig} from '../../core/config/index.js'
import {redact} from '../../core/util/redact.js'
import {formatConfig} from '../../ui/render/config.js'

/** `--json` result of `config show`. */
export interface ConfigShowResult {
  network: NetworkProfile
  dataDir: string
  configFile: string | null
  sources: Record<'network' | 'dataDir' | 'moduleBase' | 'rpcUrls', ConfigSource>
  /** Which account signs and why (never the key). */
  key: {source: 'env' | 'keystore' | 'devnet' | 'none'; address: string | null}
}

function signerAddress(config: ResolvedConfig): string | null {
  if (config.keystoreAccount !== undefined) return config.keystoreAccount.address
  try {
    return config.privateKey === undefined ? null : new Wallet(config.privateKey).address
  } catch {
    // A malformed WEB3_PRIVATE_KEY is reported by the commands that sign.
    return null
  }
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
      key: {source: config.keySource ?? 'none', address: signerAddress(config)},
    }
  }

  protected renderHuman(result: ConfigShowResult): string {
    return formatConfig(result)
  }
}
