/**
 * `network use` on a real config file: the default network is written atomically, the rest of the
 * file is kept, `config show` then takes it from the file, and an unknown name changes nothing.
 */
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {envelope, runCli} from '../../helpers/run-cli.js'

let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-network-use-'))
})

afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

describe('lilypad network use', () => {
  it('writes the default network into the config file, keeping the rest, and refuses unknown names', async () => {
    const dir = join(root, 'config')
    const before = {dataDir: join(root, 'elsewhere'), networks: {mine: {extends: 'testnet', chainId: 5}}}
    await mkdir(dir, {recursive: true})
    await writeFile(join(dir, 'config.json'), JSON.stringify(before))
    const out = await runCli(['network', 'use', 'mine', '--json'], {
      LILYPAD_CONFIG_DIR: dir,
      DATA_DIR: join(root, 'data'),
    })
    expect(out.exitCode).toBe(0)
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))).toEqual({...before, network: 'mine'})
    const show = await runCli(['config', 'show', '--json'], {
      LILYPAD_CONFIG_DIR: dir,
      DATA_DIR: join(root, 'data'),
    })
    expect(
      envelope<{result: {network: {name: string}; sources: {network: string}}}>(show).result,
    ).toMatchObject({
      network: {name: 'mine'},
      sources: {network: 'config'},
    })
    const unknown = await runCli(['network', 'use', 'nowhere', '--json'], {
      LILYPAD_CONFIG_DIR: dir,
      DATA_DIR: join(root, 'data'),
    })
    expect(unknown.exitCode).toBe(2)
    expect(envelope<{error: {code: string}}>(unknown).error.code).toBe('UNKNOWN_NETWORK')
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).network).toBe('mine')
  })
})
