/**
 * The JSON shapes of Lilypad's off-chain protocol (the solver API, its websocket events, and the
 * records it stores), with the exact keys the Go solver and clients use (lilypad-protocol.md §3.1).
 * Field order here is the Go structs' field order: IDs are CIDs of Go's JSON encoding of these
 * structs, so the order is part of the protocol (see `go-json.ts`).
 *
 * Go `uint64` amounts of whole LP are JS numbers (they stay far below 2^53); Go `nil` slices and
 * maps are `null`.
 */

/** A module as a job offer names it: the repository and the ref as typed (§1.5). */
export interface ModuleConfig {
  /** Always "" in offers built from a shortcut (the Go CLI clears it). */
  name: string
  repo: string
  /** The ref as typed (tag, branch or commit), not the resolved commit. */
  hash: string
  /** Template path inside the repository, with a leading slash. */
  path: string
}

/** One GPU of a machine spec. */
export interface GpuSpec {
  name: string
  vendor: string
  /** Megabytes. */
  vram: number
}

/** What a job needs or a provider offers. */
export interface MachineSpec {
  /** GPU count. */
  gpu: number
  gpus: GpuSpec[] | null
  /** Milli-CPU. */
  cpu: number
  /** Megabytes. */
  ram: number
  /** Megabytes. */
  disk: number
}

/** The services a party trusts. */
export interface ServiceConfig {
  /** Solver address. */
  solver: string
  /** Mediator addresses. */
  mediator: string[] | null
  api_host: string
}

/** A job aimed at one resource provider. */
export interface TargetConfig {
  address: string
}

/** Prices and collateral in whole LP (×1e18 on chain), except the multiple. */
export interface DealPricing {
  instruction_price: number
  payment_collateral: number
  results_collateral_multiple: number
  mediation_fee: number
}

/** One waiting step of a classic deal: seconds, and collateral in whole LP. */
export interface DealTimeout {
  timeout: number
  collateral: number
}

/** The classic deal's timeouts, passed identically to `agree` by both parties. */
export interface DealTimeouts {
  agree: DealTimeout
  submit_results: DealTimeout
  judge_results: DealTimeout
  mediate_results: DealTimeout
}

/** Input files a module declares (v2.19+). */
export interface InputFiles {
  required: string[] | null
  optional: string[] | null
}

/** How a party prices a deal. */
export type PricingMode = 'MarketPrice' | 'FixedPrice'

/** A job creator's offer (§1.8). */
export interface JobOffer {
  /** "" when hashing; the solver computes it from the JSON it decoded. */
  id: string
  /** Milliseconds since the epoch. */
  created_at: number
  /** 21-character nanoid. */
  nonce: string
  /** EIP-55 checksummed address. */
  job_creator: string
  module: ModuleConfig
  /** The rendered module's `machine` section. */
  spec: MachineSpec
  /** The raw (not JSON-encoded) inputs. */
  inputs: Record<string, string> | null
  inputFiles: InputFiles
  executionTimeoutSeconds: number
  mode: PricingMode
  pricing: DealPricing
  trusted_parties: ServiceConfig
  target: TargetConfig
}

/** A resource provider's offer. */
export interface ResourceOffer {
  id: string
  created_at: number
  resource_provider: string
  index: number
  spec: MachineSpec
  /** Module IDs the provider runs; null or empty = all. */
  modules: string[] | null
  mode: PricingMode
  default_pricing: DealPricing
  module_pricing: Record<string, DealPricing> | null
  trusted_parties: ServiceConfig
  /**
   * Extension (not in the Go struct, never part of the ID): the job engines the provider can run,
   * e.g. `["wasm"]`. Absent on the real network's offers, which then count as able to run any.
   */
  engines?: string[]
}

/** The parties of a deal. */
export interface DealMembers {
  solver: string
  job_creator: string
  resource_provider: string
  mediators: string[] | null
}

/** The terms both parties agree to. `timeouts` is present in the `onchain` protocol only. */
export interface Deal {
  id: string
  members: DealMembers
  pricing: DealPricing
  timeouts?: DealTimeouts
  job_offer: JobOffer
  resource_offer: ResourceOffer
}

/** Transactions a job creator reported for a deal ("0x" in the `solver` protocol). */
export interface DealTransactionsJobCreator {
  agree: string
  accept_result: string
  check_result: string
  timeout_agree: string
  timeout_submit_result: string
  timeout_mediate_result: string
}

/** Transactions a resource provider reported for a deal. */
export interface DealTransactionsResourceProvider {
  agree: string
  add_result: string
  timeout_agree: string
  timeout_judge_result: string
  timeout_mediate_result: string
}

/** Transactions a mediator reported for a deal. */
export interface DealTransactionsMediator {
  mediation_accept_result: string
  mediation_reject_result: string
}

/** Every transaction reported for a deal. */
export interface DealTransactions {
  resource_provider: DealTransactionsResourceProvider
  job_creator: DealTransactionsJobCreator
  mediator: DealTransactionsMediator
}

/** A job offer as the solver stores and returns it. */
export interface JobOfferContainer {
  id: string
  deal_id: string
  job_creator: string
  /** Go state number (see `states.ts`). */
  state: number
  job_offer: JobOffer
}

/** A resource offer as the solver stores and returns it. */
export interface ResourceOfferContainer {
  id: string
  deal_id: string
  resource_provider: string
  state: number
  resource_offer: ResourceOffer
}

/** A deal as the solver stores and returns it. */
export interface DealContainer {
  id: string
  /** Milliseconds. */
  created_at: number
  /** When the provider uploaded the results (ms), 0 before. */
  upload_at: number
  /** When the job creator downloaded the results (ms), 0 before. */
  download_at: number
  job_creator: string
  resource_provider: string
  /** Job offer ID. */
  job_offer: string
  /** Resource offer ID. */
  resource_offer: string
  state: number
  deal: Deal
  transactions: DealTransactions
  /** The mediator drawn for a dispute, "" before. */
  mediator: string
}

/** A provider's result: the data ID of its result directory, or an error saying why there is none. */
export interface Result {
  /** Never filled by any component; kept for the shape. */
  id: string
  deal_id: string
  data_id: string
  error: string
  instruction_count: number
  /** Old clients' name for `data_id` (≤ v2.10); written equal to it. */
  results_id?: string
}

/** A match the solver tried, remembered so the pair is never retried. */
export interface MatchDecision {
  job_offer: string
  resource_offer: string
  deal: string
  result: boolean
}

/** The kinds of websocket event (§4.2). */
export const SOLVER_EVENT_TYPES = [
  'JobOfferAdded',
  'ResourceOfferAdded',
  'ResourceOfferRemoved',
  'DealAdded',
  'JobOfferStateUpdated',
  'ResourceOfferStateUpdated',
  'DealStateUpdated',
  'DealMediatorUpdated',
  'ResourceProviderTransactionsUpdated',
  'JobCreatorTransactionsUpdated',
  'MediatorTransactionsUpdated',
] as const

/** A websocket event type. */
export type SolverEventType = (typeof SOLVER_EVENT_TYPES)[number]

/** One websocket event, broadcast to every client, which filters locally. */
export interface SolverEvent {
  event_type: SolverEventType
  job_offer: JobOfferContainer | null
  resource_offer: ResourceOfferContainer | null
  deal: DealContainer | null
}

/** Which of Lilypad's two protocols a network speaks (DESIGN §2). */
export type ProtocolMode = 'onchain' | 'solver'
