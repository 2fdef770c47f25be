import {Args, Flags} from '@oclif/core'

import {LilypadCommand} from '../cli/base-command.js'
import {dataDirFlag, inputFlag, passwordFileFlag} from '../cli/flags.js'
import {childProcessEnv} from '../core/config/index.js'
import {lpToWei} from '../core/deals/cost.js'
import type {RunEvent} from '../core/deals/events.js'
import {type RunJobResult, type RunPreview, previewRun, runJob} from '../core/deals/run.js'
import {parseInputs} from '../core/module/inputs.js'
import {formatCostPreview, formatDetached, formatRunCompleted} from '../ui/render/run.js'
import {createRunProgress} from '../ui/run-progress.js'

/** `--json` result of `lilypad run`. Amounts are decimal strings of LP wei. */
export type RunCommandResult =
  (Omit<RunJobResult, 'receiptPath'> & {receipt: string | undefined}) | (RunPreview & {dryRun: true})

export default class Run extends LilypadCommand<RunCommandResult> {
  static override summary = 'Run a module on the Lilypad network: pay, wait, verify and download the result.'
  static override description =
    "Renders the module with the inputs, posts the job offer, agrees to the deal within your spending cap, waits for the provider's result, downloads it into $DATA_DIR/downloaded-files/<deal ID>, checks its data ID against the one the provider committed to, and only then accepts (pays). A different data ID disputes the result instead. Progress goes to stderr; stdout gets the Data ID and the result directory, as the Go CLI prints them."
  static override examples = [
    '<%= config.bin %> <%= command.id %> cowsay:v0.0.3 -i Message=hi',
    '<%= config.bin %> <%= command.id %> cowsay:v0.0.3 -i Message=hi --max-price 5 --json',
    '<%= config.bin %> <%= command.id %> github.com/Lilypad-Tech/lilypad-module-lilysay:0.5.2 -i Message=hello --network testnet',
    '<%= config.bin %> <%= command.id %> cowsay:v0.0.3 -i Message=hi --dry-run',
  ]
  static override args = {
    module: Args.string({
      required: true,
      description: 'Module ref: NAME:REF, HOST/OWNER/REPO:REF or a git URL with :REF.',
    }),
  }
  static override flags = {
    input: inputFlag,
    target: Flags.string({
      char: 't',
      summary: 'Address of the resource provider that must run the job.',
    }),
    'max-price': Flags.string({
      summary: 'Most LP the job may lock (payment + judge collateral); default from the network profile.',
    }),
    output: Flags.string({
      char: 'o',
      summary: 'Directory for the result; default $DATA_DIR/downloaded-files/<deal ID>.',
    }),
    verify: Flags.string({
      summary:
        'How to check the result before paying: cid (recompute its data ID), reexecute (Wasm: also run it here), none.',
      options: ['cid', 'reexecute', 'none'],
      default: 'cid',
    }),
    detach: Flags.boolean({
      summary: 'Post and agree, print the deal ID and exit; resume with lilypad deals wait.',
    }),
    'dry-run': Flags.boolean({summary: 'Render and preview the cost; send nothing.'}),
    'data-dir': dataDirFlag,
    'password-file': passwordFileFlag,
  }

  protected async execute(): Promise<RunCommandResult> {
    const {args, flags} = await this.parse(Run)
    const inputs = parseInputs(flags.input)
    const first = await this.loadConfig(flags)
    const progress = createRunProgress({
      json: this.jsonEnabled(),
      warn: (message) => {
        this.addWarning(message)
      },
    })
    if (first.network.devnet && first.devnet === 'stopped' && !flags['dry-run']) {
      progress.line('Starting the local Lilypad network (chain, solver, provider, mediator, git server)…')
      const {ensureDevnet} = await import('../cli/devnet.js')
      await ensureDevnet({dataDir: first.dataDir, signal: this.abortController.signal})
      progress.line('The local network keeps running in the background; stop it with: lilypad devnet down')
    }
    // Read again (a devnet just started completes the local profile); a keystore account is unlocked
    // once (password from --password-file, LILYPAD_PASSWORD_FILE or a prompt).
    const config = await this.loadConfig(flags, {unlock: true})
    const options = {
      module: args.module,
      inputs,
      config,
      env: childProcessEnv(),
      maxPrice: flags['max-price'] === undefined ? undefined : lpToWei(flags['max-price']),
      outputDir: flags.output,
      verify: flags.verify as 'cid' | 'reexecute' | 'none',
      target: flags.target,
      detach: flags.detach,
      signal: this.abortController.signal,
      onEvent: (event: RunEvent) => {
        progress.onEvent(event)
      },
    }
    try {
      if (flags['dry-run']) return {...(await previewRun(options)), dryRun: true}
      // The cheap checks (key, chain, solver and its clock, gas) pass before anything is sent, so
      // nothing fails halfway; they run while the module renders.
      const signal = this.abortController.signal
      const {receiptPath, ...result} = await runJob({
        ...options,
        preflight: async () => (await import('../core/doctor/index.js')).preflight(config, {signal}),
      })
      return {...result, receipt: receiptPath}
    } finally {
      progress.stop()
    }
  }

  protected renderHuman(result: RunCommandResult): string | undefined {
    if ('dryRun' in result) {
      return formatCostPreview({
        cost: {
          lock: BigInt(result.cost.lock),
          pay: BigInt(result.cost.pay),
          paymentCollateral: BigInt(result.cost.paymentCollateral),
          judgeCollateral: BigInt(result.cost.judgeCollateral),
          mediationFee: BigInt(result.cost.mediationFee),
          refundOnAccept: BigInt(result.cost.lock) - BigInt(result.cost.pay),
        },
        maxPrice: BigInt(result.maxPrice),
        balance: result.balance === undefined ? undefined : BigInt(result.balance),
        account: result.account,
      })
    }
    if (result.detached) return formatDetached({dealId: result.dealId, jobOfferId: result.jobOfferId})
    if (result.dataId === undefined || result.outputDir === undefined) return undefined
    return formatRunCompleted({dataId: result.dataId, outputDir: result.outputDir})
  }
}
