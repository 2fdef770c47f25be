import {LilypadCommand} from '../cli/base-command.js'
import {dataDirFlag} from '../cli/flags.js'
import type {ResolvedConfig} from '../core/config/index.js'
import {type DoctorCheck, checkError, runDoctor} from '../core/doctor/index.js'
import {type LilypadError, isLilypadError} from '../core/errors/index.js'
import {writeStdout} from '../ui/errors.js'
import {formatDoctor} from '../ui/render/doctor.js'

/** `--json` result of `doctor` when every check passed (a failure is the error envelope, with the checks in details). */
export interface DoctorResult {
  network: string | null
  account: string | null
  ok: boolean
  checks: DoctorCheck[]
}

export default class Doctor extends LilypadCommand<DoctorResult> {
  static override summary = 'Check everything a run depends on and print the fix for each failure.'
  static override description =
    "Node and git; the data directory and config file; the RPC endpoint and its chain ID; the solver, its version and your clock against its (offers more than 30 s off are refused); a key; ETH for a run's gas at the current price; LP for the maximum price; allowance or permit; the module cache; on local, the devnet's services. Exits 0 when all pass, else with the exit code of the first failure."
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --network testnet --json',
  ]
  static override flags = {'data-dir': dataDirFlag}

  protected async execute(): Promise<DoctorResult> {
    const {flags} = await this.parse(Doctor)
    let config: ResolvedConfig | LilypadError
    try {
      config = await this.loadConfig(flags)
    } catch (error) {
      if (!isLilypadError(error) || !['CONFIG_INVALID', 'UNKNOWN_NETWORK'].includes(error.code)) throw error
      config = error
    }
    const report = await runDoctor(config, {signal: this.abortController.signal})
    const result: DoctorResult = {
      network: report.network ?? null,
      account: report.account ?? null,
      ok: report.ok,
      checks: report.checks,
    }
    if (report.firstFailure === undefined) return result
    // The report is the useful part: print it, then fail with the first failure's code and fix.
    if (!this.jsonEnabled()) writeStdout(formatDoctor(result))
    throw checkError(report.firstFailure, report.checks)
  }

  protected renderHuman(result: DoctorResult): string {
    return formatDoctor(result)
  }
}
