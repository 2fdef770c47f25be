import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {JsonRpcProvider} from 'ethers'
import {isLilypadError} from '../../../../src/core/errors/index.js'
import {findSolverUrl} from '../../../../src/core/solver/solver-url.js'
import {type Anvil, freePort, startAnvil} from '../../../helpers/anvil.js'
import {type Protocol, ServiceType, as, deployProtocol, mined} from '../../../helpers/contracts.js'

let anvil: Anvil
let protocol: Protocol

beforeAll(async () => {
  anvil = await startAnvil()
  const [deployer, solver] = anvil.accounts
  if (deployer === undefined || solver === undefined) throw new Error('no dev accounts')
  protocol = await deployProtocol(deployer, deployer.address)
  await mined(as(protocol.users, solver).updateUser('', 'http://127.0.0.1:8081/', [ServiceType.Solver]))
}, 120_000)

afterAll(async () => {
  await anvil.stop()
})

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (isLilypadError(error)) return `${error.code}: ${error.message}`
    throw error
  }
  return 'no error'
}

describe('findSolverUrl', () => {
  it('reads the URL the solver registered in LilypadUsers (any address case)', async () => {
    const solver = anvil.accounts[1]?.address ?? ''
    const url = await findSolverUrl({
      provider: anvil.provider,
      usersAddress: protocol.addresses.users,
      solverAddress: solver.toLowerCase(),
    })
    expect(url).toBe('http://127.0.0.1:8081')
  })

  it('says no solver is found for an address without an entry', async () => {
    const other = anvil.accounts[2]?.address ?? ''
    expect(
      await codeOf(
        findSolverUrl({
          provider: anvil.provider,
          usersAddress: protocol.addresses.users,
          solverAddress: other,
        }),
      ),
    ).toBe(`SOLVER_NOT_REGISTERED: no solver found for address: ${other}`)
  })

  it('refuses a malformed address, and reports an unreachable chain as a chain lookup failure', async () => {
    expect(
      await codeOf(
        findSolverUrl({
          provider: anvil.provider,
          usersAddress: protocol.addresses.users,
          solverAddress: '0x12',
        }),
      ),
    ).toMatch(/^ADDRESS_INVALID/)
    const port = await freePort()
    const dead = new JsonRpcProvider(`http://127.0.0.1:${port}`, 31337, {staticNetwork: true})
    try {
      expect(
        await codeOf(
          findSolverUrl({
            provider: dead,
            usersAddress: protocol.addresses.users,
            solverAddress: anvil.accounts[1]?.address ?? '',
          }),
        ),
      ).toMatch(/^(RPC_UNREACHABLE|CHAIN_ERROR): Cannot look up the solver /)
    } finally {
      dead.destroy()
    }
  })
})
