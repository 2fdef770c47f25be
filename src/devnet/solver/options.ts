/**
 * Options of the solver service, with the Go solver's defaults (lilypad-protocol.md §3.6, §4).
 */
import type {Logger} from 'pino'

import type {DealTimeouts, ProtocolMode} from '../../core/solver/types.js'

/** The solver's off-chain timeouts, in seconds (Go `TIMEOUT_*_SECONDS`). */
export interface SolverTimeouts {
  /** A job offer still unmatched after this long ends as `TimeoutMatch` (default 30). */
  matchSeconds: number
  /** A deal still `DealAgreed` this long after it was made ends as `TimeoutExecution`, unless the module sets `executionTimeoutSeconds` (default 900). */
  executionSeconds: number
  /** A deal still `ResultsSubmitted` this long after the upload ends as `TimeoutDownload` (default 3600). */
  downloadSeconds: number
  /** Any job still active this long after its offer was created ends as `JobTimedOut` (default 7200). */
  totalSeconds: number
}

/** Size limits. */
export interface SolverLimits {
  /** Largest JSON request body in bytes (default 1 MiB); larger → 413. */
  bodyBytes: number
  /** Largest result tar in bytes (default 1 GiB); larger → 413 and nothing is stored. */
  resultBytes: number
  /** Largest `/job_offers/with_files` request in bytes (default 10 MiB, Go `MaximumFileInputsSizeMB`). */
  inputBytes: number
  /** Unmatched, uncancelled job offers above which new ones are refused as "network busy" (default 1000). */
  maxJobOfferCapacity: number
  /** How far an offer's `created_at` may be from the solver's clock, in seconds (default 30). */
  offerTimestampDiffSeconds: number
  /**
   * Most bytes a websocket client may leave unread (default 4 MiB): a client that falls further behind
   * is disconnected instead of making the solver hold every event for it.
   */
  websocketBufferBytes: number
}

/** The chain the solver follows (`onchain` protocol) and registers on. */
export interface SolverChainOptions {
  /** JSON-RPC endpoint. */
  rpcUrl: string
  chainId: number
  /** LilypadController address, whose events the solver follows. */
  controller: string
  /** LilypadUsers address, where the solver registers its URL. */
  users?: string | undefined
  /** The solver account's private key; needed to register (and only for that). */
  privateKey?: string | undefined
  /** First block to follow when the store has no cursor yet (default: the current block). */
  fromBlock?: number | undefined
  /** How often to poll for new logs (default 250 ms). */
  pollIntervalMs?: number | undefined
}

/** Options of {@link startSolver} (see `index.ts`). */
export interface SolverOptions {
  /** Where the store (`solver.db`), result tars (`job-files/`) and inputs (`job-input-archives/`) live. */
  dataDir: string
  /** Interface to bind (default 127.0.0.1). */
  host?: string | undefined
  /** Port to bind; 0 (the default) picks a free one. */
  port?: number | undefined
  /** The URL the solver announces (registration); default `http://<host>:<port>`. */
  url?: string | undefined
  /** `onchain` (classic, the devnet's default) or `solver` (the current testnet's off-chain deals). */
  protocol?: ProtocolMode | undefined
  /** The solver's EIP-55 checksummed address (the deals' `members.solver`). */
  solverAddress: string
  /** The chain to follow (required in `onchain` mode) and to register on. */
  chain?: SolverChainOptions | undefined
  /** The deal timeouts written into `onchain` deals (default: `DEFAULT_DEAL_TIMEOUTS`). */
  dealTimeouts?: DealTimeouts | undefined
  /** Off-chain timeouts (partial: the rest keep their defaults). */
  timeouts?: Partial<SolverTimeouts> | undefined
  /** Size and admission limits (partial). */
  limits?: Partial<SolverLimits> | undefined
  /** Per IP and route: at most `requests` per `windowMs`, then 429. Off by default. */
  rateLimit?: {requests: number; windowMs: number} | undefined
  /**
   * Refuse job offers from clients older than this `X-Lilypad-Version` (semver). Unset (the default):
   * accept any version, as a Go solver built without a version does.
   */
  minimumVersion?: string | undefined
  /**
   * Remove a provider's unmatched resource offers when its websocket (`Type=ResourceProvider`)
   * closes, as the Go solver does. Off by default: a provider that reconnects keeps its offer.
   */
  removeOffersOnDisconnect?: boolean | undefined
  /**
   * Admit resource offers only from providers holding at least this much ETH (wei) and LP worth
   * their instruction price (Go: 0.0006 ETH). Off by default; needs `chain`.
   */
  resourceOfferAdmission?: {minEthWei: bigint} | undefined
  /** Secret and key id of `/validation_token` JWTs (default: a random secret per start). */
  validationToken?: {secret: string; kid?: string; expirationSeconds?: number} | undefined
  /** A pino logger; default: silent, or a file logger when `logFile` is set. */
  logger?: Logger | undefined
  /** Append JSON log lines to this file. */
  logFile?: string | undefined
  /** Log level for `logFile` (default info). */
  logLevel?: string | undefined
}

/** The Go solver's default timeouts. */
export const DEFAULT_SOLVER_TIMEOUTS: Readonly<SolverTimeouts> = Object.freeze({
  matchSeconds: 30,
  executionSeconds: 900,
  downloadSeconds: 3600,
  totalSeconds: 7200,
})

/** The default limits. */
export const DEFAULT_SOLVER_LIMITS: Readonly<SolverLimits> = Object.freeze({
  bodyBytes: 1 << 20,
  resultBytes: 1 << 30,
  inputBytes: 10 << 20,
  maxJobOfferCapacity: 1000,
  offerTimestampDiffSeconds: 30,
  websocketBufferBytes: 4 << 20,
})
