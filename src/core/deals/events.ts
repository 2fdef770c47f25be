/**
 * What a run reports while it works, through its `onEvent` callback. The CLI turns these into the
 * Go CLI's status lines (stderr) and a download progress bar; library users may log them.
 */
import type {ModuleEvent} from '../module/repo-cache.js'
import type {DealCost} from './cost.js'

/** One step of a run. */
export type RunEvent =
  | {type: 'module'; event: ModuleEvent}
  /** The module is rendered; the job offer is about to be posted. */
  | {type: 'run.submitting'; module: string}
  /** The solver accepted the job offer. */
  | {type: 'run.posted'; jobOfferId: string; runId: string}
  /** The job offer or its deal reached a new Go state (e.g. `DealNegotiating`, `ResultsSubmitted`). */
  | {type: 'run.state'; state: string; dealId?: string | undefined}
  /** A deal was matched; in the onchain protocol, its cost is known before anything is sent. */
  | {type: 'run.deal'; dealId: string; provider: string; cost: DealCost | undefined}
  /** A transaction was sent (and mined). `name` is the solver's key: `agree`, `accept_result`, … */
  | {type: 'run.tx'; name: string; hash: string; dealId: string}
  /** Result bytes received so far (total when the solver says). */
  | {type: 'run.download'; received: number; total: number | undefined}
  /** The result was checked against the expected data ID. */
  | {type: 'run.verified'; dataId: string; method: 'cid' | 'reexecute'}
  /** The downloaded result is not what the provider committed to: a dispute follows. */
  | {type: 'run.mismatch'; expected: string; actual: string}
  /** The mediator ruled on a dispute. */
  | {type: 'run.ruling'; ruling: 'accepted' | 'rejected'; dealId: string}
  /** Something worth telling the user that does not stop the run. */
  | {type: 'run.warning'; message: string}

/** A callback for {@link RunEvent}s. */
export type RunEventHandler = (event: RunEvent) => void
