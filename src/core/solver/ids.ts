/**
 * Lilypad IDs (lilypad-protocol.md §3.4): the CIDv0 of a dag-pb node whose `Data` is the Go JSON
 * of the record with its own `id` blanked, as go-merkledag's `NodeWithData` builds it.
 */
import * as dagPb from '@ipld/dag-pb'
import {CID} from 'multiformats/cid'
import {sha256} from 'multiformats/hashes/sha2'
import {encodeDeal, encodeJobOffer, encodeModuleConfig, encodeResourceOffer} from './go-json.js'
import type {Deal, JobOffer, ModuleConfig, ResourceOffer} from './types.js'

/**
 * The CIDv0 (`Qm…`, base58btc) of a link-less dag-pb node holding `data`. Empty data leaves the
 * `Data` field out, as go-merkledag does, which gives the well-known empty-object CID.
 *
 * @param data - the node's Data bytes
 * @returns the CID string
 * @example
 * cidV0OfData(new TextEncoder().encode('{}'))
 */
export function cidV0OfData(data: Uint8Array): string {
  const block = dagPb.encode(data.length > 0 ? {Data: data, Links: []} : {Links: []})
  const digest = sha256.digest(block)
  if (digest instanceof Promise) throw new TypeError('sha256 must be synchronous')
  return CID.createV0(digest).toString()
}

/**
 * The ID of a job offer: the CID of its Go JSON with `id` blanked (the value in `offer.id` is
 * ignored, as the solver ignores the client's).
 *
 * @throws INTERNAL for a value no Go `JobOffer` can hold
 * @example
 * jobOfferId(offer) // 'Qm…'
 */
export function jobOfferId(offer: JobOffer): string {
  return cidV0OfData(encodeJobOffer({...offer, id: ''}))
}

/**
 * The ID of a resource offer: the CID of its Go JSON with `id` blanked (`engines` never counts).
 *
 * @throws INTERNAL for a value no Go `ResourceOffer` can hold
 * @example
 * resourceOfferId(offer) // 'Qm…'
 */
export function resourceOfferId(offer: ResourceOffer): string {
  return cidV0OfData(encodeResourceOffer({...offer, id: ''}))
}

/**
 * The ID of a deal: the CID of the deal with `id` blanked; the embedded offers keep their own IDs,
 * so pass them filled in (the solver fills them before hashing).
 *
 * @throws INTERNAL for a value no Go `Deal` can hold
 * @example
 * dealId({...deal, job_offer: {...jobOffer, id: jobOfferId(jobOffer)}})
 */
export function dealId(deal: Deal): string {
  return cidV0OfData(encodeDeal({...deal, id: ''}))
}

/**
 * The ID of a module (what resource providers list in `modules`): the CID of the ModuleConfig as is.
 *
 * @throws INTERNAL for a value no Go `ModuleConfig` can hold
 * @example
 * moduleId({name: '', repo: 'https://github.com/lilypad-tech/lilypad-module-cowsay', hash: 'v0.0.4', path: '/lilypad_module.json.tmpl'})
 * // 'QmVvTRUBJiiUmEp3P1ubU3djgsbABdF3xswouVpM21rCto'
 */
export function moduleId(module: ModuleConfig): string {
  return cidV0OfData(encodeModuleConfig(module))
}
