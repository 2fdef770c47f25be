/**
 * Job offers as the Go CLI builds them (lilypad-protocol.md §1.8, `getJobOfferFromOptions`), and
 * the classic deal terms both parties pass to `LilypadController.agree` (§3.3, §3.6).
 */
import {getAddress} from 'ethers'
import {nanoid} from 'nanoid'
import {lilypadError} from '../errors/index.js'
import {toModuleConfig} from '../module/module-ref.js'
import type {ModuleSpec} from '../module/schema.js'
import type {
  Deal,
  DealPricing,
  DealTimeouts,
  JobOffer,
  MachineSpec,
  ModuleConfig,
  PricingMode,
} from './types.js'

/** The Go CLI's pricing defaults (`--pricing-*` flags, §1.2), in whole LP except the multiple. */
export const DEFAULT_JOB_PRICING: Readonly<DealPricing> = Object.freeze({
  instruction_price: 1,
  payment_collateral: 2,
  results_collateral_multiple: 2,
  mediation_fee: 1,
})

/**
 * The classic deal's timeouts (3600 s each step; 1 LP collateral for submitting and judging
 * results; the contracts require 0 for agreeing and mediating), the values Go hard-codes for
 * on-chain `agree` since v2.22.
 */
export const DEFAULT_DEAL_TIMEOUTS: Readonly<DealTimeouts> = Object.freeze({
  agree: Object.freeze({timeout: 3600, collateral: 0}),
  submit_results: Object.freeze({timeout: 3600, collateral: 1}),
  judge_results: Object.freeze({timeout: 3600, collateral: 1}),
  mediate_results: Object.freeze({timeout: 3600, collateral: 0}),
})

/** The parts of a rendered module a job offer takes. */
export type RenderedModuleParts = Pick<ModuleSpec, 'machine'> &
  Partial<Pick<ModuleSpec, 'executionTimeoutSeconds' | 'inputFiles'>>

/** Pricing fields to override; an undefined field keeps the default. */
export type PricingOverrides = {readonly [K in keyof DealPricing]?: number | undefined}

/** The services a job creator trusts. */
export interface JobServices {
  /** Solver address (not URL), passed through as configured, like the Go CLI. */
  readonly solver: string
  readonly mediators: readonly string[]
  /** Metrics dashboard base URL; "" when absent. */
  readonly apiHost?: string
}

/** What {@link buildJobOffer} needs. */
export interface BuildJobOfferOptions {
  /** The job creator's address, in any case; written EIP-55 checksummed. */
  readonly jobCreator: string
  readonly module: ModuleConfig
  /** The rendered module JSON (`machine`, optional `executionTimeoutSeconds` and `inputFiles`). */
  readonly rendered: RenderedModuleParts
  /** The raw `-i` inputs (not JSON-encoded). */
  readonly inputs?: Readonly<Record<string, string>>
  /** Missing fields take the Go CLI defaults ({@link DEFAULT_JOB_PRICING}). */
  readonly pricing?: PricingOverrides
  readonly mode?: PricingMode
  readonly services: JobServices
  /** A resource provider's address, for a targeted job. */
  readonly target?: string
  /** Milliseconds since the epoch (default `Date.now`). */
  readonly now?: () => number
  /** Default: a fresh 21-character nanoid. */
  readonly nonce?: string
}

function checksummed(address: string, what: string): string {
  try {
    return getAddress(address)
  } catch (cause) {
    throw lilypadError('ADDRESS_INVALID', {
      message: `The ${what} "${address}" is not an Ethereum address`,
      hints: ['An address is 0x followed by 40 hexadecimal digits.'],
      details: {address},
      cause,
    })
  }
}

/** Go decodes the rendered `machine` into `MachineSpec`: absent numbers are 0, absent `gpus` nil. */
function machineSpecOf(machine: ModuleSpec['machine']): MachineSpec {
  return {
    gpu: machine.gpu ?? 0,
    gpus:
      machine.gpus === undefined || machine.gpus === null
        ? null
        : machine.gpus.map((gpu) => ({name: gpu.name ?? '', vendor: gpu.vendor ?? '', vram: gpu.vram ?? 0})),
    cpu: machine.cpu ?? 0,
    ram: machine.ram ?? 0,
    disk: machine.disk ?? 0,
  }
}

/**
 * Builds a job offer exactly as the Go CLI does: `id` "", `created_at` in ms, a nanoid nonce, the
 * EIP-55 job creator, the module config, the rendered `machine` as `spec`, the raw inputs (`{}`
 * when none, as pflag's empty map marshals), the module's `inputFiles` (`{required: null,
 * optional: null}` when absent) and `executionTimeoutSeconds` (0 when absent), the pricing mode and
 * pricing (Go CLI defaults), the trusted parties and the target (`""` or EIP-55).
 *
 * @returns the offer, ready to POST (the solver computes its ID; {@link jobOfferId} gives the same)
 * @throws ADDRESS_INVALID when the job creator or target is not an address
 * @example
 * buildJobOffer({jobCreator, module: moduleConfigFor(repo, 'v0.0.4'), rendered, inputs: {Message: 'hi'},
 *   services: {solver: '0xf39F…', mediators: ['0x90F7…']}})
 */
export function buildJobOffer(options: BuildJobOfferOptions): JobOffer {
  const {rendered, services} = options
  const inputFiles = rendered.inputFiles ?? null
  return {
    id: '',
    created_at: Math.trunc((options.now ?? Date.now)()),
    nonce: options.nonce ?? nanoid(),
    job_creator: checksummed(options.jobCreator, 'job creator address'),
    module: {
      name: options.module.name,
      repo: options.module.repo,
      hash: options.module.hash,
      path: options.module.path,
    },
    spec: machineSpecOf(rendered.machine),
    inputs: {...(options.inputs ?? {})},
    inputFiles: {
      required:
        inputFiles?.required === undefined || inputFiles.required === null ? null : [...inputFiles.required],
      optional:
        inputFiles?.optional === undefined || inputFiles.optional === null ? null : [...inputFiles.optional],
    },
    executionTimeoutSeconds: rendered.executionTimeoutSeconds ?? 0,
    mode: options.mode ?? 'MarketPrice',
    pricing: {...DEFAULT_JOB_PRICING, ...definedOnly(options.pricing ?? {})},
    trusted_parties: {
      solver: services.solver,
      mediator: [...services.mediators],
      api_host: services.apiHost ?? '',
    },
    target: {
      address:
        options.target === undefined || options.target === '' ? '' : checksummed(options.target, 'target'),
    },
  }
}

function definedOnly(pricing: PricingOverrides): Partial<DealPricing> {
  return Object.fromEntries(Object.entries(pricing).filter(([, value]) => value !== undefined))
}

/**
 * The ModuleConfig of a repository and ref: `name` "", the ref as typed, the standard template path.
 *
 * @example
 * moduleConfigFor('https://github.com/Lilypad-Tech/lilypad-module-cowsay', 'v0.0.4')
 * // {name: '', repo: 'https://github.com/Lilypad-Tech/lilypad-module-cowsay', hash: 'v0.0.4', path: '/lilypad_module.json.tmpl'}
 */
export function moduleConfigFor(repoUrl: string, ref: string): ModuleConfig {
  return {...toModuleConfig({repoUrl, ref})}
}

/** A deal's parties as `agree` takes them. */
export interface ChainDealMembers {
  solver: string
  jobCreator: string
  resourceProvider: string
  mediators: string[]
}

/** One waiting step as `agree` takes it: seconds and token wei. */
export interface ChainDealTimeout {
  timeout: bigint
  collateral: bigint
}

/** The four waiting steps as `agree` takes them. */
export interface ChainDealTimeouts {
  agree: ChainDealTimeout
  submitResults: ChainDealTimeout
  judgeResults: ChainDealTimeout
  mediateResults: ChainDealTimeout
}

/** Pricing as `agree` takes it: token wei, except the plain multiple. */
export interface ChainDealPricing {
  instructionPrice: bigint
  paymentCollateral: bigint
  resultsCollateralMultiple: bigint
  mediationFee: bigint
}

/** The arguments of `LilypadController.agree(dealId, members, timeouts, pricing)`. */
export type ChainDealTerms = [
  dealId: string,
  members: ChainDealMembers,
  timeouts: ChainDealTimeouts,
  pricing: ChainDealPricing,
]

const WEI_PER_LP = 10n ** 18n

function whole(value: number, what: string): bigint {
  if (!Number.isInteger(value) || value < 0) {
    throw lilypadError('DEAL_TERMS_INVALID', {
      message: `The deal's ${what} (${value}) is not a whole, non-negative number`,
      details: {field: what, value},
    })
  }
  return BigInt(value)
}

/**
 * The exact terms a party passes to `agree` for a deal, derived from the deal JSON alone so the job
 * creator and the resource provider pass identical values: members EIP-55 (mediators in the deal's
 * order), timeouts from the deal (else {@link DEFAULT_DEAL_TIMEOUTS}) with collateral ×1e18, and
 * pricing ×1e18 except `resultsCollateralMultiple`.
 *
 * @param deal - the deal (its `id` is the on-chain deal ID)
 * @returns `[dealId, members, timeouts, pricing]`, to spread into `controller.agree(...terms)`
 * @throws DEAL_TERMS_INVALID for a fractional or negative amount; ADDRESS_INVALID for a bad member
 * @example
 * await controller.agree(...dealTermsForChain(container.deal))
 */
export function dealTermsForChain(deal: Deal): ChainDealTerms {
  const timeouts = deal.timeouts ?? DEFAULT_DEAL_TIMEOUTS
  const step = (value: DealTimeouts[keyof DealTimeouts], name: string): ChainDealTimeout => ({
    timeout: whole(value.timeout, `${name} timeout`),
    collateral: whole(value.collateral, `${name} collateral`) * WEI_PER_LP,
  })
  const {pricing, members} = deal
  return [
    deal.id,
    {
      solver: checksummed(members.solver, 'solver address'),
      jobCreator: checksummed(members.job_creator, 'job creator address'),
      resourceProvider: checksummed(members.resource_provider, 'resource provider address'),
      mediators: (members.mediators ?? []).map((mediator) => checksummed(mediator, 'mediator address')),
    },
    {
      agree: step(timeouts.agree, 'agree'),
      submitResults: step(timeouts.submit_results, 'submit_results'),
      judgeResults: step(timeouts.judge_results, 'judge_results'),
      mediateResults: step(timeouts.mediate_results, 'mediate_results'),
    },
    {
      instructionPrice: whole(pricing.instruction_price, 'instruction_price') * WEI_PER_LP,
      paymentCollateral: whole(pricing.payment_collateral, 'payment_collateral') * WEI_PER_LP,
      resultsCollateralMultiple: whole(pricing.results_collateral_multiple, 'results_collateral_multiple'),
      mediationFee: whole(pricing.mediation_fee, 'mediation_fee') * WEI_PER_LP,
    },
  ]
}
