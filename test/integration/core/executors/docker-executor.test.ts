/**
 * The Docker executor against a fake Docker Engine API on a unix socket (this machine has no
 * Docker engine; the engine is the outer edge). The fake records every request, so the tests
 * check what a real engine would be asked: no network, the binds, env, entrypoint and limits,
 * and that the container is removed after success, failure and time-out alike.
 */
import {execFile} from 'node:child_process'
import {mkdir, readFile, readdir, writeFile} from 'node:fs/promises'
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, beforeEach, describe, expect, it} from '@jest/globals'

import {isLilypadError, type LilypadError} from '../../../../src/core/errors/index.js'
import {
  DockerEngineClient,
  type ExecuteOptions,
  type ExecutorEvent,
  createDockerExecutor,
  createExecutors,
  executeJob,
  isModuleFault,
  parseDockerHost,
} from '../../../../src/core/executors/index.js'
import type {ModuleSpec} from '../../../../src/core/module/schema.js'
import {makeTempDir, removeTempDir} from '../../../helpers/git-fixtures.js'

const IMAGE = `ghcr.io/example/job@sha256:${'ab'.repeat(32)}`

async function idOf(flag: '-u' | '-g'): Promise<string> {
  return (await promisify(execFile)('id', [flag])).stdout.trim()
}

interface Recorded {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly body: unknown
}

/** How the fake engine's one container behaves. */
interface Scenario {
  images: Set<string>
  exitCode: number
  /** Frames of the log stream: [stream, text]. */
  logs: [1 | 2, string][]
  /** The wait never answers until the container is killed. */
  hang: boolean
  oomKilled: boolean
  startStatus: number
}

let dir: string
let socketPath: string
let server: Server
let requests: Recorded[]
let scenario: Scenario
let pendingWait: ServerResponse | undefined
let counter = 0

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

function json(response: ServerResponse, status: number, body?: unknown): void {
  response.writeHead(status, {'content-type': 'application/json'})
  response.end(body === undefined ? undefined : JSON.stringify(body))
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  const url = new URL(request.url ?? '/', 'http://docker')
  const text = Buffer.concat(chunks).toString('utf8')
  const method = request.method ?? 'GET'
  requests.push({
    method,
    path: url.pathname,
    query: url.searchParams,
    body: text === '' ? undefined : JSON.parse(text),
  })
  const route = `${method} ${url.pathname}`
  if (route === 'GET /_ping') {
    response.end('OK')
  } else if (method === 'GET' && url.pathname.startsWith('/images/')) {
    const name = decodeURIComponent(url.pathname.slice('/images/'.length, -'/json'.length))
    if (scenario.images.has(name)) json(response, 200, {Id: 'sha256:image'})
    else json(response, 404, {message: `No such image: ${name}`})
  } else if (route === 'POST /containers/create') {
    json(response, 201, {Id: 'container1', Warnings: []})
  } else if (route === 'POST /containers/container1/start') {
    // The "container" writes a file through its /outputs bind, as a real job would.
    const created = requests.find((entry) => entry.path === '/containers/create')?.body as {
      HostConfig: {Binds: string[]}
    }
    const bind = created.HostConfig.Binds.find((entry) => entry.includes(':/outputs'))
    if (bind !== undefined && scenario.startStatus === 204)
      await writeFile(join(bind.split(':')[0] ?? '', 'made-by-job.txt'), 'out')
    response.writeHead(scenario.startStatus).end()
  } else if (route === 'POST /containers/container1/wait') {
    if (scenario.hang) pendingWait = response
    else json(response, 200, {StatusCode: scenario.exitCode, Error: null})
  } else if (route === 'POST /containers/container1/kill') {
    if (pendingWait !== undefined && !pendingWait.destroyed)
      json(pendingWait, 200, {StatusCode: 137, Error: null})
    pendingWait = undefined
    response.writeHead(204).end()
  } else if (route === 'GET /containers/container1/logs') {
    response.writeHead(200, {'content-type': 'application/vnd.docker.multiplexed-stream'})
    // Frames split across writes at odd places, as a socket may deliver them.
    const all = Buffer.concat(scenario.logs.map(([stream, line]) => frame(stream, line)))
    for (let offset = 0; offset < all.length; offset += 5) response.write(all.subarray(offset, offset + 5))
    response.end()
  } else if (route === 'GET /containers/container1/json') {
    json(response, 200, {State: {OOMKilled: scenario.oomKilled, ExitCode: scenario.exitCode}})
  } else if (route === 'DELETE /containers/container1') {
    response.writeHead(204).end()
  } else {
    json(response, 404, {message: `no route ${route}`})
  }
}

beforeAll(async () => {
  dir = await makeTempDir('lilypad-docker-')
  socketPath = join(dir, 'docker.sock')
  server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      json(response, 500, {message: String(error)})
    })
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve()
    }),
  )
  await removeTempDir(dir)
})

beforeEach(() => {
  requests = []
  pendingWait = undefined
  scenario = {
    images: new Set([IMAGE]),
    exitCode: 0,
    logs: [
      [1, 'hello from the container\n'],
      [2, 'a warning\n'],
      [1, 'second line\n'],
    ],
    hang: false,
    oomKilled: false,
    startStatus: 204,
  }
})

function dockerModule(spec: Partial<ModuleSpec['job']['Spec']> = {}): ModuleSpec {
  return {
    machine: {cpu: 1000, ram: 100},
    job: {
      APIVersion: 'V1beta1',
      Spec: {
        Engine: 'Docker',
        Docker: {
          Image: IMAGE,
          Entrypoint: ['/bin/sh', '-c'],
          Parameters: ['echo hi'],
          EnvironmentVariables: ['MESSAGE=hello world', 'EQUALS=a=b'],
          WorkingDirectory: '/work',
        },
        Network: {Type: 'None'},
        Resources: {CPU: '0.5', Memory: '1Gb'},
        Timeout: 60,
        ...spec,
      },
    },
  }
}

function options(extra: Partial<ExecuteOptions> = {}): ExecuteOptions & {events: ExecutorEvent[]} {
  counter += 1
  const events: ExecutorEvent[] = []
  return {
    module: dockerModule(),
    moduleDir: dir,
    resultDir: join(dir, 'results', `r${counter}`),
    seed: 'seed',
    limits: {memoryBytes: 64 * 1024 * 1024},
    onEvent: (event) => events.push(event),
    events,
    ...extra,
  }
}

const executor = (allowNetwork = false) =>
  createDockerExecutor({client: new DockerEngineClient({kind: 'unix', socketPath}), allowNetwork})

async function failure(run: Promise<unknown>): Promise<LilypadError> {
  const error = await run.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (isLilypadError(error)) return error
  throw new Error(`expected a LilypadError, got ${String(error)}`)
}

const routes = (): string[] => requests.map((entry) => `${entry.method} ${entry.path}`)

describe('Docker executor', () => {
  it('creates the container with no network, the binds, env, entrypoint and limits, and removes it', async () => {
    const inputs = join(dir, 'inputs')
    await mkdir(inputs, {recursive: true})
    const job = options({inputsDir: inputs})
    const result = await executor().execute(job)
    expect(result).toMatchObject({engine: 'docker', exitCode: 0, truncated: {stdout: false, stderr: false}})
    expect(routes()).toEqual([
      `GET /images/${encodeURIComponent(IMAGE)}/json`,
      'POST /containers/create',
      'POST /containers/container1/start',
      'POST /containers/container1/wait',
      'GET /containers/container1/logs',
      'GET /containers/container1/json',
      'DELETE /containers/container1',
    ])
    const create = requests[1]!
    expect(create.query.get('name')).toMatch(/^lilypad-job-[0-9a-f]{12}$/)
    const body = create.body as Record<string, unknown> & {
      HostConfig: Record<string, unknown> & {Binds: string[]}
    }
    expect(body).toMatchObject({
      Image: IMAGE,
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: ['echo hi'],
      Env: ['MESSAGE=hello world', 'EQUALS=a=b'],
      WorkingDir: '/work',
      Tty: false,
      NetworkDisabled: true,
      Labels: {'tech.lilypad.executor': 'true'},
    })
    expect(body.HostConfig).toMatchObject({
      NetworkMode: 'none',
      Memory: 64 * 1024 * 1024,
      MemorySwap: 64 * 1024 * 1024,
      NanoCpus: 500_000_000,
      AutoRemove: false,
      PidsLimit: 1024,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: {'/tmp': 'rw,nosuid,nodev,mode=1777'},
    })
    // The provider's own uid:gid, read here from the id command, not from Node.
    const [uid, gid] = await Promise.all([idOf('-u'), idOf('-g')])
    expect(body.User).toBe(`${uid}:${gid}`)
    const [outputsBind, inputsBind] = body.HostConfig.Binds
    expect(outputsBind).toMatch(/\/\.r\d+\.partial-[^/]+\/outputs:\/outputs:rw$/)
    expect(inputsBind).toBe(`${inputs}:/inputs:ro`)
    expect(requests.at(-1)?.query.get('force')).toBe('1')

    expect(await readFile(join(result.resultDir, 'stdout'), 'utf8')).toBe(
      'hello from the container\nsecond line\n',
    )
    expect(await readFile(join(result.resultDir, 'stderr'), 'utf8')).toBe('a warning\n')
    expect(await readFile(join(result.resultDir, 'exitCode'), 'utf8')).toBe('0')
    expect(await readdir(join(result.resultDir, 'outputs'))).toEqual(['made-by-job.txt'])
    expect(job.events.map((event) => event.type)).toEqual([
      'executor.started',
      'executor.finished',
      'executor.container-removed',
    ])
  })

  it('returns a non-zero exit as a result, and notes an out-of-memory kill in stderr', async () => {
    scenario.exitCode = 137
    scenario.oomKilled = true
    scenario.logs = [[2, 'partial']]
    const result = await executor().execute(options())
    expect(result.exitCode).toBe(137)
    expect(await readFile(join(result.resultDir, 'stderr'), 'utf8')).toBe(
      `partial\n[lilypad] the container was stopped: it used more than its memory limit of ${64 * 1024 * 1024} bytes\n`,
    )
    expect(routes().at(-1)).toBe('DELETE /containers/container1')
  })

  it('kills the container at the time limit, removes it and leaves no result', async () => {
    scenario.hang = true
    const job = options({limits: {timeoutMs: 500}})
    const error = await failure(executor().execute(job))
    expect(error.code).toBe('JOB_TIMEOUT')
    expect(error.category).toBe('job')
    expect(routes().slice(-2)).toEqual(['POST /containers/container1/kill', 'DELETE /containers/container1'])
    await expect(readdir(job.resultDir)).rejects.toThrow(/ENOENT/)
    expect((await readdir(join(dir, 'results'))).filter((name) => name.includes('partial'))).toEqual([])
  })

  it('removes the container when starting it fails', async () => {
    scenario.startStatus = 500
    const job = options()
    const error = await failure(executor().execute(job))
    expect(error.code).toBe('JOB_CANNOT_RUN')
    expect(error.details).toMatchObject({reason: 'engine', status: '500'})
    expect(isModuleFault(error)).toBe(false)
    expect(routes().at(-1)).toBe('DELETE /containers/container1')
    await expect(readdir(job.resultDir)).rejects.toThrow(/ENOENT/)
  })

  it('cuts the logs at the caps and says so', async () => {
    scenario.logs = [
      [1, 'x'.repeat(3000)],
      [2, 'e'.repeat(50)],
      [1, 'y'.repeat(3000)],
    ]
    const result = await executor().execute(options({limits: {stdoutBytes: 4096}}))
    expect(result.truncated).toEqual({stdout: true, stderr: false})
    expect(await readFile(join(result.resultDir, 'stdout'), 'utf8')).toBe('x'.repeat(3000) + 'y'.repeat(1096))
    expect(await readFile(join(result.resultDir, 'stderr'), 'utf8')).toBe(
      `${'e'.repeat(50)}\n[lilypad] stdout was cut at 4096 bytes (the limit); the rest was dropped\n`,
    )
  })

  it('never pulls: an image missing from the engine is refused before any container exists', async () => {
    scenario.images.clear()
    const error = await failure(executor().execute(options()))
    expect(error.code).toBe('JOB_CANNOT_RUN')
    expect(error.details.reason).toBe('image-missing')
    expect(isModuleFault(error)).toBe(false)
    expect(error.hints).toContain(`Pull it first: docker pull ${IMAGE}`)
    expect(routes()).toEqual([`GET /images/${encodeURIComponent(IMAGE)}/json`])
  })

  it('refuses an image named by tag before asking the engine anything, unless told to allow it', async () => {
    for (const image of ['ghcr.io/example/job:1.0', 'ghcr.io/example/job', `job@sha256:${'ab'.repeat(31)}`]) {
      const job = options({module: dockerModule({Docker: {Image: image}})})
      const error = await failure(executor().execute(job))
      expect(error.code).toBe('JOB_CANNOT_RUN')
      expect(error.details).toMatchObject({reason: 'image-not-pinned', image})
      expect(isModuleFault(error)).toBe(true)
      expect(error.hints.join(' ')).toContain('@sha256:<digest>')
      await expect(readdir(job.resultDir)).rejects.toThrow(/ENOENT/)
    }
    expect(routes()).toEqual([])
    const tagged = 'ghcr.io/example/job:1.0'
    scenario.images.add(tagged)
    const allowing = createDockerExecutor({
      client: new DockerEngineClient({kind: 'unix', socketPath}),
      allowUnpinnedImages: true,
      user: '4321:8765',
    })
    await allowing.execute(options({module: dockerModule({Docker: {Image: tagged}})}))
    expect(requests[1]?.body).toMatchObject({Image: tagged, User: '4321:8765'})
    // A tag before the digest is still pinned: the digest decides what runs.
    const both = `ghcr.io/example/job:1.0@sha256:${'cd'.repeat(32)}`
    scenario.images.add(both)
    requests = []
    await executor().execute(options({module: dockerModule({Docker: {Image: both}})}))
    expect(requests[1]?.body).toMatchObject({Image: both})
  })

  it('refuses a networked job unless the executor allows networks', async () => {
    const networked = dockerModule({Network: {Type: 'Full'}})
    const error = await failure(executor().execute(options({module: networked})))
    expect(error.code).toBe('JOB_CANNOT_RUN')
    expect(error.details.reason).toBe('network')
    expect(isModuleFault(error)).toBe(false)
    expect(error.message).toMatch(/network access/)
    expect(routes()).toEqual([])
    await executor(true).execute(options({module: networked}))
    expect((requests[1]?.body as {HostConfig: {NetworkMode: string}}).HostConfig.NetworkMode).toBe('bridge')
  })

  it('reads EngineSpec-style jobs', async () => {
    const module = dockerModule({
      Docker: null,
      Engine: undefined as never,
      EngineSpec: {
        Type: 'docker',
        Params: {Image: IMAGE, Entrypoint: ['run'], EnvironmentVariables: ['A=1']},
      },
    })
    delete (module.job.Spec as {Engine?: string}).Engine
    await executor().execute(options({module}))
    expect(requests[1]?.body).toMatchObject({Image: IMAGE, Entrypoint: ['run'], Env: ['A=1']})
  })
})

describe('engine discovery', () => {
  it('is available when the engine answers its ping, and not without a socket', async () => {
    expect(await executor().available()).toBe(true)
    const missing = createDockerExecutor({
      client: new DockerEngineClient(parseDockerHost(`unix://${join(dir, 'none.sock')}`)),
    })
    expect(await missing.available()).toBe(false)
  })

  it('createExecutors finds the engine at DOCKER_HOST and executeJob runs Docker jobs on it', async () => {
    const executors = await createExecutors({dockerHost: `unix://${socketPath}`})
    expect(executors.engines).toEqual(['wasm', 'docker'])
    const result = await executeJob({...options(), executors})
    expect(result.engine).toBe('docker')
  })

  it('reads DOCKER_HOST values', () => {
    expect(parseDockerHost(undefined)).toEqual({kind: 'unix', socketPath: '/var/run/docker.sock'})
    expect(parseDockerHost('unix:///run/docker.sock')).toEqual({kind: 'unix', socketPath: '/run/docker.sock'})
    expect(parseDockerHost('tcp://10.0.0.5:2376')).toEqual({kind: 'tcp', host: '10.0.0.5', port: 2376})
    expect(parseDockerHost('tcp://[::1]')).toEqual({kind: 'tcp', host: '::1', port: 2375})
    expect(() => parseDockerHost('ssh://user@host')).toThrow(/not a Docker endpoint/)
  })
})
