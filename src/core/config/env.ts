/**
 * The environment-variable registry: every variable the CLI reads is declared here once, with its
 * meaning and whether it holds a secret. The README's table is checked against this list.
 */

/** One environment variable the CLI understands. */
export interface EnvVarSpec {
  name: string
  description: string
  /** A secret is never printed, logged or put in an error. */
  secret: boolean
}

/** The registry, in the order the README lists it. */
export const ENV_VARS = [
  {
    name: 'LILYPAD_NETWORK',
    description: 'Network profile to use (`local`, `testnet` or one from the config file); `--network` wins.',
    secret: false,
  },
  {
    name: 'LILYPAD_MODULE_BASE',
    description:
      'Where `name:ref` module shortcuts resolve: `<base>/lilypad-module-<name>`. Overrides the network profile.',
    secret: false,
  },
  {
    name: 'DATA_DIR',
    description:
      'Data directory (module cache under `repos/`, results under `downloaded-files/`). Default `/tmp/lilypad/data`, as in the Go CLI.',
    secret: false,
  },
  {
    name: 'LILYPAD_CONFIG_DIR',
    description: 'Directory of the user config file `config.json`. Default `~/.config/lilypad`.',
    secret: false,
  },
  {
    name: 'WEB3_PRIVATE_KEY',
    description: 'Private key of the account that pays for jobs (hex). Never pass it as a flag.',
    secret: true,
  },
  {
    name: 'LILYPAD_PASSWORD_FILE',
    description:
      'File whose first line is the keystore password, for scripts; `--password-file` wins. Without either, the password is asked on a terminal.',
    secret: false,
  },
  {name: 'WEB3_RPC_URL', description: 'EVM JSON-RPC endpoint; overrides the network profile.', secret: false},
  {
    name: 'LILYPAD_CONTENT_TYPE',
    description: 'Set to `json` to get the `--json` envelope from every command.',
    secret: false,
  },
  {
    name: 'NO_COLOR',
    description: 'Any non-empty value turns colour off (colour is also off when stderr is not a terminal).',
    secret: false,
  },
  {name: 'DEBUG', description: '`lilypad*` prints stack traces and error causes on stderr.', secret: false},
] as const satisfies readonly EnvVarSpec[]

/** A registered variable name. */
export type EnvVarName = (typeof ENV_VARS)[number]['name']

/** A snapshot of the registered variables (unset ones absent, empty strings treated as unset). */
export type EnvSnapshot = Partial<Record<EnvVarName, string>>

/**
 * Reads the registered variables from `source` (the process environment by default).
 *
 * @param source - the environment to read
 * @returns only the registered variables that are set to a non-empty value
 */
export function readEnv(source: Readonly<Record<string, string | undefined>> = process.env): EnvSnapshot {
  const out: EnvSnapshot = {}
  for (const spec of ENV_VARS) {
    const value = source[spec.name]
    if (value !== undefined && value !== '') out[spec.name] = value
  }
  return out
}

/** The values of the secret variables that are set, to be redacted from every message. */
export function secretValues(env: EnvSnapshot): string[] {
  const out: string[] = []
  for (const spec of ENV_VARS) {
    const value = env[spec.name]
    if (!spec.secret || value === undefined) continue
    out.push(value)
    // A key may be shown with or without its 0x prefix; hide both spellings.
    out.push(value.startsWith('0x') ? value.slice(2) : `0x${value}`)
  }
  return out
}

/**
 * The environment git and other child processes run with: the parent's, minus the secrets.
 */
export function childProcessEnv(
  source: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const secretNames = new Set<string>(ENV_VARS.filter((spec) => spec.secret).map((spec) => spec.name))
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && !secretNames.has(key)) out[key] = value
  }
  return out
}
