/**
 * Separate processes sending with one key through ProcessLockedSigner never collide on a nonce:
 * four child processes (real Node processes, the signer transpiled from source) send five
 * transactions each at once to anvil; all twenty are mined with nonces 0–19.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Wallet} from 'ethers'

import {type Anvil, startAnvil} from '../../../helpers/anvil.js'
import {transpileSources} from '../../../helpers/transpile-src.js'

let anvil: Anvil
let work: string

beforeAll(async () => {
  anvil = await startAnvil()
  work = await mkdtemp(join(tmpdir(), 'lilypad-tx-lock-'))
  await transpileSources(['src/core/deals/tx-lock.ts'], join(work, 'out'))
}, 60_000)

afterAll(async () => {
  await anvil.stop()
  await rm(work, {recursive: true, force: true})
})

const CHILD = `
import {JsonRpcProvider, Wallet} from 'ethers'
const {ProcessLockedSigner} = await import(process.env.SIGNER_URL)
const provider = new JsonRpcProvider(process.env.RPC_URL, undefined, {staticNetwork: true, cacheTimeout: -1})
const signer = new ProcessLockedSigner(new Wallet(process.env.KEY, provider), {dataDir: process.env.DATA_DIR, chainId: 31337})
const sent = await Promise.all(Array.from({length: 5}, () => signer.sendTransaction({to: process.env.TO, value: 1n})))
await Promise.all(sent.map((tx) => tx.wait()))
console.log(JSON.stringify(sent.map((tx) => tx.nonce)))
provider.destroy()
`

function runChild(
  script: string,
  env: Record<string, string>,
): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], {
      env: {PATH: process.env.PATH ?? '', ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('close', (code) => {
      resolve({code, stdout, stderr})
    })
  })
}

describe('ProcessLockedSigner', () => {
  it('gives concurrent processes with one key consecutive nonces', async () => {
    const sender = anvil.accounts[7]
    if (sender === undefined) throw new Error('no account')
    const script = join(work, 'out', 'child.mjs')
    await writeFile(script, CHILD)
    const env = {
      SIGNER_URL: pathToFileURL(join(work, 'out', 'src', 'core', 'deals', 'tx-lock.js')).href,
      RPC_URL: anvil.url,
      KEY: sender.privateKey,
      DATA_DIR: join(work, 'data'),
      TO: Wallet.createRandom().address,
    }
    const start = await anvil.provider.getTransactionCount(sender.address)
    const results = await Promise.all(Array.from({length: 4}, () => runChild(script, env)))
    for (const result of results)
      expect({code: result.code, stderr: result.stderr}).toEqual({code: 0, stderr: ''})
    const nonces = results.flatMap((result) => JSON.parse(result.stdout) as number[]).sort((a, b) => a - b)
    expect(nonces).toEqual(Array.from({length: 20}, (_, i) => start + i))
    expect(await anvil.provider.getTransactionCount(sender.address)).toBe(start + 20)
    expect(await anvil.provider.getBalance(env.TO)).toBe(20n)
  }, 60_000)
})
