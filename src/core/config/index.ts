export {childProcessEnv, ENV_VARS, type EnvSnapshot, type EnvVarSpec, readEnv, secretValues} from './env.js'
export {
  type ConfigFile,
  type ConfigFlags,
  type ConfigSource,
  DEFAULT_DATA_DIR,
  type NetworkOverride,
  networkNames,
  readConfigFile,
  type ResolvedConfig,
  resolveConfig,
  type ResolveConfigOptions,
  setDefaultNetwork,
  writeConfigFile,
} from './load-config.js'
export {
  BUILTIN_NETWORKS,
  DEFAULT_NETWORK,
  defineNetwork,
  type NetworkContracts,
  type NetworkProfile,
} from './networks.js'
export {
  DEVNET_CHAIN_ID,
  DEVNET_DEFAULT_PORTS,
  DEVNET_MNEMONIC,
  DEVNET_ROLES,
  type DevnetRole,
  type DevnetService,
  type DevnetState,
  devnetAddress,
  devnetDir,
  devnetPrivateKey,
  devnetStatePath,
  isWellKnownKey,
  processAlive,
  readDevnetState,
  runningDevnet,
} from './devnet.js'
