import {describe, expect, it} from '@jest/globals'
import {HDNodeWallet, Mnemonic, Wallet} from 'ethers'

import {assertKeyAllowed} from '../../../../src/core/deals/keys.js'
import {lilypadErrorOf} from '../../../helpers/errors.js'

/** Derived here from the public mnemonic, independently of core/config. */
const mnemonic = Mnemonic.fromPhrase('test test test test test test test test test test test junk')
const devKey = (i: number): string => HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`).privateKey
const local = {name: 'local', devnet: true}
const testnet = {name: 'testnet', devnet: false}

describe('assertKeyAllowed', () => {
  it('allows the development keys on the devnet chain of a devnet profile', () => {
    for (let i = 0; i < 10; i += 1)
      expect(() => {
        assertKeyAllowed(devKey(i), local, 412346)
      }).not.toThrow()
  })

  it('refuses each of the ten development keys anywhere else', () => {
    for (let i = 0; i < 10; i += 1) {
      expect(
        lilypadErrorOf(() => {
          assertKeyAllowed(devKey(i), testnet, 421614)
        }).code,
      ).toBe('WELL_KNOWN_KEY')
      // The devnet's chain id under another profile, and a devnet profile pointed at another chain.
      expect(
        lilypadErrorOf(() => {
          assertKeyAllowed(devKey(i), testnet, 412346)
        }).code,
      ).toBe('WELL_KNOWN_KEY')
      expect(
        lilypadErrorOf(() => {
          assertKeyAllowed(devKey(i), local, 1)
        }).code,
      ).toBe('WELL_KNOWN_KEY')
    }
  })

  it('never prints the key and lets other keys through', () => {
    const error = lilypadErrorOf(() => {
      assertKeyAllowed(devKey(5), testnet, 421614)
    })
    expect(JSON.stringify({m: error.message, h: error.hints, d: error.details})).not.toContain(
      devKey(5).slice(2),
    )
    expect(() => {
      assertKeyAllowed(Wallet.createRandom().privateKey, testnet, 421614)
    }).not.toThrow()
  })
})
