/**
 * Where the devnet keeps its state under `$DATA_DIR/devnet/` (DESIGN §10).
 */
import {join} from 'node:path'

import {devnetDir, devnetJobCreatorDir, devnetStatePath} from '../../core/config/devnet.js'

/** Every path of one devnet. */
export interface DevnetLayout {
  root: string
  state: string
  /** The supervisor's start options and the deployment, kept across `down`/`up`. */
  setup: string
  chainState: string
  git: string
  solver: string
  mediator: string
  /** The on-chain job-creator service: its state file, and its journal and downloads as job creator. */
  jobCreator: string
  provider(index: number): string
  logs: string
  log(service: string): string
  lock: string
}

/** The layout of the devnet under `dataDir`. */
export function devnetLayout(dataDir: string): DevnetLayout {
  const root = devnetDir(dataDir)
  return {
    root,
    state: devnetStatePath(dataDir),
    setup: join(root, 'setup.json'),
    chainState: join(root, 'chain', 'anvil-state.json'),
    git: join(root, 'git'),
    solver: join(root, 'solver'),
    mediator: join(root, 'mediator'),
    jobCreator: devnetJobCreatorDir(dataDir),
    provider: (index) => join(root, 'providers', String(index)),
    logs: join(root, 'logs'),
    log: (service) => join(root, 'logs', `${service}.log`),
    lock: join(root, 'up.lock'),
  }
}

/** What the supervisor is started with, and what it set up once (kept across restarts). */
export interface DevnetSetup {
  protocol: 'onchain' | 'solver'
  providers: number
  fault?: 'lying' | 'stalling' | 'vanishing' | 'failing' | undefined
  ports: {rpc: number; solver: number; git: number}
  deployment?: {
    contracts: {
      LilypadToken: string
      LilypadUsers: string
      LilypadController: string
      /** Absent in a setup saved before the job creator existed: the devnet then deploys everything again. */
      LilypadOnChainJobCreator?: string
    }
    blockNumber: number
    /** Accounts that got their LP once (never again, whatever they hold now). */
    funded: string[]
  }
}
