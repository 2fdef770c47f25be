/**
 * Human text for configuration results.
 */
import type {ConfigSource, NetworkProfile} from '../../core/config/index.js'

/** Key-value block of the effective configuration, each value with its source. */
export function formatConfig(result: {
  network: NetworkProfile
  dataDir: string
  configFile: string | null
  sources: Record<'network' | 'dataDir' | 'moduleBase' | 'rpcUrls', ConfigSource>
  key?: {source: string; address: string | null}
}): string {
  const why: Record<string, string> = {
    env: 'WEB3_PRIVATE_KEY',
    keystore: 'keystore default',
    devnet: 'devnet job creator',
    none: 'none: lilypad wallet create',
  }
  const rows: [string, string, string][] = [
    ['network', `${result.network.name} (chain ${result.network.chainId})`, result.sources.network],
    ['module base', result.network.moduleBase, result.sources.moduleBase],
    ['RPC', result.network.rpcUrls.join(', ') || '(none)', result.sources.rpcUrls],
    ['data dir', result.dataDir, result.sources.dataDir],
    ['config file', result.configFile ?? '(none)', ''],
  ]
  if (result.key !== undefined) {
    rows.push(['key', result.key.address ?? '(none)', why[result.key.source] ?? result.key.source])
  }
  const width = Math.max(...rows.map(([key]) => key.length))
  return rows
    .map(([key, value, source]) => `${key.padEnd(width)}  ${value}${source === '' ? '' : `  [${source}]`}`)
    .join('\n')
}

/** Table of network profiles, the current one marked with `*`. */
export function formatNetworkList(
  networks: readonly {name: string; description: string; chainId: number; current: boolean}[],
): string {
  const width = Math.max(...networks.map((n) => n.name.length))
  return networks
    .map(
      (n) =>
        `${n.current ? '*' : ' '} ${n.name.padEnd(width)}  ${String(n.chainId).padEnd(7)} ${n.description}`,
    )
    .join('\n')
}
