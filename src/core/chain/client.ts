/**
 * The chain client: a provider with a static network (no endless re-detection when the RPC is
 * down), a request time-out, no response cache (dev chains move time), and a nonce-safe signer.
 */
import {FetchRequest, JsonRpcProvider, Network, Wallet, isHexString} from 'ethers'

import type {NetworkProfile} from '../config/index.js'
import {lilypadError} from '../errors/index.js'
import {redact} from '../util/redact.js'
import {SerialSigner} from './signer.js'

/** Default time-out of one JSON-RPC request. */
export const DEFAULT_RPC_TIMEOUT_MS = 15_000

/** Options of {@link createChainClient}. */
export interface ChainClientOptions {
  /** JSON-RPC endpoint (http or https). */
  rpcUrl: string
  /** The chain id the endpoint must serve. */
  chainId: number
  /** Hex private key of the signing account, if the client sends transactions. */
  privateKey?: string | undefined
  timeoutMs?: number
  /** How often to poll for receipts and events; small on dev chains. */
  pollingIntervalMs?: number
}

/** A connected chain client. */
export interface ChainClient {
  readonly provider: JsonRpcProvider
  /** The nonce-safe signer, when a private key was given. */
  readonly signer: SerialSigner | undefined
  readonly address: string | undefined
  readonly chainId: number
  readonly rpcUrl: string
  /** Stops polling and releases the connection. */
  destroy(): void
}

/**
 * Checks a private key without ever echoing it.
 *
 * @throws PRIVATE_KEY_INVALID
 */
export function parsePrivateKey(privateKey: string): string {
  const key = privateKey.trim().startsWith('0x') ? privateKey.trim() : `0x${privateKey.trim()}`
  if (!isHexString(key, 32)) {
    throw lilypadError('PRIVATE_KEY_INVALID', {
      message: 'WEB3_PRIVATE_KEY is not a private key: expected 64 hex digits, optionally prefixed with 0x.',
      hints: ['Export the key of the account to use: export WEB3_PRIVATE_KEY=<64 hex digits>.'],
    })
  }
  return key
}

/**
 * Creates a chain client. Nothing is sent until it is used; call {@link probeChain} to fail fast.
 *
 * @example
 * const client = createChainClient({rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, privateKey})
 */
export function createChainClient(options: ChainClientOptions): ChainClient {
  const url = options.rpcUrl
  if (!/^https?:\/\//i.test(url)) {
    throw lilypadError('CONFIG_INVALID', {
      message: `Unsupported RPC URL ${redact(url)}: use an http:// or https:// endpoint.`,
      hints: ['Set WEB3_RPC_URL to an HTTP JSON-RPC endpoint of the chain.'],
      details: {rpcUrl: redact(url)},
    })
  }
  const request = new FetchRequest(url)
  request.timeout = options.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS
  const network = Network.from(options.chainId)
  const provider = new JsonRpcProvider(request, network, {
    staticNetwork: network,
    cacheTimeout: -1,
    pollingInterval: options.pollingIntervalMs ?? 1000,
  })
  const wallet =
    options.privateKey === undefined ? undefined : new Wallet(parsePrivateKey(options.privateKey), provider)
  return {
    provider,
    signer: wallet === undefined ? undefined : new SerialSigner(wallet),
    address: wallet?.address,
    chainId: options.chainId,
    rpcUrl: url,
    destroy: () => {
      provider.destroy()
    },
  }
}

function rpcUnreachable(rpcUrl: string, cause: unknown): Error {
  return lilypadError('RPC_UNREACHABLE', {
    message: `The chain's RPC endpoint ${redact(rpcUrl)} did not answer.`,
    hints: ['Check that the node is running and the URL is right (--rpc-url, WEB3_RPC_URL or --network).'],
    details: {rpcUrl: redact(rpcUrl)},
    cause,
  })
}

async function askChainId(client: ChainClient): Promise<number> {
  let answer: unknown
  try {
    answer = await client.provider.send('eth_chainId', [])
  } catch (error) {
    throw rpcUnreachable(client.rpcUrl, error)
  }
  return typeof answer === 'string' ? Number(BigInt(answer)) : Number.NaN
}

/**
 * Asks the endpoint for its chain id and block number, within the client's time-out.
 *
 * @returns the current block number
 * @throws RPC_UNREACHABLE when the endpoint does not answer
 * @throws WRONG_CHAIN when it serves another chain
 */
export async function probeChain(client: ChainClient): Promise<{blockNumber: number}> {
  const chainId = await askChainId(client)
  if (chainId !== client.chainId) {
    throw lilypadError('WRONG_CHAIN', {
      message: `The endpoint ${redact(client.rpcUrl)} serves chain ${chainId}, not ${client.chainId}.`,
      hints: ['Point WEB3_RPC_URL at the right chain, or pick the matching --network.'],
      details: {expected: client.chainId, actual: chainId},
    })
  }
  try {
    return {blockNumber: await client.provider.getBlockNumber()}
  } catch (error) {
    throw rpcUnreachable(client.rpcUrl, error)
  }
}

/**
 * Connects and probes. When `chainId` is not given (`contracts deploy` to any EVM chain), the
 * endpoint's own chain id is used.
 *
 * @throws RPC_UNREACHABLE, WRONG_CHAIN (when `chainId` is given and differs), PRIVATE_KEY_INVALID
 */
export async function connectChain(
  options: Omit<ChainClientOptions, 'chainId'> & {chainId?: number | undefined},
): Promise<ChainClient> {
  let chainId = options.chainId
  if (chainId === undefined) {
    const probe = createChainClient({...options, chainId: 1, privateKey: undefined})
    try {
      chainId = await askChainId(probe)
    } finally {
      probe.destroy()
    }
  }
  const client = createChainClient({...options, chainId})
  try {
    await probeChain(client)
  } catch (error) {
    client.destroy()
    throw error
  }
  return client
}

/**
 * Connects to a network profile's chain (its first RPC endpoint, its chain id) with an optional
 * signing key, and probes it.
 *
 * @throws CONFIG_INVALID when the profile has no RPC endpoint; RPC_UNREACHABLE, WRONG_CHAIN, PRIVATE_KEY_INVALID
 * @example
 * const client = await connectNetwork(config.network, {privateKey: config.privateKey})
 */
export async function connectNetwork(
  network: Pick<NetworkProfile, 'name' | 'chainId' | 'rpcUrls'>,
  options: {privateKey?: string | undefined; timeoutMs?: number; pollingIntervalMs?: number} = {},
): Promise<ChainClient> {
  const rpcUrl = network.rpcUrls[0]
  if (rpcUrl === undefined) {
    throw lilypadError('CONFIG_INVALID', {
      message: `The network "${network.name}" has no RPC endpoint.`,
      hints: ['Set WEB3_RPC_URL, or add rpcUrls to the network in your config file.'],
    })
  }
  return connectChain({...options, rpcUrl, chainId: network.chainId})
}
