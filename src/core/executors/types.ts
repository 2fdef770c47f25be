/**
 * The executor contract: run one rendered Lilypad job on this machine and leave its result
 * directory (`stdout`, `stderr`, `exitCode`, `outputs/`, lilypad-protocol.md §1.10, §7).
 */
import type {ModuleSpec} from '../module/schema.js'

/** The engines this machine can run jobs on. */
export type EngineName = 'wasm' | 'docker'

/** Caps on one job. Every field is a hard limit. */
export interface ExecutionLimits {
  /** Wall time from start; the job is killed at the deadline (JOB_TIMEOUT). */
  readonly timeoutMs: number
  /** Memory: the Wasm module's memory maximum, or the container's memory limit. */
  readonly memoryBytes: number
  /** Bytes kept of stdout and of stderr; the rest is dropped and reported. */
  readonly stdoutBytes: number
  readonly stderrBytes: number
  /** Total size of the files in `outputs/` (JOB_OUTPUTS_TOO_LARGE). */
  readonly outputsBytes: number
}

/** Progress of one execution, for logs and progress displays. */
export type ExecutorEvent =
  /** The job started: a runner process (Wasm) or a container (Docker). */
  | {
      readonly type: 'executor.started'
      readonly engine: EngineName
      readonly pid?: number
      readonly containerId?: string
    }
  /** A stream reached its cap; later bytes are dropped. */
  | {
      readonly type: 'executor.output-truncated'
      readonly engine: EngineName
      readonly stream: 'stdout' | 'stderr'
    }
  /** The deadline passed and the job is being stopped. */
  | {readonly type: 'executor.timed-out'; readonly engine: EngineName; readonly timeoutMs: number}
  /** The job ended and its result directory is complete. */
  | {
      readonly type: 'executor.finished'
      readonly engine: EngineName
      readonly exitCode: number
      readonly durationMs: number
      readonly resultDir: string
    }
  /** A container was removed (Docker; on success, failure and time-out alike). */
  | {readonly type: 'executor.container-removed'; readonly containerId: string}

/** One job to run. */
export interface ExecuteOptions {
  /** The rendered module (`machine` + `job`). */
  readonly module: ModuleSpec
  /** Checkout of the module repository at the deal's commit; `repoClone` entry modules are read from here. */
  readonly moduleDir: string
  /** Where the result goes. Must not exist; it appears complete (temp directory + rename) or not at all. */
  readonly resultDir: string
  /** Seed of the job's randomness (Wasm): the provider passes the deal id, `module test` a fixed string. */
  readonly seed: string
  /** Host directory mounted read-only at `/inputs`. */
  readonly inputsDir?: string | undefined
  /**
   * Caps. Each defaults to what the module declares (`Spec.Timeout`, else `executionTimeoutSeconds`;
   * `Spec.Resources.Memory`), else 600 s and 512 MiB; stdout and stderr 10 MiB each, outputs 1 GiB.
   * A limit given here lowers the module's own, never raises it.
   */
  readonly limits?: Partial<ExecutionLimits> | undefined
  readonly signal?: AbortSignal | undefined
  readonly onEvent?: ((event: ExecutorEvent) => void) | undefined
}

/** A job that ran to its end (any exit code: a failing job is a result too). */
export interface ExecutionResult {
  readonly engine: EngineName
  readonly exitCode: number
  /** The result directory, complete. */
  readonly resultDir: string
  readonly durationMs: number
  /** Streams cut at their cap; a line in `stderr` says so too. */
  readonly truncated: {readonly stdout: boolean; readonly stderr: boolean}
}

/** Something that runs jobs of one engine. */
export interface Executor {
  readonly engine: EngineName
  /** Whether this machine can run jobs of this engine right now. */
  available(): Promise<boolean>
  /** Runs the job; see {@link ExecuteOptions}. */
  execute(options: ExecuteOptions): Promise<ExecutionResult>
}
