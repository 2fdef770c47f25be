/**
 * The base of every lilypad command. A command implements `execute()` and returns a typed result;
 * this class renders it (human text or the `--json` envelope), renders every error in one format
 * with one exit-code table, keeps warnings, turns Ctrl-C into an abort signal, and redacts secrets
 * from everything it prints.
 */
import {Command, Errors, Flags, type Interfaces} from '@oclif/core'

import {type ResolvedConfig, readEnv, resolveConfig, secretValues} from '../core/config/index.js'
import {type ErrorCategory, type LilypadError, isLilypadError, lilypadError} from '../core/errors/index.js'
import {redact, redactDeep} from '../core/util/redact.js'
import {needsPassword, unlockConfig} from '../core/wallet/index.js'
import {formatError, formatWarning, writeStderr, writeStdout} from '../ui/errors.js'
import {toJsonSafe} from '../ui/json.js'
import {type Reporter, createReporter} from '../ui/reporter.js'
import {exitCodeFor} from './exit-codes.js'
import {withPassword} from './password.js'

/** The `--json` envelope of a successful command. */
export interface SuccessEnvelope<T> {
  ok: true
  result: T
  warnings: string[]
}

/** The `--json` envelope of a failed command. */
export interface ErrorEnvelope {
  ok: false
  error: {code: string; message: string; hints: string[]; details: Record<string, unknown>}
  warnings: string[]
}

/** Flags every command inherits. */
export const baseFlags = {
  network: Flags.string({
    char: 'n',
    summary: 'Network profile to use (local, testnet, or one from your config file).',
    helpGroup: 'GLOBAL',
  }),
}

type BaseFlags = Interfaces.InferredFlags<typeof baseFlags>

/** Errors oclif raises (all while parsing argv: unknown flags, missing args, bad values) are usage errors. */
function isParseError(error: unknown): error is Error {
  return error instanceof Errors.CLIError
}

/** Converts anything thrown into a {@link LilypadError}. */
export function toLilypadError(error: unknown): LilypadError {
  if (isLilypadError(error)) return error
  if (isParseError(error)) {
    // oclif puts the useful part (which arg or flag) on the following lines: keep them, minus the usage dump.
    const message =
      error.message.split(/\n(?:See more help with|\nNote: )/)[0]?.trim() ?? 'Invalid arguments.'
    return lilypadError('USAGE', {
      message,
      hints: ['Run the command with --help to see its arguments and flags.'],
      cause: error,
    })
  }
  const message = error instanceof Error ? error.message : String(error)
  return lilypadError('INTERNAL', {
    message: `Unexpected error: ${message}`,
    hints: ['This is a bug in lilypad. Run again with DEBUG=lilypad* to see the stack trace, and report it.'],
    cause: error,
  })
}

/**
 * Base class of all commands. `T` is the result type: what `--json` puts in `result`.
 */
export abstract class LilypadCommand<T extends object> extends Command {
  static override enableJsonFlag = true
  static override baseFlags = baseFlags

  /** Warnings collected during the run; printed on stderr, or listed in the JSON envelope. */
  protected readonly warnings: string[] = []
  /** Aborted on Ctrl-C; pass it to core functions. */
  protected readonly abortController = new AbortController()
  protected reporter: Reporter = createReporter({json: true})
  private secrets: readonly string[] = secretValues(readEnv())
  private interrupts = 0
  private readonly onSigint = (): void => {
    this.interrupts += 1
    // The first Ctrl-C asks the work to stop cleanly; a second one leaves at once.
    if (this.interrupts > 1) process.exit(exitCodeFor('interrupted'))
    this.abortController.abort(lilypadError('INTERRUPTED', {message: 'Interrupted.'}))
  }

  /** Does the command's work and returns its result. */
  protected abstract execute(): Promise<T>

  /** Human rendering of the result (stdout). Return undefined to print nothing. */
  protected abstract renderHuman(result: T): string | undefined

  override async init(): Promise<void> {
    await super.init()
    this.reporter = createReporter({json: this.jsonEnabled()})
    process.on('SIGINT', this.onSigint)
  }

  override async run(): Promise<T> {
    const result = await this.execute()
    this.reporter.stop()
    if (!this.jsonEnabled()) {
      const text = this.renderHuman(result)
      if (text !== undefined) writeStdout(text)
    }
    return result
  }

  /**
   * Resolves the effective configuration (flag → env → config file → profile). With `unlock`, a
   * keystore account's key is decrypted (password from `--password-file`, LILYPAD_PASSWORD_FILE or
   * a terminal prompt) and added to the secrets every output is redacted of.
   */
  protected async loadConfig(
    flags: Partial<BaseFlags> & {'data-dir'?: string | undefined; 'password-file'?: string | undefined},
    options: {unlock?: boolean} = {},
  ): Promise<ResolvedConfig> {
    let config = await resolveConfig({
      flags: {network: flags.network, dataDir: flags['data-dir']},
      configDir: this.config.configDir,
    })
    this.secrets = config.secrets
    if (options.unlock === true && needsPassword(config)) {
      const locked = config
      config = await withPassword(
        flags['password-file'],
        `Password for ${locked.keystoreAccount?.address ?? 'the keystore account'}: `,
        async (password) => unlockConfig(locked, password),
      )
      this.secrets = config.secrets
    }
    return config
  }

  /** Adds values (a typed password, a key read on stdin) to what every output is redacted of. */
  protected addSecrets(...values: string[]): void {
    this.secrets = [...this.secrets, ...values]
  }

  /** Records a warning: stderr for humans, `warnings[]` under `--json`. */
  protected addWarning(message: string): void {
    const text = redact(message, this.secrets)
    this.warnings.push(text)
    if (!this.jsonEnabled()) writeStderr(formatWarning(text, process.stderr))
  }

  /** The result is user data (a rendered module, inputs) and is printed as is: commands keep secrets out of it. */
  protected override toSuccessJson(result: unknown): SuccessEnvelope<unknown> {
    return {ok: true, result: toJsonSafe(result), warnings: this.warnings}
  }

  protected override toErrorJson(error: unknown): ErrorEnvelope {
    const err = toLilypadError(error)
    return {
      ok: false,
      error: {
        code: err.code,
        message: redact(err.message, this.secrets),
        hints: err.hints.map((hint) => redact(hint, this.secrets)),
        details: redactDeep(toJsonSafe(err.details), this.secrets) as Record<string, unknown>,
      },
      warnings: this.warnings,
    }
  }

  protected override logJson(json: unknown): void {
    writeStdout(JSON.stringify(json, null, 2))
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- oclif awaits catch(); nothing here is async
  override async catch(error: Error & {exitCode?: number}): Promise<never> {
    this.reporter.stop()
    let err = toLilypadError(error)
    if (this.abortController.signal.aborted && err.category !== 'interrupted') {
      err = lilypadError('INTERRUPTED', {message: 'Interrupted.', cause: error})
    }
    const exitCode = exitCodeFor(err.category satisfies ErrorCategory)
    process.exitCode = exitCode
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err))
    } else {
      const debug = /\blilypad\b|\*/.test(process.env.DEBUG ?? '')
      const clean = (text: string): string => redact(text, this.secrets)
      writeStderr(formatError(err, {debug, stream: process.stderr, clean}))
    }
    // Rendering is done; ExitError tells oclif to exit with this code and print nothing more.
    throw new Errors.ExitError(exitCode)
  }

  protected override async finally(error: Error | undefined): Promise<void> {
    process.removeListener('SIGINT', this.onSigint)
    await super.finally(error)
  }
}
