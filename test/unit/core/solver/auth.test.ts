import {describe, expect, it} from '@jest/globals'
import {SigningKey, Wallet, hashMessage, keccak256, recoverAddress} from 'ethers'
import {
  PROTOCOL_CLIENT_VERSION,
  authHeaders,
  authPayload,
  checkClientVersion,
  rawSign,
  signerAddress,
  verifyAuthHeaders,
} from '../../../../src/core/solver/auth.js'
import {loadGoVectors} from './go-vectors.js'

// Anvil's well-known development keys.
const KEY_0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'
const ADDRESS_0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const KEY_1 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const ADDRESS_1 = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

const b64 = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64')

describe('authHeaders', () => {
  it('signs the Go JSON of AuthUser, with no EIP-191 prefix and v in {0,1}', () => {
    const headers = authHeaders(KEY_0)
    const payload = Buffer.from(headers['X-Lilypad-User'], 'base64')
    expect(payload.toString('utf8')).toBe(`{"address":"${ADDRESS_0}"}`)
    const signature = Buffer.from(headers['X-Lilypad-Signature'], 'base64')
    expect(signature.length).toBe(65)
    expect([0, 1]).toContain(signature[64])
    const sig = {
      r: `0x${signature.subarray(0, 32).toString('hex')}`,
      s: `0x${signature.subarray(32, 64).toString('hex')}`,
      v: 27 + (signature[64] ?? 0),
    }
    expect(recoverAddress(keccak256(payload), sig)).toBe(ADDRESS_0)
    expect(recoverAddress(hashMessage(payload), sig)).not.toBe(ADDRESS_0)
    expect(headers['X-Lilypad-Version']).toBe(PROTOCOL_CLIENT_VERSION)
  })

  it('gives the same payload bytes as Go json.Marshal(AuthUser)', () => {
    const vector = loadGoVectors().vectors.find((v) => v.kind === 'authUser')
    expect(Buffer.from(authPayload(ADDRESS_1)).toString('hex')).toBe(vector?.hex)
  })

  it('accepts a key without 0x, a SigningKey and a Wallet, and a custom version', () => {
    expect(authHeaders(KEY_1.slice(2))['X-Lilypad-User']).toBe(
      authHeaders(new SigningKey(KEY_1))['X-Lilypad-User'],
    )
    expect(authHeaders(new Wallet(KEY_1), 'v2.99.0')['X-Lilypad-Version']).toBe('v2.99.0')
    expect(signerAddress(new Wallet(KEY_1))).toBe(ADDRESS_1)
  })
})

describe('verifyAuthHeaders', () => {
  it('accepts what authHeaders signs, with any header-name case and Headers objects', () => {
    const headers = authHeaders(KEY_1)
    expect(verifyAuthHeaders(headers)).toEqual({ok: true, address: ADDRESS_1})
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
    expect(verifyAuthHeaders(lower)).toEqual({ok: true, address: ADDRESS_1})
    expect(verifyAuthHeaders(new Headers(headers))).toEqual({ok: true, address: ADDRESS_1})
    expect(verifyAuthHeaders({...lower, 'x-lilypad-user': [headers['X-Lilypad-User'], 'x']})).toEqual({
      ok: true,
      address: ADDRESS_1,
    })
  })

  it('refuses missing headers', () => {
    const headers = authHeaders(KEY_0)
    expect(verifyAuthHeaders({'X-Lilypad-Signature': headers['X-Lilypad-Signature']})).toEqual({
      ok: false,
      status: 401,
      message: 'missing user header',
    })
    expect(verifyAuthHeaders({'X-Lilypad-User': headers['X-Lilypad-User']})).toEqual({
      ok: false,
      status: 401,
      message: 'missing signature header',
    })
  })

  it('refuses a tampered payload (the signature then recovers another address)', () => {
    const headers = authHeaders(KEY_0)
    const tampered = {...headers, 'X-Lilypad-User': b64(`{"address":"${ADDRESS_1}"}`)}
    expect(verifyAuthHeaders(tampered)).toEqual({ok: false, status: 401, message: 'invalid signature'})
  })

  it("refuses another signer's signature", () => {
    const mine = authHeaders(KEY_0)
    const other = authHeaders(KEY_1)
    expect(verifyAuthHeaders({...mine, 'X-Lilypad-Signature': other['X-Lilypad-Signature']})).toMatchObject({
      ok: false,
      status: 401,
      message: 'invalid signature',
    })
  })

  it('refuses a lower-case address even when the signature is valid for those bytes', () => {
    const payload = new TextEncoder().encode(`{"address":"${ADDRESS_0.toLowerCase()}"}`)
    const signature = rawSign(new SigningKey(KEY_0), payload)
    expect(
      verifyAuthHeaders({'X-Lilypad-User': b64(payload), 'X-Lilypad-Signature': b64(signature)}),
    ).toEqual({ok: false, status: 401, message: 'invalid signature'})
  })

  it('refuses bad base64 and a payload that is not an AuthUser', () => {
    const headers = authHeaders(KEY_0)
    const badUser = verifyAuthHeaders({...headers, 'X-Lilypad-User': 'e30*'})
    expect(badUser).toMatchObject({ok: false, status: 401})
    expect(badUser.ok ? '' : badUser.message).toMatch(
      /^invalid user header illegal base64 data at input byte 3$/,
    )
    const unpadded = verifyAuthHeaders({
      ...headers,
      'X-Lilypad-User': headers['X-Lilypad-User'].replace(/=+$/, ''),
    })
    expect(unpadded.ok ? '' : unpadded.message).toMatch(/^invalid user header illegal base64/)
    const badSignature = verifyAuthHeaders({...headers, 'X-Lilypad-Signature': '!!!!'})
    expect(badSignature.ok ? '' : badSignature.message).toMatch(
      /^invalid user header or signature illegal base64/,
    )
    const notJson = verifyAuthHeaders({...headers, 'X-Lilypad-User': b64('not json')})
    expect(notJson.ok ? '' : notJson.message).toMatch(/^invalid user header /)
    const array = verifyAuthHeaders({...headers, 'X-Lilypad-User': b64('[1]')})
    expect(array.ok ? '' : array.message).toBe(
      'invalid user header json: cannot unmarshal array into Go value of type http.AuthUser',
    )
    const number = verifyAuthHeaders({...headers, 'X-Lilypad-User': b64('{"address":1}')})
    expect(number.ok ? '' : number.message).toContain('cannot unmarshal number')
  })

  it('accepts the address key in any case, as Go decodes struct fields', () => {
    const payload = new TextEncoder().encode(`{"Address":"${ADDRESS_0}"}`)
    const signature = rawSign(new SigningKey(KEY_0), payload)
    expect(
      verifyAuthHeaders({'X-Lilypad-User': b64(payload), 'X-Lilypad-Signature': b64(signature)}),
    ).toEqual({ok: true, address: ADDRESS_0})
  })

  it('refuses v = 27/28 (Ecrecover wants 0 or 1) and a wrong length', () => {
    const headers = authHeaders(KEY_0)
    const signature = Buffer.from(headers['X-Lilypad-Signature'], 'base64')
    const v27 = Buffer.from(signature)
    v27[64] = (signature[64] ?? 0) + 27
    expect(verifyAuthHeaders({...headers, 'X-Lilypad-Signature': b64(v27)})).toEqual({
      ok: false,
      status: 401,
      message: 'invalid user header or signature invalid signature recovery id',
    })
    expect(verifyAuthHeaders({...headers, 'X-Lilypad-Signature': b64(signature.subarray(0, 64))})).toEqual({
      ok: false,
      status: 401,
      message: 'invalid user header or signature invalid signature length',
    })
    const zero = Buffer.alloc(65)
    expect(verifyAuthHeaders({...headers, 'X-Lilypad-Signature': b64(zero)})).toMatchObject({
      ok: false,
      status: 401,
    })
  })
})

describe('checkClientVersion (Go VersionConfig.IsSupported)', () => {
  it.each([
    ['v2.23.0', {serverVersion: 'v2.23.0'}, true, 'v2'],
    ['v2.0.0', {serverVersion: 'v2.23.0'}, true, 'v2'],
    ['v0.1.0', {serverVersion: 'v2.23.0'}, false, 'v2'],
    ['2.23.0', {serverVersion: 'v2.23.0'}, false, 'v2'],
    ['', {serverVersion: 'v2.23.0'}, false, 'v2'],
    ['v2.22.9', {minimumVersion: 'v2.23.0'}, false, 'v2.23.0'],
    ['v2.23.0-rc.1', {minimumVersion: 'v2.23.0'}, false, 'v2.23.0'],
    ['v2.23.1-rc.1', {minimumVersion: 'v2.23.0'}, true, 'v2.23.0'],
    ['v2.23.0+build', {minimumVersion: 'v2.23.0'}, true, 'v2.23.0'],
    ['v3', {minimumVersion: 'v2.23.0'}, true, 'v2.23.0'],
    ['anything', {}, true, ''],
  ] as const)('%s with %j', (version, options, supported, minimumVersion) => {
    expect(checkClientVersion(version, options)).toEqual({supported, minimumVersion})
  })

  it('orders prereleases as semver does', () => {
    expect(checkClientVersion('v1.0.0-alpha.10', {minimumVersion: 'v1.0.0-alpha.9'}).supported).toBe(true)
    expect(checkClientVersion('v1.0.0-alpha', {minimumVersion: 'v1.0.0-alpha.1'}).supported).toBe(false)
    expect(checkClientVersion('v1.0.0-beta', {minimumVersion: 'v1.0.0-alpha.1'}).supported).toBe(true)
    expect(checkClientVersion('v1.0.0-1', {minimumVersion: 'v1.0.0-alpha'}).supported).toBe(false)
  })
})
