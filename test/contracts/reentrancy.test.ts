/**
 * The reentrancy guard, exercised with a hostile token: a controller deployed against a token whose transfer
 * calls back into the controller while it is paying out. The callback must fail with `ReentrantCall` and the
 * payout must still be exact.
 */
import {createRequire} from 'node:module'
import {readFileSync} from 'node:fs'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {MaxUint256} from 'ethers'
import type {BaseContract, ContractTransactionResponse, InterfaceAbi, Wallet} from 'ethers'

import {startAnvil} from '../helpers/anvil.js'
import type {Anvil} from '../helpers/anvil.js'
import {
  CHECK_RESULT_OVERRIDES,
  LP,
  State,
  as,
  deployFrom,
  loadArtifact,
  mined,
  standardTerms,
} from '../helpers/contracts.js'
import type {ControllerContract} from '../helpers/contracts.js'

const require = createRequire(import.meta.url)

/** A test-only ERC-20 that, once armed, calls `target` with `payload` whenever `target` sends tokens. */
const HOSTILE_TOKEN = `
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
contract HostileToken is ERC20 {
    address public target;
    bytes public payload;
    bool public reentered;
    bytes public lastError;
    constructor() ERC20("Hostile", "HOST") { _mint(msg.sender, 1e27); }
    function arm(address target_, bytes calldata payload_) external { target = target_; payload = payload_; }
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address t = target;
        if (t != address(0) && from == t) {
            target = address(0);
            (bool ok, bytes memory ret) = t.call(payload);
            reentered = ok;
            lastError = ret;
        }
    }
}`

interface HostileToken extends BaseContract {
  transfer(to: string, amount: bigint): Promise<ContractTransactionResponse>
  approve(spender: string, amount: bigint): Promise<ContractTransactionResponse>
  arm(target: string, payload: string): Promise<ContractTransactionResponse>
  reentered(): Promise<boolean>
  lastError(): Promise<string>
  balanceOf(account: string): Promise<bigint>
}

function compileHostileToken(): {abi: unknown[]; bytecode: string} {
  const solc = require('solc') as {
    compile: (input: string, options: {import: (p: string) => unknown}) => string
  }
  const input = {
    language: 'Solidity',
    sources: {'HostileToken.sol': {content: HOSTILE_TOKEN}},
    settings: {evmVersion: 'cancun', outputSelection: {'*': {'*': ['abi', 'evm.bytecode.object']}}},
  }
  const findImports = (path: string) => {
    try {
      return {contents: readFileSync(require.resolve(path), 'utf8')}
    } catch {
      return {error: `not found: ${path}`}
    }
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input), {import: findImports})) as {
    errors?: {severity: string; formattedMessage: string}[]
    contracts: Record<string, Record<string, {abi: unknown[]; evm: {bytecode: {object: string}}}>>
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  const compiled = output.contracts['HostileToken.sol']?.HostileToken
  if (compiled === undefined) throw new Error('HostileToken missing from solc output')
  return {abi: compiled.abi, bytecode: `0x${compiled.evm.bytecode.object}`}
}

let chain: Anvil
let token: HostileToken
let controller: ControllerContract
let jc: Wallet
let rp: Wallet
let mediator: Wallet

beforeAll(async () => {
  chain = await startAnvil()
  const [deployer, a, b, c] = chain.accounts as [Wallet, Wallet, Wallet, Wallet]
  ;[jc, rp, mediator] = [a, b, c]
  const hostile = compileHostileToken()
  token = (await deployFrom(hostile.abi as InterfaceAbi, hostile.bytecode, deployer)) as HostileToken
  const users = loadArtifact('LilypadUsers')
  const usersContract = await deployFrom(users.abi, users.bytecode, deployer)
  const artifact = loadArtifact('LilypadController')
  controller = (await deployFrom(artifact.abi, artifact.bytecode, deployer, [
    await token.getAddress(),
    await usersContract.getAddress(),
    deployer.address,
  ])) as ControllerContract
  for (const party of [jc, rp]) {
    await mined(token.transfer(party.address, LP(100)))
    await mined(as(token, party).approve(await controller.getAddress(), MaxUint256))
  }
}, 120_000)

afterAll(async () => {
  await chain.stop()
})

describe('reentrancy guard', () => {
  it('a token calling back into the controller during a payout gets ReentrantCall', async () => {
    const address = await controller.getAddress()
    const {members, timeouts, pricing} = standardTerms({
      solver: mediator.address,
      jobCreator: jc.address,
      resourceProvider: rp.address,
      mediators: [mediator.address],
    })
    const dealId = 'QmReentrancy0000000000000000000000000000000000'
    await mined(as(controller, jc).agree(dealId, members, timeouts, pricing))
    await mined(as(controller, rp).agree(dealId, members, timeouts, pricing))
    await mined(as(controller, rp).addResult(dealId, '', 'QmData', 1n))
    // While paying out of acceptResult, the token tries to run acceptResult (and then anything) again.
    await mined(token.arm(address, controller.interface.encodeFunctionData('acceptResult', [dealId])))
    const before = await Promise.all([token.balanceOf(jc.address), token.balanceOf(rp.address)])
    await mined(as(controller, jc).acceptResult(dealId))
    expect(await token.reentered()).toBe(false)
    const selector = controller.interface.getError('ReentrantCall')?.selector
    expect(await token.lastError()).toBe(selector)
    const after = await Promise.all([token.balanceOf(jc.address), token.balanceOf(rp.address)])
    expect([after[0] - before[0], after[1] - before[1]]).toEqual([LP(2), LP(3)])
    expect(await controller.isState(dealId, State.ResultsAccepted)).toBe(true)
    expect(await token.balanceOf(address)).toBe(0n)
  })

  it('the guard is released after each call: the next deal on the same controller works', async () => {
    const {members, timeouts, pricing} = standardTerms({
      solver: mediator.address,
      jobCreator: jc.address,
      resourceProvider: rp.address,
      mediators: [mediator.address],
    })
    const dealId = 'QmReentrancy0000000000000000000000000000000001'
    await mined(as(controller, jc).agree(dealId, members, timeouts, pricing))
    await mined(as(controller, rp).agree(dealId, members, timeouts, pricing))
    await mined(as(controller, rp).addResult(dealId, '', 'QmData', 1n))
    await mined(as(controller, jc).checkResult(dealId, CHECK_RESULT_OVERRIDES))
    await mined(as(controller, mediator).mediationAcceptResult(dealId))
    expect(await controller.isState(dealId, State.MediationAccepted)).toBe(true)
  })
})
