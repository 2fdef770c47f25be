/** Gas per call of one party path scenario; `jcPath` and `rpPath` are the whole paths. */
export interface PathGas {
  jcPath: number
  rpPath: number
  [call: string]: number
}

/** What {@link benchGas} measured. */
export interface GasReport {
  paths: Record<string, PathGas>
  other: Record<string, number>
  /** The on-chain job creator's calls (runJob, submitResults, failJob, refundTimedOut, approve). */
  jobs: Record<string, number>
  sizes: Record<string, number>
  deployGas: Record<string, number>
}

/** Measures the protocol's gas on a private anvil; prints tables through `log`. */
export function benchGas(options?: {log?: (line: string) => void}): Promise<GasReport>
