/**
 * The controller event follower and the deal reads on a real anvil chain: events in chain order,
 * each once, through chunked ranges, a stop and a resume, a throwing handler and a failing
 * endpoint. Expected events are decoded here from the receipts with the compiled ABI.
 */
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {Interface, MaxUint256, type TransactionReceipt, type Wallet} from 'ethers'

import {type ChainClient, createChainClient} from '../../../src/core/chain/client.js'
import {
  type ControllerEvent,
  type FollowErrorInfo,
  type FollowOptions,
  followControllerEvents,
  getResultAdded,
  waitForDealState,
} from '../../../src/core/chain/events.js'
import {isLilypadError} from '../../../src/core/errors/index.js'
import {type Anvil, freePort, startAnvil} from '../../helpers/anvil.js'
import {
  CHECK_RESULT_OVERRIDES,
  Direction,
  LP,
  type Protocol,
  Reason,
  State,
  as,
  deployProtocol,
  loadArtifact,
  mined,
  standardTerms,
} from '../../helpers/contracts.js'

const DATA_ID = 'QmZ4tDuvesekSs4qM5ZBKpXiZGun7S2CYtEZRB3DYXkjGx'

let anvil: Anvil
let protocol: Protocol
let client: ChainClient
let deployer: Wallet, jc: Wallet, rp: Wallet, mediator: Wallet

beforeAll(async () => {
  anvil = await startAnvil()
  ;[deployer, jc, rp, mediator] = anvil.accounts as [Wallet, Wallet, Wallet, Wallet]
  protocol = await deployProtocol(deployer, anvil.accounts[9]!.address)
  for (const party of [jc, rp]) {
    await mined(protocol.token.transfer(party.address, LP(1000)))
    await mined(as(protocol.token, party).approve(protocol.addresses.controller, MaxUint256))
  }
  client = createChainClient({rpcUrl: anvil.url, chainId: 31337, pollingIntervalMs: 20})
})

afterAll(async () => {
  client.destroy()
  await anvil.stop()
})

const terms = () =>
  standardTerms({
    solver: deployer.address,
    jobCreator: jc.address,
    resourceProvider: rp.address,
    mediators: [mediator.address],
  })

async function agreeBoth(dealId: string): Promise<TransactionReceipt[]> {
  const {members, timeouts, pricing} = terms()
  return [
    await mined(as(protocol.controller, jc).agree(dealId, members, timeouts, pricing)),
    await mined(as(protocol.controller, rp).agree(dealId, members, timeouts, pricing)),
  ]
}

/** agree, agree, addResult, checkResult, mediationAcceptResult. */
async function disputedDeal(dealId: string): Promise<TransactionReceipt[]> {
  const controller = protocol.controller
  return [
    ...(await agreeBoth(dealId)),
    await mined(as(controller, rp).addResult(dealId, 'results-1', DATA_ID, 1n)),
    await mined(as(controller, jc).checkResult(dealId, CHECK_RESULT_OVERRIDES)),
    await mined(as(controller, mediator).mediationAcceptResult(dealId)),
  ]
}

/** agree, agree, addResult, acceptResult. */
async function acceptedDeal(dealId: string): Promise<TransactionReceipt[]> {
  const controller = protocol.controller
  return [
    ...(await agreeBoth(dealId)),
    await mined(as(controller, rp).addResult(dealId, '', DATA_ID, 3n)),
    await mined(as(controller, jc).acceptResult(dealId)),
  ]
}

const nameOf = (table: Record<string, number>, value: bigint): string =>
  Object.entries(table).find(([, n]) => BigInt(n) === value)?.[0] ?? `unknown ${value}`

/** The controller's events in `receipts`, decoded with the compiled ABI (not the generated bindings). */
function expectedEvents(receipts: TransactionReceipt[]): ControllerEvent[] {
  const abi = new Interface(loadArtifact('LilypadController').abi)
  const events: ControllerEvent[] = []
  for (const receipt of receipts) {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== protocol.addresses.controller.toLowerCase()) continue
      const parsed = abi.parseLog(log)
      if (parsed === null) continue
      const a = parsed.args
      const at = {
        dealId: a[0] as string,
        blockNumber: receipt.blockNumber,
        txHash: receipt.hash,
        logIndex: log.index,
      }
      switch (parsed.name) {
        case 'DealCreated':
          events.push({type: 'DealCreated', ...at, jobCreator: a[1], resourceProvider: a[2]})
          break
        case 'DealStateChange':
          events.push({type: 'DealStateChange', ...at, state: Number(a[1])})
          break
        case 'ResultAdded':
          events.push({type: 'ResultAdded', ...at, resultsId: a[1], dataId: a[2], instructionCount: a[3]})
          break
        case 'MediationRequested':
          events.push({type: 'MediationRequested', ...at, mediator: a[1]})
          break
        case 'Payment':
          events.push({
            type: 'Payment',
            ...at,
            payee: a[1],
            amount: a[2],
            reason: nameOf(Reason, a[3] as bigint) as never,
            direction: nameOf(Direction, a[4] as bigint) as never,
          })
          break
        default:
          throw new Error(`unexpected event ${parsed.name}`)
      }
    }
  }
  return events
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A follower collecting events and cursors; the options override the defaults. */
function collect(fromBlock: number, overrides: Partial<FollowOptions> = {}) {
  const events: ControllerEvent[] = []
  const cursors: number[] = []
  const errors: Array<{error: unknown; info: FollowErrorInfo}> = []
  const follower = followControllerEvents({
    provider: client.provider,
    controller: protocol.addresses.controller,
    fromBlock,
    pollIntervalMs: 10,
    maxRetryDelayMs: 50,
    onEvent: (event) => {
      events.push(event)
    },
    onCursor: (block) => {
      cursors.push(block)
    },
    onError: (error, info) => {
      errors.push({error, info})
    },
    ...overrides,
  })
  const cursor = () => cursors.at(-1) ?? fromBlock - 1
  return {follower, events, cursors, errors, cursor}
}

const nextBlock = async (): Promise<number> => (await anvil.provider.getBlockNumber()) + 1

describe('followControllerEvents', () => {
  it("delivers a disputed deal's events in chain order, each once, across chunked ranges", async () => {
    const from = await nextBlock()
    const {follower, events, cursors, errors, cursor} = collect(from, {blockRange: 2})
    const receipts = await disputedDeal('QmDisputed')
    const lastBlock = receipts.at(-1)!.blockNumber
    await until(() => cursor() >= lastBlock, 'the follower to reach the last block')
    await follower.stop()

    expect(errors).toEqual([])
    expect(events).toEqual(expectedEvents(receipts))
    expect(
      events
        .filter((e) => e.type !== 'Payment')
        .map((e) => (e.type === 'DealStateChange' ? e.state : e.type)),
    ).toEqual([
      'DealCreated',
      State.DealNegotiating,
      State.DealAgreed,
      State.ResultsSubmitted,
      'ResultAdded',
      State.ResultsChecked,
      'MediationRequested',
      State.MediationAccepted,
    ])
    expect(events.find((e) => e.type === 'MediationRequested')).toMatchObject({mediator: mediator.address})
    expect(events.find((e) => e.type === 'ResultAdded')).toMatchObject({
      dealId: 'QmDisputed',
      resultsId: 'results-1',
      dataId: DATA_ID,
      instructionCount: 1n,
    })
    // The job creator pays in P + J = 3 LP at its agree and the mediation fee F = 1 LP at checkResult.
    const paidBy = (payee: string, direction: string) =>
      events
        .filter((e) => e.type === 'Payment' && e.payee === payee && e.direction === direction)
        .reduce((sum, e) => sum + (e.type === 'Payment' ? e.amount : 0n), 0n)
    expect(paidBy(jc.address, 'PaidIn')).toBe(LP(3) + LP(1))
    expect(events.filter((e) => e.type === 'Payment').every((e) => e.dealId === 'QmDisputed')).toBe(true)
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b))
    expect(new Set(cursors).size).toBe(cursors.length)
  })

  it('stops between blocks and resumes from the cursor + 1 without losing or repeating an event', async () => {
    const from = await nextBlock()
    const receipts = await acceptedDeal('QmResumed')
    const expected = expectedEvents(receipts)
    const firstBlock = receipts[0]!.blockNumber
    const inFirstBlock = expected.filter((e) => e.blockNumber === firstBlock).length
    expect(inFirstBlock).toBeGreaterThan(1)

    // Abort on the very first event: the rest of its block must still be delivered, nothing after.
    const abort = new AbortController()
    const first = collect(from, {
      signal: abort.signal,
      onEvent: (event) => {
        first.events.push(event)
        abort.abort()
      },
    })
    await first.follower.done
    expect(first.events).toEqual(expected.slice(0, inFirstBlock))
    expect(first.cursor()).toBe(firstBlock)

    const second = collect(first.cursor() + 1, {blockRange: 1})
    await until(() => second.cursor() >= receipts.at(-1)!.blockNumber, 'the resumed follower')
    await second.follower.stop()
    expect([...first.events, ...second.events]).toEqual(expected)
  })

  it('gives a handler that threw the same event again, and repeats nothing else', async () => {
    const from = await nextBlock()
    let calls = 0
    const failure = new Error('store busy')
    const run = collect(from, {
      onEvent: (event) => {
        calls += 1
        if (calls === 2) throw failure
        run.events.push(event)
      },
    })
    const receipts = await agreeBoth('QmRetried')
    await until(() => run.cursor() >= receipts.at(-1)!.blockNumber, 'the follower')
    await run.follower.stop()
    expect(run.events).toEqual(expectedEvents(receipts))
    expect(run.errors).toEqual([{error: failure, info: {source: 'handler', attempt: 1, retryInMs: 50}}])
  })

  it('survives an endpoint that fails, reporting each failure, and loses nothing', async () => {
    let failuresLeft = 3
    const proxy = createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        if (failuresLeft > 0) {
          failuresLeft -= 1
          response.writeHead(503).end('unavailable')
          return
        }
        void fetch(anvil.url, {
          method: 'POST',
          headers: {'content-type': 'application/json'},
          body: Buffer.concat(chunks),
        })
          .then(async (answer) => {
            response.writeHead(answer.status, {'content-type': 'application/json'}).end(await answer.text())
          })
          .catch(() => response.writeHead(502).end())
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const flaky = createChainClient({
      rpcUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      chainId: 31337,
      pollingIntervalMs: 20,
    })
    try {
      const from = await nextBlock()
      const receipts = await agreeBoth('QmFlaky')
      const run = collect(from, {provider: flaky.provider})
      await until(
        () => run.cursor() >= receipts.at(-1)!.blockNumber,
        'the follower behind the flaky endpoint',
      )
      await run.follower.stop()
      expect(run.events).toEqual(expectedEvents(receipts))
      expect(run.errors.map((e) => e.info.attempt)).toEqual([1, 2, 3])
      expect(run.errors.every((e) => e.info.source === 'rpc' && isLilypadError(e.error, 'RPC_ERROR'))).toBe(
        true,
      )
    } finally {
      flaky.destroy()
      proxy.closeAllConnections()
      await new Promise((resolve) => proxy.close(resolve))
    }
  })

  it('stops during a long back-off when the endpoint is down', async () => {
    const down = createChainClient({
      rpcUrl: `http://127.0.0.1:${await freePort()}`,
      chainId: 31337,
      timeoutMs: 2000,
    })
    try {
      const run = collect(1, {provider: down.provider, maxRetryDelayMs: 600_000, pollIntervalMs: 600_000})
      await until(() => run.errors.length > 0, 'the first failure')
      expect(isLilypadError(run.errors[0]!.error, 'RPC_UNREACHABLE')).toBe(true)
      // The pause before the next try is ten minutes: stop() must cut it short (or this test times out).
      await run.follower.stop()
      expect(run.events).toEqual([])
    } finally {
      down.destroy()
    }
  })

  it('does nothing when the signal is already aborted', async () => {
    const run = collect(1, {signal: AbortSignal.abort()})
    await run.follower.done
    expect(run.events).toEqual([])
    expect(run.cursors).toEqual([])
  })
})

describe('waitForDealState', () => {
  const controller = () => protocol.addresses.controller

  it('resolves once the deal reaches the state', async () => {
    const {members, timeouts, pricing} = terms()
    await mined(as(protocol.controller, jc).agree('QmWaited', members, timeouts, pricing))
    const waiting = waitForDealState(
      client.provider,
      controller(),
      'QmWaited',
      (a) => a.state === State.DealAgreed,
      {
        pollIntervalMs: 10,
        timeoutMs: 20_000,
      },
    )
    await mined(as(protocol.controller, rp).agree('QmWaited', members, timeouts, pricing))
    await expect(waiting).resolves.toMatchObject({
      state: State.DealAgreed,
      jobCreatorAgreed: true,
      resourceProviderAgreed: true,
      closedAt: 0,
    })
  })

  it('gives up after its time-out, saying where the deal is', async () => {
    const error = await waitForDealState(client.provider, controller(), 'QmWaited', (a) => a.state === 3, {
      pollIntervalMs: 10,
      timeoutMs: 100,
    }).catch((e: unknown) => e)
    expect(isLilypadError(error, 'TIMEOUT')).toBe(true)
    expect((error as Error).message).toContain('it is DealAgreed')
  })

  it('waits for a deal nobody agreed to yet, then times out', async () => {
    const error = await waitForDealState(client.provider, controller(), 'QmNobody', () => true, {
      pollIntervalMs: 10,
      timeoutMs: 100,
    }).catch((e: unknown) => e)
    expect(isLilypadError(error, 'TIMEOUT')).toBe(true)
    expect((error as Error).message).toContain('nobody has agreed to it yet')
  })

  it('stops on abort', async () => {
    const abort = new AbortController()
    const waiting = waitForDealState(client.provider, controller(), 'QmNobody', () => false, {
      signal: abort.signal,
      pollIntervalMs: 10,
    }).catch((e: unknown) => e)
    abort.abort()
    expect(isLilypadError(await waiting, 'INTERRUPTED')).toBe(true)
  })
})

describe('getResultAdded', () => {
  it('returns nothing before the result, then the posted IDs from the ResultAdded event', async () => {
    await agreeBoth('QmResult')
    const controller = protocol.addresses.controller
    await expect(getResultAdded(client.provider, controller, 'QmResult')).resolves.toBeUndefined()
    const receipt = await mined(as(protocol.controller, rp).addResult('QmResult', 'results-7', DATA_ID, 7n))
    await expect(getResultAdded(client.provider, controller, 'QmResult')).resolves.toEqual(
      expectedEvents([receipt]).find((e) => e.type === 'ResultAdded'),
    )
    expect(await getResultAdded(client.provider, controller, 'QmResult')).toMatchObject({
      dataId: DATA_ID,
      resultsId: 'results-7',
      instructionCount: 7n,
      blockNumber: receipt.blockNumber,
    })
  })

  it('refuses a deal nobody agreed to', async () => {
    const error = await getResultAdded(client.provider, protocol.addresses.controller, 'QmUnknown').catch(
      (e: unknown) => e,
    )
    expect(isLilypadError(error, 'DEAL_NOT_FOUND')).toBe(true)
  })
})
