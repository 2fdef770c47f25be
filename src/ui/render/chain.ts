/**
 * Human text for chain results.
 */

/** The addresses of a deployment, and a network profile to paste into the config file. */
export function formatDeployment(result: {
  chainId: number
  rpcUrl: string
  deployer: string
  treasury: string
  addresses: Record<string, string>
  gasUsed: bigint
}): string {
  const names = Object.keys(result.addresses)
  const width = Math.max(...names.map((name) => name.length))
  const profile = {
    networks: {
      mine: {
        extends: 'local',
        chainId: result.chainId,
        rpcUrls: [result.rpcUrl],
        contracts: {
          token: result.addresses.LilypadToken,
          controller: result.addresses.LilypadController,
          users: result.addresses.LilypadUsers,
        },
      },
    },
  }
  return [
    `Deployed to chain ${result.chainId} by ${result.deployer} (${result.gasUsed.toString()} gas):`,
    ...names.map((name) => `  ${name.padEnd(width)}  ${result.addresses[name] ?? ''}`),
    `  ${'treasury'.padEnd(width)}  ${result.treasury}`,
    '',
    'A network profile for your config file (lilypad config show prints its path):',
    JSON.stringify(profile, null, 2),
  ].join('\n')
}
