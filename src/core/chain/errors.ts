/**
 * Turns what ethers throws into LilypadErrors with hints: contract reverts are decoded from their
 * custom error data (never by matching message strings), transport failures become network errors.
 */
import {type ErrorDescription, Interface, formatUnits, isError} from 'ethers'

import {type LilypadError, lilypadError} from '../errors/index.js'
import {LilypadController__factory} from './generated/factories/LilypadController__factory.js'
import {LilypadToken__factory} from './generated/factories/LilypadToken__factory.js'
import {LilypadUsers__factory} from './generated/factories/LilypadUsers__factory.js'
import {stateName} from './states.js'

/** Every custom error the protocol contracts can raise. */
const PROTOCOL_ERRORS = new Interface(
  [...LilypadController__factory.abi, ...LilypadToken__factory.abi, ...LilypadUsers__factory.abi].filter(
    (fragment) => fragment.type === 'error',
  ),
)

/** Why `InvalidTerms(reason)` was raised (contracts/README.md). */
const INVALID_TERMS: Record<number, string> = {
  1: 'the deal ID is empty',
  2: 'the job creator or resource provider is the zero address',
  3: 'the job creator and the resource provider are the same account',
  4: 'a deal needs 1 to 16 mediators',
  5: 'a mediator is the zero address or one of the parties',
  6: 'the agree and mediate collaterals must be 0',
  7: 'every timeout must be between 1 second and 2^32-1 seconds',
  8: 'an amount is too large, or the judge collateral exceeds what the job creator locked',
  9: 'the agree timeout must be at most 7 days',
}

/** Context that makes a chain error actionable. */
export interface ChainErrorContext {
  /** What was being done, e.g. `agree to deal Qm…`. */
  action: string
  /** The account that sent the transaction. */
  account?: string | undefined
  /** Network name, for hints. */
  network?: string | undefined
}

function lp(amount: unknown): string {
  return typeof amount === 'bigint' ? `${formatUnits(amount, 18)} LP` : String(amount)
}

function fromRevert(decoded: ErrorDescription, context: ChainErrorContext, cause: unknown): LilypadError {
  const args = decoded.args
  const who = context.account === undefined ? 'this account' : context.account
  const details = {action: context.action, error: decoded.name}
  switch (decoded.name) {
    case 'NotAParty':
    case 'NotJobCreator':
    case 'NotResourceProvider':
    case 'NotMediator': {
      const role = {
        NotAParty: 'a party of the deal',
        NotJobCreator: "the deal's job creator",
        NotResourceProvider: "the deal's resource provider",
        NotMediator: "the deal's mediator",
      }[decoded.name]
      return lilypadError('DEAL_NOT_A_PARTY', {
        message: `Cannot ${context.action}: ${who} is not ${role}.`,
        hints: ['Check that WEB3_PRIVATE_KEY is the key of the account that holds this deal.'],
        details,
        cause,
      })
    }
    case 'WrongState':
      return lilypadError('DEAL_WRONG_STATE', {
        message: `Cannot ${context.action}: the deal is ${stateName(Number(args[0]))}, but this needs ${stateName(Number(args[1]))}.`,
        hints: ['Look at the deal with lilypad deals show <id>.'],
        details: {...details, current: stateName(Number(args[0])), expected: stateName(Number(args[1]))},
        cause,
      })
    case 'TooEarly': {
      const deadline = new Date(Number(args[0]) * 1000).toISOString()
      return lilypadError('DEAL_TOO_EARLY', {
        message: `Cannot ${context.action} yet: its timeout passes at ${deadline}.`,
        hints: [`Try again after ${deadline}.`],
        details: {...details, deadline},
        cause,
      })
    }
    case 'UnknownDeal':
      return lilypadError('DEAL_NOT_FOUND', {
        message: `Cannot ${context.action}: there is no such deal on chain.`,
        details,
        cause,
      })
    case 'AlreadyAgreed':
      return lilypadError('DEAL_ALREADY_AGREED', {
        message: `Cannot ${context.action}: ${who} already agreed to this deal.`,
        details,
        cause,
      })
    case 'TermsMismatch':
      return lilypadError('DEAL_TERMS_MISMATCH', {
        message: `Cannot ${context.action}: the terms differ from the ones the other party agreed to.`,
        hints: ['Agree to exactly the members, timeouts and pricing of the deal the solver made.'],
        details,
        cause,
      })
    case 'InvalidTerms':
      return lilypadError('DEAL_TERMS_INVALID', {
        message: `Cannot ${context.action}: ${INVALID_TERMS[Number(args[0])] ?? 'the terms are invalid'}.`,
        details: {...details, reason: Number(args[0])},
        cause,
      })
    case 'ERC20InsufficientBalance': {
      // The account short of LP is the token's `sender`: the caller when it pays in, the escrow when it pays out.
      const holder = String(args[0])
      return lilypadError('LP_BALANCE_TOO_LOW', {
        message: `Cannot ${context.action}: ${holder} holds ${lp(args[1])} but ${lp(args[2])} is needed.`,
        hints: [`Send LP to ${holder}${context.network === undefined ? '' : ` on ${context.network}`}.`],
        details: {...details, holder, balance: String(args[1]), needed: String(args[2])},
        cause,
      })
    }
    case 'ERC20InsufficientAllowance':
      return lilypadError('LP_ALLOWANCE_TOO_LOW', {
        message: `Cannot ${context.action}: the payments contract may spend ${lp(args[1])} of ${who}'s LP but ${lp(args[2])} is needed.`,
        hints: ['Approve the payments contract for the amount, or agree with a permit signature.'],
        details: {...details, allowance: String(args[1]), needed: String(args[2])},
        cause,
      })
    case 'ERC2612ExpiredSignature':
    case 'ERC2612InvalidSigner':
      return lilypadError('PERMIT_INVALID', {
        message: `Cannot ${context.action}: the permit signature is ${decoded.name === 'ERC2612ExpiredSignature' ? 'expired' : 'not signed by the token owner'}.`,
        hints: ['Sign a fresh permit for the payments contract with the paying account.'],
        details,
        cause,
      })
    default:
      return lilypadError('TX_REVERTED', {
        message: `Cannot ${context.action}: the contract refused (${decoded.name}).`,
        details,
        cause,
      })
  }
}

/**
 * Converts an error thrown by ethers while calling or sending to the protocol contracts.
 *
 * @param error - what ethers threw
 * @param context - what was being done, by whom
 * @returns a LilypadError with a code, a message and hints; the original is kept as `cause`
 */
export function toChainError(error: unknown, context: ChainErrorContext): LilypadError {
  if (isError(error, 'CALL_EXCEPTION')) {
    const data = error.data
    const decoded = typeof data === 'string' && data.length >= 10 ? PROTOCOL_ERRORS.parseError(data) : null
    if (decoded !== null) return fromRevert(decoded, context, error)
    return lilypadError('TX_REVERTED', {
      message: `Cannot ${context.action}: the transaction reverted${error.reason === null ? '' : ` (${error.reason})`}.`,
      details: {action: context.action},
      cause: error,
    })
  }
  if (isError(error, 'INSUFFICIENT_FUNDS')) {
    return lilypadError('INSUFFICIENT_FUNDS', {
      message: `Cannot ${context.action}: ${context.account ?? 'the account'} has too little native currency to pay for gas.`,
      hints: [
        `Fund ${context.account ?? 'the account'} with ETH${context.network === undefined ? '' : ` on ${context.network}`}.`,
      ],
      details: {action: context.action},
      cause: error,
    })
  }
  if (
    isError(error, 'NONCE_EXPIRED') ||
    isError(error, 'REPLACEMENT_UNDERPRICED') ||
    isError(error, 'TRANSACTION_REPLACED')
  ) {
    return lilypadError('NONCE_CONFLICT', {
      message: `Cannot ${context.action}: another transaction from the same account took its place.`,
      hints: ['Wait for the account’s pending transactions to be mined, then try again.'],
      details: {action: context.action},
      cause: error,
    })
  }
  if (isError(error, 'TIMEOUT')) {
    return lilypadError('TIMEOUT', {
      message: `Cannot ${context.action}: the RPC endpoint did not answer in time.`,
      details: {action: context.action},
      cause: error,
    })
  }
  if (isError(error, 'SERVER_ERROR')) {
    return lilypadError('RPC_ERROR', {
      message: `Cannot ${context.action}: the RPC endpoint answered with an error${error.response === undefined ? '' : ` (HTTP ${error.response.statusCode})`}.`,
      hints: ['The endpoint may be rate-limiting or failing: try again, or use another WEB3_RPC_URL.'],
      details: {action: context.action},
      cause: error,
    })
  }
  if (isError(error, 'NETWORK_ERROR')) {
    return lilypadError('RPC_UNREACHABLE', {
      message: `Cannot ${context.action}: the RPC endpoint could not be reached.`,
      hints: ['Check that the node is running and WEB3_RPC_URL (or --network) is right.'],
      details: {action: context.action},
      cause: error,
    })
  }
  return lilypadError('CHAIN_ERROR', {
    message: `Cannot ${context.action}: ${error instanceof Error ? (error.message.split('\n')[0] ?? 'chain error') : 'chain error'}.`,
    details: {action: context.action},
    cause: error,
  })
}
