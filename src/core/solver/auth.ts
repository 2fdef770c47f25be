/**
 * Request authentication of the solver API (lilypad-protocol.md §4.1), both sides. The client
 * signs `{"address":"0x…"}` (Go JSON of `AuthUser`) with the raw secp256k1 scheme go-ethereum's
 * `crypto.Sign` uses: keccak256 of the bytes, no EIP-191 prefix, `r‖s‖v` with v ∈ {0,1}. The
 * server recovers the signer and requires it to equal the claimed address, as a string.
 */
import {Signature, SigningKey, computeAddress, keccak256, recoverAddress} from 'ethers'
import {goJsonString} from '../module/template/go-json.js'

/** Header names, as Go's `pkg/http` spells them. */
export const AUTH_HEADERS = {
  user: 'X-Lilypad-User',
  signature: 'X-Lilypad-Signature',
  version: 'X-Lilypad-Version',
} as const

/**
 * The `X-Lilypad-Version` we send: the Go release whose protocol we speak. The real solver rejects
 * a version that is not valid semver or is below its own major version (`v2`), so our package's
 * own version (0.x) would be refused; we speak v2.23.0's protocol, so we say so.
 */
export const PROTOCOL_CLIENT_VERSION = 'v2.23.0'

/** What signs requests: a private key (hex, `0x` optional), an ethers SigningKey, or a Wallet. */
export type AuthSigner = string | SigningKey | {readonly signingKey: SigningKey}

/** The three headers of a signed request. */
export type AuthHeaderSet = {
  'X-Lilypad-User': string
  'X-Lilypad-Signature': string
  'X-Lilypad-Version': string
}

/** Headers as Node's `IncomingHttpHeaders` (lower-case keys), a fetch `Headers`, or a plain record. */
export type HeaderSource = Headers | Readonly<Record<string, string | readonly string[] | undefined>>

/** The outcome of {@link verifyAuthHeaders}. */
export type AuthVerification =
  | {readonly ok: true; readonly address: string}
  | {readonly ok: false; readonly status: 400 | 401; readonly message: string}

function signingKeyOf(signer: AuthSigner): SigningKey {
  if (typeof signer === 'string') return new SigningKey(signer.startsWith('0x') ? signer : `0x${signer}`)
  if (signer instanceof SigningKey) return signer
  return signer.signingKey
}

/**
 * The Go JSON bytes of `AuthUser{Address: address}`.
 *
 * @example
 * new TextDecoder().decode(authPayload('0xAb…')) // '{"address":"0xAb…"}'
 */
export function authPayload(address: string): Uint8Array {
  return new Uint8Array(Buffer.from(`{"address":${goJsonString(address)}}`, 'utf8'))
}

/**
 * Signs `payload` the go-ethereum way: 65 bytes `r‖s‖v`, v ∈ {0,1}, over keccak256(payload).
 *
 * @example
 * rawSign(new SigningKey(key), authPayload(address)).length // 65
 */
export function rawSign(key: SigningKey, payload: Uint8Array): Uint8Array {
  const signature = key.sign(keccak256(payload))
  const out = new Uint8Array(65)
  out.set(Buffer.from(signature.r.slice(2), 'hex'), 0)
  out.set(Buffer.from(signature.s.slice(2), 'hex'), 32)
  out[64] = signature.yParity
  return out
}

/**
 * The headers that authenticate one request as the signer's EIP-55 address. Go signs GETs too, so
 * every request carries them.
 *
 * @param signer - private key, SigningKey or Wallet
 * @param version - the `X-Lilypad-Version` value (default {@link PROTOCOL_CLIENT_VERSION})
 * @returns the three headers
 * @throws TypeError (from ethers) for a malformed private key
 * @example
 * await fetch(`${url}/api/v1/deals`, {headers: authHeaders(privateKey)})
 */
export function authHeaders(signer: AuthSigner, version: string = PROTOCOL_CLIENT_VERSION): AuthHeaderSet {
  const key = signingKeyOf(signer)
  const address = computeAddress(key)
  const payload = authPayload(address)
  return {
    'X-Lilypad-User': Buffer.from(payload).toString('base64'),
    'X-Lilypad-Signature': Buffer.from(rawSign(key, payload)).toString('base64'),
    'X-Lilypad-Version': version,
  }
}

/**
 * The EIP-55 address of a signer.
 *
 * @example
 * signerAddress('0x…') // '0xf39F…'
 */
export function signerAddress(signer: AuthSigner): string {
  return computeAddress(signingKeyOf(signer))
}

/** Reads one header by name, case-insensitively, taking the first value as Go's `Header.Get` does. */
export function headerValue(headers: HeaderSource, name: string): string {
  if (headers instanceof Headers) {
    const value = headers.get(name)
    return value === null ? '' : (value.split(', ')[0] ?? '')
  }
  const lower = name.toLowerCase()
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || value === undefined) continue
    return typeof value === 'string' ? value : (value[0] ?? '')
  }
  return ''
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Go's `base64.StdEncoding.DecodeString`: padding required, CR and LF ignored, nothing else. */
function decodeStdBase64(text: string): Uint8Array | string {
  const stripped = text.replace(/[\r\n]/g, '')
  if (!BASE64.test(stripped)) return `illegal base64 data at input byte ${firstBadByte(stripped)}`
  return new Uint8Array(Buffer.from(stripped, 'base64'))
}

function firstBadByte(text: string): number {
  const bad = text.search(/[^A-Za-z0-9+/=]/)
  if (bad !== -1) return bad
  const padding = text.indexOf('=')
  return padding !== -1 ? padding : text.length - (text.length % 4)
}

/** Go's `json.Unmarshal` into `AuthUser`: an object whose `address` key (any case) is a string. */
function decodeAuthUser(bytes: Uint8Array): {address: string} | string {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (error) {
    return error instanceof Error ? error.message : 'invalid JSON'
  }
  if (parsed === null) return {address: ''}
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    return `json: cannot unmarshal ${Array.isArray(parsed) ? 'array' : typeof parsed} into Go value of type http.AuthUser`
  }
  let address = ''
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (key.toLowerCase() !== 'address') continue
    if (value === null) continue
    if (typeof value !== 'string') {
      return `json: cannot unmarshal ${typeof value} into Go struct field AuthUser.address of type string`
    }
    address = value
  }
  return {address}
}

/** Recovers the signer of `payload` as go-ethereum's `Ecrecover` would, or says why it cannot. */
function recoverSigner(payload: Uint8Array, signature: Uint8Array): string | {error: string} {
  if (signature.length !== 65) return {error: 'invalid signature length'}
  const v = signature[64]
  if (v !== 0 && v !== 1) return {error: 'invalid signature recovery id'}
  try {
    const sig = Signature.from({
      r: `0x${Buffer.from(signature.subarray(0, 32)).toString('hex')}`,
      s: `0x${Buffer.from(signature.subarray(32, 64)).toString('hex')}`,
      yParity: v,
    })
    return recoverAddress(keccak256(payload), sig)
  } catch {
    return {error: 'recovery failed'}
  }
}

/**
 * Checks the auth headers of a request as Go's `CheckSignature` does, with its error texts: both
 * headers present, valid base64, the payload a JSON `AuthUser`, a recoverable signature, and the
 * recovered EIP-55 address equal to the payload's `address` string (case-sensitive: a lower-case
 * address in the payload is refused). All failures are 401, as in Go.
 *
 * @param headers - the request's headers
 * @returns `{ok: true, address}` (EIP-55) or `{ok: false, status, message}`
 * @example
 * const auth = verifyAuthHeaders(request.headers)
 * if (!auth.ok) return reply.code(auth.status).send(auth.message)
 */
export function verifyAuthHeaders(headers: HeaderSource): AuthVerification {
  const user = headerValue(headers, AUTH_HEADERS.user)
  if (user === '') return {ok: false, status: 401, message: 'missing user header'}
  const signature = headerValue(headers, AUTH_HEADERS.signature)
  if (signature === '') return {ok: false, status: 401, message: 'missing signature header'}
  const payload = decodeStdBase64(user)
  if (typeof payload === 'string') return {ok: false, status: 401, message: `invalid user header ${payload}`}
  const authUser = decodeAuthUser(payload)
  if (typeof authUser === 'string')
    return {ok: false, status: 401, message: `invalid user header ${authUser}`}
  const signatureBytes = decodeStdBase64(signature)
  if (typeof signatureBytes === 'string') {
    return {ok: false, status: 401, message: `invalid user header or signature ${signatureBytes}`}
  }
  const recovered = recoverSigner(payload, signatureBytes)
  if (typeof recovered !== 'string') {
    return {ok: false, status: 401, message: `invalid user header or signature ${recovered.error}`}
  }
  if (recovered !== authUser.address) return {ok: false, status: 401, message: 'invalid signature'}
  return {ok: true, address: recovered}
}

interface Semver {
  major: number
  minor: number
  patch: number
  prerelease: string[]
}

const SEMVER =
  /^v(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?$/

/** Parses a version the way golang.org/x/mod/semver does (`v` prefix; `v2` and `v2.1` allowed). */
function parseSemver(version: string): Semver | undefined {
  const match = SEMVER.exec(version)
  if (match === null) return undefined
  const prerelease = match[4]?.split('.') ?? []
  if (prerelease.some((part) => /^0\d+$/.test(part))) return undefined
  return {
    major: Number(match[1]),
    minor: Number(match[2] ?? 0),
    patch: Number(match[3] ?? 0),
    prerelease,
  }
}

function comparePrerelease(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return (a.length === 0 ? 1 : 0) - (b.length === 0 ? 1 : 0)
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i]
    const y = b[i]
    if (x === undefined) return -1
    if (y === undefined) return 1
    if (x === y) continue
    const xNumeric = /^\d+$/.test(x)
    const yNumeric = /^\d+$/.test(y)
    if (xNumeric && yNumeric) return x.length !== y.length ? x.length - y.length : x < y ? -1 : 1
    if (xNumeric !== yNumeric) return xNumeric ? -1 : 1
    return x < y ? -1 : 1
  }
  return 0
}

function compareSemver(a: Semver, b: Semver): number {
  return (
    a.major - b.major ||
    a.minor - b.minor ||
    a.patch - b.patch ||
    comparePrerelease(a.prerelease, b.prerelease)
  )
}

/**
 * Go solver's version gate (`VersionConfig.IsSupported`): the minimum is `minimumVersion` when set,
 * else the solver's own major version (`v2` for `v2.23.0`); with neither, everything passes (a
 * solver built from source). The client's version must be valid semver and ≥ the minimum.
 *
 * @param clientVersion - the request's `X-Lilypad-Version`
 * @param options - the solver's configured minimum and its own version
 * @returns whether the version passes, and the minimum used (for the error message)
 * @example
 * checkClientVersion('v0.1.0', {serverVersion: 'v2.23.0'}) // {supported: false, minimumVersion: 'v2'}
 */
export function checkClientVersion(
  clientVersion: string,
  options: {readonly minimumVersion?: string; readonly serverVersion?: string},
): {supported: boolean; minimumVersion: string} {
  let minimumVersion = options.minimumVersion ?? ''
  if (minimumVersion === '' && options.serverVersion !== undefined && options.serverVersion !== '') {
    const server = parseSemver(options.serverVersion)
    minimumVersion = server === undefined ? '' : `v${server.major}`
  }
  if (minimumVersion === '') return {supported: true, minimumVersion: ''}
  const client = parseSemver(clientVersion)
  const minimum = parseSemver(minimumVersion)
  if (client === undefined || minimum === undefined) return {supported: false, minimumVersion}
  return {supported: compareSemver(client, minimum) >= 0, minimumVersion}
}
