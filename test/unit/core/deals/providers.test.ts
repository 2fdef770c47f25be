import {describe, expect, it} from '@jest/globals'

import {checkProviders} from '../../../../src/core/deals/run.js'
import {validateModuleSpec} from '../../../../src/core/module/validate.js'
import type {MachineSpec, ResourceOfferContainer} from '../../../../src/core/solver/types.js'
import {lilypadErrorOf} from '../../../helpers/errors.js'

const pricing = {
  instruction_price: 1,
  payment_collateral: 2,
  results_collateral_multiple: 2,
  mediation_fee: 1,
}

function offer(spec: Partial<MachineSpec>, engines?: string[]): ResourceOfferContainer {
  return {
    id: 'QmOffer',
    deal_id: '',
    resource_provider: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
    state: 0,
    resource_offer: {
      id: 'QmOffer',
      created_at: 0,
      resource_provider: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
      index: 0,
      spec: {gpu: 0, gpus: null, cpu: 4000, ram: 8000, disk: 100_000, ...spec},
      modules: null,
      mode: 'FixedPrice',
      default_pricing: pricing,
      module_pricing: null,
      trusted_parties: {solver: '', mediator: null, api_host: ''},
      ...(engines === undefined ? {} : {engines}),
    },
  }
}

function module(engine: 'docker' | 'wasm'): ReturnType<typeof validateModuleSpec>['module'] {
  const spec =
    engine === 'docker'
      ? {Engine: 'docker', Docker: {Image: 'alpine:3.20'}}
      : {Engine: 'wasm', Wasm: {EntryModule: {Path: '/module.wasm'}}}
  return validateModuleSpec({
    machine: {gpu: 0, cpu: 1000, ram: 100},
    job: {APIVersion: 'V1beta1', Spec: spec},
  }).module
}

const job: MachineSpec = {gpu: 0, gpus: null, cpu: 1000, ram: 100, disk: 0}

describe('checkProviders', () => {
  it('says at once that no provider runs Docker jobs', () => {
    const error = lilypadErrorOf(() => {
      checkProviders([offer({}, ['wasm'])], module('docker'), job, 'local')
    })
    expect(error.code).toBe('NO_PROVIDER')
    expect(error.category).toBe('job')
    expect(error.message).toBe('No provider on "local" runs Docker jobs.')
  })

  it('counts offers without an engines list (the real network) as able to run anything', () => {
    expect(() => {
      checkProviders([offer({})], module('docker'), job, 'testnet')
    }).not.toThrow()
    expect(() => {
      checkProviders([offer({}, ['wasm'])], module('wasm'), job, 'local')
    }).not.toThrow()
  })

  it('needs a machine at least as large in every dimension', () => {
    const big: MachineSpec = {...job, gpu: 1, gpus: [{name: 'a', vendor: 'b', vram: 24_000}]}
    const error = lilypadErrorOf(() => {
      checkProviders(
        [offer({gpu: 1, gpus: [{name: 'a', vendor: 'b', vram: 8_000}]})],
        module('docker'),
        big,
        'x',
      )
    })
    expect(error.code).toBe('NO_PROVIDER')
    expect(error.message).toContain('machine this large')
    expect(() => {
      checkProviders(
        [offer({gpu: 1, gpus: [{name: 'a', vendor: 'b', vram: 24_000}]})],
        module('docker'),
        big,
        'x',
      )
    }).not.toThrow()
  })

  it('reports an empty network as such', () => {
    expect(
      lilypadErrorOf(() => {
        checkProviders([], module('wasm'), job, 'local')
      }).message,
    ).toContain('offers any resources')
  })
})
