/**
 * The Lilypad-compatible solver service: the HTTP API and websocket of the Go solver (§4), its
 * store, matching, deals in both protocols, timeouts, files and on-chain registration.
 *
 * @example
 * const solver = await startSolver({dataDir, solverAddress: wallet.address, protocol: 'solver'})
 * // … clients talk to `${solver.url}/api/v1`
 * await solver.stop()
 */
import {randomBytes} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import type {IncomingMessage} from 'node:http'
import type {AddressInfo} from 'node:net'
import {dirname} from 'node:path'
import type {Duplex} from 'node:stream'

import {getAddress} from 'ethers'
import type {FastifyInstance} from 'fastify'
import {pino, type Logger} from 'pino'
import {WebSocket, WebSocketServer} from 'ws'

import type {ChainClient} from '../../core/chain/client.js'
import type {Follower} from '../../core/chain/events.js'
import {lilypadError} from '../../core/errors/index.js'
import {DEFAULT_DEAL_TIMEOUTS} from '../../core/solver/offer.js'
import type {SolverEvent} from '../../core/solver/types.js'
import {balanceAdmission, connectSolverChain, dealOnChainCheck, followChain, registerSolver} from './chain.js'
import {SolverController} from './controller.js'
import {DEFAULT_SOLVER_LIMITS, DEFAULT_SOLVER_TIMEOUTS, type SolverOptions} from './options.js'
import {buildServer} from './server.js'
import {SolverStore} from './store.js'

export type {SolverChainOptions, SolverLimits, SolverOptions, SolverTimeouts} from './options.js'
export {DEFAULT_SOLVER_LIMITS, DEFAULT_SOLVER_TIMEOUTS} from './options.js'

/** A running solver. */
export interface RunningSolver {
  /** `http://host:port` (the API is under `/api/v1`). */
  url: string
  port: number
  /** Stops listening, closes sockets, timers, the chain follower and the store. */
  stop(): Promise<void>
}

/** The websocket path (Go `API_SUB_PATH` + `WEBSOCKET_SUB_PATH`). */
export const WEBSOCKET_PATH = '/api/v1/ws'

function makeLogger(options: SolverOptions): Logger {
  if (options.logger !== undefined) return options.logger
  if (options.logFile !== undefined) {
    mkdirSync(dirname(options.logFile), {recursive: true})
    return pino(
      {level: options.logLevel ?? 'info', base: {service: 'solver'}},
      pino.destination({dest: options.logFile, append: true, sync: true}),
    )
  }
  return pino({level: 'silent'})
}

/**
 * Starts the solver: opens the store under `dataDir`, listens on `host:port`, resumes timers and
 * matching from the stored state, follows the chain (`onchain` protocol) and registers its URL
 * when `chain.users` and `chain.privateKey` are given.
 *
 * @param options - see {@link SolverOptions}
 * @returns the URL, the port and `stop()`
 * @throws CONFIG_INVALID for a solver address that is not EIP-55 checksummed, or `onchain` without `chain`
 */
export async function startSolver(options: SolverOptions): Promise<RunningSolver> {
  let solverAddress: string
  try {
    solverAddress = getAddress(options.solverAddress)
  } catch {
    solverAddress = ''
  }
  if (solverAddress === '' || solverAddress !== options.solverAddress) {
    throw lilypadError('CONFIG_INVALID', {
      message: `The solver address ${options.solverAddress} is not an EIP-55 checksummed address.`,
      hints: [
        'Pass the address exactly as ethers getAddress() writes it: deals compare addresses as strings.',
      ],
    })
  }
  const protocol = options.protocol ?? 'onchain'
  if (protocol === 'onchain' && options.chain === undefined) {
    throw lilypadError('CONFIG_INVALID', {
      message:
        'The onchain protocol needs a chain to follow (chain.rpcUrl, chain.chainId, chain.controller).',
      hints: ["Pass chain options, or start the solver with protocol: 'solver'."],
    })
  }
  const log = makeLogger(options)
  const limits = {...DEFAULT_SOLVER_LIMITS, ...options.limits}
  const timeouts = {...DEFAULT_SOLVER_TIMEOUTS, ...options.timeouts}
  const store = new SolverStore(options.dataDir)
  let chain: ChainClient | undefined
  let follower: Follower | undefined
  const sockets = new Set<WebSocket>()
  const wss = new WebSocketServer({noServer: true, maxPayload: 64 * 1024})
  let app: FastifyInstance | undefined

  const broadcast = (event: SolverEvent): void => {
    if (sockets.size === 0) return
    const text = JSON.stringify(event)
    for (const socket of sockets) {
      if (socket.readyState !== WebSocket.OPEN) continue
      // A client that stopped reading would otherwise make this process buffer every event for it.
      if (socket.bufferedAmount > limits.websocketBufferBytes) {
        log.warn({buffered: socket.bufferedAmount}, 'dropping a websocket client that stopped reading')
        sockets.delete(socket)
        socket.terminate()
        continue
      }
      socket.send(text)
    }
  }

  try {
    chain = options.chain === undefined ? undefined : connectSolverChain(options.chain)
    const controller = new SolverController(
      {
        protocol,
        solverAddress,
        timeouts,
        dealTimeouts: protocol === 'onchain' ? (options.dealTimeouts ?? DEFAULT_DEAL_TIMEOUTS) : undefined,
      },
      {
        store,
        log,
        emit: broadcast,
        dealOnChain:
          chain !== undefined && options.chain !== undefined
            ? dealOnChainCheck(chain, options.chain.controller)
            : undefined,
      },
    )
    const server = buildServer({
      store,
      controller,
      log,
      dataDir: options.dataDir,
      limits,
      minimumVersion: options.minimumVersion,
      rateLimit: options.rateLimit,
      validationToken: {
        secret: options.validationToken?.secret ?? randomBytes(32).toString('hex'),
        kid: options.validationToken?.kid ?? 'solver',
        expirationSeconds: options.validationToken?.expirationSeconds ?? 3600,
      },
      admitResourceOffer:
        options.resourceOfferAdmission !== undefined && chain !== undefined && options.chain !== undefined
          ? balanceAdmission(chain, options.chain.controller, options.resourceOfferAdmission.minEthWei, log)
          : undefined,
    })

    app = server
    server.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(request.url ?? '/', 'http://solver')
      if (url.pathname !== WEBSOCKET_PATH) {
        socket.destroy()
        return
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        const type = url.searchParams.get('Type') ?? ''
        const id = url.searchParams.get('ID') ?? ''
        sockets.add(ws)
        log.debug({type, id}, 'websocket connected')
        ws.on('error', () => {
          ws.terminate()
        })
        ws.on('close', () => {
          sockets.delete(ws)
          log.debug({type, id}, 'websocket disconnected')
          if (options.removeOffersOnDisconnect === true && type === 'ResourceProvider' && id !== '') {
            controller.removeUnmatchedResourceOffers(id)
          }
        })
      })
    })

    await server.listen({host: options.host ?? '127.0.0.1', port: options.port ?? 0})
    const port = (server.server.address() as AddressInfo).port
    const host = options.host ?? '127.0.0.1'
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`

    controller.resume()
    if (protocol === 'onchain' && chain !== undefined && options.chain !== undefined) {
      follower = await followChain(chain, options.chain, store, controller, log)
    }
    if (chain !== undefined && options.chain?.users !== undefined && options.chain.privateKey !== undefined) {
      await registerSolver(chain, options.chain.users, options.url ?? url, log)
    }
    log.info({url, protocol, solver: solverAddress}, 'solver listening')

    let stopping: Promise<void> | undefined
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        controller.stop()
        await follower?.stop()
        for (const socket of sockets) socket.terminate()
        wss.close()
        await server.close()
        chain?.destroy()
        store.close()
        log.flush()
      })()
      return stopping
    }
    return {url, port, stop}
  } catch (error) {
    await follower?.stop()
    await app?.close()
    wss.close()
    chain?.destroy()
    store.close()
    throw error
  }
}
