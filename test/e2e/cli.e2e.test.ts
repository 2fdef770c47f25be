/**
 * The built binary as a user runs it: real process, real exit codes, streams kept apart.
 */
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {createModuleRepo} from '../helpers/git-fixtures.js'
import {ROOT, spawnCli} from '../helpers/run-cli.js'

let root: string
let url: string
let env: Record<string, string>

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-e2e-'))
  const template = readFileSync(
    join(ROOT, 'test', 'fixtures', 'modules', 'cowsay-v0.0.1.lilypad_module.json.tmpl'),
    'utf8',
  )
  url = (
    await createModuleRepo({
      root,
      name: 'lilypad-module-cowsay',
      versions: [{tag: 'v0.0.1', files: {'lilypad_module.json.tmpl': template}}],
    })
  ).url
  env = {DATA_DIR: join(root, 'data'), LILYPAD_CONFIG_DIR: join(root, 'config')}
})

afterAll(async () => {
  await rm(root, {recursive: true, force: true})
})

describe('bin/run.js', () => {
  it('prints the version on stdout', async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string})
      .version
    const run = await spawnCli(['--version'], env)
    expect(run.status).toBe(0)
    expect(run.stdout).toContain(`lilypad/${version}`)
  })

  it('lists the module topic in its help', async () => {
    const run = await spawnCli(['module', '--help'], env)
    expect(run.status).toBe(0)
    expect(run.stdout).toMatch(/module render/)
    expect(run.stdout).toMatch(/module init/)
  })

  it('exits 3 with the error on stderr only, without colour when not a terminal', async () => {
    const run = await spawnCli(['module', 'render', `${url}:v0.0.1`], env)
    expect(run.status).toBe(3)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain('Error [TEMPLATE_INPUT_MISSING]')
    // eslint-disable-next-line no-control-regex
    expect(run.stderr).not.toMatch(/\u001b\[/)
  })

  it('honours LILYPAD_CONTENT_TYPE=json and prints exactly one envelope', async () => {
    const run = await spawnCli(['module', 'render', `${url}:v0.0.1`, '-i', 'Message=hi'], {
      ...env,
      LILYPAD_CONTENT_TYPE: 'json',
    })
    expect(run.status).toBe(0)
    const out = JSON.parse(run.stdout) as {ok: boolean; result: {commit: string}}
    expect(out.ok).toBe(true)
    expect(out.result.commit).toMatch(/^[0-9a-f]{40}$/)
  })

  it('exits 2 on an unknown flag, as a usage error envelope under --json', async () => {
    const run = await spawnCli(['module', 'render', `${url}:v0.0.1`, '--bogus', '--json'], env)
    expect(run.status).toBe(2)
    expect((JSON.parse(run.stdout) as {error: {code: string}}).error.code).toBe('USAGE')
  })

  it('answers an unknown command with a usage error in the usual shape', async () => {
    const json = await spawnCli(['module', 'nosuch', '--json'], env)
    expect(json.status).toBe(2)
    expect((JSON.parse(json.stdout) as {ok: boolean; error: {code: string}}).error.code).toBe('USAGE')
    const human = await spawnCli(['nosuch'], env)
    expect(human.status).toBe(2)
    expect(human.stderr).toContain('Error [USAGE]: "nosuch" is not a lilypad command.')
  })

  it('accepts the plural topic as a hidden alias', async () => {
    const run = await spawnCli(['modules', 'render', `${url}:v0.0.1`, '-i', 'Message=hi', '--json'], env)
    expect(run.status).toBe(0)
    expect((JSON.parse(run.stdout) as {ok: boolean}).ok).toBe(true)
  })

  it('never prints the private key, even when it appears in an error', async () => {
    const key = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'
    // A key pasted where the version goes ends up in the "ref not found" error.
    const run = await spawnCli(['module', 'render', `${url}:${key}`, '--json'], {
      ...env,
      WEB3_PRIVATE_KEY: key,
    })
    expect(run.status).toBe(3)
    expect((JSON.parse(run.stdout) as {error: {code: string}}).error.code).toBe('MODULE_REF_NOT_FOUND')
    expect(run.stdout + run.stderr).not.toContain(key)
    expect(run.stdout).toContain('***')
  })
})
