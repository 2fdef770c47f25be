/**
 * The Docker executor: runs a job's container through the Docker Engine API. The image must be
 * named by digest (`name@sha256:…`): a tag can point at other bytes tomorrow or on another
 * machine, and then two runs of the same job differ. It is never pulled: it must already be on
 * the engine, so what runs is what the provider chose to have. The container runs as the
 * provider's uid:gid (so the provider can remove what the job wrote), with every capability
 * dropped, no privilege gain, a read-only root filesystem and a tmpfs `/tmp`; it has no network
 * unless the job asks for it and the executor allows it, `/outputs` bound to the result's
 * `outputs/`, `/inputs` read-only, memory, CPU and process caps, and it is removed after every
 * run, whatever happened.
 */
import {randomBytes} from 'node:crypto'
import {writeFile} from 'node:fs/promises'

import {LilypadError, lilypadError} from '../../errors/index.js'
import {dockerSpecOf, environmentOf} from '../job-spec.js'
import {parseCpu, resolveLimits} from '../limits.js'
import {directorySize, startResult} from '../result-dir.js'
import type {CannotRunReason} from '../faults.js'
import type {ExecuteOptions, ExecutionResult, Executor} from '../types.js'
import {
  type CappedStream,
  type DockerEngineClient,
  type EngineResponse,
  EngineConnectionError,
  demultiplexLogs,
  engineMessage,
} from './engine-api.js'

/** Options of {@link createDockerExecutor}. */
export interface DockerExecutorOptions {
  readonly client: DockerEngineClient
  /**
   * Let jobs that ask for `Network.Type` `Full` or `HTTP` use the engine's bridge network. Off by
   * default: jobs then run with no network, and a job that asks for one is refused.
   */
  readonly allowNetwork?: boolean | undefined
  /** Processes a container may have. Default 1024. */
  readonly pidsLimit?: number | undefined
  /**
   * Run images named by tag too (`name:tag`). Off by default: such a job is refused with
   * JOB_CANNOT_RUN, reason `image-not-pinned`. For trying a module out locally, never for a
   * provider, whose results must be reproducible elsewhere.
   */
  readonly allowUnpinnedImages?: boolean | undefined
  /**
   * The `uid:gid` the container's process runs as. Default: this process's own, so the files the
   * job writes to `/outputs` belong to the provider, which can read and remove them.
   */
  readonly user?: string | undefined
}

/** An image reference pinned to its content: anything, then `@sha256:` and 64 hex digits. */
const PINNED_IMAGE = /@sha256:[0-9a-f]{64}$/

/**
 * Whether an image reference names its content by digest (`name@sha256:<64 hex>`, optionally
 * with a tag before the `@`), so every engine runs the same bytes for it.
 *
 * @param image - the reference as the job gives it
 * @returns true for a digest reference
 * @example
 * isPinnedImage('alpine:3.20') // false
 * isPinnedImage(`alpine@sha256:${'0'.repeat(64)}`) // true
 */
export function isPinnedImage(image: string): boolean {
  return PINNED_IMAGE.test(image)
}

function defaultUser(): string | undefined {
  const uid = process.getuid?.()
  const gid = process.getgid?.()
  return uid === undefined || gid === undefined ? undefined : `${uid}:${gid}`
}

/** Label on every container this executor creates, so a provider can find strays. */
export const CONTAINER_LABEL = 'tech.lilypad.executor'

function cannotRun(
  message: string,
  reason: CannotRunReason,
  hints: string[] = [],
  details: Record<string, string> = {},
): LilypadError {
  return lilypadError('JOB_CANNOT_RUN', {message, hints, details: {engine: 'docker', reason, ...details}})
}

function engineFailure(action: string, response: EngineResponse): LilypadError {
  return cannotRun(`The Docker engine refused to ${action}: ${engineMessage(response)}`, 'engine', [], {
    status: String(response.status),
  })
}

function networkMode(options: ExecuteOptions, allowNetwork: boolean): string {
  const type = (options.module.job.Spec.Network?.Type ?? 'None').toLowerCase()
  if (type === 'none' || type === '') return 'none'
  if (!allowNetwork) {
    throw cannotRun(
      `The job asks for network access (Network.Type "${options.module.job.Spec.Network?.Type ?? ''}"); this executor runs jobs without network`,
      'network',
      [
        'Remove the network from the job (Network.Type "None"), or run it on a provider that allows networked jobs.',
      ],
    )
  }
  return 'bridge'
}

/** Writes a note about the run after the job's own stderr, on a line of its own. */
function appendNotice(stderr: CappedStream, line: string): void {
  const last = stderr.chunks.at(-1)
  const prefix = last !== undefined && last.length > 0 && last[last.length - 1] !== 0x0a ? '\n' : ''
  stderr.chunks.push(Buffer.from(`${prefix}[lilypad] ${line}\n`))
}

/**
 * Creates the Docker executor on an engine client.
 *
 * @param options - the engine client, the network and image policies, the container's user
 * @returns the executor; `available()` pings the engine, and `execute` throws JOB_CANNOT_RUN
 *   (reasons `image-not-pinned`, `image-missing`, `network`, `engine`, …), JOB_TIMEOUT,
 *   JOB_OUTPUTS_TOO_LARGE, RESULT_DIR_EXISTS, INTERRUPTED, ENGINE_UNAVAILABLE
 * @example
 * const docker = createDockerExecutor({client: new DockerEngineClient(parseDockerHost(dockerHost))})
 */
export function createDockerExecutor(options: DockerExecutorOptions): Executor {
  const {client} = options
  return {
    engine: 'docker',
    available: () => client.ping(),
    execute: (job) =>
      executeDocker(job, options).catch((error: unknown) => {
        if (!(error instanceof EngineConnectionError)) throw error
        throw lilypadError('ENGINE_UNAVAILABLE', {
          message: `The Docker engine stopped answering: ${error.message}`,
          hints: ['Check that the Docker daemon is running (docker info).'],
          details: {engine: 'docker'},
          cause: error,
        })
      }),
  }
}

async function executeDocker(
  options: ExecuteOptions,
  executor: DockerExecutorOptions,
): Promise<ExecutionResult> {
  const started = performance.now()
  const {client} = executor
  if (options.signal?.aborted === true) throw interrupted()
  const limits = resolveLimits(options.module, options.limits)
  const spec = dockerSpecOf(options.module)
  const image = spec.Image ?? ''
  if (image === '') throw cannotRun('The job names no Docker image (Spec.Docker.Image is empty)', 'no-image')
  if (!isPinnedImage(image) && executor.allowUnpinnedImages !== true) {
    throw cannotRun(
      `The job names the image ${image} by tag; jobs run only images pinned by digest, so that every machine runs the same bytes`,
      'image-not-pinned',
      [
        `Pin it by digest in the module: "Image": "${image.replace(/@.*$/, '')}@sha256:<digest>" (docker inspect --format '{{index .RepoDigests 0}}' ${image} prints it).`,
      ],
      {image},
    )
  }
  const env = environmentOf(spec.EnvironmentVariables, 'Spec.Docker.EnvironmentVariables')
  const network = networkMode(options, executor.allowNetwork ?? false)
  const cpu = parseCpu(options.module.job.Spec.Resources?.CPU ?? '')

  const inspected = await client.call('GET', `/images/${encodeURIComponent(image)}/json`)
  if (inspected.status === 404) {
    throw cannotRun(
      `The image ${image} is not on this machine's Docker engine, and jobs never pull images`,
      'image-missing',
      [`Pull it first: docker pull ${image}`],
      {image},
    )
  }
  if (inspected.status !== 200) throw engineFailure(`inspect the image ${image}`, inspected)

  const user = executor.user ?? defaultUser()
  const pending = await startResult(options.resultDir)
  let containerId: string | undefined
  try {
    const binds = [`${pending.outputsDir}:/outputs:rw`]
    if (options.inputsDir !== undefined) binds.push(`${options.inputsDir}:/inputs:ro`)
    const created = await client.call('POST', '/containers/create', {
      query: {name: `lilypad-job-${randomBytes(6).toString('hex')}`},
      body: {
        Image: image,
        ...((spec.Entrypoint ?? []).length > 0 ? {Entrypoint: spec.Entrypoint} : {}),
        ...((spec.Parameters ?? []).length > 0 ? {Cmd: spec.Parameters} : {}),
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        ...(spec.WorkingDirectory === undefined || spec.WorkingDirectory === ''
          ? {}
          : {WorkingDir: spec.WorkingDirectory}),
        Labels: {[CONTAINER_LABEL]: 'true'},
        ...(user === undefined ? {} : {User: user}),
        AttachStdin: false,
        AttachStdout: false,
        AttachStderr: false,
        Tty: false,
        NetworkDisabled: network === 'none',
        HostConfig: {
          NetworkMode: network,
          Memory: limits.memoryBytes,
          MemorySwap: limits.memoryBytes,
          ...(cpu === undefined ? {} : {NanoCpus: cpu}),
          PidsLimit: executor.pidsLimit ?? 1024,
          Binds: binds,
          AutoRemove: false,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          // Charged to the container's memory cgroup, so the memory limit caps it too.
          Tmpfs: {'/tmp': 'rw,nosuid,nodev,mode=1777'},
        },
      },
    })
    if (created.status !== 201) throw engineFailure('create the container', created)
    containerId = (JSON.parse(created.body.toString('utf8')) as {Id: string}).Id
    const id = containerId

    const startedResponse = await client.call('POST', `/containers/${id}/start`)
    if (startedResponse.status !== 204 && startedResponse.status !== 304)
      throw engineFailure('start the container', startedResponse)
    options.onEvent?.({type: 'executor.started', engine: 'docker', containerId: id})

    const waited = await waitForExit(client, id, limits.timeoutMs, options)
    if (waited === 'aborted') throw interrupted()
    if (waited === 'timed-out') {
      throw lilypadError('JOB_TIMEOUT', {
        message: `The Docker job did not finish within its time limit of ${limits.timeoutMs / 1000} s and was stopped`,
        hints: ['Raise Spec.Timeout in the module if the job needs longer.'],
        details: {engine: 'docker', timeoutMs: limits.timeoutMs},
      })
    }

    const stdout: CappedStream = {limit: limits.stdoutBytes, chunks: [], kept: 0, truncated: false}
    const stderr: CappedStream = {limit: limits.stderrBytes, chunks: [], kept: 0, truncated: false}
    const logs = await client.open('GET', `/containers/${id}/logs`, {query: {stdout: '1', stderr: '1'}})
    if (logs.statusCode !== 200) {
      logs.resume()
      throw cannotRun(
        `The Docker engine did not return the container's logs (HTTP ${logs.statusCode ?? 0})`,
        'engine',
      )
    }
    await demultiplexLogs(logs, stdout, stderr)

    const state = await client.call('GET', `/containers/${id}/json`)
    const oomKilled =
      state.status === 200 &&
      (JSON.parse(state.body.toString('utf8')) as {State?: {OOMKilled?: boolean}}).State?.OOMKilled === true
    if (oomKilled)
      appendNotice(
        stderr,
        `the container was stopped: it used more than its memory limit of ${limits.memoryBytes} bytes`,
      )
    for (const stream of ['stdout', 'stderr'] as const) {
      const captured = stream === 'stdout' ? stdout : stderr
      if (!captured.truncated) continue
      options.onEvent?.({type: 'executor.output-truncated', engine: 'docker', stream})
      appendNotice(stderr, `${stream} was cut at ${captured.limit} bytes (the limit); the rest was dropped`)
    }
    await writeFile(pending.stdoutPath, Buffer.concat(stdout.chunks))
    await writeFile(pending.stderrPath, Buffer.concat(stderr.chunks))

    const outputsSize = await directorySize(pending.outputsDir)
    if (outputsSize > limits.outputsBytes) {
      throw lilypadError('JOB_OUTPUTS_TOO_LARGE', {
        message: `The job wrote ${outputsSize} bytes to /outputs, more than the limit of ${limits.outputsBytes}`,
        hints: ['Write less to /outputs, or compress what the job writes there.'],
        details: {engine: 'docker', outputsBytes: outputsSize, limit: limits.outputsBytes},
      })
    }
    await pending.commit(waited.exitCode)
    const durationMs = performance.now() - started
    options.onEvent?.({
      type: 'executor.finished',
      engine: 'docker',
      exitCode: waited.exitCode,
      durationMs,
      resultDir: options.resultDir,
    })
    return {
      engine: 'docker',
      exitCode: waited.exitCode,
      resultDir: options.resultDir,
      durationMs,
      truncated: {stdout: stdout.truncated, stderr: stderr.truncated},
    }
  } catch (error) {
    await pending.discard()
    throw error
  } finally {
    if (containerId !== undefined) await removeContainer(client, containerId, options)
  }
}

/** Waits for the container to stop; kills it at the deadline or on abort. */
async function waitForExit(
  client: DockerEngineClient,
  id: string,
  timeoutMs: number,
  options: ExecuteOptions,
): Promise<{exitCode: number} | 'timed-out' | 'aborted'> {
  const stop = new AbortController()
  let outcome: 'timed-out' | 'aborted' | undefined
  const timer = setTimeout(() => {
    outcome = 'timed-out'
    options.onEvent?.({type: 'executor.timed-out', engine: 'docker', timeoutMs})
    stop.abort()
  }, timeoutMs)
  const onAbort = (): void => {
    outcome = 'aborted'
    stop.abort()
  }
  options.signal?.addEventListener('abort', onAbort, {once: true})
  try {
    const response = await client.call('POST', `/containers/${id}/wait`, {timeoutMs: 0, signal: stop.signal})
    if (response.status !== 200) throw engineFailure('wait for the container', response)
    const body = JSON.parse(response.body.toString('utf8')) as {
      StatusCode?: number
      Error?: {Message?: string} | null
    }
    if (body.Error?.Message !== undefined && body.Error.Message !== '') {
      throw cannotRun(`The container did not run to its end: ${body.Error.Message}`, 'engine')
    }
    return {exitCode: body.StatusCode ?? 0}
  } catch (error) {
    if (outcome === undefined) throw error
    await client.call('POST', `/containers/${id}/kill`).catch(() => undefined)
    return outcome
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

async function removeContainer(
  client: DockerEngineClient,
  id: string,
  options: ExecuteOptions,
): Promise<void> {
  try {
    const response = await client.call('DELETE', `/containers/${id}`, {query: {force: '1', v: '1'}})
    if (response.status === 204 || response.status === 404) {
      options.onEvent?.({type: 'executor.container-removed', containerId: id})
    }
  } catch {
    // The engine went away; the label lets the provider clean up later.
  }
}

function interrupted(): LilypadError {
  return lilypadError('INTERRUPTED', {
    message: 'The Docker job was stopped before it finished',
    details: {engine: 'docker'},
  })
}
