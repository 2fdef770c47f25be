/**
 * The job-creator service's `runJob` on the devnet: each contract's job is an ordinary `lilypad run`
 * by account #10 on the `local` network, through core's `runJob` (CID verified before accepting)
 * with its own data directory for the journal and the downloads. A job interrupted after its offer
 * was posted (matched or not) is resumed as `lilypad deals wait` resumes one, never posted a second time.
 */
import type {NetworkProfile} from '../../core/config/index.js'
import {lpToWei} from '../../core/deals/cost.js'
import {waitDeal} from '../../core/deals/deals.js'
import type {RunEvent} from '../../core/deals/events.js'
import type {RunOutcome} from '../../core/deals/follow.js'
import {openJournal} from '../../core/deals/journal.js'
import {runJob} from '../../core/deals/run.js'
import type {JobRequest} from './index.js'

/** Options of {@link devnetJobRunner}. */
export interface DevnetJobRunnerOptions {
  /** The `local` profile completed with the running devnet's endpoints and contracts. */
  network: Readonly<NetworkProfile>
  /** The service's key (#10): the job creator of every deal it makes. */
  privateKey: string
  /** Its data directory: `journal.db` and `downloaded-files/`. */
  dataDir: string
  /** Environment for git (nothing secret). */
  env?: Readonly<Record<string, string>> | undefined
}

/** Marks the journal record of a run with the on-chain job it serves (what `deals list --all` shows). */
function markRequested(dataDir: string, runId: string, request: JobRequest): void {
  const journal = openJournal(dataDir)
  try {
    journal.update(runId, {requestedBy: {jobId: request.jobId.toString(), contract: request.callingContract}})
  } finally {
    journal.close()
  }
}

/**
 * Builds the callback that runs one contract's job on the devnet.
 *
 * @returns a `runJob` for `startJobCreatorService`: resolves with the deal and its verified data ID,
 *   throws the run's error (its message becomes the `failJob` reason)
 */
export function devnetJobRunner(
  options: DevnetJobRunnerOptions,
): (request: JobRequest) => Promise<{dealId: string; dataId: string}> {
  const config = {dataDir: options.dataDir, network: options.network, privateKey: options.privateKey}
  return async (request) => {
    // Events arrive synchronously; their writes are awaited before the run returns or throws, so a
    // stop never leaves the posted offer or the deal unrecorded (a restart would post a second offer).
    const writes: Promise<void>[] = []
    const onEvent = (event: RunEvent): void => {
      if (event.type === 'run.posted') {
        markRequested(options.dataDir, event.runId, request)
        writes.push(request.onPosted(event.runId))
      }
      if (event.type === 'run.deal') writes.push(request.onDeal(event.dealId))
    }
    const common = {config, verify: 'cid' as const, signal: request.signal, onEvent, env: options.env}
    const resumeId = request.resumeDealId ?? request.resumeRunId
    let outcome: RunOutcome
    try {
      outcome =
        resumeId === undefined
          ? await runJob({...common, module: request.module, inputs: request.inputs})
          : await waitDeal(resumeId, {...common, maxPrice: lpToWei(options.network.maxPrice)})
    } finally {
      await Promise.allSettled(writes)
    }
    if (outcome.dealId === undefined || outcome.dataId === undefined || !outcome.verified) {
      throw new Error(`the run ended in ${outcome.state} without a verified result`)
    }
    return {dealId: outcome.dealId, dataId: outcome.dataId}
  }
}
