/**
 * Removes secrets from text before it reaches a terminal, a log or a JSON envelope: the secret
 * values the CLI knows about (the configured private key), anything labelled as a private key,
 * credentials in URLs (`https://user:pass@host`), API keys in RPC URL paths and API-key-like query
 * values. Bare 64-digit hex
 * strings are left alone: transaction hashes and image digests look the same and must stay visible.
 */

const LABELLED_KEY = /((?:private[_-]?key|WEB3_PRIVATE_KEY)["']?\s*[:=]\s*["']?)(0x)?[0-9a-fA-F]{64}/gi
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+)(:[^\s/@]*)?@/gi
/** An API key in an RPC provider's URL path (`…/v3/<key>`): a long run of letters and digits. */
const PATH_KEY = /(\b(?:https?|wss?):\/\/[^\s/]+(?:\/[^\s/]*)*?\/)([A-Za-z0-9_-]{32,})(?=[/?#\s"']|$)/g
const SECRET_QUERY = /([?&](?:api[-_]?key|apikey|key|token|secret|password|access[-_]?token)=)[^&#\s]+/gi

/** Values registered at run time (e.g. the configured private key) that must never be shown. */
export type SecretList = readonly string[]

/**
 * Returns `text` with secrets replaced by `***`. Every message and detail the CLI prints passes
 * through here.
 *
 * @param text - any text
 * @param secrets - extra literal values to hide (at least 8 characters each; shorter ones are ignored)
 * @returns the redacted text
 * @example
 * redact('https://user:pw@rpc.example/?key=abc') // 'https://***@rpc.example/?key=***'
 */
export function redact(text: string, secrets: SecretList = []): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 8) out = out.split(secret).join('***')
  }
  return out
    .replace(LABELLED_KEY, '$1***')
    .replace(URL_CREDENTIALS, '$1***@')
    .replace(PATH_KEY, '$1***')
    .replace(SECRET_QUERY, '$1***')
}

/** Applies {@link redact} to every string inside a JSON-like value. */
export function redactDeep<T>(value: T, secrets: SecretList = []): T {
  if (typeof value === 'string') return redact(value, secrets) as T
  if (Array.isArray(value)) return value.map((item: unknown) => redactDeep(item, secrets)) as T
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = redactDeep(item, secrets)
    return out as T
  }
  return value
}
