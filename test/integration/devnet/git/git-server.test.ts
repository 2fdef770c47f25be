/**
 * The devnet's git server, end to end: git daemon serves the built example repositories on
 * 127.0.0.1, the project's real module pipeline resolves and renders `cowsay:v0.0.3` through it,
 * and stopping it leaves no process behind (not even a per-connection child).
 */
import {execFile} from 'node:child_process'
import {createConnection} from 'node:net'
import type {Socket} from 'node:net'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'

import {BUILTIN_NETWORKS, defineNetwork} from '../../../../src/core/config/networks.js'
import {isLilypadError} from '../../../../src/core/errors/index.js'
import {renderModule} from '../../../../src/core/module/render-module.js'
import {validateModuleSpec} from '../../../../src/core/module/validate.js'
import {type GitServer, startGitServer} from '../../../../src/devnet/git/git-server.js'
import {type ModuleRepo, buildModuleRepos} from '../../../../src/devnet/git/repos.js'
import {makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'

const run = promisify(execFile)
const PATH = process.env.PATH ?? '/usr/bin:/bin'

let root: string
let baseDir: string
let repos: Record<string, ModuleRepo>
const started: GitServer[] = []

async function start(options: {port?: number} = {}): Promise<GitServer> {
  const server = await startGitServer({baseDir, host: '127.0.0.1', ...options})
  started.push(server)
  return server
}

/**
 * PIDs of the live processes in a process group, as ps sees them. Zombies are left out: they have
 * exited and only wait for init to collect their exit status.
 */
async function processesInGroup(pgid: number): Promise<number[]> {
  const {stdout} = await run('ps', ['-eo', 'pid=,pgid=,stat='])
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, state]) => Number(group) === pgid && !(state ?? '').startsWith('Z'))
    .map(([pid]) => Number(pid))
}

async function lsRemote(url: string): Promise<string[]> {
  const {stdout} = await run('git', ['ls-remote', url], {
    env: {PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null'},
  })
  return stdout.trim().split('\n')
}

async function openConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({host: '127.0.0.1', port})
    socket.once('connect', () => {
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

beforeAll(async () => {
  root = await makeTempDir('lilypad-git-server-')
  baseDir = join(root, 'repos')
  repos = await buildModuleRepos(baseDir)
})

afterAll(async () => {
  await Promise.all(started.map((server) => server.stop()))
  await removeTempDir(root)
})

describe('startGitServer', () => {
  it('serves the example modules, and the module pipeline renders cowsay:v0.0.3 from it', async () => {
    const server = await start()
    expect(server.url).toBe(`git://127.0.0.1:${server.port}`)
    const cowsay = repos['lilypad-module-cowsay']?.tags ?? {}

    const refs = await lsRemote(`${server.url}/lilypad-module-cowsay`)
    expect(refs).toEqual([
      `${cowsay['v0.0.4']}\tHEAD`,
      `${cowsay['v0.0.4']}\trefs/heads/main`,
      ...['v0.0.1', 'v0.0.2', 'v0.0.3', 'v0.0.4'].map((tag) => `${cowsay[tag]}\trefs/tags/${tag}`),
    ])
    expect(await lsRemote(`${server.url}/lilypad-module-cowsay.git`)).toEqual(refs)

    const network = defineNetwork({...BUILTIN_NETWORKS.local!, moduleBase: server.url})
    const result = await renderModule(
      'cowsay:v0.0.3',
      {Message: 'hi'},
      {config: {dataDir: join(root, 'data'), network}, env: {PATH, HOME: root}},
    )
    expect(result.ref.repoUrl).toBe(`${server.url}/lilypad-module-cowsay`)
    expect(result.commit).toBe(cowsay['v0.0.3'])
    expect(result.rendered).toMatchObject({
      job: {
        Spec: {
          Engine: 'Wasm',
          Wasm: {EntryModule: {Path: 'build/module.wasm'}, EntryPoint: '_start', Parameters: ['hi']},
        },
      },
    })
    const {warnings} = validateModuleSpec(result.rendered)
    expect(warnings.map((warning) => warning.pointer)).toEqual(['/job/Spec/Engine'])

    const withDefault = await renderModule(
      'cowsay:v0.0.4',
      {},
      {config: {dataDir: join(root, 'data'), network}, env: {PATH, HOME: root}},
    )
    expect(withDefault.rendered).toMatchObject({
      job: {
        Spec: {
          Wasm: {
            Parameters: ['Pass me an input called Message, like lilypad run cowsay:<tag> -i Message=moo'],
          },
        },
      },
    })
  })

  it('stops the daemon and its connection children, leaving no process', async () => {
    const server = await start()
    expect(await processesInGroup(server.pid)).toContain(server.pid)
    // An idle client keeps a forked child of the daemon waiting for its request.
    const socket = await openConnection(server.port)
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.on('error', () => {
      // The child is killed under it; that is the point.
    })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect((await processesInGroup(server.pid)).length).toBeGreaterThanOrEqual(2)
    await server.stop()
    expect(await processesInGroup(server.pid)).toEqual([])
    await closed
    expect(await server.exited).not.toBe(0)
    await server.stop()
  })

  it('refuses a port that is taken, and picks a free one when none is given', async () => {
    const first = await start()
    const error: unknown = await start({port: first.port}).catch((e: unknown) => e)
    expect(isLilypadError(error) && [error.code, error.details.reason]).toEqual([
      'DEVNET_START_FAILED',
      'port-in-use',
    ])
    const second = await start({port: 0})
    expect(second.port).not.toBe(first.port)
    expect(await lsRemote(`${second.url}/lilypad-module-sleep`)).toHaveLength(3)
  })
})
