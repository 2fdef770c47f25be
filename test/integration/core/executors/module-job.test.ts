/**
 * runModuleJob, the path the provider runs a deal's job on and the mediator re-runs it on: a real
 * Wasm module repository (the `wasm` scaffold, git-initialised and tagged in a temp dir), resolved
 * at its tag, rendered with inputs, executed, and its result's data ID computed.
 */
import {readFile, readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {isLilypadError} from '../../../../src/core/errors/index.js'
import {createExecutors} from '../../../../src/core/executors/index.js'
import type {Executors} from '../../../../src/core/executors/index.js'
import {runModuleJob} from '../../../../src/core/executors/module-job.js'
import {FALLBACK_GIT_IDENTITY, FIRST_TAG, scaffoldModule} from '../../../../src/core/module/scaffold.js'
import {computeDataId} from '../../../../src/core/results/data-id.js'
import {createModuleRepo, makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'
import {ROOT} from '../../../helpers/run-cli.js'

let root: string
let wasmRepo: string
let brokenRepo: string
let executors: Executors
const env = {PATH: process.env.PATH ?? '/usr/bin:/bin'}

beforeAll(async () => {
  root = await makeTempDir('lilypad-module-job-')
  const dir = join(root, 'lilypad-module-hello')
  await scaffoldModule({
    dir,
    template: 'wasm',
    templatesDir: join(ROOT, 'templates'),
    git: FALLBACK_GIT_IDENTITY,
    env,
  })
  wasmRepo = pathToFileURL(dir).href
  const broken = await createModuleRepo({
    root,
    name: 'lilypad-module-broken',
    versions: [
      {tag: 'v1', files: {'lilypad_module.json.tmpl': '{"machine": {"cpu": 1000}, "job": {{.Message}} oops'}},
    ],
  })
  brokenRepo = broken.url
  executors = await createExecutors()
})

afterAll(async () => {
  await removeTempDir(root)
})

const moduleAt = (repo: string, hash: string) => ({name: '', repo, hash, path: '/lilypad_module.json.tmpl'})

describe('runModuleJob', () => {
  it('runs a Wasm module at its tag and returns the data ID of the complete result directory', async () => {
    const resultDir = join(root, 'results', 'first')
    const result = await runModuleJob({
      module: moduleAt(wasmRepo, FIRST_TAG),
      inputs: {Message: 'frogs'},
      dataDir: join(root, 'data'),
      resultDir,
      seed: 'QmDealOne',
      executors,
      env,
    })
    expect(result.exitCode).toBe(0)
    expect(result.engine).toBe('wasm')
    expect(result.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(result.resultDir).toBe(resultDir)
    expect(await readFile(join(resultDir, 'stdout'), 'utf8')).toContain('frogs')
    expect(result.dataId).toBe(await computeDataId(resultDir))
    // Nothing but the result is left next to it: the temporary directory was renamed or removed.
    expect(await readdir(join(root, 'results'))).toEqual(['first'])
  })

  it('gives the same data ID for the same job and seed, and another for other inputs', async () => {
    const run = (name: string, message: string) =>
      runModuleJob({
        module: moduleAt(wasmRepo, FIRST_TAG),
        inputs: {Message: message},
        dataDir: join(root, 'data'),
        resultDir: join(root, 'results', name),
        seed: 'QmDealTwo',
        executors,
        env,
      })
    const [a, b, c] = [await run('a', 'same'), await run('b', 'same'), await run('c', 'other')]
    expect(a.dataId).toBe(b.dataId)
    expect(c.dataId).not.toBe(a.dataId)
  })

  it('refuses a result directory that exists, before running anything', async () => {
    const error = await runModuleJob({
      module: moduleAt(wasmRepo, FIRST_TAG),
      inputs: {},
      dataDir: join(root, 'data'),
      resultDir: join(root, 'results', 'first'),
      seed: 'x',
      executors,
      env,
    }).catch((caught: unknown) => caught)
    expect(isLilypadError(error) && error.code).toBe('USAGE')
  })

  it('fails with a module error when the template does not render to JSON', async () => {
    const error = await runModuleJob({
      module: moduleAt(brokenRepo, 'v1'),
      inputs: {Message: 'hi'},
      dataDir: join(root, 'data'),
      resultDir: join(root, 'results', 'broken'),
      seed: 'x',
      executors,
      env,
    }).catch((caught: unknown) => caught)
    expect(isLilypadError(error) && error.category).toBe('module')
    expect(await readdir(join(root, 'results'))).not.toContain('broken')
  })

  it('fails with MODULE_REF_NOT_FOUND for a tag the repository does not have', async () => {
    const error = await runModuleJob({
      module: moduleAt(wasmRepo, 'v9.9.9'),
      inputs: {},
      dataDir: join(root, 'data'),
      resultDir: join(root, 'results', 'missing'),
      seed: 'x',
      executors,
      env,
    }).catch((caught: unknown) => caught)
    expect(isLilypadError(error) && error.code).toBe('MODULE_REF_NOT_FOUND')
  })
})
