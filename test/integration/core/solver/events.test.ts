import {afterAll, beforeAll, describe, expect, it} from '@jest/globals'
import {type SubscriptionStatus, eventsUrl, subscribeEvents} from '../../../../src/core/solver/events.js'
import type {SolverEvent} from '../../../../src/core/solver/types.js'
import {type TestServer, startTestServer, until} from './solver-test-server.js'

const ADDRESS = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(async () => {
  await server.close()
})

const event = (id: string): SolverEvent => ({
  event_type: 'JobOfferStateUpdated',
  job_offer: {id, deal_id: '', job_creator: ADDRESS, state: 1} as SolverEvent['job_offer'],
  resource_offer: null,
  deal: null,
})

/** Starts a subscription with short intervals; returns what it saw and a stop function. */
function subscribe(extra: {filter?: (event: SolverEvent) => boolean} = {}) {
  const controller = new AbortController()
  const events: SolverEvent[] = []
  const statuses: SubscriptionStatus[] = []
  let polls = 0
  const done = subscribeEvents({
    url: server.url,
    type: 'JobCreator',
    address: ADDRESS,
    signal: controller.signal,
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    poll: async () => {
      polls++
      await Promise.resolve()
    },
    pollIntervalMs: 30,
    pingIntervalMs: 50,
    reconnectBaseMs: 10,
    reconnectMaxMs: 80,
    connectTimeoutMs: 1_000,
    ...extra,
  })
  return {
    events,
    statuses,
    polls: () => polls,
    count: (state: SubscriptionStatus['state']) => statuses.filter((s) => s.state === state).length,
    stop: async () => {
      controller.abort()
      await done
    },
  }
}

describe('eventsUrl', () => {
  it('is the Go client’s URL', () => {
    expect(eventsUrl('https://solver.example/', 'JobCreator', ADDRESS)).toBe(
      `wss://solver.example/api/v1/ws?&Type=JobCreator&ID=${ADDRESS}`,
    )
    expect(eventsUrl('http://127.0.0.1:8081', 'ResourceProvider', 'x')).toBe(
      'ws://127.0.0.1:8081/api/v1/ws?&Type=ResourceProvider&ID=x',
    )
  })
})

describe('subscribeEvents', () => {
  it('connects to the Go path, delivers filtered events, polls once on connect', async () => {
    server.acceptUpgrades(true)
    server.answerPings(true)
    const sub = subscribe({filter: (e) => e.job_offer?.id === 'mine'})
    try {
      await until(() => server.sockets.size === 1 && sub.count('connected') === 1)
      expect(server.upgrades.at(-1)).toBe(`/api/v1/ws?&Type=JobCreator&ID=${ADDRESS}`)
      for (const socket of server.sockets) {
        socket.send(JSON.stringify(event('other')))
        socket.send('not json')
        socket.send(JSON.stringify(event('mine')))
      }
      await until(() => sub.events.length === 1)
      expect(sub.events[0]?.job_offer?.id).toBe('mine')
      expect(sub.polls()).toBeGreaterThanOrEqual(1)
    } finally {
      await sub.stop()
    }
  })

  it('reconnects after the server drops the socket, and polls to cover the gap', async () => {
    server.acceptUpgrades(true)
    server.answerPings(true)
    const sub = subscribe()
    try {
      await until(() => sub.count('connected') === 1)
      const pollsBefore = sub.polls()
      for (const socket of server.sockets) socket.terminate()
      await until(() => sub.count('connected') === 2)
      expect(sub.count('disconnected')).toBeGreaterThanOrEqual(1)
      expect(sub.polls()).toBeGreaterThan(pollsBefore)
      for (const socket of server.sockets) socket.close()
      await until(() => sub.count('connected') === 3)
    } finally {
      await sub.stop()
    }
  })

  it('polls while the server refuses upgrades, with a capped back-off, then reconnects', async () => {
    server.acceptUpgrades(false)
    const sub = subscribe()
    try {
      await until(() => sub.count('disconnected') >= 6 && sub.polls() >= 4)
      expect(sub.count('connected')).toBe(0)
      expect(sub.count('polling')).toBe(1)
      const disconnected = sub.statuses.filter((s) => s.state === 'disconnected')
      expect(disconnected[0]).toMatchObject({reason: 'HTTP 503', attempt: 1})
      for (const s of disconnected) expect(s.retryInMs).toBeLessThan(80)
      expect(disconnected.map((s) => s.attempt)).toEqual(disconnected.map((_, i) => i + 1))
      server.acceptUpgrades(true)
      await until(() => sub.count('connected') === 1)
      const pollsWhenConnected = sub.polls()
      await new Promise((resolve) => setTimeout(resolve, 150))
      // Polling stopped with the connection (at most the one catch-up poll on connect).
      expect(sub.polls() - pollsWhenConnected).toBeLessThanOrEqual(1)
    } finally {
      await sub.stop()
    }
  })

  it('treats a missing pong as a drop', async () => {
    server.acceptUpgrades(true)
    server.answerPings(false)
    const sub = subscribe()
    try {
      await until(() => sub.statuses.some((s) => s.state === 'disconnected' && s.reason === 'no pong'))
    } finally {
      server.answerPings(true)
      await sub.stop()
    }
  })

  it('survives failing handlers and polls, and resolves once stopped', async () => {
    server.acceptUpgrades(true)
    const controller = new AbortController()
    const statuses: SubscriptionStatus[] = []
    const done = subscribeEvents({
      url: server.url,
      type: 'Mediator',
      address: ADDRESS,
      signal: controller.signal,
      onEvent: () => {
        throw new Error('handler bug')
      },
      onStatus: (s) => statuses.push(s),
      poll: () => Promise.reject(new Error('poll down')),
    })
    await until(() => statuses.some((s) => s.state === 'connected') && server.sockets.size > 0)
    for (const socket of server.sockets) socket.send(JSON.stringify(event('x')))
    await until(
      () =>
        statuses.some((s) => s.state === 'handler-failed') && statuses.some((s) => s.state === 'poll-failed'),
    )
    controller.abort()
    await done
    await until(() => server.sockets.size === 0)
  })
})
