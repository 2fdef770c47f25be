/**
 * LilypadUsers, the service registry: registration for msg.sender, per-role lists, and their errors.
 */
import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {ZeroAddress} from 'ethers'
import type {Wallet} from 'ethers'

import {startAnvil} from '../helpers/anvil.js'
import type {Anvil} from '../helpers/anvil.js'
import {ServiceType, as, deployProtocol, errorInterface, mined, revertOf} from '../helpers/contracts.js'
import type {UsersContract} from '../helpers/contracts.js'

let chain: Anvil
let users: UsersContract
let solver: Wallet
let mediatorA: Wallet
let mediatorB: Wallet
let mediatorC: Wallet

beforeAll(async () => {
  chain = await startAnvil()
  const [deployer, a, b, c, d] = chain.accounts as [Wallet, Wallet, Wallet, Wallet, Wallet]
  ;[solver, mediatorA, mediatorB, mediatorC] = [a, b, c, d]
  users = (await deployProtocol(deployer, deployer.address)).users
})

afterAll(async () => {
  await chain.stop()
})

const reverts = (action: Promise<unknown>) => revertOf(action, errorInterface())

describe('LilypadUsers', () => {
  it('updateUser registers the caller (never anyone else) and getUser returns it', async () => {
    await mined(as(users, solver).updateUser('QmMeta', 'http://127.0.0.1:8081', [ServiceType.Solver]))
    const user = await users.getUser(solver.address)
    expect([user.userAddress, user.metadataCID, user.url, [...user.roles]]).toEqual([
      solver.address,
      'QmMeta',
      'http://127.0.0.1:8081',
      [BigInt(ServiceType.Solver)],
    ])
    const stranger = await users.getUser(mediatorC.address)
    expect([stranger.userAddress, stranger.url, [...stranger.roles]]).toEqual([ZeroAddress, '', []])
  })

  it('lists a registered user under a role it holds, once, however often it asks', async () => {
    await mined(as(users, solver).addUserToList(ServiceType.Solver))
    await mined(as(users, solver).addUserToList(ServiceType.Solver))
    expect(await users.showUsersInList(ServiceType.Solver)).toEqual([solver.address])
    expect(await users.showUsersInList(ServiceType.Mediator)).toEqual([])
  })

  it('refuses to list an unregistered user or a role not held', async () => {
    expect(await reverts(as(users, mediatorC).addUserToList(ServiceType.Mediator))).toEqual({
      name: 'UserNotFound',
      args: [mediatorC.address],
    })
    expect(await reverts(as(users, solver).addUserToList(ServiceType.Mediator))).toEqual({
      name: 'RoleNotHeld',
      args: [solver.address, BigInt(ServiceType.Mediator)],
    })
  })

  it('removes from a list (swap-and-pop) and ignores a removal of someone not listed', async () => {
    for (const m of [mediatorA, mediatorB, mediatorC]) {
      await mined(
        as(users, m).updateUser('', `http://${m.address}`, [
          ServiceType.Mediator,
          ServiceType.ResourceProvider,
        ]),
      )
      await mined(as(users, m).addUserToList(ServiceType.Mediator))
    }
    expect(await users.showUsersInList(ServiceType.Mediator)).toEqual([
      mediatorA.address,
      mediatorB.address,
      mediatorC.address,
    ])
    await mined(as(users, mediatorA).removeUserFromList(ServiceType.Mediator))
    expect(await users.showUsersInList(ServiceType.Mediator)).toEqual([mediatorC.address, mediatorB.address])
    await mined(as(users, mediatorA).removeUserFromList(ServiceType.Mediator))
    expect(await users.showUsersInList(ServiceType.Mediator)).toEqual([mediatorC.address, mediatorB.address])
    // Re-listing works after a removal.
    await mined(as(users, mediatorA).addUserToList(ServiceType.Mediator))
    expect(await users.showUsersInList(ServiceType.Mediator)).toEqual([
      mediatorC.address,
      mediatorB.address,
      mediatorA.address,
    ])
  })

  it('dropping a role in updateUser also drops the listing for it', async () => {
    await mined(as(users, mediatorB).addUserToList(ServiceType.ResourceProvider))
    expect(await users.showUsersInList(ServiceType.ResourceProvider)).toEqual([mediatorB.address])
    await mined(as(users, mediatorB).updateUser('QmNew', 'http://new', [ServiceType.ResourceProvider]))
    expect(await users.showUsersInList(ServiceType.Mediator)).toEqual([mediatorC.address, mediatorA.address])
    expect(await users.showUsersInList(ServiceType.ResourceProvider)).toEqual([mediatorB.address])
    expect((await users.getUser(mediatorB.address)).url).toBe('http://new')
  })
})
