import {Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {devnetForeground, devnetUp} from '../../cli/devnet.js'
import {dataDirFlag} from '../../cli/flags.js'
import type {DevnetState} from '../../core/config/index.js'
import {writeStderr} from '../../ui/errors.js'
import {formatDevnetStatus} from '../../ui/render/devnet.js'

/** `--json` result of `devnet up`. */
export interface DevnetUpCommandResult {
  alreadyRunning: boolean
  running: boolean
  startMs: number | null
  state: DevnetState
}

export default class DevnetUp extends LilypadCommand<DevnetUpCommandResult> {
  static override summary =
    'Start the local Lilypad network: chain, contracts, solver, provider, mediator, git server.'
  static override description =
    'Starts a supervisor in the background (--foreground keeps it in this terminal) and returns once every service answers. A devnet already running is left as it is. State is kept under $DATA_DIR/devnet: `down` then `up` resumes the same chain, deals and files.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --protocol solver',
    '<%= config.bin %> <%= command.id %> --fault lying',
    '<%= config.bin %> <%= command.id %> --foreground',
  ]
  static override flags = {
    'data-dir': dataDirFlag,
    protocol: Flags.string({
      summary:
        'Deal protocol: onchain (classic, deals on chain) or solver (off-chain deals, as the testnet).',
      options: ['onchain', 'solver'],
    }),
    providers: Flags.integer({summary: 'How many resource providers to run (1–5).', min: 1, max: 5}),
    fault: Flags.string({
      summary: 'Make the provider(s) misbehave: lying, stalling, vanishing or failing.',
      options: ['lying', 'stalling', 'vanishing', 'failing'],
    }),
    foreground: Flags.boolean({summary: 'Run in this terminal until Ctrl-C instead of in the background.'}),
  }

  protected async execute(): Promise<DevnetUpCommandResult> {
    const {flags} = await this.parse(DevnetUp)
    const config = await this.loadConfig(flags)
    const options = {
      dataDir: config.dataDir,
      protocol: flags.protocol as 'onchain' | 'solver' | undefined,
      providers: flags.providers,
      fault: flags.fault as 'lying' | 'stalling' | 'vanishing' | 'failing' | undefined,
      signal: this.abortController.signal,
    }
    let startMs: number | null = null
    const onEvent = (event: {type: string; ms?: number}): void => {
      if (event.type === 'devnet.starting') this.reporter.step('Starting the devnet')
      if (event.type === 'devnet.ready' && event.ms !== undefined) startMs = event.ms
    }
    if (flags.foreground) {
      const state = await devnetForeground({
        ...options,
        onEvent,
        onReady: (ready) => {
          this.reporter.stop()
          if (!this.jsonEnabled()) {
            writeStderr(
              `${formatDevnetStatus({running: true, dataDir: config.dataDir, ...ready})}\nPress Ctrl-C to stop.\n`,
            )
          }
        },
      })
      return {alreadyRunning: false, running: false, startMs, state}
    }
    const {state, alreadyRunning} = await devnetUp({...options, onEvent})
    if (alreadyRunning)
      this.addWarning('The devnet is already running; nothing was changed (lilypad devnet down stops it).')
    return {alreadyRunning, running: true, startMs, state}
  }

  protected renderHuman(result: DevnetUpCommandResult): string | undefined {
    if (!result.running) return 'The devnet stopped.'
    const took = result.startMs === null ? '' : ` in ${(result.startMs / 1000).toFixed(1)} s`
    return [
      result.alreadyRunning ? 'The devnet was already running.' : `The devnet is up${took}.`,
      formatDevnetStatus({running: true, dataDir: '', ...result.state, services: result.state.services})
        .split('\n')
        .slice(1)
        .join('\n'),
      'Stop it with: lilypad devnet down',
    ].join('\n')
  }
}
