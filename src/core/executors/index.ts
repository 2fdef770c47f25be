/**
 * Running a rendered Lilypad job on this machine (DESIGN §5): the Wasm executor (always there,
 * deterministic) and the Docker executor (when a Docker engine answers), and `executeJob`, which
 * picks the one the job needs. Used by the resource provider, the mediator, `module test` and
 * `--verify reexecute`.
 */
import {lilypadError} from '../errors/index.js'
import {DockerEngineClient, parseDockerHost} from './docker/engine-api.js'
import {createDockerExecutor} from './docker/executor.js'
import type {CannotRunReason} from './faults.js'
import {engineOf} from './job-spec.js'
import type {EngineName, ExecuteOptions, ExecutionResult, Executor} from './types.js'
import {createWasmExecutor} from './wasm/executor.js'

export type {
  EngineName,
  ExecuteOptions,
  ExecutionLimits,
  ExecutionResult,
  Executor,
  ExecutorEvent,
} from './types.js'
export {engineOf, environmentOf} from './job-spec.js'
export {
  type CannotRunReason,
  MACHINE_FAULT_REASONS,
  MODULE_FAULT_REASONS,
  type MachineFaultReason,
  type ModuleFaultReason,
  isModuleFault,
} from './faults.js'
export {DEFAULT_LIMITS, parseByteSize, parseCpu, resolveLimits} from './limits.js'
export {
  CONTAINER_LABEL,
  type DockerExecutorOptions,
  createDockerExecutor,
  isPinnedImage,
} from './docker/executor.js'
export {
  DEFAULT_DOCKER_SOCKET,
  DockerEngineClient,
  type DockerEndpoint,
  parseDockerHost,
} from './docker/engine-api.js'
export {createWasmExecutor, executeWasm} from './wasm/executor.js'
export {VIRTUAL_EPOCH_NS, VIRTUAL_TICK_NS} from './wasm/deterministic-wasi.js'
export {createRandomStream} from './wasm/random.js'

/** Options of {@link executeJob}: the job, and the executors to pick from (default {@link createExecutors}). */
export type ExecuteJobOptions = ExecuteOptions & {readonly executors?: Executors | undefined}

/** The executors this machine has. */
export interface Executors {
  /** The engines that can run jobs here, `'wasm'` first. */
  readonly engines: readonly EngineName[]
  get(engine: EngineName): Executor | undefined
}

/** Options of {@link createExecutors}. */
export interface CreateExecutorsOptions {
  /** `DOCKER_HOST` (`unix:///…`, `tcp://host:port`); default `/var/run/docker.sock`. */
  readonly dockerHost?: string | undefined
  /** Let networked Docker jobs use the bridge network (see DockerExecutorOptions). */
  readonly allowNetwork?: boolean | undefined
  /** Run Docker images named by tag, not only by digest (see DockerExecutorOptions). */
  readonly allowUnpinnedImages?: boolean | undefined
}

/**
 * Finds the executors of this machine: Wasm always, Docker when its engine answers a ping.
 *
 * @param options - where the Docker engine is
 * @returns the available executors
 * @throws CONFIG_INVALID when `dockerHost` is not an endpoint this tool can reach
 * @example
 * const executors = await createExecutors({dockerHost: config.dockerHost})
 * executors.engines // ['wasm'] on a machine without Docker
 */
export async function createExecutors(options: CreateExecutorsOptions = {}): Promise<Executors> {
  const found = new Map<EngineName, Executor>([['wasm', createWasmExecutor()]])
  const docker = createDockerExecutor({
    client: new DockerEngineClient(parseDockerHost(options.dockerHost)),
    allowNetwork: options.allowNetwork,
    allowUnpinnedImages: options.allowUnpinnedImages,
  })
  if (await docker.available()) found.set('docker', docker)
  return {engines: [...found.keys()], get: (engine) => found.get(engine)}
}

/**
 * Runs a job on the executor its engine needs.
 *
 * @param options - the job (see {@link ExecuteOptions}) and, optionally, the executors to use
 * @returns the exit code and the result directory
 * @throws ENGINE_UNAVAILABLE when the job's engine is not on this machine, JOB_CANNOT_RUN when
 *   the job names no engine (`details.reason` `engine-unsupported`), plus everything the executor throws (JOB_TIMEOUT, …)
 * @example
 * const result = await executeJob({module, moduleDir, resultDir, seed: dealId})
 * result.exitCode // 0
 */
export async function executeJob(options: ExecuteJobOptions): Promise<ExecutionResult> {
  const {executors: given, ...job} = options
  const engine = engineOf(job.module)
  if (engine === undefined) {
    throw lilypadError('JOB_CANNOT_RUN', {
      message: `The job's engine is "${job.module.job.Spec.Engine ?? job.module.job.Spec.EngineSpec?.Type ?? ''}"; only Wasm and Docker jobs can run`,
      hints: ['Set Spec.Engine to "Wasm" or "Docker".'],
      details: {reason: 'engine-unsupported' satisfies CannotRunReason},
    })
  }
  const executors = given ?? (await createExecutors())
  const executor = executors.get(engine)
  if (executor === undefined) {
    throw lilypadError('ENGINE_UNAVAILABLE', {
      message:
        engine === 'docker'
          ? 'This machine has no Docker engine: it cannot run Docker jobs'
          : 'This machine cannot run Wasm jobs',
      hints:
        engine === 'docker'
          ? [
              'Start Docker, or point DOCKER_HOST at a running engine (unix:///var/run/docker.sock, tcp://host:2375).',
              'Wasm modules run without Docker: lilypad module init --template wasm.',
            ]
          : [],
      details: {engine, available: [...executors.engines]},
    })
  }
  return executor.execute(job)
}
