/**
 * LilypadOnChainJobCreator and ExampleClient on anvil: the deposit escrowed at `runJob` and paid to the
 * service on `submitResults`, refunded on `failJob` and after the timeout (exact balances, LP conserved),
 * input validation naming the bad index, the service-only calls, single settlement, clients that revert,
 * burn their gas, revert with huge data or re-enter cannot block settlement, and the permit path.
 */
import {createRequire} from 'node:module'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {ErrorFragment, Interface, MaxUint256, Wallet, ZeroAddress} from 'ethers'
import type {BaseContract, ContractTransactionResponse, InterfaceAbi, TransactionReceipt} from 'ethers'

import type {ExampleClient} from '../../src/core/chain/generated/ExampleClient.js'
import type {LilypadOnChainJobCreator} from '../../src/core/chain/generated/LilypadOnChainJobCreator.js'
import {increaseTime, startAnvil} from '../helpers/anvil.js'
import type {Anvil} from '../helpers/anvil.js'
import {
  LP,
  as,
  deployFrom,
  deployProtocol,
  loadArtifact,
  mined,
  revertOf,
  signPermit,
} from '../helpers/contracts.js'
import type {TokenContract} from '../helpers/contracts.js'

const require = createRequire(import.meta.url)

const DEPOSIT = LP(2)
const TIMEOUT = 3600n
const JobState = {None: 0n, Pending: 1n, Completed: 2n, Failed: 3n, TimedOut: 4n} as const
const DEAL_ID = 'QmDeal0000000000000000000000000000000000000001'
const DATA_ID = 'QmData0000000000000000000000000000000000000001'

/** Test-only clients: each misbehaves in its callbacks in one way, chosen by `mode`. */
const TEST_CLIENT = `
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;
interface IJobCreator {
    function runJob(string calldata module, string[] calldata inputs, address payee) external returns (uint256);
    function refundTimedOut(uint256 jobId) external;
}
contract TestClient {
    // 0 records, 1 reverts, 2 burns all its gas, 3 reverts with 100 kB, 4 re-enters the job creator
    uint8 public mode;
    IJobCreator public immutable jobCreator;
    uint256 public calls;
    constructor(IJobCreator jobCreator_) { jobCreator = jobCreator_; }
    function setMode(uint8 mode_) external { mode = mode_; }
    function run(string calldata module, string[] calldata inputs, address payee) external returns (uint256) {
        return jobCreator.runJob(module, inputs, payee);
    }
    function _misbehave(uint256 jobId) private {
        uint8 m = mode;
        if (m == 1) revert("client says no");
        if (m == 2) { while (true) { calls += 1; } }
        if (m == 3) { assembly { revert(0, 100000) } }
        if (m == 4) { jobCreator.refundTimedOut(jobId); }
        calls += 1;
    }
    function submitResults(uint256 jobId, string calldata, string calldata) external { _misbehave(jobId); }
    function jobFailed(uint256 jobId, string calldata) external { _misbehave(jobId); }
}`

interface TestClient extends BaseContract {
  setMode(mode: number): Promise<ContractTransactionResponse>
  run(module: string, inputs: string[], payee: string): Promise<ContractTransactionResponse>
  calls(): Promise<bigint>
}

function compileTestClient(): {abi: InterfaceAbi; bytecode: string} {
  const solc = require('solc') as {compile: (input: string) => string}
  const input = {
    language: 'Solidity',
    sources: {'TestClient.sol': {content: TEST_CLIENT}},
    settings: {evmVersion: 'cancun', outputSelection: {'*': {'*': ['abi', 'evm.bytecode.object']}}},
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: {severity: string; formattedMessage: string}[]
    contracts: Record<string, Record<string, {abi: InterfaceAbi; evm: {bytecode: {object: string}}}>>
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  const compiled = output.contracts['TestClient.sol']?.TestClient
  if (compiled === undefined) throw new Error('TestClient missing from solc output')
  return {abi: compiled.abi, bytecode: `0x${compiled.evm.bytecode.object}`}
}

/** The custom errors of the job creator, the example client and the token. */
function errors(): Interface {
  const fragments = new Map<string, ErrorFragment>()
  for (const name of ['LilypadOnChainJobCreator', 'ExampleClient', 'LilypadToken']) {
    for (const fragment of new Interface(loadArtifact(name).abi).fragments) {
      if (fragment instanceof ErrorFragment) fragments.set(fragment.format('sighash'), fragment)
    }
  }
  return new Interface([...fragments.values()])
}

let chain: Anvil
let token: TokenContract
let creator: LilypadOnChainJobCreator
let client: ExampleClient
let testClient: TestClient
let creatorAddress: string
let deployer: Wallet
let service: Wallet
let alice: Wallet
let bob: Wallet
let stranger: Wallet
let errorsAbi: Interface
/** Everyone whose LP the tests move: their sum never changes. */
let holders: string[]
let supply: bigint

const sumOf = async (): Promise<bigint> => {
  const all = await Promise.all(holders.map((h) => token.balanceOf(h)))
  return all.reduce((a, b) => a + b, 0n)
}
const balancesOf = (addresses: string[]): Promise<bigint[]> =>
  Promise.all(addresses.map((a) => token.balanceOf(a)))

/** Decoded logs of `contract` in `receipt`. */
function logsOf(contract: BaseContract, receipt: TransactionReceipt): {name: string; args: unknown[]}[] {
  const address = (contract.target as string).toLowerCase()
  return receipt.logs
    .filter((log) => log.address.toLowerCase() === address)
    .map((log) => contract.interface.parseLog(log))
    .filter((parsed) => parsed !== null)
    .map((parsed) => ({name: parsed.name, args: [...parsed.args.toArray(true)] as unknown[]}))
}

/** Runs `cowsay:v0.0.3` with `Message=hi` through the example client, paid by `payee`. */
async function runThroughExample(payee: Wallet, inputs = ['Message=hi']): Promise<bigint> {
  const receipt = await mined(as(client, payee).run('cowsay:v0.0.3', inputs))
  const added = logsOf(creator, receipt).find((log) => log.name === 'JobAdded')
  if (added === undefined) throw new Error('no JobAdded')
  return added.args[0] as bigint
}

beforeAll(async () => {
  chain = await startAnvil()
  ;[deployer, service, alice, bob, stranger] = chain.accounts as [Wallet, Wallet, Wallet, Wallet, Wallet]
  const protocol = await deployProtocol(deployer, deployer.address)
  token = protocol.token
  const artifact = loadArtifact('LilypadOnChainJobCreator')
  creator = (await deployFrom(artifact.abi, artifact.bytecode, deployer, [
    protocol.addresses.token,
    service.address,
    DEPOSIT,
    TIMEOUT,
  ])) as unknown as LilypadOnChainJobCreator
  creatorAddress = await creator.getAddress()
  const example = loadArtifact('ExampleClient')
  client = (await deployFrom(example.abi, example.bytecode, deployer, [
    creatorAddress,
  ])) as unknown as ExampleClient
  const test = compileTestClient()
  testClient = (await deployFrom(test.abi, test.bytecode, deployer, [creatorAddress])) as TestClient
  for (const who of [alice, bob]) {
    await mined(token.transfer(who.address, LP(100)))
    await mined(as(token, who).approve(creatorAddress, MaxUint256))
    for (const requester of [client, testClient])
      await mined(as(creator, who).approveClient(await requester.getAddress(), MaxUint256))
  }
  errorsAbi = errors()
  holders = [deployer.address, service.address, alice.address, bob.address, stranger.address, creatorAddress]
  supply = await sumOf()
}, 120_000)

afterAll(async () => {
  await chain.stop()
})

describe('LilypadOnChainJobCreator: deployment', () => {
  it('fixes token, service, deposit and timeout in the constructor', async () => {
    expect(await creator.getRequiredDeposit()).toBe(DEPOSIT)
    expect(await creator.getTokenAddress()).toBe(await token.getAddress())
    expect(await creator.service()).toBe(service.address)
    expect(await creator.timeoutSeconds()).toBe(TIMEOUT)
  })

  it('refuses a zero token or service and a timeout of 0 or above 30 days', async () => {
    const artifact = loadArtifact('LilypadOnChainJobCreator')
    const tokenAddress = await token.getAddress()
    const attempt = (args: unknown[]) =>
      revertOf(deployFrom(artifact.abi, artifact.bytecode, deployer, args), errorsAbi)
    expect((await attempt([ZeroAddress, service.address, DEPOSIT, TIMEOUT])).name).toBe('ZeroAddress')
    expect((await attempt([tokenAddress, ZeroAddress, DEPOSIT, TIMEOUT])).name).toBe('ZeroAddress')
    expect((await attempt([tokenAddress, service.address, DEPOSIT, 0n])).name).toBe('InvalidTimeout')
    expect((await attempt([tokenAddress, service.address, DEPOSIT, 30n * 86400n + 1n])).name).toBe(
      'InvalidTimeout',
    )
  })
})

describe('LilypadOnChainJobCreator: deposit and settlement', () => {
  it('runJob escrows the deposit from the payee in the contract and emits JobAdded', async () => {
    const before = await balancesOf([alice.address, creatorAddress])
    const receipt = await mined(as(client, alice).run('cowsay:v0.0.3', ['Message=hi']))
    const after = await balancesOf([alice.address, creatorAddress])
    expect([after[0]! - before[0]!, after[1]! - before[1]!]).toEqual([-DEPOSIT, DEPOSIT])
    const jobId = await creator.lastJobId()
    expect(logsOf(creator, receipt)).toEqual([
      {
        name: 'JobAdded',
        args: [jobId, await client.getAddress(), alice.address, 'cowsay:v0.0.3', ['Message=hi']],
      },
    ])
    expect(logsOf(client, receipt)).toEqual([
      {name: 'JobRequested', args: [jobId, alice.address, 'cowsay:v0.0.3']},
    ])
    const job = await creator.getJob(jobId)
    const block = await chain.provider.getBlock(receipt.blockNumber)
    expect([job.callingContract, job.payee, job.state, job.createdAt, job.deadline]).toEqual([
      await client.getAddress(),
      alice.address,
      JobState.Pending,
      BigInt(block?.timestamp ?? 0),
      BigInt(block?.timestamp ?? 0) + TIMEOUT,
    ])
    expect([...(await client.getResult(jobId))]).toEqual(['', '', JobState.Pending])
  })

  it('submitResults pays the deposit to the service, settles once and stores the result in the client', async () => {
    const jobId = await runThroughExample(alice)
    const before = await balancesOf([alice.address, service.address, creatorAddress])
    const receipt = await mined(as(creator, service).submitResults(jobId, DEAL_ID, DATA_ID))
    const after = await balancesOf([alice.address, service.address, creatorAddress])
    expect(after.map((b, i) => b - before[i]!)).toEqual([0n, DEPOSIT, -DEPOSIT])
    expect(logsOf(creator, receipt)).toEqual([{name: 'ResultsSubmitted', args: [jobId, DEAL_ID, DATA_ID]}])
    expect(logsOf(client, receipt)).toEqual([{name: 'JobCompleted', args: [jobId, DEAL_ID, DATA_ID]}])
    expect([...(await client.getResult(jobId))]).toEqual([DEAL_ID, DATA_ID, JobState.Completed])
    expect((await creator.getJob(jobId)).state).toBe(JobState.Completed)

    // No second settlement of any kind, even after the timeout.
    const settled = {name: 'JobNotPending', args: [JobState.Completed]}
    expect(await revertOf(as(creator, service).submitResults(jobId, DEAL_ID, DATA_ID), errorsAbi)).toEqual(
      settled,
    )
    expect(await revertOf(as(creator, service).failJob(jobId, 'late'), errorsAbi)).toEqual(settled)
    await increaseTime(chain.provider, Number(TIMEOUT) + 1)
    expect(await revertOf(as(creator, stranger).refundTimedOut(jobId), errorsAbi)).toEqual(settled)
    expect(await sumOf()).toBe(supply)
  })

  it('failJob refunds the payee exactly and tells the client why', async () => {
    const before = await balancesOf([bob.address, service.address, creatorAddress])
    const jobId = await runThroughExample(bob)
    const receipt = await mined(as(creator, service).failJob(jobId, 'the module exited with 1'))
    const after = await balancesOf([bob.address, service.address, creatorAddress])
    expect(after.map((b, i) => b - before[i]!)).toEqual([0n, 0n, 0n])
    expect(logsOf(creator, receipt)).toEqual([{name: 'JobFailed', args: [jobId, 'the module exited with 1']}])
    expect(logsOf(client, receipt)).toEqual([{name: 'JobFailed', args: [jobId, 'the module exited with 1']}])
    expect([...(await client.getResult(jobId))]).toEqual(['', '', JobState.Failed])
    expect((await creator.getJob(jobId)).state).toBe(JobState.Failed)
    expect(await revertOf(as(creator, service).submitResults(jobId, DEAL_ID, DATA_ID), errorsAbi)).toEqual({
      name: 'JobNotPending',
      args: [JobState.Failed],
    })
    expect(await sumOf()).toBe(supply)
  })

  it('anyone refunds a job the service never answered, strictly after the timeout', async () => {
    const before = await balancesOf([bob.address, creatorAddress])
    const jobId = await runThroughExample(bob)
    const {deadline} = await creator.getJob(jobId)
    expect(await revertOf(as(creator, stranger).refundTimedOut(jobId), errorsAbi)).toEqual({
      name: 'TooEarly',
      args: [deadline],
    })
    await increaseTime(chain.provider, Number(TIMEOUT) + 1)
    const receipt = await mined(as(creator, stranger).refundTimedOut(jobId))
    expect(await balancesOf([bob.address, creatorAddress])).toEqual(before)
    const reason = 'timed out: the job-creator service did not answer'
    expect(logsOf(creator, receipt)).toEqual([{name: 'JobFailed', args: [jobId, reason]}])
    expect(logsOf(client, receipt)).toEqual([{name: 'JobFailed', args: [jobId, reason]}])
    expect((await creator.getJob(jobId)).state).toBe(JobState.TimedOut)
    expect(await revertOf(as(creator, service).submitResults(jobId, DEAL_ID, DATA_ID), errorsAbi)).toEqual({
      name: 'JobNotPending',
      args: [JobState.TimedOut],
    })
    expect(await sumOf()).toBe(supply)
  })

  it('only the service may submit or fail, and only jobs that exist', async () => {
    const jobId = await runThroughExample(alice)
    for (const who of [alice, stranger, deployer]) {
      expect((await revertOf(as(creator, who).submitResults(jobId, DEAL_ID, DATA_ID), errorsAbi)).name).toBe(
        'NotService',
      )
      expect((await revertOf(as(creator, who).failJob(jobId, 'no'), errorsAbi)).name).toBe('NotService')
    }
    expect(
      (await revertOf(as(creator, service).submitResults(jobId + 100n, DEAL_ID, DATA_ID), errorsAbi)).name,
    ).toBe('UnknownJob')
    expect((await revertOf(as(creator, service).submitResults(jobId, DEAL_ID, ''), errorsAbi)).name).toBe(
      'EmptyDataId',
    )
    expect((await revertOf(creator.getJob(0n), errorsAbi)).name).toBe('UnknownJob')
    await mined(as(creator, service).failJob(jobId, 'cleanup'))
  })

  it('the example client accepts callbacks only from its job creator', async () => {
    const jobId = await runThroughExample(alice)
    expect(
      (await revertOf(as(client, stranger).submitResults(jobId, DEAL_ID, DATA_ID), errorsAbi)).name,
    ).toBe('NotJobCreator')
    expect((await revertOf(as(client, service).jobFailed(jobId, 'x'), errorsAbi)).name).toBe('NotJobCreator')
    await mined(as(creator, service).failJob(jobId, 'cleanup'))
  })
})

describe('LilypadOnChainJobCreator: inputs', () => {
  const valid = ['Message=hi', '_x=', 'A1_b=a=b c', `K=${'v'.repeat(1022)}`]
  const invalid = [
    '',
    '=v',
    '1A=v',
    'Message',
    'Mes sage=hi',
    'Mé=x',
    '-K=v',
    `K=${'v'.repeat(1023)}`,
    'K',
    'K-1=v',
  ]

  it('accepts KEY=VALUE with an identifier key (VALUE is anything after the first =)', async () => {
    const receipt = await mined(as(creator, alice).runJob('cowsay:v0.0.3', valid, alice.address))
    expect(logsOf(creator, receipt)[0]?.args[4]).toEqual(valid)
    await mined(as(creator, service).failJob(await creator.lastJobId(), 'cleanup'))
  })

  it.each(
    invalid.map((input) => [
      input.length > 40 ? `${input.slice(0, 12)}… (${input.length} bytes)` : input,
      input,
    ]),
  )('reverts InvalidInput naming the index of %j, and escrows nothing', async (_label, input) => {
    const before = await balancesOf([alice.address, creatorAddress])
    const lastJobId = await creator.lastJobId()
    const inputs = ['Message=hi', 'Other=1', input]
    expect(
      await revertOf(as(creator, alice).runJob('cowsay:v0.0.3', inputs, alice.address), errorsAbi),
    ).toEqual({
      name: 'InvalidInput',
      args: [2n],
    })
    expect(await balancesOf([alice.address, creatorAddress])).toEqual(before)
    expect(await creator.lastJobId()).toBe(lastJobId)
  })

  it('caps the number of inputs and the module reference, and needs a payee', async () => {
    const many = Array.from({length: 17}, (_, i) => `K${i}=v`)
    expect(
      await revertOf(as(creator, alice).runJob('cowsay:v0.0.3', many, alice.address), errorsAbi),
    ).toEqual({
      name: 'TooManyInputs',
      args: [17n],
    })
    expect((await revertOf(as(creator, alice).runJob('', [], alice.address), errorsAbi)).name).toBe(
      'InvalidModule',
    )
    expect(
      (await revertOf(as(creator, alice).runJob('m'.repeat(257), [], alice.address), errorsAbi)).name,
    ).toBe('InvalidModule')
    expect(
      (await revertOf(as(creator, alice).runJob('cowsay:v0.0.3', [], ZeroAddress), errorsAbi)).name,
    ).toBe('ZeroAddress')
  })

  it('needs the payee to have approved the job creator', async () => {
    expect(
      (
        await revertOf(
          as(creator, stranger).runJob('cowsay:v0.0.3', ['Message=hi'], stranger.address),
          errorsAbi,
        )
      ).name,
    ).toBe('ERC20InsufficientAllowance')
  })
})

describe('LilypadOnChainJobCreator: clients that misbehave cannot block settlement', () => {
  const modes = [
    ['reverts', 1],
    ['burns all its gas', 2],
    ['reverts with 100 kB of data', 3],
    ['re-enters the job creator', 4],
  ] as const

  it.each(modes)('a client that %s: submitResults still pays the service', async (_label, mode) => {
    await mined(testClient.setMode(mode))
    await mined(testClient.run('cowsay:v0.0.3', ['Message=hi'], alice.address))
    const jobId = await creator.lastJobId()
    const before = await balancesOf([service.address, creatorAddress])
    const receipt = await mined(as(creator, service).submitResults(jobId, DEAL_ID, DATA_ID))
    const after = await balancesOf([service.address, creatorAddress])
    expect(after.map((b, i) => b - before[i]!)).toEqual([DEPOSIT, -DEPOSIT])
    expect(logsOf(creator, receipt).map((log) => log.name)).toEqual([
      'ResultsSubmitted',
      'ClientCallbackFailed',
    ])
    expect((await creator.getJob(jobId)).state).toBe(JobState.Completed)
    // The callback's gas is capped: the whole call stays far below a block.
    expect(receipt.gasUsed).toBeLessThan(400_000n)
  })

  it.each(modes)('a client that %s: failJob still refunds the payee', async (_label, mode) => {
    await mined(testClient.setMode(mode))
    const before = await balancesOf([alice.address, creatorAddress])
    await mined(testClient.run('cowsay:v0.0.3', ['Message=hi'], alice.address))
    const jobId = await creator.lastJobId()
    const receipt = await mined(as(creator, service).failJob(jobId, 'failed'))
    expect(await balancesOf([alice.address, creatorAddress])).toEqual(before)
    expect(logsOf(creator, receipt).map((log) => log.name)).toEqual(['JobFailed', 'ClientCallbackFailed'])
  })

  it('a well-behaved test client is called (so the failures above are the client, not the call)', async () => {
    await mined(testClient.setMode(0))
    await mined(testClient.run('cowsay:v0.0.3', ['Message=hi'], alice.address))
    const calls = await testClient.calls()
    const receipt = await mined(
      as(creator, service).submitResults(await creator.lastJobId(), DEAL_ID, DATA_ID),
    )
    expect(await testClient.calls()).toBe(calls + 1n)
    expect(logsOf(creator, receipt).map((log) => log.name)).toEqual(['ResultsSubmitted'])
  })

  it('a transaction too short of gas for the callback reverts as a whole instead of starving it', async () => {
    await mined(testClient.setMode(2))
    await mined(testClient.run('cowsay:v0.0.3', ['Message=hi'], alice.address))
    const jobId = await creator.lastJobId()
    expect(
      await revertOf(
        as(creator, service).submitResults.staticCall(jobId, DEAL_ID, DATA_ID, {gasLimit: 250_000n}),
        errorsAbi,
      ),
    ).toEqual({name: 'InsufficientGas', args: []})
    expect((await creator.getJob(jobId)).state).toBe(JobState.Pending)
    await mined(as(creator, service).failJob(jobId, 'cleanup'))
    expect(await sumOf()).toBe(supply)
  })
})

describe('LilypadOnChainJobCreator: the payee consents to each client', () => {
  it('nobody spends an allowance by naming a payee that did not authorize it', async () => {
    // carol approved the job creator (as for her own direct jobs) but authorized no client.
    const carol = Wallet.createRandom().connect(chain.provider)
    await chain.provider.send('anvil_setBalance', [carol.address, '0xde0b6b3a7640000'])
    holders.push(carol.address)
    await mined(token.transfer(carol.address, LP(10)))
    await mined(as(token, carol).approve(creatorAddress, MaxUint256))
    const before = await token.balanceOf(carol.address)
    const refused = {name: 'ClientNotApproved', args: [carol.address, stranger.address]}
    expect(
      await revertOf(as(creator, stranger).runJob('cowsay:v0.0.3', ['Message=hi'], carol.address), errorsAbi),
    ).toEqual(refused)
    expect(
      await revertOf(as(testClient, stranger).run('cowsay:v0.0.3', ['Message=hi'], carol.address), errorsAbi),
    ).toEqual({name: 'ClientNotApproved', args: [carol.address, await testClient.getAddress()]})
    expect(await token.balanceOf(carol.address)).toBe(before)

    // Her own direct call needs no authorization.
    await mined(as(creator, carol).runJob('cowsay:v0.0.3', ['Message=hi'], carol.address))
    await mined(as(creator, service).failJob(await creator.lastJobId(), 'cleanup'))
  })

  it('an authorization covers exactly the number of jobs the payee chose, and 0 revokes it', async () => {
    const testAddress = await testClient.getAddress()
    const receipt = await mined(as(creator, bob).approveClient(testAddress, 2n))
    expect(logsOf(creator, receipt)).toEqual([{name: 'ClientApproved', args: [bob.address, testAddress, 2n]}])
    for (const left of [1n, 0n]) {
      await mined(testClient.run('cowsay:v0.0.3', ['Message=hi'], bob.address))
      await mined(as(creator, service).failJob(await creator.lastJobId(), 'cleanup'))
      expect(await creator.clientAllowance(bob.address, testAddress)).toBe(left)
    }
    expect(
      (await revertOf(testClient.run('cowsay:v0.0.3', ['Message=hi'], bob.address), errorsAbi)).name,
    ).toBe('ClientNotApproved')
    await mined(as(creator, bob).approveClient(testAddress, MaxUint256))
    await mined(testClient.run('cowsay:v0.0.3', ['Message=hi'], bob.address))
    await mined(as(creator, service).failJob(await creator.lastJobId(), 'cleanup'))
    expect(await creator.clientAllowance(bob.address, testAddress)).toBe(MaxUint256)
    await mined(as(creator, bob).approveClient(testAddress, 0n))
    expect(
      (await revertOf(testClient.run('cowsay:v0.0.3', ['Message=hi'], bob.address), errorsAbi)).name,
    ).toBe('ClientNotApproved')
    await mined(as(creator, bob).approveClient(testAddress, MaxUint256))
    expect((await revertOf(as(creator, bob).approveClient(ZeroAddress, 1n), errorsAbi)).name).toBe(
      'ZeroAddress',
    )
    expect(await sumOf()).toBe(supply)
  })

  it("a permit seen in the mempool cannot pay for someone else's job", async () => {
    const dave = Wallet.createRandom().connect(chain.provider)
    await chain.provider.send('anvil_setBalance', [dave.address, '0xde0b6b3a7640000'])
    holders.push(dave.address)
    await mined(token.transfer(dave.address, LP(5)))
    const latest = BigInt((await chain.provider.getBlock('latest'))?.timestamp ?? 0)
    const permit = await signPermit(token, dave, creatorAddress, DEPOSIT, latest + 600n)
    expect(
      await revertOf(
        as(creator, stranger).runJobWithPermit('cowsay:v0.0.3', ['Message=hi'], dave.address, permit),
        errorsAbi,
      ),
    ).toEqual({name: 'ClientNotApproved', args: [dave.address, stranger.address]})
    expect(await token.balanceOf(dave.address)).toBe(LP(5))
    // dave's own transaction with the same permit goes through.
    await mined(as(creator, dave).runJobWithPermit('cowsay:v0.0.3', ['Message=hi'], dave.address, permit))
    await mined(as(creator, service).failJob(await creator.lastJobId(), 'cleanup'))
    expect(await token.balanceOf(dave.address)).toBe(LP(5))
  })
})

describe('LilypadOnChainJobCreator: permit', () => {
  it('runJobWithPermit takes the deposit from a payee that never approved', async () => {
    const payee = stranger
    await mined(token.transfer(payee.address, LP(5)))
    const latest = BigInt((await chain.provider.getBlock('latest'))?.timestamp ?? 0)
    const permit = await signPermit(token, payee, creatorAddress, DEPOSIT, latest + 600n)
    const before = await balancesOf([payee.address, creatorAddress])
    await mined(as(creator, payee).runJobWithPermit('cowsay:v0.0.3', ['Message=hi'], payee.address, permit))
    const after = await balancesOf([payee.address, creatorAddress])
    expect(after.map((b, i) => b - before[i]!)).toEqual([-DEPOSIT, DEPOSIT])
    expect(await token.allowance(payee.address, creatorAddress)).toBe(0n)
    await mined(as(creator, service).failJob(await creator.lastJobId(), 'cleanup'))
  })

  it('a permit someone else submitted first still lets the job through; a bad one is refused', async () => {
    const payee = stranger
    const latest = BigInt((await chain.provider.getBlock('latest'))?.timestamp ?? 0)
    const permit = await signPermit(token, payee, creatorAddress, DEPOSIT, latest + 600n)
    await mined(
      as(token, bob).permit(
        payee.address,
        creatorAddress,
        permit.value,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      ),
    )
    await mined(as(creator, payee).runJobWithPermit('cowsay:v0.0.3', ['Message=hi'], payee.address, permit))
    await mined(as(creator, service).failJob(await creator.lastJobId(), 'cleanup'))
    const forged = await signPermit(token, payee, creatorAddress, DEPOSIT, latest + 600n, bob)
    expect(
      (
        await revertOf(
          as(creator, payee).runJobWithPermit('cowsay:v0.0.3', [], payee.address, forged),
          errorsAbi,
        )
      ).name,
    ).toBe('ERC2612InvalidSigner')
    expect(await sumOf()).toBe(supply)
  })

  it('holds exactly the deposits of the jobs still pending', async () => {
    let pending = 0n
    const last = await creator.lastJobId()
    for (let id = 1n; id <= last; id += 1n) {
      if ((await creator.getJob(id)).state === JobState.Pending) pending += 1n
    }
    expect(await token.balanceOf(creatorAddress)).toBe(pending * DEPOSIT)
  })
})
