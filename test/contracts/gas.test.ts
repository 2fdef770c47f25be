/**
 * The gas budget of the issue, as a check: each party's whole path (approve or permit, agree, and
 * acceptResult or addResult) with the terms costs at most 250,000 gas in every order, and every
 * contract fits under EIP-170. Gas is deterministic (not a wall-clock time); bench/gas.mjs prints the
 * same figures.
 */
import {describe, expect, it} from '@jest/globals'

import {type GasReport, benchGas} from '../../bench/gas.mjs'

describe('gas budget', () => {
  let report: GasReport

  it('measures every scenario', async () => {
    report = await benchGas({log: () => undefined})
    expect(Object.keys(report.paths)).toHaveLength(6)
  }, 120_000)

  it('keeps both party paths at or under 250,000 gas in every scenario', () => {
    for (const [scenario, gas] of Object.entries(report.paths)) {
      expect([scenario, gas.jcPath <= 250_000, gas.rpPath <= 250_000]).toEqual([scenario, true, true])
      // Far below the classic contracts (1,027,588 and 675,220).
      expect(gas.jcPath).toBeLessThan(1_027_588 / 4)
    }
  })

  it('fits every contract under the 24,576-byte limit', () => {
    for (const [name, size] of Object.entries(report.sizes))
      expect([name, size <= 24_576]).toEqual([name, true])
  })
})
