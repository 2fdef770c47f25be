/**
 * The keystore commands in-process on real temp directories: create with a password file, show,
 * use, import from a keystore file and from stdin (a child process, as a pipe), wrong passwords
 * (exit 3), no terminal and no file, and no output holding the key or the password.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet, encryptKeystoreJson} from 'ethers'

import {ROOT, envelope, runCli} from '../../helpers/run-cli.js'

const PASSWORD = 'wallet-test-password-1'
const OTHER_PASSWORD = 'another-test-password'
const IMPORTED = Wallet.createRandom()
const PIPED = Wallet.createRandom()
const outputs: string[] = []

let root: string
let configDir: string
let passwordFile: string

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const out = await runCli(args, {LILYPAD_CONFIG_DIR: configDir, DATA_DIR: join(root, 'data'), ...env})
  outputs.push(out.stdout, out.stderr)
  return out
}

function importFromStdin(key: string): Promise<{status: number | null; stdout: string; stderr: string}> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'run.js'), 'wallet', 'import', '--password-file', passwordFile, '--json'],
    {
      env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LILYPAD_CONFIG_DIR: configDir},
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  )
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdin.end(`${key}\n`)
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  return new Promise((resolve) => {
    child.on('close', (status) => {
      clearTimeout(timer)
      outputs.push(stdout, stderr)
      resolve({status, stdout, stderr})
    })
  })
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-wallet-cmd-'))
  configDir = join(root, 'config')
  passwordFile = join(root, 'pw')
  await writeFile(passwordFile, `${PASSWORD}\n`)
})

afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

describe('lilypad wallet', () => {
  let created: string

  it('create --password-file makes an encrypted 0600 account and prints only its address', async () => {
    const out = await cli(['wallet', 'create', '--password-file', passwordFile, '--json'])
    expect(out.exitCode).toBe(0)
    const result = envelope<{result: {address: string; path: string}}>(out).result
    created = result.address
    expect(created).toMatch(/^0x[0-9a-fA-F]{40}$/)
    expect((await stat(result.path)).mode & 0o777).toBe(0o600)
    const file = JSON.parse(await readFile(result.path, 'utf8')) as {Crypto: {ciphertext: string}}
    expect(file.Crypto.ciphertext).toMatch(/^[0-9a-f]{64}$/)
    expect(Object.keys(envelope<{result: object}>(out).result).sort()).toEqual(['address', 'path'])
  }, 60_000)

  it('show names the default account and where the choice comes from', async () => {
    const out = await cli(['wallet', 'show', '--json'])
    expect(out.exitCode).toBe(0)
    const result = envelope<{
      result: {signer: {address: string; source: string}; accounts: {address: string; default: boolean}[]}
    }>(out).result
    expect(result.signer).toMatchObject({address: created, source: 'keystore'})
    expect(result.accounts).toEqual([expect.objectContaining({address: created, default: true})])
    const human = await cli(['wallet', 'show'])
    expect(human.stdout).toContain(`Signing account: ${created}`)
    const config = await cli(['config', 'show', '--json'])
    expect(envelope<{result: {key: object}}>(config).result.key).toEqual({
      source: 'keystore',
      address: created,
    })
    // WEB3_PRIVATE_KEY comes first.
    const env = await cli(['wallet', 'show', '--json'], {WEB3_PRIVATE_KEY: IMPORTED.privateKey})
    expect(envelope<{result: {signer: {address: string; source: string}}}>(env).result.signer).toMatchObject({
      address: IMPORTED.address,
      source: 'env',
    })
  })

  it('imports a keystore file under its own password; a wrong one exits 3', async () => {
    const json = await encryptKeystoreJson(
      {address: IMPORTED.address, privateKey: IMPORTED.privateKey},
      OTHER_PASSWORD,
      {scrypt: {N: 16}},
    )
    const file = join(root, 'theirs.json')
    await writeFile(file, json)
    const wrong = await cli([
      'wallet',
      'import',
      '--keystore',
      file,
      '--password-file',
      passwordFile,
      '--json',
    ])
    expect(wrong.exitCode).toBe(3)
    expect(envelope<{error: {code: string}}>(wrong).error.code).toBe('WALLET_PASSWORD_WRONG')
    const otherFile = join(root, 'pw-other')
    await writeFile(otherFile, OTHER_PASSWORD)
    const ok = await cli(['wallet', 'import', '--keystore', file, '--password-file', otherFile, '--json'])
    expect(ok.exitCode).toBe(0)
    expect(envelope<{result: {address: string}}>(ok).result.address).toBe(IMPORTED.address)
    const again = await cli(['wallet', 'import', '--keystore', file, '--password-file', otherFile, '--json'])
    expect(envelope<{error: {code: string}}>(again).error.code).toBe('WALLET_EXISTS')
  })

  it('use switches the default; an unknown address is refused', async () => {
    const out = await cli(['wallet', 'use', IMPORTED.address.toLowerCase()])
    expect(out.exitCode).toBe(0)
    const show = await cli(['wallet', 'show', '--json'])
    expect(envelope<{result: {signer: {address: string}}}>(show).result.signer.address).toBe(IMPORTED.address)
    const unknown = await cli(['wallet', 'use', Wallet.createRandom().address, '--json'])
    expect(unknown.exitCode).toBe(3)
    expect(envelope<{error: {code: string}}>(unknown).error.code).toBe('WALLET_NOT_FOUND')
    await cli(['wallet', 'use', created])
  })

  it('imports a private key piped on stdin, never from argv', async () => {
    const out = await importFromStdin(PIPED.privateKey)
    expect(out.status).toBe(0)
    expect((JSON.parse(out.stdout) as {result: {address: string}}).result.address).toBe(PIPED.address)
    const bad = await importFromStdin('not-a-key')
    expect(bad.status).toBe(3)
    expect((JSON.parse(bad.stdout) as {error: {code: string}}).error.code).toBe('PRIVATE_KEY_INVALID')
  }, 60_000)

  it('asks for a password file when there is no terminal', async () => {
    const out = await cli(['wallet', 'create', '--json'], {LILYPAD_PASSWORD_FILE: undefined})
    expect(out.exitCode).toBe(3)
    expect(envelope<{error: {code: string; hints: string[]}}>(out).error.code).toBe(
      'WALLET_PASSWORD_REQUIRED',
    )
    const missing = await cli(['wallet', 'create', '--json'], {LILYPAD_PASSWORD_FILE: join(root, 'nope')})
    expect(envelope<{error: {code: string}}>(missing).error.code).toBe('WALLET_PASSWORD_REQUIRED')
  })

  it('printed no key and no password', () => {
    const all = outputs.join('\n').toLowerCase()
    for (const secret of [
      IMPORTED.privateKey.slice(2),
      PIPED.privateKey.slice(2),
      PASSWORD,
      OTHER_PASSWORD,
    ]) {
      expect(all).not.toContain(secret.toLowerCase())
    }
  })
})
