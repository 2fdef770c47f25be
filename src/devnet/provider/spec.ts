/**
 * What the provider offers by default: this machine's CPUs, memory and the free disk under its data
 * directory, no GPU, at the Go resource provider's default prices.
 */
import {statfs} from 'node:fs/promises'
import {cpus, totalmem} from 'node:os'

import type {DealPricing, MachineSpec} from '../../core/solver/types.js'

const MB = 1024 * 1024

/** The Go resource provider's default pricing: the same defaults as the CLI (§1.2), in whole LP. */
export const DEFAULT_PROVIDER_PRICING: Readonly<DealPricing> = Object.freeze({
  instruction_price: 1,
  payment_collateral: 2,
  results_collateral_multiple: 2,
  mediation_fee: 1,
})

/** This machine's spec: cores × 1000 milli-CPU, total memory and free disk of `dataDir` in MB, no GPU. */
export async function machineSpec(dataDir: string): Promise<MachineSpec> {
  const disk = await statfs(dataDir)
  return {
    gpu: 0,
    gpus: [],
    cpu: Math.max(1, cpus().length) * 1000,
    ram: Math.floor(totalmem() / MB),
    disk: Math.floor((disk.bavail * disk.bsize) / MB),
  }
}
