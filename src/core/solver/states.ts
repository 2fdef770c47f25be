/**
 * Agreement states in the two numberings of the protocol (lilypad-protocol.md §3.2): the Go
 * solver's (JSON `state`, websocket events, `?state=` names) and the contracts' (`DealStateChange`).
 * 0–6 are equal; the chain's 8–10 are Go's 7–9, because Go never had `TimeoutAgree`. Conversions are
 * explicit: never compare a chain number with a Go number.
 */
import {CHAIN_DEAL_STATES} from '../chain/states.js'

/** Go state names, indexed by their number. `TimeoutAgree` (17) is our extension for the chain's 7. */
export const GO_AGREEMENT_STATES = [
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
  'TimeoutAgree',
] as const

/** A Go state name. */
export type GoStateName = (typeof GO_AGREEMENT_STATES)[number]

/** The Go number of each state name. */
export const GO_STATE: Readonly<Record<GoStateName, number>> = Object.freeze(
  Object.fromEntries(GO_AGREEMENT_STATES.map((name, index) => [name, index])) as Record<GoStateName, number>,
)

/** The name of a Go state number (`State<n>` when unknown). */
export function goStateName(state: number): string {
  return GO_AGREEMENT_STATES[state] ?? `State${state}`
}

/** The Go number of a state name, or `undefined` when the name is unknown. */
export function goStateNumber(name: string): number | undefined {
  // Own keys only: a query such as `?state=toString` must not find Object.prototype's members.
  return Object.hasOwn(GO_STATE, name) ? (GO_STATE as Record<string, number>)[name] : undefined
}

const TERMINAL = new Set<number>([
  GO_STATE.ResultsAccepted,
  GO_STATE.MediationAccepted,
  GO_STATE.MediationRejected,
  GO_STATE.TimeoutSubmitResults,
  GO_STATE.TimeoutJudgeResults,
  GO_STATE.TimeoutMediateResults,
  GO_STATE.JobOfferCancelled,
  GO_STATE.JobTimedOut,
  GO_STATE.TimeoutMatch,
  GO_STATE.TimeoutExecution,
  GO_STATE.TimeoutDownload,
  GO_STATE.TimeoutAgree,
])

/** True for a state no party can move on from (Go's `IsTerminalAgreementState`, plus the chain's timeouts). */
export function isTerminalState(state: number): boolean {
  return TERMINAL.has(state)
}

/** True for the timeout states. */
export function isTimeoutState(state: number): boolean {
  return (
    state === GO_STATE.TimeoutMatch ||
    state === GO_STATE.TimeoutExecution ||
    state === GO_STATE.TimeoutDownload ||
    state === GO_STATE.JobTimedOut ||
    state === GO_STATE.TimeoutSubmitResults ||
    state === GO_STATE.TimeoutJudgeResults ||
    state === GO_STATE.TimeoutMediateResults ||
    state === GO_STATE.TimeoutAgree
  )
}

/** Go's "active" offer: unmatched or matched, not yet resulted. */
export function isActiveState(state: number): boolean {
  return state === GO_STATE.DealNegotiating || state === GO_STATE.DealAgreed
}

/**
 * The Go number of a chain state number.
 *
 * @throws RangeError for a number the contracts do not define
 */
export function chainToGoState(chainState: number): number {
  const name = CHAIN_DEAL_STATES[chainState]
  if (name === undefined) throw new RangeError(`Unknown chain state ${chainState}`)
  return GO_STATE[name]
}

/** The chain number of a Go state number, or `undefined` for a state that exists only off chain. */
export function goToChainState(goState: number): number | undefined {
  const name = GO_AGREEMENT_STATES[goState]
  if (name === undefined) return undefined
  const index = (CHAIN_DEAL_STATES as readonly string[]).indexOf(name)
  return index === -1 ? undefined : index
}
