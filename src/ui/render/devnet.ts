/**
 * Human text for the devnet commands.
 */
import type {DevnetLogLine} from '../../cli/devnet.js'
import type {DevnetService} from '../../core/config/index.js'

/** What `devnet status` shows. */
export interface DevnetStatusView {
  running: boolean
  chainId?: number | undefined
  rpcUrl?: string | undefined
  solverUrl?: string | undefined
  moduleBase?: string | undefined
  protocol?: string | undefined
  dataDir: string
  contracts?: Record<string, string> | undefined
  accounts?: Record<string, string> | undefined
  services: DevnetService[]
}

function table(rows: [string, string][], indent = '  '): string[] {
  const width = Math.max(0, ...rows.map(([key]) => key.length))
  return rows.map(([key, value]) => `${indent}${key.padEnd(width)}  ${value}`)
}

/** The status block. */
export function formatDevnetStatus(status: DevnetStatusView): string {
  if (!status.running) {
    return [
      `The devnet is not running (data directory ${status.dataDir}).`,
      'Start it: lilypad devnet up',
    ].join('\n')
  }
  return [
    `The devnet is running (${status.protocol ?? 'onchain'} protocol, chain ${String(status.chainId)}).`,
    ...table([
      ['RPC', status.rpcUrl ?? ''],
      ['solver', status.solverUrl ?? ''],
      ['modules', status.moduleBase ?? ''],
      ['data', status.dataDir],
    ]),
    'Contracts:',
    ...table(Object.entries(status.contracts ?? {})),
    'Accounts:',
    ...table(Object.entries(status.accounts ?? {})),
    'Services:',
    ...table(
      status.services.map((service) => [
        service.name,
        `${service.state}, pid ${service.pid}${service.url === undefined ? '' : `, ${service.url}`}`,
      ]),
    ),
  ].join('\n')
}

/** One log line, human-readable. */
export function formatLogLine(line: DevnetLogLine, width: number): string {
  const time = line.time === undefined ? '' : `${new Date(line.time).toISOString().slice(11, 23)} `
  const fields = Object.entries(line.fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ')
  return `${time}${line.service.padEnd(width)} ${line.level.toUpperCase().padEnd(5)} ${line.message}${fields === '' ? '' : ` ${fields}`}`
}
