import {Args, Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {dataDirFlag, inputFlag} from '../../cli/flags.js'
import {childProcessEnv} from '../../core/config/index.js'
import {createExecutors} from '../../core/executors/index.js'
import {parseInputs} from '../../core/module/inputs.js'
import {DEFAULT_TEST_SEED, type ModuleTestEvent, testModule} from '../../core/module/test-module.js'
import {describeModuleEvent, formatModuleTest} from '../../ui/render/module.js'

/** `--json` result of `module test`. */
export interface ModuleTestCommandResult {
  /** A local directory (`path`, `commit` when it is a git repository) or a ref (`repo`, `ref`, `commit`). */
  module: {path: string; commit?: string; files: number} | {repo: string; ref: string; commit: string}
  inputs: Record<string, string>
  seed: string
  engine: string
  exitCode: number
  resultDir: string
  dataId: string
  durationMs: number
  truncated: {stdout: boolean; stderr: boolean}
}

export default class ModuleTest extends LilypadCommand<ModuleTestCommandResult> {
  static override summary =
    'Run a module here, exactly as a resource provider would, and print its result directory and data ID.'
  static override description = `PATH is a module directory (default: the current one); anything that is not an existing directory is read as a module ref (as module render takes). A directory runs as it would be at its next tag: in a git repository, the files git would commit (tracked and untracked-but-not-ignored, as they are now); otherwise every file. They are copied to a temporary checkout first, so ignored build leftovers do not reach the job.

The job runs on the provider's executor (Wasm, or Docker when an engine answers) with its randomness seeded by --seed (default "${DEFAULT_TEST_SEED}"), so two runs give the same data ID. A job that exits non-zero is still a result: the command exits 0, shows the job's exit code and warns. The command fails (exit 6) only when the job cannot run: no engine for it, time limit, outputs too large.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> ./my-module -i Message=hello',
    '<%= config.bin %> <%= command.id %> cowsay:v0.0.3 -i Message=hi --json',
    '<%= config.bin %> <%= command.id %> file:///src/my-module:main --output ./result',
  ]
  static override hiddenAliases = ['modules:test']
  static override args = {
    target: Args.string({
      description: 'Module directory (default: the current directory) or module ref (NAME:REF, URL:REF).',
      default: '.',
    }),
  }
  static override flags = {
    input: inputFlag,
    output: Flags.string({
      char: 'o',
      summary: 'Result directory to create (must not exist). Default: $DATA_DIR/module-tests/<name>-<time>.',
    }),
    seed: Flags.string({
      summary: `Seed of the job's randomness (a provider uses the deal ID). Default: ${DEFAULT_TEST_SEED}.`,
    }),
    'data-dir': dataDirFlag,
  }

  /** Kept for the human rendering only. */
  private preview = {stdoutHead: '', stdoutMore: false}

  protected async execute(): Promise<ModuleTestCommandResult> {
    const {args, flags} = await this.parse(ModuleTest)
    const inputs = parseInputs(flags.input)
    const config = await this.loadConfig(flags)
    const env = childProcessEnv()
    const result = await testModule({
      target: args.target,
      inputs,
      dataDir: config.dataDir,
      moduleBase: config.network.moduleBase,
      resultDir: flags.output,
      seed: flags.seed,
      env,
      // The engine a provider here would use: DOCKER_HOST, else the default socket.
      executors: await createExecutors({dockerHost: env.DOCKER_HOST}),
      signal: this.abortController.signal,
      onEvent: (event) => {
        this.onEvent(event)
      },
    })
    for (const warning of result.warnings) this.addWarning(`${warning.pointer}: ${warning.message}`)
    if (result.truncated.stdout || result.truncated.stderr) {
      const streams = [result.truncated.stdout ? 'stdout' : '', result.truncated.stderr ? 'stderr' : '']
      this.addWarning(`The job's ${streams.filter(Boolean).join(' and ')} reached the size cap and was cut.`)
    }
    if (result.exitCode !== 0) {
      this.addWarning(
        `The job exited with code ${result.exitCode}; that is its result. Read ${result.resultDir}/stderr.`,
      )
    }
    this.preview = {stdoutHead: result.stdoutHead, stdoutMore: result.stdoutMore}
    const {module} = result
    return {
      module:
        module.kind === 'local'
          ? {
              path: module.path,
              ...(module.commit === undefined ? {} : {commit: module.commit}),
              files: module.files,
            }
          : {repo: module.repo, ref: module.ref, commit: module.commit},
      inputs: {...result.inputs},
      seed: result.seed,
      engine: result.engine,
      exitCode: result.exitCode,
      resultDir: result.resultDir,
      dataId: result.dataId,
      durationMs: result.durationMs,
      truncated: {...result.truncated},
    }
  }

  private onEvent(event: ModuleTestEvent): void {
    if (event.type === 'module.ref-moved' || event.type === 'module.offline') {
      this.addWarning(describeModuleEvent(event))
    } else if (
      event.type === 'module.resolving' ||
      event.type === 'module.resolved' ||
      event.type === 'module.cache-hit' ||
      event.type === 'module.lock-wait' ||
      event.type === 'module.cloning' ||
      event.type === 'module.cloned'
    ) {
      this.reporter.step(describeModuleEvent(event))
    } else if (event.type === 'module-test.copied') {
      const how = event.source === 'git' ? 'as git would commit them' : 'the whole directory'
      this.reporter.step(`Copied ${event.files} files (${how})`)
    } else if (event.type === 'executor.started') {
      this.reporter.step(`Running the job on ${event.engine}…`)
    } else if (event.type === 'job.executed' || event.type === 'executor.finished') {
      this.reporter.step('Computing the data ID…')
    }
  }

  protected renderHuman(result: ModuleTestCommandResult): string {
    return formatModuleTest({...result, ...this.preview})
  }
}
