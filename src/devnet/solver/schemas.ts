/**
 * JSON schemas of the request bodies, and the step Go's decoder performs after them: every field a
 * body leaves out becomes its Go zero value, and keys the Go structs do not have are dropped. IDs
 * are computed from the normalised offer, so they equal what a Go solver computes from the same body.
 *
 * The schemas reject what Go's decoder rejects (a string where a number goes, a fraction or a
 * negative number for an unsigned field) and, beyond Go, an offer without the fields no real client
 * leaves out (`created_at`, the party's address, `spec`, `pricing`, `trusted_parties`).
 */
import type {
  DealPricing,
  DealTransactionsJobCreator,
  DealTransactionsMediator,
  DealTransactionsResourceProvider,
  GpuSpec,
  JobOffer,
  MachineSpec,
  ResourceOffer,
  Result,
  ServiceConfig,
} from '../../core/solver/types.js'

const uint = {type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER} as const
const int = {type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER} as const
const str = {type: 'string', maxLength: 65_536} as const
const nullableStrings = {type: ['array', 'null'], items: str, maxItems: 1024} as const

const machineSpec = {
  type: 'object',
  properties: {
    gpu: uint,
    gpus: {
      type: ['array', 'null'],
      maxItems: 256,
      items: {type: 'object', properties: {name: str, vendor: str, vram: uint}},
    },
    cpu: uint,
    ram: uint,
    disk: uint,
  },
} as const

const pricing = {
  type: 'object',
  properties: {
    instruction_price: uint,
    payment_collateral: uint,
    results_collateral_multiple: uint,
    mediation_fee: uint,
  },
} as const

const services = {
  type: 'object',
  properties: {solver: str, mediator: nullableStrings, api_host: str},
} as const

const mode = {type: 'string', enum: ['', 'MarketPrice', 'FixedPrice']} as const

/** Body of `POST /job_offers` (and the `job_offer.json` part of `/job_offers/with_files`). */
export const JOB_OFFER_BODY = {
  type: 'object',
  required: ['created_at', 'job_creator', 'module', 'spec', 'pricing', 'trusted_parties'],
  properties: {
    id: str,
    created_at: int,
    nonce: str,
    job_creator: str,
    module: {type: 'object', properties: {name: str, repo: str, hash: str, path: str}},
    spec: machineSpec,
    inputs: {type: ['object', 'null'], additionalProperties: str, maxProperties: 4096},
    inputFiles: {
      type: ['object', 'null'],
      properties: {required: nullableStrings, optional: nullableStrings},
    },
    executionTimeoutSeconds: uint,
    mode,
    pricing,
    trusted_parties: services,
    target: {type: ['object', 'null'], properties: {address: str}},
  },
} as const

/** Body of `POST /resource_offers`. */
export const RESOURCE_OFFER_BODY = {
  type: 'object',
  required: ['created_at', 'resource_provider', 'spec', 'default_pricing', 'trusted_parties'],
  properties: {
    id: str,
    created_at: int,
    resource_provider: str,
    index: int,
    spec: machineSpec,
    modules: nullableStrings,
    mode,
    default_pricing: pricing,
    module_pricing: {type: ['object', 'null'], additionalProperties: pricing, maxProperties: 4096},
    trusted_parties: services,
    engines: {type: 'array', items: str, maxItems: 64},
  },
} as const

/** Body of `POST /deals/{id}/result`. `results_id` is the pre-v2.11 name of `data_id`. */
export const RESULT_BODY = {
  type: 'object',
  properties: {id: str, deal_id: str, data_id: str, results_id: str, error: str, instruction_count: uint},
} as const

const txFields = (fields: readonly string[]): object => ({
  type: 'object',
  properties: Object.fromEntries(fields.map((field) => [field, str])),
})

export const RP_TX_FIELDS = [
  'agree',
  'add_result',
  'timeout_agree',
  'timeout_judge_result',
  'timeout_mediate_result',
] as const
export const JC_TX_FIELDS = [
  'agree',
  'accept_result',
  'check_result',
  'timeout_agree',
  'timeout_submit_result',
  'timeout_mediate_result',
] as const
export const MEDIATOR_TX_FIELDS = ['mediation_accept_result', 'mediation_reject_result'] as const

/** Bodies of the three `POST /deals/{id}/txs/*` routes. */
export const TX_BODIES = {
  resource_provider: txFields(RP_TX_FIELDS),
  job_creator: txFields(JC_TX_FIELDS),
  mediator: txFields(MEDIATOR_TX_FIELDS),
} as const

type Loose<T> = {[K in keyof T]?: T[K] | null | undefined}

function spec(value: Loose<MachineSpec> | null | undefined): MachineSpec {
  return {
    gpu: value?.gpu ?? 0,
    gpus:
      value?.gpus === null || value?.gpus === undefined
        ? null
        : value.gpus.map((gpu: Loose<GpuSpec>) => ({
            name: gpu.name ?? '',
            vendor: gpu.vendor ?? '',
            vram: gpu.vram ?? 0,
          })),
    cpu: value?.cpu ?? 0,
    ram: value?.ram ?? 0,
    disk: value?.disk ?? 0,
  }
}

function dealPricing(value: Loose<DealPricing> | null | undefined): DealPricing {
  return {
    instruction_price: value?.instruction_price ?? 0,
    payment_collateral: value?.payment_collateral ?? 0,
    results_collateral_multiple: value?.results_collateral_multiple ?? 0,
    mediation_fee: value?.mediation_fee ?? 0,
  }
}

function serviceConfig(value: Loose<ServiceConfig> | null | undefined): ServiceConfig {
  return {solver: value?.solver ?? '', mediator: value?.mediator ?? null, api_host: value?.api_host ?? ''}
}

function stringMap(value: Record<string, string> | null | undefined): Record<string, string> | null {
  if (value === null || value === undefined) return null
  const out: Record<string, string> = {}
  for (const [key, entry] of Object.entries(value)) out[key] = entry
  return out
}

/** A validated job offer body as a Go `JobOffer` (zero values filled in, unknown keys gone). */
export function normaliseJobOffer(body: unknown): JobOffer {
  const value = body as Loose<JobOffer> & {
    module?: Loose<JobOffer['module']>
    inputFiles?: Loose<JobOffer['inputFiles']> | null
    target?: Loose<JobOffer['target']> | null
  }
  return {
    id: value.id ?? '',
    created_at: value.created_at ?? 0,
    nonce: value.nonce ?? '',
    job_creator: value.job_creator ?? '',
    module: {
      name: value.module?.name ?? '',
      repo: value.module?.repo ?? '',
      hash: value.module?.hash ?? '',
      path: value.module?.path ?? '',
    },
    spec: spec(value.spec),
    inputs: stringMap(value.inputs),
    inputFiles: {required: value.inputFiles?.required ?? null, optional: value.inputFiles?.optional ?? null},
    executionTimeoutSeconds: value.executionTimeoutSeconds ?? 0,
    mode: (value.mode ?? '') as JobOffer['mode'],
    pricing: dealPricing(value.pricing),
    trusted_parties: serviceConfig(value.trusted_parties),
    target: {address: value.target?.address ?? ''},
  }
}

/** A validated resource offer body as a Go `ResourceOffer` (plus the `engines` extension when sent). */
export function normaliseResourceOffer(body: unknown): ResourceOffer {
  const value = body as Loose<ResourceOffer>
  let modulePricing: Record<string, DealPricing> | null = null
  if (value.module_pricing !== null && value.module_pricing !== undefined) {
    modulePricing = {}
    for (const [key, entry] of Object.entries(value.module_pricing)) modulePricing[key] = dealPricing(entry)
  }
  const offer: ResourceOffer = {
    id: value.id ?? '',
    created_at: value.created_at ?? 0,
    resource_provider: value.resource_provider ?? '',
    index: value.index ?? 0,
    spec: spec(value.spec),
    modules: value.modules ?? null,
    mode: (value.mode ?? '') as ResourceOffer['mode'],
    default_pricing: dealPricing(value.default_pricing),
    module_pricing: modulePricing,
    trusted_parties: serviceConfig(value.trusted_parties),
  }
  if (Array.isArray(value.engines)) offer.engines = [...value.engines]
  return offer
}

/** A validated result body as a Go `Result` (`results_id` read as `data_id` when that is empty). */
export function normaliseResult(body: unknown): Result {
  const value = body as Loose<Result>
  const dataId =
    value.data_id !== undefined && value.data_id !== null && value.data_id !== '' ? value.data_id : ''
  return {
    id: value.id ?? '',
    deal_id: value.deal_id ?? '',
    data_id: dataId === '' ? (value.results_id ?? '') : dataId,
    error: value.error ?? '',
    instruction_count: value.instruction_count ?? 0,
  }
}

/** A transactions body with every field present ("" when not sent). */
export function normaliseTransactions<K extends string>(
  fields: readonly K[],
  body: unknown,
): Record<K, string> {
  const value = (body ?? {}) as Partial<Record<K, string>>
  return Object.fromEntries(fields.map((field) => [field, value[field] ?? ''])) as Record<K, string>
}

export type {DealTransactionsJobCreator, DealTransactionsMediator, DealTransactionsResourceProvider}
