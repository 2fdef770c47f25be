/**
 * What the Wasm executor and its runner process say to each other: one JSON request on the
 * runner's stdin, one JSON report as the last line of its stdout.
 */
import type {CannotRunReason} from '../faults.js'

/** The job as the runner process needs it; every path is absolute on the host. */
export interface RunnerRequest {
  readonly wasmPath: string
  readonly entryPoint: string
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string>>
  readonly seed: string
  /** Host directory preopened as `/outputs`. */
  readonly outputsDir: string
  /** Host directory preopened read-only as `/inputs`. */
  readonly inputsDir: string | undefined
  /** Files that receive the guest's fd 1 and fd 2. */
  readonly stdoutPath: string
  readonly stderrPath: string
  readonly stdoutBytes: number
  readonly stderrBytes: number
  /** Bytes the guest may write to files other than stdout/stderr. */
  readonly outputsBytes: number
  readonly memoryBytes: number
}

/** How the job ended, as far as the runner could see. */
export type RunnerReport =
  | {
      readonly kind: 'exited'
      readonly exitCode: number
      /** The guest trapped (an unreachable, an out-of-bounds access, a failed allocation). */
      readonly trapped: boolean
      readonly memoryLimitReached: boolean
      readonly truncated: {readonly stdout: boolean; readonly stderr: boolean}
    }
  | {readonly kind: 'cannot-run'; readonly message: string; readonly reason: CannotRunReason}

/** Exit code given to a job whose module trapped: 128 + SIGABRT, as wasmtime reports a trap. */
export const TRAP_EXIT_CODE = 134
