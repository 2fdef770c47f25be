import {describe, expect, it} from '@jest/globals'
import {CHAIN_DEAL_STATES} from '../../../../src/core/chain/states.js'
import {
  GO_AGREEMENT_STATES,
  GO_STATE,
  chainToGoState,
  goStateName,
  goStateNumber,
  goToChainState,
  isActiveState,
  isTerminalState,
  isTimeoutState,
} from '../../../../src/core/solver/states.js'

describe('Go state numbering (lilypad-protocol.md §3.2)', () => {
  it('numbers the Go states as pkg/data/enums.go does', () => {
    expect(GO_AGREEMENT_STATES.slice(0, 17)).toEqual([
      'DealNegotiating',
      'DealAgreed',
      'ResultsSubmitted',
      'ResultsAccepted',
      'ResultsChecked',
      'MediationAccepted',
      'MediationRejected',
      'TimeoutSubmitResults',
      'TimeoutJudgeResults',
      'TimeoutMediateResults',
      'JobOfferCancelled',
      'JobTimedOut',
      'Uploading',
      'Downloading',
      'TimeoutMatch',
      'TimeoutExecution',
      'TimeoutDownload',
    ])
    expect(GO_STATE.TimeoutAgree).toBe(17)
    expect(Object.isFrozen(GO_STATE)).toBe(true)
  })

  it('names numbers and numbers names, both ways', () => {
    for (const [index, name] of GO_AGREEMENT_STATES.entries()) {
      expect(goStateName(index)).toBe(name)
      expect(goStateNumber(name)).toBe(index)
    }
    expect(goStateName(99)).toBe('State99')
    expect(goStateNumber('dealagreed')).toBeUndefined()
    expect(goStateNumber('toString')).toBeUndefined()
  })

  it('has the predicates of Go (terminal: 3 5 6 10 11 14 15 16, plus the chain timeouts)', () => {
    const terminal = GO_AGREEMENT_STATES.map((_, n) => n).filter(isTerminalState)
    expect(terminal).toEqual([3, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17])
    const timeouts = GO_AGREEMENT_STATES.map((_, n) => n).filter(isTimeoutState)
    expect(timeouts).toEqual([7, 8, 9, 11, 14, 15, 16, 17])
    expect([0, 1, 2, 12, 13].map(isActiveState)).toEqual([true, true, false, false, false])
    for (const n of [0, 1, 2, 4, 12, 13]) expect(isTerminalState(n)).toBe(false)
  })
})

describe('chain ↔ Go conversion', () => {
  it('maps 0-6 to themselves, the chain TimeoutAgree to 17, and 8-10 to Go 7-9', () => {
    expect(CHAIN_DEAL_STATES.map((_, n) => chainToGoState(n))).toEqual([0, 1, 2, 3, 4, 5, 6, 17, 7, 8, 9])
  })

  it('round-trips every chain state, and has no chain number for off-chain states', () => {
    for (const n of CHAIN_DEAL_STATES.keys()) expect(goToChainState(chainToGoState(n))).toBe(n)
    for (const name of [
      'JobOfferCancelled',
      'JobTimedOut',
      'Uploading',
      'Downloading',
      'TimeoutMatch',
    ] as const) {
      expect(goToChainState(GO_STATE[name])).toBeUndefined()
    }
    expect(goToChainState(99)).toBeUndefined()
  })

  it('refuses a chain number the contracts do not define', () => {
    expect(() => chainToGoState(11)).toThrow(RangeError)
    expect(() => chainToGoState(-1)).toThrow('Unknown chain state -1')
  })
})
