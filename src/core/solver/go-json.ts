/**
 * The bytes Go's `json.Marshal` writes for the protocol structs. Lilypad IDs are CIDs of these
 * bytes (lilypad-protocol.md §3.4), so a dev solver and a real one agree on an ID only when the
 * encoding matches byte for byte: struct field order, `null` for nil slices and maps, sorted map
 * keys, HTML-escaped strings and integers printed in full.
 *
 * The encoder is schema driven: each struct lists its fields in Go order. A field the value lacks
 * (or holds as `null`) is written as Go's zero value, exactly what the Go solver writes after
 * decoding JSON that omits it; a key the schema does not know (such as `ResourceOffer.engines`)
 * is never written, as Go drops unknown keys when it decodes.
 */
import {lilypadError} from '../errors/index.js'
import {goJsonString, toWellFormed} from '../module/template/go-json.js'
import type {Deal, JobOffer, ModuleConfig, ResourceOffer, Result} from './types.js'

/** How one Go type is written. */
export type GoSchema =
  | {readonly kind: 'string'}
  | {readonly kind: 'int'}
  | {readonly kind: 'bool'}
  | {readonly kind: 'slice'; readonly of: GoSchema}
  | {readonly kind: 'map'; readonly of: GoSchema}
  | {readonly kind: 'struct'; readonly fields: readonly GoField[]}

/** One struct field: its JSON key and type. `presentOnlyWhenSet` fields are omitted when absent. */
export interface GoField {
  readonly key: string
  readonly schema: GoSchema
  readonly presentOnlyWhenSet?: boolean
}

const STRING: GoSchema = {kind: 'string'}
const INT: GoSchema = {kind: 'int'}
const BOOL: GoSchema = {kind: 'bool'}

function slice(of: GoSchema): GoSchema {
  return {kind: 'slice', of}
}

function map(of: GoSchema): GoSchema {
  return {kind: 'map', of}
}

function struct(...fields: (readonly [string, GoSchema] | GoField)[]): GoSchema {
  return {
    kind: 'struct',
    fields: fields.map((field) => ('key' in field ? field : {key: field[0], schema: field[1]})),
  }
}

/** Go `data.ModuleConfig`. */
export const MODULE_CONFIG_SCHEMA = struct(
  ['name', STRING],
  ['repo', STRING],
  ['hash', STRING],
  ['path', STRING],
)

const GPU_SPEC = struct(['name', STRING], ['vendor', STRING], ['vram', INT])

const MACHINE_SPEC = struct(
  ['gpu', INT],
  ['gpus', slice(GPU_SPEC)],
  ['cpu', INT],
  ['ram', INT],
  ['disk', INT],
)

const SERVICE_CONFIG = struct(['solver', STRING], ['mediator', slice(STRING)], ['api_host', STRING])

const DEAL_PRICING = struct(
  ['instruction_price', INT],
  ['payment_collateral', INT],
  ['results_collateral_multiple', INT],
  ['mediation_fee', INT],
)

const DEAL_TIMEOUT = struct(['timeout', INT], ['collateral', INT])

const DEAL_TIMEOUTS = struct(
  ['agree', DEAL_TIMEOUT],
  ['submit_results', DEAL_TIMEOUT],
  ['judge_results', DEAL_TIMEOUT],
  ['mediate_results', DEAL_TIMEOUT],
)

/** Go `data.JobOffer` (v2.22+: no `timeouts`). */
export const JOB_OFFER_SCHEMA = struct(
  ['id', STRING],
  ['created_at', INT],
  ['nonce', STRING],
  ['job_creator', STRING],
  ['module', MODULE_CONFIG_SCHEMA],
  ['spec', MACHINE_SPEC],
  ['inputs', map(STRING)],
  ['inputFiles', struct(['required', slice(STRING)], ['optional', slice(STRING)])],
  ['executionTimeoutSeconds', INT],
  ['mode', STRING],
  ['pricing', DEAL_PRICING],
  ['trusted_parties', SERVICE_CONFIG],
  ['target', struct(['address', STRING])],
)

/** Go `data.ResourceOffer` (v2.22+); our `engines` extension is deliberately absent. */
export const RESOURCE_OFFER_SCHEMA = struct(
  ['id', STRING],
  ['created_at', INT],
  ['resource_provider', STRING],
  ['index', INT],
  ['spec', MACHINE_SPEC],
  ['modules', slice(STRING)],
  ['mode', STRING],
  ['default_pricing', DEAL_PRICING],
  ['module_pricing', map(DEAL_PRICING)],
  ['trusted_parties', SERVICE_CONFIG],
)

/**
 * Go `data.Deal`. `timeouts` is the classic protocol's field (removed from Go in v2.22): written
 * between `pricing` and `job_offer` when the deal has it, so `onchain` deals hash their terms.
 */
export const DEAL_SCHEMA = struct(
  ['id', STRING],
  [
    'members',
    struct(
      ['solver', STRING],
      ['job_creator', STRING],
      ['resource_provider', STRING],
      ['mediators', slice(STRING)],
    ),
  ],
  ['pricing', DEAL_PRICING],
  {key: 'timeouts', schema: DEAL_TIMEOUTS, presentOnlyWhenSet: true},
  ['job_offer', JOB_OFFER_SCHEMA],
  ['resource_offer', RESOURCE_OFFER_SCHEMA],
)

/**
 * Go `data.Result` as its `MarshalJSON` writes it: the struct's fields, then `results_id`
 * (the embedded struct's fields come first in Go's encoding, the extra field after them).
 */
export const RESULT_SCHEMA = struct(
  ['id', STRING],
  ['deal_id', STRING],
  ['data_id', STRING],
  ['error', STRING],
  ['instruction_count', INT],
  ['results_id', STRING],
)

function unrepresentable(path: string, expected: string, value: unknown): never {
  throw lilypadError('INTERNAL', {
    message: `Cannot encode ${path} as Go JSON: expected ${expected}, got ${describe(value)}`,
    details: {path},
  })
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`
  if (typeof value === 'bigint') return `bigint ${value.toString()}`
  return typeof value
}

/** Go's byte order of UTF-8 strings, which `encoding/json` uses for map keys. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

function encodeInt(value: unknown, path: string): string {
  if (value === undefined || value === null) return '0'
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value).toString()
  return unrepresentable(path, 'an integer', value)
}

function encodeValue(schema: GoSchema, value: unknown, path: string): string {
  switch (schema.kind) {
    case 'string':
      if (value === undefined || value === null) return '""'
      if (typeof value !== 'string') return unrepresentable(path, 'a string', value)
      return goJsonString(value)
    case 'int':
      return encodeInt(value, path)
    case 'bool':
      if (value === undefined || value === null) return 'false'
      if (typeof value !== 'boolean') return unrepresentable(path, 'a boolean', value)
      return value ? 'true' : 'false'
    case 'slice': {
      if (value === undefined || value === null) return 'null'
      if (!Array.isArray(value)) return unrepresentable(path, 'an array', value)
      const items = (value as unknown[]).map((item, index) =>
        encodeValue(schema.of, item, `${path}[${index}]`),
      )
      return `[${items.join(',')}]`
    }
    case 'map': {
      if (value === undefined || value === null) return 'null'
      if (typeof value !== 'object' || Array.isArray(value)) return unrepresentable(path, 'an object', value)
      const entries = Object.entries(value as Record<string, unknown>).map(
        ([key, item]) => [toWellFormed(key), item] as const,
      )
      entries.sort(([a], [b]) => compareUtf8(a, b))
      const parts = entries.map(
        ([key, item]) => `${goJsonString(key)}:${encodeValue(schema.of, item, `${path}.${key}`)}`,
      )
      return `{${parts.join(',')}}`
    }
    case 'struct': {
      if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
        return unrepresentable(path, 'an object', value)
      }
      const record = (value ?? {}) as Record<string, unknown>
      const parts: string[] = []
      for (const field of schema.fields) {
        const item = record[field.key]
        if (field.presentOnlyWhenSet === true && (item === undefined || item === null)) continue
        parts.push(`${goJsonString(field.key)}:${encodeValue(field.schema, item, `${path}.${field.key}`)}`)
      }
      return `{${parts.join(',')}}`
    }
  }
}

/**
 * Encodes `value` as Go's `json.Marshal` would encode the Go type `schema` describes.
 *
 * @param schema - the Go type (one of the exported `*_SCHEMA` constants, or a custom one)
 * @param value - the JS value; missing or `null` fields become Go zero values
 * @param name - the value's name in error messages
 * @returns the JSON text (no whitespace, Go's escaping)
 * @throws INTERNAL when a value cannot be a value of the Go type (a fraction for an integer, …)
 * @example
 * goJsonEncode(MODULE_CONFIG_SCHEMA, {name: '', repo: 'r', hash: 'v1', path: '/p'})
 * // '{"name":"","repo":"r","hash":"v1","path":"/p"}'
 */
export function goJsonEncode(schema: GoSchema, value: unknown, name = 'value'): string {
  return encodeValue(schema, value, name)
}

function toBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'))
}

/**
 * Go `json.Marshal(data.JobOffer)`.
 *
 * @returns the UTF-8 bytes
 * @throws INTERNAL for a value no Go `JobOffer` can hold
 * @example
 * new TextDecoder().decode(encodeJobOffer(offer)).startsWith('{"id":"","created_at":')
 */
export function encodeJobOffer(offer: JobOffer): Uint8Array {
  return toBytes(goJsonEncode(JOB_OFFER_SCHEMA, offer, 'job offer'))
}

/**
 * Go `json.Marshal(data.ResourceOffer)`; `engines` is never written.
 *
 * @returns the UTF-8 bytes
 * @throws INTERNAL for a value no Go `ResourceOffer` can hold
 * @example
 * encodeResourceOffer(offer)
 */
export function encodeResourceOffer(offer: ResourceOffer): Uint8Array {
  return toBytes(goJsonEncode(RESOURCE_OFFER_SCHEMA, offer, 'resource offer'))
}

/**
 * Go `json.Marshal(data.Deal)`, with `timeouts` after `pricing` when the deal carries them.
 *
 * @returns the UTF-8 bytes
 * @throws INTERNAL for a value no Go `Deal` can hold
 * @example
 * encodeDeal(deal)
 */
export function encodeDeal(deal: Deal): Uint8Array {
  return toBytes(goJsonEncode(DEAL_SCHEMA, deal, 'deal'))
}

/**
 * Go `json.Marshal(data.ModuleConfig)`.
 *
 * @returns the UTF-8 bytes
 * @throws INTERNAL for a value no Go `ModuleConfig` can hold
 * @example
 * encodeModuleConfig({name: '', repo: 'https://github.com/Lilypad-Tech/lilypad-module-cowsay', hash: 'v0.0.4', path: '/lilypad_module.json.tmpl'})
 */
export function encodeModuleConfig(module: ModuleConfig): Uint8Array {
  return toBytes(goJsonEncode(MODULE_CONFIG_SCHEMA, module, 'module'))
}

/**
 * Go `json.Marshal(data.Result)`: its `MarshalJSON` adds `results_id`, always equal to `data_id`.
 *
 * @returns the UTF-8 bytes
 * @throws INTERNAL for a value no Go `Result` can hold
 * @example
 * encodeResult({id: '', deal_id: 'Qm…', data_id: 'Qm…', error: '', instruction_count: 1})
 */
export function encodeResult(result: Result): Uint8Array {
  return toBytes(goJsonEncode(RESULT_SCHEMA, {...result, results_id: result.data_id}, 'result'))
}

/** The shapes above, for callers that encode a nested part (e.g. a deal's pricing). */
export const GO_SCHEMAS = {
  string: STRING,
  int: INT,
  bool: BOOL,
  machineSpec: MACHINE_SPEC,
  serviceConfig: SERVICE_CONFIG,
  dealPricing: DEAL_PRICING,
  dealTimeouts: DEAL_TIMEOUTS,
} as const
