import {resolve} from 'node:path'

import {Args} from '@oclif/core'

import {LilypadCommand} from '../../cli/base-command.js'
import {childProcessEnv} from '../../core/config/index.js'
import {lilypadError} from '../../core/errors/index.js'
import {checkLocalModule} from '../../core/module/local-module.js'
import {formatModuleCheck} from '../../ui/render/module.js'

/** `--json` result of `module validate`. */
export interface ModuleValidateResult {
  dir: string
  ok: true
  templatePath: string
  inputs: {name: string; required: boolean}[]
  warnings: {pointer: string; message: string}[]
}

export default class ModuleValidate extends LilypadCommand<ModuleValidateResult> {
  static override summary =
    'Check a local module directory: template present, renders with its defaults, passes the schema.'
  static override description =
    'Lists every problem found, each with a JSON pointer where it applies. Exits 3 when the module has problems.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> ./my-module --json',
  ]
  static override hiddenAliases = ['modules:validate']
  static override args = {
    path: Args.string({description: 'Module directory (default: the current directory).', default: '.'}),
  }

  protected async execute(): Promise<ModuleValidateResult> {
    const {args} = await this.parse(ModuleValidate)
    const check = await checkLocalModule(resolve(args.path), {env: childProcessEnv()})
    for (const warning of check.warnings) this.addWarning(`${warning.pointer || '/'}: ${warning.message}`)
    if (!check.ok) {
      const problems = check.problems.map((p) => ({pointer: p.pointer, message: p.message}))
      throw lilypadError('MODULE_INVALID', {
        message: `The module in ${check.dir} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems
          .map((p) => `  ${p.pointer === '' ? '' : `${p.pointer}: `}${p.message}`)
          .join('\n')}`,
        hints: ['Fix each problem above, then run lilypad module validate again.'],
        details: {dir: check.dir, problems},
      })
    }
    return {
      dir: check.dir,
      ok: true,
      templatePath: check.templatePath,
      inputs: check.inputs.map(({name, required}) => ({name, required})),
      warnings: check.warnings.map(({pointer, message}) => ({pointer, message})),
    }
  }

  protected renderHuman(result: ModuleValidateResult): string {
    return formatModuleCheck(result)
  }
}
