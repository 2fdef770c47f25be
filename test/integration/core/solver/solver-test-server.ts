/**
 * A small real HTTP + websocket server on 127.0.0.1 for the solver client tests: each test sets
 * the request handler and the upgrade policy, and the server records what it received.
 */
import {type IncomingMessage, type Server, type ServerResponse, createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {Duplex} from 'node:stream'
import {WebSocketServer, type WebSocket} from 'ws'

/** One request as the server saw it. */
export interface SeenRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: Buffer
}

/** The test server. */
export interface TestServer {
  url: string
  requests: SeenRequest[]
  upgrades: string[]
  sockets: Set<WebSocket>
  handle: (handler: (request: SeenRequest, response: ServerResponse) => void) => void
  /** false → upgrades are answered 503. */
  acceptUpgrades: (accept: boolean) => void
  /** Stops answering pings on new sockets. */
  answerPings: (answer: boolean) => void
  close: () => Promise<void>
}

/** Starts a server on a free loopback port. */
export async function startTestServer(): Promise<TestServer> {
  let handler: (request: SeenRequest, response: ServerResponse) => void = (_request, response) => {
    response.end('{}')
  }
  let accept = true
  const requests: SeenRequest[] = []
  const upgrades: string[] = []
  const sockets = new Set<WebSocket>()
  const wssPong = new WebSocketServer({noServer: true})
  const wssSilent = new WebSocketServer({noServer: true, autoPong: false})
  let pongs = true
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const seen = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      }
      requests.push(seen)
      handler(seen, response)
    })
  })
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(request.url ?? '')
    if (!accept) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    const wss = pongs ? wssPong : wssSilent
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.add(ws)
      ws.on('close', () => sockets.delete(ws))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    upgrades,
    sockets,
    handle: (next) => {
      handler = next
    },
    acceptUpgrades: (value) => {
      accept = value
    },
    answerPings: (value) => {
      pongs = value
    },
    close: async () => {
      for (const socket of sockets) socket.terminate()
      wssPong.close()
      wssSilent.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve()
        }),
      )
    },
  }
}

/** Waits until `predicate` holds, polling; fails after `limitMs` (a bound, not a timing assertion). */
export async function until(predicate: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
