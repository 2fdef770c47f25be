/**
 * Networks are data: one literal per network, and nothing network-specific anywhere else.
 * `local` is the devnet on 127.0.0.1 and the default; `testnet` carries the real Lilypad values
 * (Arbitrum Sepolia, lilypad-protocol.md §1.3). Users add or override profiles in their config file.
 */

/** Contract addresses of a network (classic Lilypad protocol). Empty when not deployed yet. */
export interface NetworkContracts {
  controller?: string
  token?: string
  payments?: string
  storage?: string
  users?: string
  mediation?: string
  jobCreator?: string
  pow?: string
}

/** Everything the CLI needs to know about one network. */
export interface NetworkProfile {
  /** Profile name, as typed after `--network`. */
  name: string
  /** One line for `network list` and help texts. */
  description: string
  /** EVM chain id. */
  chainId: number
  /** JSON-RPC endpoints, tried in order. */
  rpcUrls: readonly string[]
  /** Where `name:ref` module shortcuts live: `<moduleBase>/lilypad-module-<name>`. */
  moduleBase: string
  /** Solver service address (its URL is registered on chain). */
  solverAddress?: string
  /** Solver URL, when known directly (the devnet's). */
  solverUrl?: string
  /** Trusted mediator addresses. */
  mediators: readonly string[]
  contracts: NetworkContracts
  /** Which Lilypad protocol the network speaks (DESIGN §2): deals on chain, or solver-only. */
  protocol: 'onchain' | 'solver'
  /** The default spending cap of one run, in whole LP (`--max-price`). */
  maxPrice: number
  /** True when the profile is the local devnet, completed from its `state.json` while it runs. */
  devnet: boolean
}

/** Builds a frozen {@link NetworkProfile}. */
export function defineNetwork(profile: NetworkProfile): Readonly<NetworkProfile> {
  return Object.freeze({
    ...profile,
    rpcUrls: Object.freeze([...profile.rpcUrls]),
    mediators: Object.freeze([...profile.mediators]),
  })
}

/** The network used when nothing else is chosen. */
export const DEFAULT_NETWORK = 'local'

/** The built-in profiles. */
export const BUILTIN_NETWORKS: Readonly<Record<string, Readonly<NetworkProfile>>> = Object.freeze({
  local: defineNetwork({
    name: 'local',
    description: 'The local Lilypad network on this machine (127.0.0.1).',
    chainId: 412346,
    rpcUrls: ['http://127.0.0.1:8545'],
    // The devnet serves its example modules over git's own protocol on loopback.
    moduleBase: 'git://127.0.0.1:9418',
    solverUrl: 'http://127.0.0.1:8081',
    mediators: [],
    contracts: {},
    protocol: 'onchain',
    maxPrice: 10,
    devnet: true,
  }),
  testnet: defineNetwork({
    name: 'testnet',
    description: 'Lilypad testnet on Arbitrum Sepolia.',
    chainId: 421614,
    rpcUrls: [
      'wss://arbitrum-sepolia-rpc.publicnode.com',
      'wss://rpc.ankr.com/arbitrum_sepolia',
      'wss://arbitrum-sepolia.drpc.org/',
      'wss://testnet-rpc.etherspot.io/v1/421614',
      'wss://endpoints.omniatech.io/v1/arbitrum/sepolia/public',
    ],
    moduleBase: 'https://github.com/Lilypad-Tech',
    solverAddress: '0xe05e1b71955da4934938a6b16f97e1db9de6b764',
    mediators: ['0x7B49d6ee530B0A538D26E344f3B02E79ACa96De2'],
    contracts: {
      controller: '0x4a83270045FB4BCd1bdFe1bD6B00762A9D8bbF4E',
      token: '0x0352485f8a3cB6d305875FaC0C40ef01e0C06535',
      payments: '0xdE7CEa09A23e7Aa4980B95F69B8912F39A0e323A',
      storage: '0x8d06cEB457d336c6c938FCe9C4862615a4F79af0',
      users: '0x90ed1AC9c74B9340468134F8c669BA1169A11c58',
      mediation: '0xD1377D4617CD634426A8b595507fd2045A2DFB03',
      jobCreator: '0xDBA89e33EFE2eD227c04CB31356EFdE618d4953F',
      pow: '0x8B852BA45293d6dd51B10c57625C6c5f25ADFB40',
    },
    protocol: 'solver',
    maxPrice: 10,
    devnet: false,
  }),
})
