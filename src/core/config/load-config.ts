/**
 * Resolves the effective configuration once per command, with a written precedence:
 * flag → environment variable → user config file → network profile → built-in default.
 * Every value remembers where it came from, so the CLI can explain itself.
 */
import {randomBytes} from 'node:crypto'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {Ajv} from 'ajv'

import {lilypadError} from '../errors/index.js'
import {type DefaultAccount, defaultAccount, keystoreDir} from '../wallet/keystore.js'
import {devnetPrivateKey, runningDevnet} from './devnet.js'
import {type EnvSnapshot, readEnv, secretValues} from './env.js'
import {
  BUILTIN_NETWORKS,
  DEFAULT_NETWORK,
  type NetworkContracts,
  type NetworkProfile,
  defineNetwork,
} from './networks.js'

/** The Go CLI's default data directory. */
export const DEFAULT_DATA_DIR = '/tmp/lilypad/data'

/** Where a resolved value came from. */
export type ConfigSource = 'flag' | 'env' | 'config' | 'profile' | 'default'

/** A network profile as written in the user config file: every field optional, `extends` a built-in. */
export interface NetworkOverride {
  extends?: string
  description?: string
  chainId?: number
  rpcUrls?: string[]
  moduleBase?: string
  solverAddress?: string
  solverUrl?: string
  mediators?: string[]
  contracts?: NetworkContracts
  protocol?: 'onchain' | 'solver'
  maxPrice?: number
}

/** The user config file (`<config dir>/config.json`). */
export interface ConfigFile {
  network?: string
  dataDir?: string
  networks?: Record<string, NetworkOverride>
}

/** The effective configuration of one command invocation. Frozen. */
export interface ResolvedConfig {
  network: Readonly<NetworkProfile>
  dataDir: string
  /** The config file that was read, if any. */
  configFile: string | undefined
  /** Where each top-level value came from. */
  sources: Readonly<{
    network: ConfigSource
    dataDir: ConfigSource
    moduleBase: ConfigSource
    rpcUrls: ConfigSource
  }>
  /** Secret values to redact from everything the CLI prints. */
  secrets: readonly string[]
  /**
   * The paying account's private key, if one is available. Never print it. A keystore account's key
   * is `undefined` here until it is unlocked with its password (`unlockConfig` in core/wallet).
   */
  privateKey: string | undefined
  /**
   * Where the key comes from, first match wins: WEB3_PRIVATE_KEY, the keystore's default account,
   * then (on `local` only) the devnet's job creator.
   */
  keySource: 'env' | 'keystore' | 'devnet' | undefined
  /** The keystore's default account when it is the one that signs (`keySource` is `keystore`). */
  keystoreAccount: DefaultAccount | undefined
  /** On a devnet profile: whether its devnet runs (the profile then carries its live endpoints). */
  devnet: 'running' | 'stopped' | undefined
}

/** Flag values that take part in the precedence. */
export interface ConfigFlags {
  network?: string | undefined
  dataDir?: string | undefined
}

/** Options of {@link resolveConfig}. */
export interface ResolveConfigOptions {
  flags?: ConfigFlags
  /** Environment to read; the process environment by default. */
  env?: Readonly<Record<string, string | undefined>>
  /** Directory holding `config.json`; no file is read when undefined. */
  configDir?: string | undefined
}

const ADDRESS = {type: 'string', pattern: '^0x[0-9a-fA-F]{40}$'} as const
const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: {type: 'string'},
    network: {type: 'string', minLength: 1},
    dataDir: {type: 'string', minLength: 1},
    networks: {
      type: 'object',
      propertyNames: {pattern: '^[a-z0-9][a-z0-9-]*$'},
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          extends: {type: 'string'},
          description: {type: 'string'},
          chainId: {type: 'integer', minimum: 1},
          rpcUrls: {type: 'array', items: {type: 'string', minLength: 1}},
          moduleBase: {type: 'string', minLength: 1},
          solverAddress: ADDRESS,
          solverUrl: {type: 'string', minLength: 1},
          mediators: {type: 'array', items: ADDRESS},
          protocol: {enum: ['onchain', 'solver']},
          maxPrice: {type: 'number', minimum: 0},
          contracts: {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(
              ['controller', 'token', 'payments', 'storage', 'users', 'mediation', 'jobCreator', 'pow'].map(
                (k) => [k, ADDRESS],
              ),
            ),
          },
        },
      },
    },
  },
} as const

let validateConfigFile: ReturnType<Ajv['compile']> | undefined

/**
 * Reads and validates the user config file.
 *
 * @param path - path of `config.json`
 * @returns the parsed file, or `undefined` when it does not exist
 * @throws CONFIG_INVALID when the file is not JSON or does not match the schema
 */
export async function readConfigFile(path: string): Promise<ConfigFile | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw lilypadError('CONFIG_INVALID', {
      message: `Cannot read the config file ${path}.`,
      details: {path},
      cause: error,
    })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw lilypadError('CONFIG_INVALID', {
      message: `The config file ${path} is not valid JSON.`,
      hints: [`Fix or remove ${path}.`],
      details: {path},
      cause: error,
    })
  }
  validateConfigFile ??= new Ajv({allErrors: true, strict: true}).compile(CONFIG_SCHEMA)
  if (!validateConfigFile(value)) {
    const problems = (validateConfigFile.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    )
    throw lilypadError('CONFIG_INVALID', {
      message: `The config file ${path} is not valid: ${problems.join('; ')}.`,
      hints: [`Fix or remove ${path}.`],
      details: {path, problems},
    })
  }
  return value as ConfigFile
}

/** Names of every network profile: built-in and from the config file. */
export function networkNames(file: ConfigFile | undefined): string[] {
  return [...new Set([...Object.keys(BUILTIN_NETWORKS), ...Object.keys(file?.networks ?? {})])]
}

function buildProfile(name: string, file: ConfigFile | undefined): Readonly<NetworkProfile> {
  const override = file?.networks?.[name]
  const builtin = BUILTIN_NETWORKS[name]
  if (override === undefined) {
    if (builtin !== undefined) return builtin
    throw lilypadError('UNKNOWN_NETWORK', {
      message: `There is no network called "${name}".`,
      hints: [
        `Use one of: ${networkNames(file).join(', ')}.`,
        'Define your own under "networks" in the config file.',
      ],
      details: {network: name},
    })
  }
  const baseName = override.extends ?? (builtin === undefined ? undefined : name)
  const base = baseName === undefined ? undefined : BUILTIN_NETWORKS[baseName]
  if (baseName !== undefined && base === undefined) {
    throw lilypadError('CONFIG_INVALID', {
      message: `Network "${name}" extends "${baseName}", which is not a built-in network.`,
      hints: [`"extends" takes one of: ${Object.keys(BUILTIN_NETWORKS).join(', ')}.`],
      details: {network: name, extends: baseName},
    })
  }
  const chainId = override.chainId ?? base?.chainId
  const moduleBase = override.moduleBase ?? base?.moduleBase
  if (chainId === undefined || moduleBase === undefined) {
    throw lilypadError('CONFIG_INVALID', {
      message: `Network "${name}" needs "chainId" and "moduleBase" (or "extends" a built-in network).`,
      details: {network: name},
    })
  }
  const profile: NetworkProfile = {
    name,
    description: override.description ?? base?.description ?? `User network "${name}".`,
    chainId,
    rpcUrls: override.rpcUrls ?? base?.rpcUrls ?? [],
    moduleBase,
    mediators: override.mediators ?? base?.mediators ?? [],
    contracts: {...base?.contracts, ...override.contracts},
    protocol: override.protocol ?? base?.protocol ?? 'onchain',
    maxPrice: override.maxPrice ?? base?.maxPrice ?? 10,
    devnet: base?.devnet ?? false,
  }
  const solverAddress = override.solverAddress ?? base?.solverAddress
  const solverUrl = override.solverUrl ?? base?.solverUrl
  if (solverAddress !== undefined) profile.solverAddress = solverAddress
  if (solverUrl !== undefined) profile.solverUrl = solverUrl
  return defineNetwork(profile)
}

function pick<T>(
  candidates: ReadonlyArray<readonly [T | undefined, ConfigSource]>,
  fallback: readonly [T, ConfigSource],
): [T, ConfigSource] {
  for (const [value, source] of candidates) if (value !== undefined) return [value, source]
  return [fallback[0], fallback[1]]
}

/**
 * Resolves the configuration of one invocation.
 *
 * @param options - flags, environment and config directory
 * @returns a frozen {@link ResolvedConfig}
 * @throws UNKNOWN_NETWORK when the chosen network does not exist
 * @throws CONFIG_INVALID when the config file is malformed
 * @example
 * const config = await resolveConfig({flags: {network: 'testnet'}, configDir: '/home/me/.config/lilypad'})
 */
export async function resolveConfig(options: ResolveConfigOptions = {}): Promise<ResolvedConfig> {
  const env: EnvSnapshot = readEnv(options.env ?? process.env)
  const configFile = options.configDir === undefined ? undefined : join(options.configDir, 'config.json')
  const file = configFile === undefined ? undefined : await readConfigFile(configFile)
  const flags = options.flags ?? {}

  const [networkName, networkSource] = pick<string>(
    [
      [flags.network, 'flag'],
      [env.LILYPAD_NETWORK, 'env'],
      [file?.network, 'config'],
    ],
    [DEFAULT_NETWORK, 'default'],
  )
  const profile = buildProfile(networkName, file)
  const [dataDir, dataDirSource] = pick<string>(
    [
      [flags.dataDir, 'flag'],
      [env.DATA_DIR, 'env'],
      [file?.dataDir, 'config'],
    ],
    [DEFAULT_DATA_DIR, 'default'],
  )
  const fromFile = file?.networks?.[networkName] !== undefined
  const [moduleBase, moduleBaseSource] = pick<string>(
    [[env.LILYPAD_MODULE_BASE, 'env']],
    [profile.moduleBase, fromFile ? 'config' : 'profile'],
  )
  const [rpcUrls, rpcSource] = pick<readonly string[]>(
    [
      [
        env.WEB3_RPC_URL?.split(',')
          .map((url) => url.trim())
          .filter((url) => url !== ''),
        'env',
      ],
    ],
    [profile.rpcUrls, fromFile ? 'config' : 'profile'],
  )

  const live = profile.devnet ? runningDevnet(dataDir) : undefined
  const network =
    live === undefined
      ? {...profile, moduleBase, rpcUrls}
      : {
          ...profile,
          chainId: live.chainId,
          rpcUrls: rpcSource === 'env' ? rpcUrls : [live.rpcUrl],
          moduleBase: moduleBaseSource === 'env' ? moduleBase : live.moduleBase,
          solverUrl: live.solverUrl,
          solverAddress: live.accounts.solver,
          mediators: [live.accounts.mediator],
          protocol: live.protocol,
          contracts: {
            ...profile.contracts,
            token: live.contracts.LilypadToken,
            users: live.contracts.LilypadUsers,
            controller: live.contracts.LilypadController,
            payments: live.contracts.LilypadController,
            storage: live.contracts.LilypadController,
            mediation: live.contracts.LilypadController,
          },
        }
  const stored =
    env.WEB3_PRIVATE_KEY === undefined && options.configDir !== undefined
      ? // A broken keystore must not stop commands that sign nothing; `wallet show` and `doctor` report it.
        await defaultAccount(keystoreDir(options.configDir)).catch(() => undefined)
      : undefined
  const devnetKey =
    profile.devnet && env.WEB3_PRIVATE_KEY === undefined && stored === undefined
      ? devnetPrivateKey('jobCreator')
      : undefined

  return Object.freeze({
    network: defineNetwork({...network, moduleBase: network.moduleBase.replace(/\/+$/, '')}),
    dataDir,
    configFile: file === undefined ? undefined : configFile,
    sources: Object.freeze({
      network: networkSource,
      dataDir: dataDirSource,
      moduleBase: moduleBaseSource,
      rpcUrls: rpcSource,
    }),
    secrets: Object.freeze(secretValues(env)),
    privateKey: env.WEB3_PRIVATE_KEY ?? devnetKey,
    keySource:
      env.WEB3_PRIVATE_KEY !== undefined
        ? 'env'
        : stored !== undefined
          ? 'keystore'
          : devnetKey === undefined
            ? undefined
            : 'devnet',
    keystoreAccount: stored,
    devnet: profile.devnet ? (live === undefined ? 'stopped' : 'running') : undefined,
  })
}

/**
 * Writes the user config file after validating it, through a temporary file and a rename, so a
 * reader never sees half a file and an invalid file is never written.
 *
 * @param path - path of `config.json`
 * @param value - the whole file
 * @throws CONFIG_INVALID when `value` does not match the schema or the file cannot be written
 * @example
 * await writeConfigFile(join(configDir, 'config.json'), {...file, network: 'testnet'})
 */
export async function writeConfigFile(path: string, value: ConfigFile): Promise<void> {
  validateConfigFile ??= new Ajv({allErrors: true, strict: true}).compile(CONFIG_SCHEMA)
  if (!validateConfigFile(value)) {
    const problems = (validateConfigFile.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    )
    throw lilypadError('CONFIG_INVALID', {
      message: `Refusing to write an invalid config file ${path}: ${problems.join('; ')}.`,
      details: {path, problems},
    })
  }
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await mkdir(dirname(path), {recursive: true})
    await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, {encoding: 'utf8', flag: 'wx'})
    await rename(temp, path)
  } catch (error) {
    await rm(temp, {force: true})
    throw lilypadError('CONFIG_INVALID', {
      message: `Cannot write the config file ${path}: ${(error as Error).message}`,
      hints: [`Check that ${dirname(path)} is writable.`],
      details: {path},
      cause: error,
    })
  }
}

/**
 * Makes `name` the default network in the config file under `configDir`, keeping everything else.
 *
 * @returns the path of the config file
 * @throws UNKNOWN_NETWORK when no built-in or user profile has that name; CONFIG_INVALID
 * @example
 * await setDefaultNetwork('/home/me/.config/lilypad', 'testnet')
 */
export async function setDefaultNetwork(configDir: string, name: string): Promise<string> {
  const path = join(configDir, 'config.json')
  const file = (await readConfigFile(path)) ?? {}
  buildProfile(name, file)
  await writeConfigFile(path, {...file, network: name})
  return path
}
