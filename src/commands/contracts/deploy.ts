import {Flags} from '@oclif/core'
import {parseUnits} from 'ethers'

import {LilypadCommand} from '../../cli/base-command.js'
import {connectChain, connectNetwork} from '../../core/chain/client.js'
import {
  DEFAULT_JOB_DEPOSIT,
  DEFAULT_JOB_TIMEOUT_SECONDS,
  type ProtocolAddresses,
  deployContracts,
} from '../../core/chain/deploy.js'
import {lilypadError} from '../../core/errors/index.js'
import {redact} from '../../core/util/redact.js'
import {formatDeployment} from '../../ui/render/chain.js'

/** `--json` result of `contracts deploy`. */
export interface ContractsDeployResult {
  chainId: number
  rpcUrl: string
  deployer: string
  treasury: string
  jobCreator: {service: string; deposit: bigint; timeoutSeconds: number}
  addresses: ProtocolAddresses
  blockNumber: number
  gasUsed: bigint
}

/** `--job-deposit` in whole or decimal LP → wei. */
function parseDeposit(text: string): bigint {
  if (/^\d+(\.\d{1,18})?$/.test(text)) return parseUnits(text, 18)
  throw lilypadError('USAGE', {
    message: `--job-deposit ${text} is not an amount of LP.`,
    hints: ['Pass a number of LP such as 2 or 0.5 (0 makes contract-requested jobs free).'],
  })
}

export default class ContractsDeploy extends LilypadCommand<ContractsDeployResult> {
  static override summary =
    'Deploy the Lilypad protocol contracts to any EVM chain and print their addresses.'
  static override description =
    'Deploys LilypadToken (the whole initial supply of 1,000,000,000 LP goes to the deployer), LilypadUsers, LilypadController and LilypadOnChainJobCreator (through which smart contracts run modules; its service account settles their jobs and earns a 2 LP deposit per job), in that order, from the account of WEB3_PRIVATE_KEY. For people who run their own network: put the addresses in a network profile of your config file.'
  static override examples = [
    'WEB3_PRIVATE_KEY=<key> <%= config.bin %> <%= command.id %> --rpc-url http://127.0.0.1:8545',
    'WEB3_PRIVATE_KEY=<key> <%= config.bin %> <%= command.id %> --rpc-url https://rpc.example.org --treasury 0x… --json',
    'WEB3_PRIVATE_KEY=<key> <%= config.bin %> <%= command.id %> --job-creator-service 0x… --job-deposit 5',
  ]
  static override flags = {
    'rpc-url': Flags.string({
      summary: 'JSON-RPC endpoint of the chain (default: the network profile or WEB3_RPC_URL).',
    }),
    treasury: Flags.string({
      summary: 'Address that receives slashed results collateral (default: the deployer).',
    }),
    'job-creator-service': Flags.string({
      summary:
        'Account of the on-chain job-creator service: the only one that settles contract-requested jobs, and who earns their deposits (default: the deployer).',
    }),
    'job-deposit': Flags.string({
      summary: "LP escrowed from the payee for each contract-requested job (default 2, Lilypad's JOB_PRICE).",
    }),
    'job-timeout': Flags.integer({
      summary: 'Seconds after which anyone may refund a contract-requested job the service never answered.',
      default: DEFAULT_JOB_TIMEOUT_SECONDS,
      min: 1,
      max: 30 * 86_400,
    }),
    confirmations: Flags.integer({summary: 'Blocks to wait for each deployment.', default: 1, min: 1}),
  }

  protected async execute(): Promise<ContractsDeployResult> {
    const {flags} = await this.parse(ContractsDeploy)
    const config = await this.loadConfig(flags)
    // Only an explicit key deploys: the devnet's job creator key is for running jobs on the devnet.
    const privateKey = config.keySource === 'env' ? config.privateKey : undefined
    if (privateKey === undefined) {
      throw lilypadError('PRIVATE_KEY_MISSING', {
        message: 'Deploying needs the deployer account: WEB3_PRIVATE_KEY is not set.',
        hints: ['export WEB3_PRIVATE_KEY=<64 hex digits> (the key is never accepted as a flag).'],
      })
    }
    // --rpc-url deploys to whatever chain answers there; otherwise to the network profile's chain.
    const rpcUrl = flags['rpc-url']
    const client =
      rpcUrl === undefined
        ? await connectNetwork(config.network, {privateKey, pollingIntervalMs: 250})
        : await connectChain({rpcUrl, privateKey, pollingIntervalMs: 250})
    try {
      if (client.signer === undefined) throw new Error('the client has no signer')
      const deployment = await deployContracts(client.signer, {
        treasury: flags.treasury,
        jobCreatorService: flags['job-creator-service'],
        jobDeposit:
          flags['job-deposit'] === undefined ? DEFAULT_JOB_DEPOSIT : parseDeposit(flags['job-deposit']),
        jobTimeoutSeconds: flags['job-timeout'],
        confirmations: flags.confirmations,
        signal: this.abortController.signal,
        onEvent: (event) => {
          this.reporter.step(
            event.type === 'deploy.sent'
              ? `Deploying ${event.contract}…`
              : `${event.contract} at ${event.address}`,
          )
        },
      })
      return {chainId: client.chainId, rpcUrl: redact(client.rpcUrl), ...deployment}
    } finally {
      client.destroy()
    }
  }

  protected renderHuman(result: ContractsDeployResult): string {
    return formatDeployment(result)
  }
}
