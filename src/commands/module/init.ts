import {resolve} from 'node:path'

import {Args, Flags} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {templatesDir} from '../../cli/package-paths.js'
import {childProcessEnv} from '../../core/config/index.js'
import {lilypadError} from '../../core/errors/index.js'
import {SCAFFOLD_TEMPLATES, type ScaffoldTemplate, scaffoldModule} from '../../core/module/scaffold.js'
import {formatModuleInit} from '../../ui/render/module.js'
import {promptChoice} from '../../ui/prompt.js'

/** `--json` result of `module init`. */
export interface ModuleInitResult {
  dir: string
  template: 'docker' | 'wasm'
  files: string[]
  commit: string
  tag: string
  nextSteps: string[]
}

export default class ModuleInit extends LilypadCommand<ModuleInitResult> {
  static override summary =
    'Create a new module: files from a template, a git repository, a first commit and tag v0.1.0.'
  static override description =
    'The docker template mirrors a real Lilypad module (Dockerfile, template with an input and a default, outputs directory). The wasm template builds a deterministic WebAssembly module from AssemblyScript. Both render and validate as soon as they are created.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> my-module --yes',
    '<%= config.bin %> <%= command.id %> my-wasm-module --template wasm',
  ]
  static override hiddenAliases = ['modules:init']
  static override args = {
    dir: Args.string({
      description: 'Directory to create (default: lilypad-module).',
      default: 'lilypad-module',
    }),
  }
  static override flags = {
    template: Flags.string({summary: 'Scaffold to start from.', options: [...SCAFFOLD_TEMPLATES]}),
    name: Flags.string({summary: 'Module name (default: the directory name).'}),
    yes: Flags.boolean({char: 'y', summary: 'Accept the defaults instead of asking (docker template).'}),
    force: Flags.boolean({summary: 'Write into a directory that is not empty.'}),
  }

  protected async execute(): Promise<ModuleInitResult> {
    const {args, flags} = await this.parse(ModuleInit)
    const template = flags.template ?? (await this.chooseTemplate(flags.yes))
    const result = await scaffoldModule({
      dir: resolve(args.dir),
      template: template as ScaffoldTemplate,
      ...(flags.name === undefined ? {} : {name: flags.name}),
      force: flags.force,
      templatesDir: templatesDir(),
      env: childProcessEnv(),
    })
    return {
      dir: result.dir,
      template: result.template,
      files: result.files,
      commit: result.commit,
      tag: result.tag,
      nextSteps: result.nextSteps,
    }
  }

  private async chooseTemplate(yes: boolean): Promise<string> {
    if (yes) return 'docker'
    if (this.jsonEnabled() || !process.stdin.isTTY || !process.stderr.isTTY) {
      throw lilypadError('USAGE', {
        message: 'Choose a template: there is no terminal to ask on.',
        hints: ['Pass --template docker or --template wasm, or --yes for the docker template.'],
      })
    }
    return promptChoice('Template', SCAFFOLD_TEMPLATES, 'docker')
  }

  protected renderHuman(result: ModuleInitResult): string {
    return formatModuleInit(result)
  }
}
