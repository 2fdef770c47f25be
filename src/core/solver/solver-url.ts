/**
 * Finding the solver's URL the way the Go CLI does (lilypad-protocol.md §1.9 step 4): the solver
 * registers it in LilypadUsers, keyed by its address.
 */
import {type ContractRunner, ZeroAddress, getAddress} from 'ethers'
import {toChainError} from '../chain/errors.js'
import {LilypadUsers__factory} from '../chain/generated/factories/LilypadUsers__factory.js'
import {lilypadError} from '../errors/index.js'

/** What {@link findSolverUrl} needs. */
export interface FindSolverUrlOptions {
  /** A provider (or signer) connected to the network's chain. */
  readonly provider: ContractRunner
  /** The LilypadUsers contract's address. */
  readonly usersAddress: string
  /** The solver's address (`SERVICE_SOLVER`). */
  readonly solverAddress: string
}

/**
 * Reads `LilypadUsers.getUser(solver).url`.
 *
 * @returns the solver's base URL, without a trailing slash
 * @throws SOLVER_NOT_REGISTERED when the solver has no entry or an empty URL; ADDRESS_INVALID for a
 *   malformed address; RPC_UNREACHABLE, RPC_ERROR, CHAIN_ERROR when the chain cannot be read
 * @example
 * const url = await findSolverUrl({provider, usersAddress, solverAddress: profile.solver})
 */
export async function findSolverUrl(options: FindSolverUrlOptions): Promise<string> {
  let solver: string
  try {
    solver = getAddress(options.solverAddress)
  } catch (cause) {
    throw lilypadError('ADDRESS_INVALID', {
      message: `The solver address "${options.solverAddress}" is not an Ethereum address`,
      hints: ['Set the solver address of the network profile (SERVICE_SOLVER).'],
      cause,
    })
  }
  const users = LilypadUsers__factory.connect(options.usersAddress, options.provider)
  let user: Awaited<ReturnType<typeof users.getUser>>
  try {
    user = await users.getUser(solver)
  } catch (error) {
    throw toChainError(error, {action: `look up the solver ${solver} in LilypadUsers`})
  }
  if (user.userAddress === ZeroAddress || user.url === '') {
    throw lilypadError('SOLVER_NOT_REGISTERED', {
      message: `no solver found for address: ${solver}`,
      hints: [
        'Check the solver address of the network profile (SERVICE_SOLVER) and that the profile names the right chain.',
        'A solver registers its URL in LilypadUsers when it starts; or set the profile’s solverUrl.',
      ],
      details: {solver, usersAddress: options.usersAddress},
    })
  }
  return user.url.replace(/\/+$/, '')
}
