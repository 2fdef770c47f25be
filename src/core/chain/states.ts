/**
 * Deal states as the contracts number them (the Solidity column of the protocol's state table).
 * 0–6 equal the Go solver's numbers; 7–10 are one higher than Go's, which never had TimeoutAgree.
 */
export const CHAIN_DEAL_STATES = [
  'DealNegotiating',
  'DealAgreed',
  'ResultsSubmitted',
  'ResultsAccepted',
  'ResultsChecked',
  'MediationAccepted',
  'MediationRejected',
  'TimeoutAgree',
  'TimeoutSubmitResults',
  'TimeoutJudgeResults',
  'TimeoutMediateResults',
] as const

/** A deal state name. */
export type ChainDealState = (typeof CHAIN_DEAL_STATES)[number]

/** The name of an on-chain state number (`State<n>` for an unknown number). */
export function stateName(state: number): string {
  return CHAIN_DEAL_STATES[state] ?? `State${state}`
}
